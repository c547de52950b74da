// sleep, sleep_until, delay: wait for a moment without blocking the worker
// (tokio::time::sleep, sleep_until, Sleep).
//
//   co_await tandem::sleep(std::chrono::milliseconds(100));
//   co_await tandem::sleep_until(deadline);
//   auto d = tandem::sleep(1s);  ...; d.reset(tandem::time::now() + 2s); co_await d;
//
// The awaiting task is suspended and its worker runs other tasks; the task is woken
// when the deadline has come: never before it, and within about 1 ms after it (timers
// have 1 ms ticks) when the runtime is not overloaded. A deadline already past completes
// at once (spending one unit of the cooperative budget, so a loop of ready sleeps still
// yields). Awaiting a delay again after it completed completes at once. Deadlines are
// on the runtime's clock (time::now(), see time/clock.hpp), which may be paused in tests.
//
// Cancellation: destroying a delay that is being awaited (the task was aborted, or the
// delay lost a select) takes its timer off the wheel at once; nothing is left behind.
// Sleeping is cancellation-safe.
//
// Thread safety: a delay belongs to one task at a time; the timer it files may fire on
// any worker thread.
#pragma once

#include <algorithm>
#include <chrono>
#include <coroutine>

#include "tandem/detail/runtime/poll_context.hpp"
#include "tandem/detail/runtime/runtime_core.hpp"
#include "tandem/detail/runtime/task_header.hpp"
#include "tandem/detail/time/worker_timers.hpp"
#include "tandem/time/clock.hpp"

namespace tandem {

// A deadline to await (tokio's Sleep). Move-only: it may be filed on a timer wheel.
class delay {
 public:
  explicit delay(time::time_point deadline) noexcept : deadline_(deadline) {}
  delay(delay&& other) noexcept : deadline_(other.deadline_) { other.registration_.disarm(); }
  delay& operator=(delay&& other) noexcept {
    if (this != &other) {
      registration_.disarm();
      other.registration_.disarm();
      deadline_ = other.deadline_;
    }
    return *this;
  }
  ~delay() = default;

  time::time_point deadline() const noexcept { return deadline_; }
  bool is_elapsed() const noexcept { return time::now() >= deadline_; }
  // A new deadline; a task awaiting this delay must await it again to see it.
  void reset(time::time_point deadline) noexcept {
    registration_.disarm();
    deadline_ = deadline;
  }

 private:
  class awaiter final : public detail::pollable {
   public:
    explicit awaiter(delay& owner) noexcept : owner_(owner) {}
    awaiter(const awaiter&) = delete;
    awaiter& operator=(const awaiter&) = delete;
    // Destroyed without being resumed: the awaiting frame is being destroyed (abort,
    // a lost select, shutdown), so the timer must not outlive it holding the task.
    ~awaiter() { owner_.registration_.disarm(); }
    bool await_ready() const noexcept { return owner_.is_elapsed() && detail::consume_budget(); }
    bool await_suspend(std::coroutine_handle<> caller) {
      detail::poll_context& poll = detail::require_poll("tandem::sleep");
      detail::runtime_core& core = *detail::current_runtime_core();
      clock_ = &detail::clock_of(core);
      // Due already (but out of budget), or due by the wheel's time: to the back of the
      // queue, then on.
      const std::uint64_t tick = clock_->deadline_tick(owner_.deadline_);
      if (clock_->now() >= owner_.deadline_ ||
          !owner_.registration_.arm(detail::current_worker_timers(core), tick, poll.task)) {
        detail::yield_to_back(poll, caller);
        return true;
      }
      detail::timer_filed(core, tick);
      *poll.suspension = {this, caller};
      return true;
    }
    bool advance() override { return owner_.registration_.fired() || clock_->now() >= owner_.deadline_; }
    void await_resume() noexcept { owner_.registration_.disarm(); }

   private:
    delay& owner_;
    const detail::runtime_clock* clock_ = nullptr;
  };

 public:
  awaiter operator co_await() & noexcept { return awaiter(*this); }
  awaiter operator co_await() && noexcept { return awaiter(*this); }

 private:
  time::time_point deadline_;
  detail::timer_registration registration_;
};

// Completes at `deadline` on the runtime's clock.
inline delay sleep_until(time::time_point deadline) noexcept {
  return delay(deadline);
}

// Completes `duration` from now; a zero or negative duration completes at once.
inline delay sleep(std::chrono::nanoseconds duration) noexcept {
  // Far enough to mean "never" without overflowing the time point.
  constexpr auto longest = std::chrono::hours(24 * 365 * 100);
  return delay(time::now() + std::min<std::chrono::nanoseconds>(duration, longest));
}

}  // namespace tandem
