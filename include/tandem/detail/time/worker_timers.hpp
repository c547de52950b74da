// worker_timers: one worker's timer wheel behind its own lock; timer_registration: the
// entry a sleeping task keeps in its coroutine frame. The protocol is written down in
// src/time/README.md; the short form:
//
// - Each worker has its own wheel, so filing a timer takes an uncontended lock on the
//   filing worker (tokio's one mutex-guarded wheel is its timer bottleneck, tokio#6504).
//   A registration is always filed on the wheel of the worker polling its task; it may
//   be cancelled, or fired, from any thread, which takes that wheel's lock.
// - States of a registration: idle (home null) -> armed (filed on `home`, holds a
//   counted reference to the task to wake) -> fired (unlinked by the firing thread,
//   which took the reference and then set `fired`) -> idle again on disarm. Armed ->
//   idle directly when the owner cancels (under home's lock).
// - Who touches what: while armed, the wheel's links and `waker` belong to the lock of
//   `home`; `fired` is the last write the firing thread makes to the registration
//   (release), so an owner that reads it set (acquire) may free the registration without
//   taking the lock.
//
// Thread safety: worker_timers members may be called from any thread. A registration's
// owner (arm, fired, disarm) is one thread at a time: the one polling its task.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <mutex>

#include "tandem/detail/time/timer_wheel.hpp"

namespace tandem::detail {

class task_header;
class timer_registration;

class worker_timers {
 public:
  static constexpr std::uint64_t no_timer = std::numeric_limits<std::uint64_t>::max();

  worker_timers() = default;
  worker_timers(const worker_timers&) = delete;
  worker_timers& operator=(const worker_timers&) = delete;

  // The tick at which fire_due next has something to do, or no_timer; read without the
  // lock, so only a hint: it may be stale by a concurrent cancel (then it is early,
  // which costs one useless check) or fire (likewise).
  std::uint64_t next_due() const noexcept { return next_due_.load(std::memory_order_relaxed); }

  // Wakes every task whose timer is due by `now_tick`; returns how many were woken.
  std::size_t fire_due(std::uint64_t now_tick) noexcept;
  // As fire_due, but gives up at once when another thread holds the lock.
  std::size_t try_fire_due(std::uint64_t now_tick) noexcept;
  // Timers filed and not yet fired or cancelled.
  std::size_t pending() noexcept;

 private:
  friend class timer_registration;
  std::size_t fire_locked(std::uint64_t now_tick) noexcept;
  static void keep_for_waking(task_header* task) noexcept;
  void publish_next_due() noexcept;

  std::mutex mutex_;
  timer_wheel wheel_;
  std::atomic<std::uint64_t> next_due_{no_timer};
};

// Public inheritance only so the wheel's fire callback can get from the entry back to
// the registration; nothing else uses the entry.
class timer_registration : public timer_entry {
 public:
  timer_registration() = default;
  timer_registration(const timer_registration&) = delete;
  timer_registration& operator=(const timer_registration&) = delete;
  ~timer_registration() { disarm(); }

  // Files the registration on `home` (the calling worker's) to wake `task` at tick
  // `tick`, disarming a previous filing first. False, and nothing filed, when that tick
  // is not in the future of the wheel.
  bool arm(worker_timers& home, std::uint64_t tick, task_header* task) noexcept;
  // True once the timer fired (and until disarm).
  bool fired() const noexcept { return fired_.load(std::memory_order_acquire); }
  bool armed() const noexcept { return home_ != nullptr; }
  // Back to idle: takes an armed registration off its wheel and releases its waker.
  void disarm() noexcept;

 private:
  friend class worker_timers;
  worker_timers* home_ = nullptr;
  task_header* waker_ = nullptr;  // counted; owned by home's lock while armed
  std::atomic<bool> fired_{false};
};

}  // namespace tandem::detail
