// time/interval.hpp: interval and its missed-tick behaviors, on a paused clock (exact
// instants, no real time), on every runtime flavor.
#include <chrono>
#include <stdexcept>
#include <vector>

#include <gtest/gtest.h>

#include <tandem/combine.hpp>
#include <tandem/runtime.hpp>
#include <tandem/spawn.hpp>
#include <tandem/time/clock.hpp>
#include <tandem/time/interval.hpp>

#include "support/runtimes.hpp"

namespace {

using namespace std::chrono_literals;
using tandem::task;
using ms = std::chrono::milliseconds;

class Interval : public ::testing::TestWithParam<test_support::runtime_flavor> {
 protected:
  tandem::runtime rt = [] {
    auto b = tandem::runtime::builder().runtime_flavor(GetParam().flavor).start_paused(true);
    if (GetParam().flavor == tandem::runtime::flavor::multi_thread) b.worker_threads(GetParam().workers);
    return b.build();
  }();
};

// Ticks of a 10 ms interval, as offsets from its start: the first taken at once, then
// the clock moved 35 ms (three ticks missed) before taking `after_late` more.
task<std::vector<long>> ticks_after_being_late(tandem::missed_tick_behavior behavior, int after_late) {
  const auto start = tandem::time::now();
  tandem::interval every(start, 10ms);
  every.set_missed_tick_behavior(behavior);
  std::vector<long> scheduled;
  std::vector<long> taken;
  auto offset = [&](tandem::time::time_point t) { return std::chrono::duration_cast<ms>(t - start).count(); };
  scheduled.push_back(offset(co_await every.tick()));
  co_await tandem::time::advance(35ms);
  for (int i = 0; i < after_late; ++i) {
    scheduled.push_back(offset(co_await every.tick()));
    taken.push_back(offset(tandem::time::now()));
  }
  scheduled.insert(scheduled.end(), taken.begin(), taken.end());
  co_return scheduled;
}

TEST_P(Interval, FirstTickAtOnceThenEveryPeriod) {
  const auto offsets = rt.block_on([]() -> task<std::vector<long>> {
    const auto start = tandem::time::now();
    tandem::interval every(25ms);
    std::vector<long> seen;
    for (int i = 0; i < 4; ++i) {
      co_await every.tick();
      seen.push_back(std::chrono::duration_cast<ms>(tandem::time::now() - start).count());
    }
    co_return seen;
  }());
  EXPECT_EQ(offsets, (std::vector<long>{0, 25, 50, 75}));
}

TEST_P(Interval, BurstCatchesUpOnTheMissedTicks) {
  // Scheduled 0; late at 35: 10, 20, 30 at once, then 40 on time.
  const auto got = rt.block_on(ticks_after_being_late(tandem::missed_tick_behavior::burst, 4));
  EXPECT_EQ(got, (std::vector<long>{0, 10, 20, 30, 40, /*taken at*/ 35, 35, 35, 40}));
}

TEST_P(Interval, DelayRestartsThePeriodFromTheLateTick) {
  // Tick 10 taken at 35; the next comes a period later, at 45, then 55.
  const auto got = rt.block_on(ticks_after_being_late(tandem::missed_tick_behavior::delay, 3));
  EXPECT_EQ(got, (std::vector<long>{0, 10, 45, 55, /*taken at*/ 35, 45, 55}));
}

TEST_P(Interval, SkipDropsTheMissedTicks) {
  // Tick 10 taken at 35; 20 and 30 are dropped; the next is 40, on the old schedule.
  const auto got = rt.block_on(ticks_after_being_late(tandem::missed_tick_behavior::skip, 3));
  EXPECT_EQ(got, (std::vector<long>{0, 10, 40, 50, /*taken at*/ 35, 40, 50}));
}

TEST_P(Interval, TickThatLosesASelectComesAgain) {
  const auto offsets = rt.block_on([]() -> task<std::vector<long>> {
    const auto start = tandem::time::now();
    tandem::interval every(start, 10ms);
    co_await every.tick();  // 0
    auto first = co_await tandem::select(every.tick(), tandem::sleep(4ms));
    const long lost = static_cast<long>(first.index());
    const long next = std::chrono::duration_cast<ms>(co_await every.tick() - start).count();
    co_return std::vector<long>{lost, next};
  }());
  EXPECT_EQ(offsets, (std::vector<long>{1, 10}));
}

TEST_P(Interval, ResetStartsAgainFromNow) {
  const long next = rt.block_on([]() -> task<long> {
    const auto start = tandem::time::now();
    tandem::interval every(start, 10ms);
    co_await every.tick();
    co_await tandem::time::advance(3ms);
    every.reset();
    co_return std::chrono::duration_cast<ms>(co_await every.tick() - start).count();
  }());
  EXPECT_EQ(next, 13);
}

INSTANTIATE_TEST_SUITE_P(Flavors, Interval, test_support::all_flavors(), test_support::flavor_name);

TEST(IntervalErrors, PeriodMustBePositive) {
  EXPECT_THROW(tandem::interval(0ms), std::invalid_argument);
  EXPECT_THROW(tandem::interval(-1s), std::invalid_argument);
}

}  // namespace
