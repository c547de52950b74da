// Tests for par::broadcast and pool::broadcast (include/tandem/par/broadcast.hpp): one run per worker,
// results in thread index order, callers inside and outside the pool, exceptions.
#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <pthread.h>

#include <tandem/par/broadcast.hpp>
#include <tandem/par/join.hpp>
#include <tandem/par/pool.hpp>

#include "support/waiting.hpp"

namespace {

using test_support::thread_name;
using test_support::wait_for;

namespace par = tandem::par;
using namespace std::chrono_literals;

par::pool make_pool(std::size_t n, std::string prefix = "bcast-test-") {
  return par::pool::builder().num_threads(n).thread_name_prefix(std::move(prefix)).build();
}

std::vector<std::size_t> iota(std::size_t n) {
  std::vector<std::size_t> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = i;
  return v;
}

std::size_t my_index() {
  const std::optional<std::size_t> i = par::current_thread_index();
  return i.value_or(~std::size_t{0});
}

// ---------------------------------------------------------------------------------------------------------------
// Results and coverage
// ---------------------------------------------------------------------------------------------------------------

TEST(ParBroadcast, ResultsAreInThreadIndexOrder) {
  for (std::size_t threads : {1u, 2u, 4u}) {
    par::pool pool = make_pool(threads);
    for (int round = 0; round < 20; ++round) {
      const std::vector<std::size_t> indices = pool.broadcast([] { return my_index(); });
      ASSERT_EQ(indices, iota(threads)) << "threads=" << threads << " round=" << round;
    }
  }
}

TEST(ParBroadcast, ReturnsAVectorOfTheClosuresResultType) {
  par::pool pool = make_pool(2);
  auto names = pool.broadcast([] { return thread_name(); });
  static_assert(std::is_same_v<decltype(names), std::vector<std::string>>);
  ASSERT_EQ(names.size(), 2u);
  EXPECT_EQ(names[0], "bcast-test-0");
  EXPECT_EQ(names[1], "bcast-test-1");
  auto owned = pool.broadcast([] { return std::make_unique<std::size_t>(my_index()); });  // move-only results
  ASSERT_EQ(owned.size(), 2u);
  EXPECT_EQ(*owned[0], 0u);
  EXPECT_EQ(*owned[1], 1u);
}

TEST(ParBroadcast, VoidBroadcastRunsOnEveryThreadExactlyOnce) {
  for (std::size_t threads : {1u, 4u}) {
    par::pool pool = make_pool(threads);
    std::vector<std::atomic<int>> runs(threads);
    std::atomic<int> off_pool{0};
    std::mutex mutex;
    std::set<std::thread::id> ids;
    pool.broadcast([&] {
      const auto i = par::current_thread_index();
      if (!i || *i >= runs.size()) {
        off_pool.fetch_add(1);
        return;
      }
      runs[*i].fetch_add(1);
      std::lock_guard lock(mutex);
      ids.insert(std::this_thread::get_id());
    });
    static_assert(std::is_void_v<decltype(pool.broadcast([] {}))>);
    EXPECT_EQ(off_pool.load(), 0);
    for (std::size_t i = 0; i < threads; ++i) EXPECT_EQ(runs[i].load(), 1) << "thread " << i;
    EXPECT_EQ(ids.size(), threads) << "some worker ran two pieces";
    EXPECT_EQ(ids.count(std::this_thread::get_id()), 0u) << "a piece ran on the calling (external) thread";
  }
}

TEST(ParBroadcast, AllPiecesRunConcurrently) {
  // Each piece waits until every worker has arrived: this only completes if each worker runs its own piece.
  par::pool pool = make_pool(4);
  std::atomic<std::size_t> arrived{0};
  const std::vector<bool> saw_all = pool.broadcast([&] {
    arrived.fetch_add(1);
    return wait_for([&] { return arrived.load() == 4; });
  });
  EXPECT_EQ(saw_all, std::vector<bool>(4, true));
}

TEST(ParBroadcast, RepeatedBroadcastsOnABusyPool) {
  // Broadcasts interleaved with ordinary work: every piece still runs on its own thread.
  par::pool pool = make_pool(3);
  for (int round = 0; round < 100; ++round) {
    auto [indices, sum] = pool.install([] {
      return par::join([] { return par::broadcast([] { return my_index(); }); },
                       [] {
                         int s = 0;
                         for (int i = 0; i < 100; ++i) s += i;
                         return s;
                       });
    });
    ASSERT_EQ(indices, iota(3)) << "round " << round;
    ASSERT_EQ(sum, 4950);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Inside and outside the pool
// ---------------------------------------------------------------------------------------------------------------

TEST(ParBroadcast, FromOutsideUsesTheGlobalPool) {
  ASSERT_FALSE(par::current_thread_index().has_value());
  const std::size_t n = par::current_num_threads();
  const auto names = par::broadcast([] { return thread_name(); });
  ASSERT_EQ(names.size(), n);
  for (std::size_t i = 0; i < n; ++i) EXPECT_EQ(names[i], "tandem-par-" + std::to_string(i));
  EXPECT_EQ(par::broadcast([] { return my_index(); }), iota(n));
}

TEST(ParBroadcast, FromInsideAWorkerOfThePool) {
  for (std::size_t threads : {1u, 4u}) {
    par::pool pool = make_pool(threads);
    auto [caller, indices, method_indices] = pool.install([&pool] {
      return std::make_tuple(my_index(), par::broadcast([] { return my_index(); }),
                             pool.broadcast([] { return my_index(); }));
    });
    EXPECT_LT(caller, threads);
    EXPECT_EQ(indices, iota(threads)) << "threads=" << threads;
    EXPECT_EQ(method_indices, iota(threads)) << "threads=" << threads;
  }
}

TEST(ParBroadcast, ParBroadcastInsideAPoolTargetsThatPool) {
  par::pool pool = make_pool(3, "bcast-inner-");
  const auto names = pool.install([] { return par::broadcast([] { return thread_name(); }); });
  ASSERT_EQ(names.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) EXPECT_EQ(names[i], "bcast-inner-" + std::to_string(i));
}

TEST(ParBroadcast, NestedBroadcastFromEveryWorker) {
  // Every worker broadcasts while all of them are inside a broadcast: n * n pieces, no deadlock.
  par::pool pool = make_pool(3);
  std::atomic<int> inner_runs{0};
  const auto inner_sizes = pool.broadcast([&] {
    return par::broadcast([&] {
             inner_runs.fetch_add(1);
             return my_index();
           })
        .size();
  });
  EXPECT_EQ(inner_sizes, std::vector<std::size_t>(3, 3));
  EXPECT_EQ(inner_runs.load(), 9);
}

TEST(ParBroadcast, ConcurrentBroadcastsFromExternalThreads) {
  par::pool pool = make_pool(2);
  constexpr int kThreads = 6;
  std::vector<int> ok(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      bool all = true;
      for (int round = 0; round < 50; ++round)
        all = all && pool.broadcast([] { return my_index(); }) == iota(2);
      ok[t] = all ? 1 : 0;
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(ok[t], 1) << "thread " << t;
}

TEST(ParBroadcast, IntoAnotherPoolFromAWorker) {
  par::pool a = make_pool(2, "bcast-a-");
  par::pool b = make_pool(3, "bcast-b-");
  const auto names = a.install([&] { return b.broadcast([] { return thread_name(); }); });
  EXPECT_EQ(names, (std::vector<std::string>{"bcast-b-0", "bcast-b-1", "bcast-b-2"}));
}

// A worker of pool A that broadcasts on pool B keeps running A's work while it waits, as pool::install across
// pools does: with a one-thread A, a piece that needs A (a job A queued, or a.install inside the piece) would
// otherwise deadlock.
TEST(ParBroadcast, WorkerOfAnotherPoolKeepsItsPoolRunningWhileWaiting) {
  par::pool a = make_pool(1);
  par::pool b = make_pool(2);
  auto a_job_ran = std::make_shared<std::atomic<bool>>(false);
  const auto saw = a.install([&] {
    a.spawn([a_job_ran] { a_job_ran->store(true); });  // sits on A's only worker's deque
    return b.broadcast([&] { return wait_for([&] { return a_job_ran->load(); }, 2000ms); });
  });
  EXPECT_EQ(saw, std::vector<bool>(2, true));
}

// ---------------------------------------------------------------------------------------------------------------
// Exceptions
// ---------------------------------------------------------------------------------------------------------------

TEST(ParBroadcast, ExceptionIsRethrownAfterEveryPieceRan) {
  for (std::size_t threads : {1u, 4u}) {
    par::pool pool = make_pool(threads);
    std::atomic<int> finished{0};
    try {
      pool.broadcast([&] {
        if (my_index() == threads - 1) throw std::runtime_error("piece failed");
        std::this_thread::sleep_for(10ms);
        finished.fetch_add(1);
      });
      ADD_FAILURE() << "broadcast did not rethrow";
    } catch (const std::runtime_error& e) {
      EXPECT_STREQ(e.what(), "piece failed");
    }
    EXPECT_EQ(finished.load(), static_cast<int>(threads) - 1) << "threads=" << threads;
  }
}

TEST(ParBroadcast, ValueBroadcastRethrowsFromInsideThePool) {
  par::pool pool = make_pool(4);
  std::atomic<int> ran{0};
  EXPECT_THROW(pool.install([&] {
    return par::broadcast([&] {
      ran.fetch_add(1);
      if (my_index() % 2 == 1) throw std::logic_error("odd");
      return my_index();
    });
  }),
               std::logic_error);
  EXPECT_EQ(ran.load(), 4);
  // The pool is fine afterwards.
  EXPECT_EQ(pool.broadcast([] { return my_index(); }), iota(4));
}

}  // namespace
