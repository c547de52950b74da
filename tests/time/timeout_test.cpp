// time/timeout.hpp: timeout and timeout_at, on every runtime flavor.
#include <atomic>
#include <chrono>
#include <memory>
#include <stdexcept>

#include <gtest/gtest.h>

#include <tandem/errors.hpp>
#include <tandem/runtime.hpp>
#include <tandem/spawn.hpp>
#include <tandem/sync/oneshot.hpp>
#include <tandem/time/clock.hpp>
#include <tandem/time/sleep.hpp>
#include <tandem/time/timeout.hpp>

#include "support/runtimes.hpp"

namespace {

using namespace std::chrono_literals;
using tandem::task;

class Timeout : public ::testing::TestWithParam<test_support::runtime_flavor> {
 protected:
  tandem::runtime rt = test_support::make_runtime(GetParam());
};

class PausedTimeout : public ::testing::TestWithParam<test_support::runtime_flavor> {
 protected:
  tandem::runtime rt = [] {
    auto b = tandem::runtime::builder().runtime_flavor(GetParam().flavor).start_paused(true);
    if (GetParam().flavor == tandem::runtime::flavor::multi_thread) b.worker_threads(GetParam().workers);
    return b.build();
  }();
};

// Sets its flag when destroyed: shows a frame was torn down.
struct destruction_flag {
  std::shared_ptr<std::atomic<bool>> flag;
  ~destruction_flag() {
    if (flag) flag->store(true);
  }
};

task<int> slow_value(std::chrono::nanoseconds after, int value, std::shared_ptr<std::atomic<bool>> destroyed) {
  destruction_flag guard{std::move(destroyed)};
  co_await tandem::sleep(after);
  co_return value;
}

std::size_t pending_timers() {
  return tandem::detail::pending_timer_count(*tandem::detail::current_runtime_core());
}

TEST_P(Timeout, FinishingInTimeGivesTheValue) {
  const int value = rt.block_on([]() -> task<int> {
    co_return co_await tandem::timeout(5s, slow_value(1ms, 42, nullptr));
  }());
  EXPECT_EQ(value, 42);
}

TEST_P(Timeout, LateOperationIsCancelledAndTimedOutThrown) {
  auto destroyed = std::make_shared<std::atomic<bool>>(false);
  const auto outcome = rt.block_on([](auto destroyed) -> task<int> {
    const auto start = std::chrono::steady_clock::now();
    try {
      co_await tandem::timeout(20ms, slow_value(1h, 1, destroyed));
      co_return 1;  // not reached
    } catch (const tandem::timed_out&) {
    }
    const auto took = std::chrono::steady_clock::now() - start;
    // The inner frame is gone before timed_out reaches us, and its timer with it.
    if (!destroyed->load() || pending_timers() != 0) co_return 2;
    co_return took >= 20ms ? 0 : 3;
  }(destroyed));
  EXPECT_EQ(outcome, 0);
}

TEST_P(Timeout, InnerExceptionPassesThrough) {
  EXPECT_THROW(rt.block_on([]() -> task<void> {
    co_await tandem::timeout(5s, []() -> task<void> {
      co_await tandem::sleep(1ms);
      throw std::runtime_error("inner");
    }());
  }()),
               std::runtime_error);
}

TEST_P(Timeout, ReadyOperationWinsEvenWithZeroTime) {
  const int value = rt.block_on([]() -> task<int> {
    co_return co_await tandem::timeout(0ms, []() -> task<int> { co_return 5; }());
  }());
  EXPECT_EQ(value, 5);
}

TEST_P(Timeout, WorksOnAnyAwaitable) {
  const bool ok = rt.block_on([]() -> task<bool> {
    auto [tx, rx] = tandem::oneshot<int>();
    auto handle = tandem::spawn([](tandem::oneshot_sender<int> tx) -> task<void> {
      co_await tandem::sleep(2ms);
      tx.send(9);
    }(std::move(tx)));
    const int received = co_await tandem::timeout(5s, std::move(rx));
    co_await handle;
    bool timed_out = false;
    try {
      auto [never_tx, never_rx] = tandem::oneshot<int>();
      co_await tandem::timeout_at(tandem::time::now() + 5ms, std::move(never_rx));
    } catch (const tandem::timed_out&) {
      timed_out = true;
    }
    co_return received == 9 && timed_out;
  }());
  EXPECT_TRUE(ok);
}

TEST_P(PausedTimeout, DeadlinesAreExactOnAPausedClock) {
  const bool ok = rt.block_on([]() -> task<bool> {
    const auto start = tandem::time::now();
    const int in_time = co_await tandem::timeout(2s, slow_value(1s, 7, nullptr));
    const bool first_ok = in_time == 7 && tandem::time::now() - start == 1s;
    bool late = false;
    try {
      co_await tandem::timeout(1s, slow_value(2s, 8, nullptr));
    } catch (const tandem::timed_out&) {
      late = true;
    }
    co_return first_ok && late && tandem::time::now() - start == 2s;
  }());
  EXPECT_TRUE(ok);
}

INSTANTIATE_TEST_SUITE_P(Flavors, Timeout, test_support::all_flavors(), test_support::flavor_name);
INSTANTIATE_TEST_SUITE_P(Flavors, PausedTimeout, test_support::all_flavors(), test_support::flavor_name);

}  // namespace
