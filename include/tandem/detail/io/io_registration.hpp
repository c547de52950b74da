// io_registration: one socket (or pipe, eventfd) known to a runtime's I/O driver, and the
// tasks waiting on each direction of it. The protocol is written down in src/io/README.md;
// the short form:
//
// - `readiness` holds a "ready" bit per direction and a count of the driver's events. A
//   bit means "the last syscall did not say it would block, or an event came since".
// - An awaiter whose syscall would block (or reads short) clears its bit with one CAS
//   that fails if an event came since it loaded the word, so it never erases an event
//   it has not seen.
// - Waiting: under `mutex`, the awaiter looks at the bit again; still clear, it files its
//   node on the direction's list and suspends. The driver sets bits and takes every node
//   of the directions that became ready under the same lock, waking their tasks there, so
//   no event falls between the look and the filing.
// - A node lives in its awaiter (in a coroutine frame); the awaiter's destructor takes
//   the lock and unlinks a node still filed, so a task is never woken through a freed
//   node, and its task pointer needs no reference count (as in detail/sync/wait_list.hpp).
// - The registration itself is freed by the driver only after every dispatch that could
//   still name it is over (io_driver::deregister).
//
// Thread safety: `readiness` is atomic; the lists and the nodes on them are guarded by
// `mutex`.
#pragma once

#include <atomic>
#include <cstdint>

#include "tandem/detail/sync/wait_list.hpp"

namespace tandem::detail {

class io_driver;

enum class io_direction : unsigned { read = 0, write = 1 };

class io_registration {
 public:
  static constexpr std::uint64_t ready_read = 1;
  static constexpr std::uint64_t ready_write = 2;
  // Sticky: the peer ended its side (EPOLLRDHUP). Edge-triggered epoll reports that end
  // once, with the data before it; so once it is seen, a short read no longer means the
  // queue is empty (the end may be waiting behind the bytes it took), and only a read
  // that says EAGAIN clears the read bit (tokio keeps READ_CLOSED the same way).
  static constexpr std::uint64_t closed_read = 4;
  static constexpr std::uint64_t event_one = 8;

  io_registration(io_driver& driver, int fd) noexcept : driver_(driver), fd_(fd) {}
  io_registration(const io_registration&) = delete;
  io_registration& operator=(const io_registration&) = delete;

  int fd() const noexcept { return fd_; }
  io_driver& driver() const noexcept { return driver_; }

  static constexpr std::uint64_t bit_of(io_direction direction) noexcept {
    return direction == io_direction::read ? ready_read : ready_write;
  }
  static constexpr std::uint64_t closed_bit_of(io_direction direction) noexcept {
    return direction == io_direction::read ? closed_read : 0;
  }

  std::uint64_t load_readiness() const noexcept {
    // Acquire: pairs with the release in mark_ready, so a syscall made after seeing an
    // event's bit comes after that event in every thread's view.
    return readiness_.load(std::memory_order_acquire);
  }

  // Clears `direction`'s bit unless the word moved on from `seen` (an event came, or
  // someone else cleared a bit): then the next attempt simply tries its syscall again.
  void clear_readiness(io_direction direction, std::uint64_t seen) noexcept {
    // Relaxed: the CAS only has to be atomic with the driver's updates; nothing is
    // published through a clear.
    readiness_.compare_exchange_strong(seen, seen & ~bit_of(direction), std::memory_order_relaxed);
  }

  // The same after a short transfer, which only suggests the direction is empty: not
  // after the direction was closed (the end is still to be read).
  void clear_readiness_after_short(io_direction direction, std::uint64_t seen) noexcept {
    if ((seen & closed_bit_of(direction)) != 0) return;
    clear_readiness(direction, seen);
  }

  // Driver side: an event set `bits`; wakes every task waiting on those directions.
  void mark_ready(std::uint64_t bits) noexcept;

  spin_mutex& mutex() noexcept { return mutex_; }
  wait_list& waiters(io_direction direction) noexcept { return waiters_[static_cast<unsigned>(direction)]; }
  // Under mutex(): the word as the waiting side must see it before filing a node.
  std::uint64_t readiness_locked() const noexcept { return readiness_.load(std::memory_order_relaxed); }

  // The driver's list of registrations waiting to be freed.
  io_registration* retired_next = nullptr;

 private:
  io_driver& driver_;
  int fd_;
  // Initially ready both ways: the first attempt tries its syscall.
  std::atomic<std::uint64_t> readiness_{ready_read | ready_write};
  spin_mutex mutex_;
  wait_list waiters_[2];
};

}  // namespace tandem::detail
