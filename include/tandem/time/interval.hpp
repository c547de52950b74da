// interval: ticks at a fixed period (tokio::time::interval).
//
//   tandem::interval every(std::chrono::seconds(1));
//   for (;;) {
//     co_await every.tick();          // the first tick completes at once
//     report();
//   }
//
// tick() completes at each scheduled instant (start, start + period, ...) and returns
// that instant. When a tick is taken late (the task was busy or the runtime
// overloaded), the missed-tick behavior decides when the following ones come:
// - burst (the default): the missed ticks come at once, one per tick(), until the
//   schedule is caught up (start + k * period stays the schedule);
// - delay: the next tick comes one period after the late one was taken, and the
//   schedule moves with it;
// - skip: missed ticks are dropped; the next tick is the next one of the original
//   schedule that is still ahead.
// A tick counts as late when it is taken 5 ms or more after its instant (tokio's
// margin: less is scheduling noise, not a miss).
//
// Cancellation-safe: a tick() that loses a select, or whose task is aborted, leaves
// the schedule as it was (the same tick comes again).
// Thread safety: an interval belongs to one task at a time.
#pragma once

#include <chrono>
#include <stdexcept>

#include "tandem/task.hpp"
#include "tandem/time/clock.hpp"
#include "tandem/time/sleep.hpp"

namespace tandem {

enum class missed_tick_behavior { burst, delay, skip };

class interval {
 public:
  // First tick at once, then every `period` (positive, or std::invalid_argument).
  explicit interval(std::chrono::nanoseconds period) : interval(time::now(), period) {}
  // First tick at `start`, then every `period`.
  interval(time::time_point start, std::chrono::nanoseconds period)
      : next_(start), period_(check(period)), timer_(start) {}

  // Completes at the next scheduled instant and returns it.
  task<time::time_point> tick() {
    timer_.reset(next_);
    co_await timer_;
    const time::time_point scheduled = next_;
    next_ = following(scheduled, time::now());
    co_return scheduled;
  }

  // Starts the schedule again: the next tick one period from now.
  void reset() noexcept { next_ = time::now() + period_; }

  void set_missed_tick_behavior(missed_tick_behavior behavior) noexcept { behavior_ = behavior; }
  missed_tick_behavior missed_ticks() const noexcept { return behavior_; }
  std::chrono::nanoseconds period() const noexcept { return period_; }

 private:
  static constexpr auto late_margin = std::chrono::milliseconds(5);

  static std::chrono::nanoseconds check(std::chrono::nanoseconds period) {
    if (period <= std::chrono::nanoseconds::zero())
      throw std::invalid_argument("tandem::interval: the period must be positive");
    return period;
  }

  time::time_point following(time::time_point scheduled, time::time_point now) const noexcept {
    if (now < scheduled + late_margin) return scheduled + period_;
    switch (behavior_) {
      case missed_tick_behavior::burst:
        return scheduled + period_;
      case missed_tick_behavior::delay:
        return now + period_;
      case missed_tick_behavior::skip:
        return now + period_ - (now - scheduled) % period_;
    }
    return scheduled + period_;
  }

  time::time_point next_;
  std::chrono::nanoseconds period_;
  missed_tick_behavior behavior_ = missed_tick_behavior::burst;
  delay timer_;
};

}  // namespace tandem
