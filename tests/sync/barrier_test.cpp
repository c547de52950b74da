// sync/barrier.hpp: generations, one leader each, reuse, and cancellation.
#include <array>
#include <atomic>
#include <chrono>
#include <coroutine>
#include <memory>
#include <stdexcept>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include <tandem/combine.hpp>
#include <tandem/errors.hpp>
#include <tandem/runtime.hpp>
#include <tandem/spawn.hpp>
#include <tandem/sync/barrier.hpp>
#include <tandem/sync/notify.hpp>
#include <tandem/time/sleep.hpp>
#include <tandem/time/timeout.hpp>

#include "support/runtimes.hpp"
#include "support/sync_waiting.hpp"

namespace {

using test_support::announced;
using test_support::eventually;
using test_support::settle;
using test_support::bounded;

using namespace std::chrono_literals;
using tandem::task;

class Barrier : public ::testing::TestWithParam<test_support::runtime_flavor> {
 protected:
  tandem::runtime rt = test_support::make_runtime(GetParam());
};

// What the tasks of one test share; owned jointly so a failing test that leaves tasks
// behind cannot make them touch freed memory at runtime shutdown.
struct scene {
  explicit scene(std::size_t n) : gate(n) {}
  tandem::barrier gate;
  tandem::notify other;  // the other branch of a select
  std::atomic<int> queued{0};
  std::atomic<int> released{0};
  std::atomic<int> leaders{0};
};

// Arrives once and counts the release (and whether it led).
task<> arrive(std::shared_ptr<scene> s) {
  const auto result = co_await announced(s->gate.wait(), s->queued);
  if (result.is_leader()) s->leaders.fetch_add(1);
  s->released.fetch_add(1);
}

TEST(BarrierBasics, ZeroTasksIsInvalid) {
  EXPECT_THROW({ tandem::barrier none(0); }, std::invalid_argument);
}

TEST_P(Barrier, BarrierOfOneReleasesEveryWaitAsLeader) {
  auto s = std::make_shared<scene>(1);
  const int leaders = rt.block_on([](std::shared_ptr<scene> s) -> task<int> {
    int count = 0;
    for (int i = 0; i < 5; ++i) {
      const auto result = co_await tandem::timeout(5s, s->gate.wait());
      if (result.is_leader()) ++count;
    }
    co_return count;
  }(s));
  EXPECT_EQ(leaders, 5);
}

TEST_P(Barrier, WaitersAreHeldUntilTheLastArrivesWhichLeads) {
  auto s = std::make_shared<scene>(3);
  rt.block_on([](std::shared_ptr<scene> s) -> task<> {
    auto a = tandem::spawn(arrive(s));
    auto b = tandem::spawn(arrive(s));
    EXPECT_TRUE(co_await eventually([&] { return s->queued.load() == 2; }));
    co_await settle();
    EXPECT_EQ(s->released.load(), 0);
    const auto mine = co_await tandem::timeout(5s, s->gate.wait());
    EXPECT_TRUE(mine.is_leader());  // the last arrival
    co_await bounded(std::move(a));
    co_await bounded(std::move(b));
    EXPECT_EQ(s->released.load(), 2);
    EXPECT_EQ(s->leaders.load(), 0);
  }(s));
}

TEST_P(Barrier, OneLeaderPerGenerationOverManyGenerations) {
  constexpr int tasks = 4;
  constexpr int generations = 6;
  struct shared {
    tandem::barrier gate{tasks};
    std::array<std::atomic<int>, generations> arrived{};
    std::array<std::atomic<int>, generations> leaders{};
    std::atomic<bool> early{false};
  };
  auto s = std::make_shared<shared>();
  rt.block_on([](std::shared_ptr<shared> s) -> task<> {
    std::vector<tandem::join_handle<void>> workers;
    for (int i = 0; i < tasks; ++i) {
      workers.push_back(tandem::spawn([](std::shared_ptr<shared> s) -> task<> {
        for (int g = 0; g < generations; ++g) {
          s->arrived[g].fetch_add(1);
          const auto result = co_await s->gate.wait();
          // Released only once every task has arrived for this generation.
          if (s->arrived[g].load() != tasks) s->early = true;
          if (result.is_leader()) s->leaders[g].fetch_add(1);
          co_await tandem::yield_now();
        }
      }(s)));
    }
    for (auto& w : workers) co_await bounded(std::move(w));
  }(s));
  EXPECT_FALSE(s->early.load());
  for (int g = 0; g < generations; ++g) EXPECT_EQ(s->leaders[g].load(), 1) << "generation " << g;
}

TEST_P(Barrier, MoreArrivalsThanSizeFormSeveralGenerations) {
  auto s = std::make_shared<scene>(3);
  rt.block_on([](std::shared_ptr<scene> s) -> task<> {
    std::vector<tandem::join_handle<void>> waiters;
    for (int i = 0; i < 6; ++i) waiters.push_back(tandem::spawn(arrive(s)));
    for (auto& w : waiters) co_await bounded(std::move(w));
    EXPECT_EQ(s->released.load(), 6);
    EXPECT_EQ(s->leaders.load(), 2);
  }(s));
}

// Arrives in a select on `other` (first) and the barrier (second).
task<int> select_other_or_wait(std::shared_ptr<scene> s) {
  auto which = co_await tandem::select(s->other.notified(), announced(s->gate.wait(), s->queued));
  co_return static_cast<int>(which.index());
}

TEST_P(Barrier, WaitLosingASelectTakesItsArrivalBack) {
  auto s = std::make_shared<scene>(3);
  rt.block_on([](std::shared_ptr<scene> s) -> task<> {
    auto loser = tandem::spawn(select_other_or_wait(s));
    EXPECT_TRUE(co_await eventually([&] { return s->queued.load() == 1; }));
    s->other.notify_one();
    EXPECT_EQ(co_await bounded(std::move(loser)), 0);
    // Two more arrivals: with the loser's taken back, that is not yet three.
    auto a = tandem::spawn(arrive(s));
    auto b = tandem::spawn(arrive(s));
    EXPECT_TRUE(co_await eventually([&] { return s->queued.load() == 3; }));
    co_await settle();
    EXPECT_EQ(s->released.load(), 0);
    const auto mine = co_await tandem::timeout(5s, s->gate.wait());
    EXPECT_TRUE(mine.is_leader());
    co_await bounded(std::move(a));
    co_await bounded(std::move(b));
    EXPECT_EQ(s->leaders.load(), 0);
  }(s));
}

TEST_P(Barrier, TimedOutWaitTakesItsArrivalBack) {
  auto s = std::make_shared<scene>(2);
  rt.block_on([](std::shared_ptr<scene> s) -> task<> {
    bool timed_out = false;
    try {
      co_await tandem::timeout(10ms, s->gate.wait());
    } catch (const tandem::timed_out&) {
      timed_out = true;
    }
    EXPECT_TRUE(timed_out);
    auto a = tandem::spawn(arrive(s));
    EXPECT_TRUE(co_await eventually([&] { return s->queued.load() == 1; }));
    co_await settle();
    EXPECT_EQ(s->released.load(), 0);  // one of two: still waiting
    co_await tandem::timeout(5s, s->gate.wait());
    co_await bounded(std::move(a));
  }(s));
}

TEST_P(Barrier, AbortedWaitTakesItsArrivalBack) {
  auto s = std::make_shared<scene>(2);
  rt.block_on([](std::shared_ptr<scene> s) -> task<> {
    auto gone = tandem::spawn(arrive(s));
    EXPECT_TRUE(co_await eventually([&] { return s->queued.load() == 1; }));
    gone.abort();
    bool cancelled = false;
    try {
      co_await bounded(std::move(gone));
    } catch (const tandem::task_cancelled&) {
      cancelled = true;
    }
    EXPECT_TRUE(cancelled);
    auto a = tandem::spawn(arrive(s));
    EXPECT_TRUE(co_await eventually([&] { return s->queued.load() == 2; }));
    co_await settle();
    EXPECT_EQ(s->released.load(), 0);
    co_await tandem::timeout(5s, s->gate.wait());
    co_await bounded(std::move(a));
    EXPECT_EQ(s->released.load(), 1);
  }(s));
}

INSTANTIATE_TEST_SUITE_P(AllFlavors, Barrier, test_support::all_flavors(), test_support::flavor_name);

}  // namespace
