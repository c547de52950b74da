// combine.hpp: join, try_join, select inside one task.
#include <atomic>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <tandem/combine.hpp>
#include <tandem/runtime.hpp>
#include <tandem/spawn.hpp>

#include "support/runtimes.hpp"

namespace {

using tandem::task;

class Combine : public ::testing::TestWithParam<test_support::runtime_flavor> {
 protected:
  tandem::runtime rt = test_support::make_runtime(GetParam());
};

// Appends `id` to `trace` after each of `yields` yields, then returns id.
task<int> stepper(int id, int yields, std::shared_ptr<std::vector<int>> trace) {
  for (int i = 0; i < yields; ++i) {
    co_await tandem::yield_now();
    trace->push_back(id);
  }
  co_return id;
}

task<> nothing() {
  co_return;
}

task<int> fails_after(int yields) {
  for (int i = 0; i < yields; ++i) co_await tandem::yield_now();
  throw std::runtime_error("branch failed");
}

task<bool> join_interleaves_branches() {
  // The trace is shared without a lock: the branches take turns, never run in parallel
  // (ThreadSanitizer would see it). The task itself may move between workers.
  auto trace = std::make_shared<std::vector<int>>();
  auto [a, b, c] = co_await tandem::join(stepper(1, 3, trace), stepper(2, 3, trace), nothing());
  (void)c;
  const bool interleaved = *trace == std::vector<int>{1, 2, 1, 2, 1, 2};
  co_return a == 1 && b == 2 && interleaved;
}

TEST_P(Combine, JoinRunsBranchesConcurrentlyWithinTheTask) {
  EXPECT_TRUE(rt.block_on(join_interleaves_branches()));
}

task<int> join_mixed_awaitables() {
  auto h = tandem::spawn(stepper(7, 2, std::make_shared<std::vector<int>>()));
  auto [spawned, local] =
      co_await tandem::join(std::move(h), stepper(3, 1, std::make_shared<std::vector<int>>()));
  co_return spawned* local;
}

TEST_P(Combine, JoinTakesJoinHandlesToo) {
  EXPECT_EQ(rt.block_on(join_mixed_awaitables()), 21);
}

task<std::string> join_waits_for_all_then_rethrows_first() {
  auto trace = std::make_shared<std::vector<int>>();
  try {
    co_await tandem::join(fails_after(1), stepper(2, 5, trace));
  } catch (const std::runtime_error& e) {
    co_return std::string(e.what()) + ":" + std::to_string(trace->size());
  }
  co_return "no exception";
}

TEST_P(Combine, JoinFinishesEveryBranchBeforeRethrowing) {
  EXPECT_EQ(rt.block_on(join_waits_for_all_then_rethrows_first()), "branch failed:5");
}

struct drop_flag {
  std::shared_ptr<bool> dropped;
  explicit drop_flag(std::shared_ptr<bool> d) : dropped(std::move(d)) {}
  drop_flag(drop_flag&&) noexcept = default;
  ~drop_flag() {
    if (dropped) *dropped = true;
  }
};

task<int> forever(drop_flag flag) {
  (void)flag;
  for (;;) co_await tandem::yield_now();
}

task<bool> try_join_cancels_the_rest() {
  auto dropped = std::make_shared<bool>(false);
  try {
    co_await tandem::try_join(forever(drop_flag(dropped)), fails_after(2));
  } catch (const std::runtime_error&) {
    co_return *dropped;
  }
  co_return false;
}

TEST_P(Combine, TryJoinCancelsTheOthersOnTheFirstException) {
  EXPECT_TRUE(rt.block_on(try_join_cancels_the_rest()));
}

task<int> try_join_success() {
  auto [a, b] = co_await tandem::try_join(stepper(4, 1, std::make_shared<std::vector<int>>()),
                                          stepper(5, 2, std::make_shared<std::vector<int>>()));
  co_return a + b;
}

TEST_P(Combine, TryJoinReturnsEveryValueWhenNothingThrows) {
  EXPECT_EQ(rt.block_on(try_join_success()), 9);
}

task<bool> select_first_wins_and_losers_are_destroyed() {
  auto dropped = std::make_shared<bool>(false);
  auto result = co_await tandem::select(forever(drop_flag(dropped)),
                                        stepper(9, 3, std::make_shared<std::vector<int>>()));
  co_return result.index() == 1 && std::get<1>(result) == 9 && *dropped;
}

TEST_P(Combine, SelectReportsTheWinnerAndDestroysTheOthers) {
  EXPECT_TRUE(rt.block_on(select_first_wins_and_losers_are_destroyed()));
}

task<bool> select_rethrows_a_failing_winner() {
  try {
    co_await tandem::select(fails_after(0), forever(drop_flag(nullptr)));
  } catch (const std::runtime_error&) {
    co_return true;
  }
  co_return false;
}

TEST_P(Combine, SelectRethrowsTheWinnersException) {
  EXPECT_TRUE(rt.block_on(select_rethrows_a_failing_winner()));
}

task<int> abort_target(std::shared_ptr<bool> dropped, std::shared_ptr<std::atomic<bool>> started) {
  started->store(true);  // the branches are created in this same poll
  co_await tandem::join(forever(drop_flag(dropped)), forever(drop_flag(nullptr)));
  co_return 0;
}

task<bool> aborting_a_joining_task_destroys_its_branches() {
  auto dropped = std::make_shared<bool>(false);
  auto started = std::make_shared<std::atomic<bool>>(false);
  auto h = tandem::spawn(abort_target(dropped, started));
  // Aborted before its first poll, the task would never create its branches: wait
  // until it runs (on any worker), bounded in time.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!started->load() && std::chrono::steady_clock::now() < deadline) co_await tandem::yield_now();
  h.abort();
  try {
    co_await h;
  } catch (const tandem::task_cancelled&) {
    co_return *dropped;
  }
  co_return false;
}

TEST_P(Combine, AbortingTheTaskDestroysItsBranches) {
  EXPECT_TRUE(rt.block_on(aborting_a_joining_task_destroys_its_branches()));
}

INSTANTIATE_TEST_SUITE_P(AllFlavors, Combine, test_support::all_flavors(), test_support::flavor_name);

}  // namespace
