// io_driver: a runtime's reactor. One epoll instance (edge-triggered) watches every
// registered descriptor; an eventfd lets other threads interrupt a worker waiting in it.
//
// The driver is a token, not a thread: a worker about to park takes it (try_acquire) and
// waits in epoll_wait instead of on its futex, with its next timer as the timeout; a busy
// worker takes it now and then for a poll that does not wait. Whoever holds it is the only
// caller of wait / dispatch, so the event buffer and the freeing of retired registrations
// need no lock. The runtime's side of the protocol (who parks where, who is woken how, how
// the token is handed on) is in src/runtime/README.md; the driver's in src/io/README.md.
//
// Thread safety: add, deregister and interrupt may be called from any thread; wait and
// dispatch only by the token's holder.
#pragma once

#include <sys/epoll.h>

#include <array>
#include <atomic>
#include <cstddef>
#include <mutex>

#include "tandem/detail/io/io_registration.hpp"

namespace tandem::detail {

class io_driver {
 public:
  io_driver();
  ~io_driver();
  io_driver(const io_driver&) = delete;
  io_driver& operator=(const io_driver&) = delete;

  // Watches `fd` (which must be non-blocking) for both directions. Throws
  // std::system_error naming `what` when epoll refuses it.
  io_registration* add(int fd, const char* what);
  // Stops watching the registration's descriptor (still open: the caller closes it
  // after) and frees the registration once no dispatch can name it any more.
  void deregister(io_registration* registration) noexcept;

  bool try_acquire() noexcept {
    // Acquire: pairs with release(): the previous holder's event buffer and retired
    // list handling happen before ours.
    return !held_.load(std::memory_order_relaxed) && !held_.exchange(true, std::memory_order_acquire);
  }
  void release() noexcept { held_.store(false, std::memory_order_release); }

  // Holder only: waits up to `timeout_ms` (-1: no limit, 0: just look) and returns how
  // many descriptor events it buffered for dispatch (an interrupt alone gives 0).
  std::size_t wait(int timeout_ms) noexcept;
  // Holder only: hands the buffered events to their registrations (waking tasks).
  void dispatch() noexcept;
  // Makes the holder's (current or next) wait return.
  void interrupt() noexcept;

  std::size_t registered() const noexcept { return registered_.load(std::memory_order_relaxed); }

 private:
  void free_retired() noexcept;

  int epoll_ = -1;
  int interrupt_fd_ = -1;
  std::atomic<bool> held_{false};
  std::array<epoll_event, 256> events_{};
  std::size_t buffered_ = 0;
  std::mutex retired_mutex_;
  io_registration* retired_ = nullptr;
  std::atomic<std::size_t> registered_{0};
};

}  // namespace tandem::detail
