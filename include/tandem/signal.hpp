// signal: wait for the process to receive a signal (tokio::signal).
//
//   co_await tandem::signal::ctrl_c();   // returns once the process receives SIGINT
//   drain_connections();
//
// The first ctrl_c() call installs a SIGINT handler for the whole process (once; it
// stays for the life of the process). From then on SIGINT no longer ends the process:
// it completes every ctrl_c() being awaited at that moment, and nothing else. A
// ctrl_c() hears the deliveries that come after it is first awaited, never one that
// came before, so a loop of `co_await ctrl_c()` never hears the same Ctrl-C twice.
// Every waiting task hears each delivery (a broadcast: one Ctrl-C completes them all);
// several quick deliveries may reach a waiter as one.
//
// Throws std::system_error when the handler cannot be installed (no file descriptors
// left for its pipe, no thread for its dispatcher); a later call tries again.
//
// Cancellation-safe: a ctrl_c() that is aborted, loses a select or times out just stops
// listening. Works in select, join and timeout like any awaitable.
//
// Thread safety: ctrl_c() may be called from any thread; the awaitable is awaited by
// one task (inside a tandem runtime, like every tandem awaitable).
#pragma once

#include "tandem/detail/signal/interrupt_listeners.hpp"
#include "tandem/detail/sync/primitive_awaiter.hpp"

namespace tandem::signal {

class ctrl_c_awaiter final : public detail::primitive_awaiter<ctrl_c_awaiter, detail::interrupt_wait_node> {
 public:
  static constexpr const char* operation_name = "tandem::signal::ctrl_c";
  static constexpr bool usually_ready = false;
  ctrl_c_awaiter(ctrl_c_awaiter&&) noexcept = default;  // before the first await only
  ~ctrl_c_awaiter() { this->leave(); }
  void await_resume() const noexcept {}

 private:
  friend class detail::primitive_awaiter<ctrl_c_awaiter, detail::interrupt_wait_node>;
  // Made by ctrl_c() only, which installs the handler first.
  friend ctrl_c_awaiter ctrl_c();
  ctrl_c_awaiter() noexcept = default;

  detail::spin_mutex& primitive_mutex() noexcept { return detail::interrupt_listeners::mutex(); }
  // A delivery that came before the first poll does not count: always wait.
  bool try_complete_locked() noexcept { return false; }
  void enqueue_locked(detail::interrupt_wait_node& node) noexcept {
    detail::interrupt_listeners::enqueue_locked(node);
  }
  void unlink_locked(detail::interrupt_wait_node& node) noexcept {
    detail::interrupt_listeners::unlink_locked(node);
  }
  // Every waiter hears each delivery for itself: a grant it never took is owed to no one.
  void undo_grant_locked() noexcept {}
};

// An awaitable that completes when the process next receives SIGINT (see the top of the
// file).
ctrl_c_awaiter ctrl_c();

}  // namespace tandem::signal
