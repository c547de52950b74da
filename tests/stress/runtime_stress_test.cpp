// Stress: the async runtime under many spawns from tasks and from outside threads,
// aborts racing with completion, and joins racing with wakes. Runs under TSan in CI.
#include <atomic>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <tandem/combine.hpp>
#include <tandem/par/compute.hpp>
#include <tandem/par/iter.hpp>
#include <tandem/runtime.hpp>
#include <tandem/spawn_blocking.hpp>
#include <tandem/sync/oneshot.hpp>
#include <tandem/task_group.hpp>

#include "support/runtimes.hpp"

namespace {

using tandem::join_handle;
using tandem::task;

task<long> leaf(long x) {
  co_return x;
}

// A binary tree of spawns: every task spawns two children until `depth` runs out.
task<long> tree(int depth) {
  if (depth == 0) co_return 1;
  auto left = tandem::spawn(tree(depth - 1));
  auto right = tandem::spawn(tree(depth - 1));
  co_return co_await left + co_await right;
}

task<long> sum_of(std::vector<join_handle<long>> handles) {
  long s = 0;
  for (auto& h : handles) s += co_await h;
  co_return s;
}

TEST(RuntimeStress, MillionTasksFromTasksAndFromEightOutsideThreads) {
  auto rt = tandem::runtime::builder().worker_threads(4).build();
  constexpr int outside_threads = 8;
  constexpr long per_thread = 62'500;  // 8 x 62,500 = 500,000 spawned from outside
  std::atomic<long> from_outside{0};
  std::vector<std::thread> threads;
  auto handle = rt.get_handle();
  for (int t = 0; t < outside_threads; ++t) {
    threads.emplace_back([&] {
      std::vector<join_handle<long>> batch;
      for (long i = 0; i < per_thread; ++i) {
        batch.push_back(handle.spawn(leaf(1)));
        if (batch.size() == 1'000 || i + 1 == per_thread) {
          from_outside.fetch_add(rt.block_on(sum_of(std::move(batch))));
          batch.clear();
        }
      }
    });
  }
  // 2^20 - 1 tasks spawned from tasks, 2^19 of them leaves.
  const long leaves = rt.block_on(tree(19));
  for (auto& th : threads) th.join();
  EXPECT_EQ(leaves, 1L << 19);
  EXPECT_EQ(from_outside.load(), outside_threads * per_thread);
}

task<int> yields_then_returns(int n) {
  for (int i = 0; i < n; ++i) co_await tandem::yield_now();
  co_return n;
}

TEST(RuntimeStress, AbortRacesWithCompletion) {
  auto rt = tandem::runtime::builder().worker_threads(4).build();
  int finished = 0;
  int cancelled = 0;
  for (int round = 0; round < 2'000; ++round) {
    auto h = rt.spawn(yields_then_returns(round % 5));
    if (round % 3 != 0) h.abort();
    auto outcome = [](join_handle<int> handle) -> task<int> {
      try {
        co_await handle;
        co_return 1;
      } catch (const tandem::task_cancelled&) {
        co_return 0;
      }
    };
    (rt.block_on(outcome(std::move(h))) == 1 ? finished : cancelled) += 1;
  }
  EXPECT_EQ(finished + cancelled, 2'000);
  EXPECT_GE(finished, 2'000 / 3);
}

task<long> await_many_from_a_task(int n) {
  std::vector<join_handle<int>> handles;
  for (int i = 0; i < n; ++i) handles.push_back(tandem::spawn(yields_then_returns(i % 4)));
  long sum = 0;
  for (auto& h : handles) sum += co_await h;
  co_return sum;
}

TEST(RuntimeStress, JoinWakersRaceWithCompletionOnOtherWorkers) {
  auto rt = tandem::runtime::builder().worker_threads(4).build();
  long want = 0;
  for (int i = 0; i < 20'000; ++i) want += i % 4;
  for (int round = 0; round < 5; ++round) EXPECT_EQ(rt.block_on(await_many_from_a_task(20'000)), want);
}

task<long> join_of_spawned(int n) {
  long total = 0;
  for (int i = 0; i < n; ++i) {
    // Both branches wait on tasks that finish on other workers: wakes from foreign threads.
    auto [a, b] = co_await tandem::join(tandem::spawn(yields_then_returns(i % 3)),
                                        tandem::spawn(yields_then_returns(1)));
    total += a + b;
  }
  co_return total;
}

TEST(RuntimeStress, JoinBranchesWokenFromOtherWorkers) {
  auto rt = tandem::runtime::builder().worker_threads(4).build();
  long want = 0;
  for (int i = 0; i < 5'000; ++i) want += i % 3 + 1;
  EXPECT_EQ(rt.block_on(join_of_spawned(5'000)), want);
}

task<long> group_of(int n) {
  tandem::task_group<int> group;
  for (int i = 0; i < n; ++i) group.spawn(yields_then_returns(i % 5));
  long total = 0;
  while (auto v = co_await group.next()) total += *v;
  co_return total;
}

TEST(RuntimeStress, TaskGroupCompletionsFromEveryWorker) {
  auto rt = tandem::runtime::builder().worker_threads(4).build();
  long want = 0;
  for (int i = 0; i < 20'000; ++i) want += i % 5;
  EXPECT_EQ(rt.block_on(group_of(20'000)), want);
}

task<int> receive_or_drop(tandem::oneshot_receiver<int> rx, bool drop) {
  if (drop) co_return -1;
  try {
    co_return co_await rx;
  } catch (const tandem::channel_closed&) {
    co_return -2;
  }
}

TEST(RuntimeStress, OneshotSendRacesWithReceiverAndSenderDrop) {
  auto rt = tandem::runtime::builder().worker_threads(4).build();
  int delivered = 0;
  int closed = 0;
  // Each round starts a thread and wakes the caller: a few ms apiece on a small VM.
  for (int round = 0; round < 300; ++round) {
    auto [tx, rx] = tandem::oneshot<int>();
    auto receiver = rt.spawn(receive_or_drop(std::move(rx), round % 4 == 0));
    std::thread sender([tx = std::move(tx), round]() mutable {
      if (round % 3 != 0) tx.send(round);
    });
    auto outcome = [](tandem::join_handle<int> h) -> task<int> { co_return co_await h; };
    const int got = rt.block_on(outcome(std::move(receiver)));
    sender.join();
    if (got == round) ++delivered;
    if (got == -2) ++closed;
    ASSERT_TRUE(got == round || got == -1 || got == -2) << got;
  }
  EXPECT_GT(delivered, 0);
  EXPECT_GT(closed, 0);
}

task<long> blocking_and_parallel(long id) {
  long total = co_await tandem::spawn_blocking([id] { return id; });
  total += co_await tandem::par::compute(
      [id] { return tandem::par::range(0L, 100L).map([id](long x) { return x + id; }).sum(); });
  co_return total;
}

TEST(RuntimeStress, SpawnBlockingAndComputeFromManyTasks) {
  auto rt = tandem::runtime::builder().worker_threads(4).max_blocking_threads(8).build();
  auto all = []() -> task<long> {
    std::vector<join_handle<long>> handles;
    for (long id = 0; id < 2'000; ++id) handles.push_back(tandem::spawn(blocking_and_parallel(id)));
    long sum = 0;
    for (auto& h : handles) sum += co_await h;
    co_return sum;
  };
  long want = 0;
  for (long id = 0; id < 2'000; ++id) want += id + 4'950 + 100 * id;
  EXPECT_EQ(rt.block_on(all()), want);
}

}  // namespace
