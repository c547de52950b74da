// The process-wide list of tasks waiting in tandem::signal::ctrl_c(), and the SIGINT
// handler and dispatcher thread that wake them. The protocol is in src/signal/README.md;
// the short form:
//
// - The handler (installed once per process, by the first ctrl_c()) only bumps a
//   global delivery count, the generation, and writes one byte to a self-pipe.
// - A detached dispatcher thread reads the pipe and, under the listeners' lock, grants
//   every queued node whose recorded generation is older than the current one.
// - A waiter records the generation under that lock when it queues (its first poll), so
//   it hears the deliveries after that moment and none before.
//
// Thread safety: every function may be called from any thread; the `_locked` ones with
// mutex() held.
#pragma once

#include <cstdint>

#include "tandem/detail/sync/wait_list.hpp"

namespace tandem::detail {

struct interrupt_wait_node : wait_node {
  // The deliveries counted when the node queued: a later one completes it.
  std::uint64_t generation = 0;
};

class interrupt_listeners {
 public:
  // Installs the SIGINT handler and starts the dispatcher thread the first time it is
  // called; later calls return at once. Throws std::system_error when the pipe, the
  // thread or the handler cannot be set up (a later call tries again).
  static void install();

  static spin_mutex& mutex() noexcept;
  // Records the current generation in the node and queues it.
  static void enqueue_locked(interrupt_wait_node& node) noexcept;
  static void unlink_locked(interrupt_wait_node& node) noexcept;
};

}  // namespace tandem::detail
