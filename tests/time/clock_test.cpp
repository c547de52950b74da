// time/clock.hpp: time::now and the paused clock, on every runtime flavor.
#include <chrono>
#include <memory>
#include <stdexcept>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <tandem/runtime.hpp>
#include <tandem/spawn.hpp>
#include <tandem/spawn_blocking.hpp>
#include <tandem/time/clock.hpp>
#include <tandem/time/sleep.hpp>

#include "support/runtimes.hpp"

namespace {

using namespace std::chrono_literals;
using tandem::task;

class PausedClock : public ::testing::TestWithParam<test_support::runtime_flavor> {
 protected:
  tandem::runtime rt = [] {
    auto b = tandem::runtime::builder().runtime_flavor(GetParam().flavor).start_paused(true);
    if (GetParam().flavor == tandem::runtime::flavor::multi_thread) b.worker_threads(GetParam().workers);
    return b.build();
  }();
};

TEST_P(PausedClock, StandsStillUntilAdvanced) {
  const auto moved = rt.block_on([]() -> task<std::chrono::nanoseconds> {
    const auto start = tandem::time::now();
    std::this_thread::sleep_for(5ms);  // real time passes, the clock does not
    if (tandem::time::now() != start) co_return -1ns;
    co_await tandem::time::advance(90min);
    co_return tandem::time::now() - start;
  }());
  EXPECT_EQ(moved, 90min);
}

TEST_P(PausedClock, AdvanceWakesTheTimersThenDue) {
  const auto woken = rt.block_on([]() -> task<std::vector<int>> {
    auto order = std::make_shared<std::vector<int>>();
    auto a = tandem::spawn([](auto order) -> task<void> {
      co_await tandem::sleep(10s);
      order->push_back(10);
    }(order));
    auto b = tandem::spawn([](auto order) -> task<void> {
      co_await tandem::sleep(30s);
      order->push_back(30);
    }(order));
    // Both timers filed before the clock moves.
    while (tandem::detail::pending_timer_count(*tandem::detail::current_runtime_core()) < 2)
      co_await tandem::yield_now();
    co_await tandem::time::advance(20s);
    co_await a;
    std::vector<int> at_20s = *order;
    co_await b;  // nothing else can run: the clock jumps to 30 s
    at_20s.push_back(static_cast<int>(order->size()));
    co_return at_20s;
  }());
  EXPECT_EQ(woken, (std::vector<int>{10, 2}));
}

TEST_P(PausedClock, IdleRuntimeJumpsToTheNextTimer) {
  const auto real = std::chrono::steady_clock::now();
  const auto virtual_elapsed = rt.block_on([]() -> task<std::chrono::nanoseconds> {
    const auto start = tandem::time::now();
    co_await tandem::sleep(1h);
    co_await tandem::sleep(24h);
    co_return tandem::time::now() - start;
  }());
  EXPECT_GE(virtual_elapsed, 25h);
  EXPECT_LT(virtual_elapsed, 25h + 2ms);
  EXPECT_LT(std::chrono::steady_clock::now() - real, 5s);
}

TEST_P(PausedClock, BlockingWorkHoldsTheJumpBack) {
  // While blocking work that will wake a task is in flight, the clock does not jump to
  // the sleeper's timer: the blocking result comes first, at the same virtual instant.
  const bool ok = rt.block_on([]() -> task<bool> {
    const auto start = tandem::time::now();
    auto blocking = tandem::spawn_blocking([] {
      std::this_thread::sleep_for(50ms);
      return 7;
    });
    auto sleeper = tandem::spawn([]() -> task<void> { co_await tandem::sleep(1h); }());
    const int value = co_await blocking;
    const auto after_blocking = tandem::time::now();
    co_await sleeper;
    co_return value == 7 && after_blocking == start && tandem::time::now() - start >= 1h;
  }());
  EXPECT_TRUE(ok);
}

TEST_P(PausedClock, AdvanceBackwardsIsAnError) {
  EXPECT_THROW(rt.block_on([]() -> task<void> { co_await tandem::time::advance(-1s); }()),
               std::invalid_argument);
}

INSTANTIATE_TEST_SUITE_P(Flavors, PausedClock, test_support::all_flavors(), test_support::flavor_name);

TEST(RealClock, AdvanceNeedsAPausedClock) {
  tandem::runtime rt;
  EXPECT_THROW(rt.block_on([]() -> task<void> { co_await tandem::time::advance(1s); }()), std::logic_error);
}

TEST(RealClock, NowFollowsSteadyClock) {
  tandem::runtime rt;
  const auto gap = rt.block_on([]() -> task<std::chrono::nanoseconds> {
    co_return std::chrono::steady_clock::now() - tandem::time::now();
  }());
  EXPECT_LT(gap, 1s);
  EXPECT_GT(gap, -1s);
}

}  // namespace
