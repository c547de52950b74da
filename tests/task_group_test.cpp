// task_group.hpp: spawn many, next() in completion order, join_all, abort_all, destructor.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <stdexcept>
#include <vector>

#include <gtest/gtest.h>

#include <tandem/errors.hpp>
#include <tandem/runtime.hpp>
#include <tandem/task_group.hpp>

#include "support/runtimes.hpp"

namespace {

using tandem::task;

class TaskGroup : public ::testing::TestWithParam<test_support::runtime_flavor> {
 protected:
  tandem::runtime rt = test_support::make_runtime(GetParam());
};

task<int> after_yields(int value, int yields) {
  for (int i = 0; i < yields; ++i) co_await tandem::yield_now();
  co_return value;
}

task<std::vector<int>> completion_order() {
  tandem::task_group<int> group;
  // Fewer yields finish sooner: 4 first, 0 last (on one worker the order is exact).
  for (int i = 0; i < 5; ++i) group.spawn(after_yields(i, 10 * (5 - i)));
  std::vector<int> order;
  while (auto v = co_await group.next()) order.push_back(*v);
  co_return order;
}

TEST_P(TaskGroup, NextGivesResultsInCompletionOrder) {
  auto order = rt.block_on(completion_order());
  ASSERT_EQ(order.size(), 5u);
  if (GetParam().workers == 1) {
    EXPECT_EQ(order, (std::vector<int>{4, 3, 2, 1, 0}));
  }
  std::sort(order.begin(), order.end());
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4}));
}

task<std::size_t> join_all_collects() {
  tandem::task_group<int> group;
  for (int i = 0; i < 1000; ++i) group.spawn(after_yields(i, i % 3));
  auto values = co_await group.join_all();
  co_return values.size() + group.size();
}

TEST_P(TaskGroup, JoinAllCollectsEverything) {
  EXPECT_EQ(rt.block_on(join_all_collects()), 1000u);
}

task<int> throws_value() {
  co_await tandem::yield_now();
  throw std::runtime_error("member failed");
}

task<int> exceptions_and_aborts() {
  tandem::task_group<int> group;
  group.spawn(throws_value());
  group.spawn(after_yields(1, 1'000'000'000));
  int failures = 0;
  int cancelled = 0;
  for (int seen = 0; seen < 2; ++seen) {
    try {
      co_await group.next();
    } catch (const tandem::task_cancelled&) {
      ++cancelled;
    } catch (const std::runtime_error&) {
      ++failures;
      group.abort_all();
    }
  }
  const bool empty_now = !(co_await group.next()).has_value();
  co_return failures * 100 + cancelled * 10 + (empty_now ? 1 : 0);
}

TEST_P(TaskGroup, ExceptionsAndAbortsComeOutOfNext) {
  EXPECT_EQ(rt.block_on(exceptions_and_aborts()), 111);
}

struct counted {
  std::shared_ptr<std::atomic<int>> destroyed;
  explicit counted(std::shared_ptr<std::atomic<int>> d) : destroyed(std::move(d)) {}
  counted(counted&&) noexcept = default;
  ~counted() {
    if (destroyed) destroyed->fetch_add(1);
  }
};

task<void> hold(counted c) {
  (void)c;
  for (;;) co_await tandem::yield_now();
}

task<bool> destroying_the_group_aborts() {
  auto destroyed = std::make_shared<std::atomic<int>>(0);
  {
    tandem::task_group<void> group;
    for (int i = 0; i < 10; ++i) group.spawn(hold(counted(destroyed)));
    co_await tandem::yield_now();
  }
  // Bounded in time, not in yields: under a sanitizer on a loaded machine the other
  // workers may get little CPU while this one yields.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (destroyed->load() < 10 && std::chrono::steady_clock::now() < deadline) co_await tandem::yield_now();
  co_return destroyed->load() == 10;
}

TEST_P(TaskGroup, DestroyingTheGroupAbortsItsTasks) {
  EXPECT_TRUE(rt.block_on(destroying_the_group_aborts()));
}

task<bool> empty_group() {
  tandem::task_group<int> group;
  co_return group.empty() && !(co_await group.next()).has_value();
}

TEST_P(TaskGroup, AnEmptyGroupEndsAtOnce) {
  EXPECT_TRUE(rt.block_on(empty_group()));
}

// A runtime that has shut down cancels a task at its launch, on the spawning thread; the report must not
// wait for the lock the spawn holds (it used to deadlock).
task<int> spawn_on_a_shut_down_runtime(tandem::runtime::handle dead) {
  tandem::task_group<int> group;
  group.spawn(dead, after_yields(1, 0));
  group.spawn(after_yields(2, 0));
  int cancelled = 0;
  int sum = 0;
  for (int i = 0; i < 2; ++i) {
    try {
      auto value = co_await group.next();
      sum += value.value_or(100);
    } catch (const tandem::task_cancelled&) {
      ++cancelled;
    }
  }
  co_return sum + 10 * cancelled + (group.empty() ? 0 : 1000);
}

TEST_P(TaskGroup, SpawnOnAShutDownRuntimeGivesACancelledTask) {
  std::optional<tandem::runtime::handle> dead;
  {
    auto other = test_support::make_runtime(GetParam());
    dead = other.get_handle();
  }
  EXPECT_EQ(rt.block_on(spawn_on_a_shut_down_runtime(*dead)), 12);
}

TEST(TaskGroupErrors, SpawnOutsideARuntimeThrows) {
  tandem::task_group<int> group;
  EXPECT_THROW(group.spawn(after_yields(1, 0)), std::logic_error);
  EXPECT_TRUE(group.empty());
}

INSTANTIATE_TEST_SUITE_P(AllFlavors, TaskGroup, test_support::all_flavors(), test_support::flavor_name);

}  // namespace
