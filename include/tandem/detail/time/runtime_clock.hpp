// runtime_clock: a runtime's "now", real (steady_clock) or paused for tests.
//
// Timers are filed in ticks of 1 ms counted from the runtime's start (`base`). A
// deadline is rounded up to its tick and a tick is due once "now" has reached its start,
// so a timer never fires before its deadline, and fires at most 1 ms (plus the wake-up
// latency) after it.
//
// A paused clock (runtime::builder::start_paused) stands still at the runtime's start
// and moves only when told: time::advance(d), or the runtime itself jumping to the next
// timer when every worker is idle (see src/time/README.md).
//
// Thread safety: every member may be called from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace tandem::detail {

class runtime_clock {
 public:
  using time_point = std::chrono::steady_clock::time_point;
  using duration = std::chrono::nanoseconds;

  explicit runtime_clock(bool paused) noexcept : base_(std::chrono::steady_clock::now()), paused_(paused) {}

  bool paused() const noexcept { return paused_; }

  time_point now() const noexcept {
    if (!paused_) return std::chrono::steady_clock::now();
    // Acquire: pairs with advance_to's release, so a task that sees the clock moved also
    // sees what the advancing thread did before moving it.
    return base_ + duration(paused_offset_.load(std::memory_order_acquire));
  }

  // The tick "now" falls in (rounded down).
  std::uint64_t now_tick() const noexcept { return tick_floor(now()); }

  // The first tick whose start is at or after `deadline` (rounded up).
  std::uint64_t deadline_tick(time_point deadline) const noexcept {
    if (deadline <= base_) return 0;
    const auto ns = std::chrono::duration_cast<duration>(deadline - base_).count();
    return static_cast<std::uint64_t>((ns + tick_ns - 1) / tick_ns);
  }

  time_point start_of_tick(std::uint64_t tick) const noexcept {
    return base_ + std::chrono::milliseconds(static_cast<std::int64_t>(tick));
  }

  // Paused clock only: moves it forward by `by` (concurrent calls add up).
  void advance_by(duration by) noexcept {
    // Release: see now().
    paused_offset_.fetch_add(by.count(), std::memory_order_release);
  }

  // Paused clock only: moves it forward to `target` (never back).
  void advance_to(time_point target) noexcept {
    const std::int64_t wanted = std::chrono::duration_cast<duration>(target - base_).count();
    std::int64_t seen = paused_offset_.load(std::memory_order_relaxed);
    // Release: see now().
    while (seen < wanted &&
           !paused_offset_.compare_exchange_weak(seen, wanted, std::memory_order_release, std::memory_order_relaxed)) {
    }
  }

 private:
  static constexpr std::int64_t tick_ns = 1'000'000;

  std::uint64_t tick_floor(time_point t) const noexcept {
    if (t <= base_) return 0;
    return static_cast<std::uint64_t>(std::chrono::duration_cast<duration>(t - base_).count() / tick_ns);
  }

  const time_point base_;
  const bool paused_;
  std::atomic<std::int64_t> paused_offset_{0};
};

}  // namespace tandem::detail
