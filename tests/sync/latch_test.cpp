// sync/latch.hpp: counting down, releasing waiters, misuse and cancellation.
#include <atomic>
#include <chrono>
#include <coroutine>
#include <memory>
#include <stdexcept>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include <tandem/errors.hpp>
#include <tandem/runtime.hpp>
#include <tandem/spawn.hpp>
#include <tandem/sync/latch.hpp>
#include <tandem/time/sleep.hpp>
#include <tandem/time/timeout.hpp>

#include "support/runtimes.hpp"
#include "support/sync_waiting.hpp"
#include "support/waiting.hpp"

namespace {

using test_support::announced;
using test_support::eventually;
using test_support::settle;
using test_support::bounded;

using namespace std::chrono_literals;
using tandem::task;

class Latch : public ::testing::TestWithParam<test_support::runtime_flavor> {
 protected:
  tandem::runtime rt = test_support::make_runtime(GetParam());
};

// What the tasks of one test share; owned jointly so a failing test that leaves tasks
// behind cannot make them touch freed memory at runtime shutdown.
struct scene {
  explicit scene(std::size_t count) : done(count) {}
  tandem::latch done;
  std::atomic<int> queued{0};
  std::atomic<int> released{0};
};

task<> wait_and_count(std::shared_ptr<scene> s) {
  co_await announced(s->done.wait(), s->queued);
  s->released.fetch_add(1);
}

TEST(LatchBasics, CountAndTryWait) {
  tandem::latch latch(3);
  EXPECT_EQ(latch.count(), 3u);
  EXPECT_FALSE(latch.try_wait());
  latch.count_down();
  EXPECT_EQ(latch.count(), 2u);
  EXPECT_FALSE(latch.try_wait());
  latch.count_down(2);
  EXPECT_EQ(latch.count(), 0u);
  EXPECT_TRUE(latch.try_wait());
  EXPECT_TRUE(tandem::latch(0).try_wait());
}

TEST(LatchBasics, CountingDownMoreThanIsLeftThrowsAndChangesNothing) {
  tandem::latch latch(2);
  EXPECT_THROW(latch.count_down(3), std::invalid_argument);
  EXPECT_EQ(latch.count(), 2u);
  latch.count_down(2);
  EXPECT_THROW(latch.count_down(), std::invalid_argument);
  EXPECT_EQ(latch.count(), 0u);
  EXPECT_TRUE(latch.try_wait());
}

TEST_P(Latch, ReachingZeroReleasesEveryWaiter) {
  auto s = std::make_shared<scene>(3);
  rt.block_on([](std::shared_ptr<scene> s) -> task<> {
    std::vector<tandem::join_handle<void>> waiters;
    for (int i = 0; i < 4; ++i) waiters.push_back(tandem::spawn(wait_and_count(s)));
    EXPECT_TRUE(co_await eventually([&] { return s->queued.load() == 4; }));
    s->done.count_down();
    s->done.count_down();
    co_await settle();
    EXPECT_EQ(s->released.load(), 0);  // 1 left
    s->done.count_down();
    for (auto& w : waiters) co_await bounded(std::move(w));
    EXPECT_EQ(s->released.load(), 4);
  }(s));
}

TEST_P(Latch, CountingDownSeveralAtOnceToZeroReleases) {
  auto s = std::make_shared<scene>(5);
  rt.block_on([](std::shared_ptr<scene> s) -> task<> {
    auto waiter = tandem::spawn(wait_and_count(s));
    EXPECT_TRUE(co_await eventually([&] { return s->queued.load() == 1; }));
    s->done.count_down(5);
    co_await bounded(std::move(waiter));
  }(s));
}

TEST_P(Latch, WaitAfterZeroCompletesAtOnce) {
  auto s = std::make_shared<scene>(1);
  rt.block_on([](std::shared_ptr<scene> s) -> task<> {
    s->done.count_down();
    co_await tandem::timeout(5s, s->done.wait());
    co_await tandem::timeout(5s, s->done.wait());  // and again: it stays open
    tandem::latch open(0);
    co_await tandem::timeout(5s, open.wait());
  }(s));
}

TEST_P(Latch, RejectedCountDownReleasesNobody) {
  auto s = std::make_shared<scene>(2);
  rt.block_on([](std::shared_ptr<scene> s) -> task<> {
    auto waiter = tandem::spawn(wait_and_count(s));
    EXPECT_TRUE(co_await eventually([&] { return s->queued.load() == 1; }));
    EXPECT_THROW(s->done.count_down(5), std::invalid_argument);
    co_await settle();
    EXPECT_EQ(s->released.load(), 0);
    EXPECT_EQ(s->done.count(), 2u);
    s->done.count_down(2);
    co_await bounded(std::move(waiter));
  }(s));
}

TEST_P(Latch, CountDownsFromPlainThreadsReleaseATask) {
  auto s = std::make_shared<scene>(8);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([s] {
      test_support::wait_for([&] { return s->queued.load() == 1; });
      s->done.count_down();
      s->done.count_down();
    });
  }
  rt.block_on([](std::shared_ptr<scene> s) -> task<> {
    co_await tandem::timeout(5s, announced(s->done.wait(), s->queued));
    EXPECT_EQ(s->done.count(), 0u);
  }(s));
  for (auto& t : threads) t.join();
}

TEST_P(Latch, TimedOutWaitJustStopsWaiting) {
  auto s = std::make_shared<scene>(1);
  rt.block_on([](std::shared_ptr<scene> s) -> task<> {
    bool timed_out = false;
    try {
      co_await tandem::timeout(10ms, s->done.wait());
    } catch (const tandem::timed_out&) {
      timed_out = true;
    }
    EXPECT_TRUE(timed_out);
    EXPECT_EQ(s->done.count(), 1u);
    auto waiter = tandem::spawn(wait_and_count(s));
    EXPECT_TRUE(co_await eventually([&] { return s->queued.load() == 1; }));
    s->done.count_down();
    co_await bounded(std::move(waiter));
  }(s));
}

TEST_P(Latch, AbortedWaiterLeavesTheOthersWaiting) {
  auto s = std::make_shared<scene>(1);
  rt.block_on([](std::shared_ptr<scene> s) -> task<> {
    auto gone = tandem::spawn(wait_and_count(s));
    auto stays = tandem::spawn(wait_and_count(s));
    EXPECT_TRUE(co_await eventually([&] { return s->queued.load() == 2; }));
    gone.abort();
    bool cancelled = false;
    try {
      co_await bounded(std::move(gone));
    } catch (const tandem::task_cancelled&) {
      cancelled = true;
    }
    EXPECT_TRUE(cancelled);
    s->done.count_down();
    co_await bounded(std::move(stays));
    EXPECT_EQ(s->released.load(), 1);
  }(s));
}

INSTANTIATE_TEST_SUITE_P(AllFlavors, Latch, test_support::all_flavors(), test_support::flavor_name);

}  // namespace
