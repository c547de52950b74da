// spawn.hpp: spawn, join_handle (await, abort, detach, is_finished), yield_now.
#include <atomic>
#include <memory>
#include <stdexcept>
#include <vector>

#include <gtest/gtest.h>

#include <tandem/runtime.hpp>
#include <tandem/spawn.hpp>

#include "support/runtimes.hpp"

namespace {

using tandem::join_handle;
using tandem::task;

class Spawn : public ::testing::TestWithParam<test_support::runtime_flavor> {
 protected:
  tandem::runtime rt = test_support::make_runtime(GetParam());
};

task<int> square(int x) {
  co_return x* x;
}

task<long> spawn_and_sum(int n) {
  std::vector<join_handle<int>> handles;
  for (int i = 0; i < n; ++i) handles.push_back(tandem::spawn(square(i)));
  long total = 0;
  for (auto& h : handles) total += co_await h;
  co_return total;
}

TEST_P(Spawn, ResultsComeBackThroughTheHandles) {
  long want = 0;
  for (long i = 0; i < 10'000; ++i) want += i * i;
  EXPECT_EQ(rt.block_on(spawn_and_sum(10'000)), want);
}

task<int> fails() {
  co_await tandem::yield_now();
  throw std::runtime_error("task failed");
}

task<bool> exception_reaches_awaiter() {
  auto h = tandem::spawn(fails());
  try {
    co_await h;
  } catch (const std::runtime_error& e) {
    co_return std::string(e.what()) == "task failed";
  }
  co_return false;
}

TEST_P(Spawn, ExceptionReachesWhoeverAwaits) {
  EXPECT_TRUE(rt.block_on(exception_reaches_awaiter()));
}

task<> forever(std::shared_ptr<std::atomic<int>> polls) {
  for (;;) {
    polls->fetch_add(1);
    co_await tandem::yield_now();
  }
}

task<bool> abort_cancels() {
  auto polls = std::make_shared<std::atomic<int>>(0);
  auto h = tandem::spawn(forever(polls));
  while (polls->load() < 3) co_await tandem::yield_now();
  h.abort();
  try {
    co_await h;
  } catch (const tandem::task_cancelled&) {
    co_return h.is_finished() && polls.use_count() == 1;  // the frame (and its copy) is gone
  }
  co_return false;
}

TEST_P(Spawn, AbortCancelsAtTheNextSuspensionAndDestroysTheFrame) {
  EXPECT_TRUE(rt.block_on(abort_cancels()));
}

task<bool> awaited_twice() {
  auto h = tandem::spawn(square(3));
  if (co_await h != 9) co_return false;
  try {
    co_await h;
  } catch (const std::logic_error&) {
    co_return true;
  }
  co_return false;
}

TEST_P(Spawn, AwaitingTwiceIsAClearError) {
  EXPECT_TRUE(rt.block_on(awaited_twice()));
}

task<> set_flag(std::shared_ptr<std::atomic<bool>> flag) {
  co_await tandem::yield_now();
  flag->store(true);
}

task<bool> detached_runs_on() {
  auto flag = std::make_shared<std::atomic<bool>>(false);
  { auto h = tandem::spawn(set_flag(flag)); }
  while (!flag->load()) co_await tandem::yield_now();
  co_return true;
}

TEST_P(Spawn, DroppedHandleDetachesTheTask) {
  EXPECT_TRUE(rt.block_on(detached_runs_on()));
}

task<int> chain(int remaining) {
  if (remaining == 0) co_return 0;
  co_return co_await tandem::spawn(chain(remaining - 1)) + 1;
}

TEST_P(Spawn, NestedSpawnsAwaitEachOther) {
  EXPECT_EQ(rt.block_on(chain(1'000)), 1'000);
}

task<int> loops_on_ready_handles(int rounds) {
  auto h = tandem::spawn(square(2));
  while (!h.is_finished()) co_await tandem::yield_now();
  int total = co_await h;
  // Awaiting finished handles costs budget: without yields this would still finish,
  // but the budget makes the task give the worker up now and then.
  for (int i = 0; i < rounds; ++i) total += co_await tandem::spawn(square(1));
  co_return total;
}

TEST_P(Spawn, ManyReadyAwaitsFinish) {
  EXPECT_EQ(rt.block_on(loops_on_ready_handles(1'000)), 1'004);
}

TEST_P(Spawn, RuntimeSpawnFromOutsideAndHandleFromAnotherThread) {
  auto h = rt.spawn(square(6));
  auto handle = rt.get_handle();
  join_handle<int> from_thread;
  std::thread([&] { from_thread = handle.spawn(square(7)); }).join();
  auto both = [](join_handle<int> a, join_handle<int> b) -> task<int> { co_return co_await a + co_await b; };
  EXPECT_EQ(rt.block_on(both(std::move(h), std::move(from_thread))), 36 + 49);
}

task<> count_polls(std::shared_ptr<std::atomic<long>> polls, std::shared_ptr<std::atomic<bool>> stop) {
  while (!stop->load()) {
    polls->fetch_add(1);
    co_await tandem::yield_now();
  }
}

task<long> ready_handles_leave_room_for_others() {
  auto polls = std::make_shared<std::atomic<long>>(0);
  auto stop = std::make_shared<std::atomic<bool>>(false);
  auto other = tandem::spawn(count_polls(polls, stop));
  std::vector<join_handle<int>> ready;
  for (int i = 0; i < 1'280; ++i) ready.push_back(tandem::spawn(square(1)));
  for (auto& h : ready) {
    while (!h.is_finished()) co_await tandem::yield_now();
  }
  const long before = polls->load();
  // 1,280 awaits that never have to wait: the budget (128 a poll) still makes this task
  // step aside about ten times, and each time the other task gets a turn.
  for (auto& h : ready) co_await h;
  const long during = polls->load() - before;
  stop->store(true);
  co_await other;
  co_return during;
}

TEST(SpawnBudget, AlwaysReadyAwaitsStillYieldToOtherTasks) {
  auto rt = tandem::runtime::builder().runtime_flavor(tandem::runtime::flavor::current_thread).build();
  const long others_polls = rt.block_on(ready_handles_leave_room_for_others());
  EXPECT_GE(others_polls, 9);
  EXPECT_LE(others_polls, 11);
}

TEST(SpawnErrors, SpawnOutsideAnyRuntimeThrows) {
  EXPECT_THROW((void)tandem::spawn(square(1)), std::logic_error);
}

TEST(SpawnErrors, EmptyHandleOperationsThrow) {
  join_handle<int> empty;
  EXPECT_THROW((void)empty.is_finished(), std::logic_error);
  EXPECT_THROW(empty.abort(), std::logic_error);
}

INSTANTIATE_TEST_SUITE_P(AllFlavors, Spawn, test_support::all_flavors(), test_support::flavor_name);

}  // namespace
