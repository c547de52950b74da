// The par engine under contention: joins, scopes, spawns, broadcasts and installs
// mixed across pools and external threads, with idle gaps so that workers go to
// sleep and must be woken (a lost wake-up shows up as a hang, caught by the
// ctest timeout). Every result is checked.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <tandem/par.hpp>

namespace par = tandem::par;

namespace {

std::uint64_t fib(unsigned n) {
  if (n < 2) return n;
  auto [a, b] = par::join([n] { return fib(n - 1); }, [n] { return fib(n - 2); });
  return a + b;
}

std::uint64_t fib_reference(unsigned n) {
  return n < 2 ? n : fib_reference(n - 1) + fib_reference(n - 2);
}

// A scope whose spawns join and spawn again, summing 1..n into an atomic.
void tree_sum(par::scope& s, std::atomic<std::uint64_t>& total, std::uint64_t lo, std::uint64_t hi) {
  if (hi - lo <= 4) {
    for (std::uint64_t i = lo; i < hi; ++i) total.fetch_add(i, std::memory_order_relaxed);
    return;
  }
  const std::uint64_t mid = lo + (hi - lo) / 2;
  s.spawn([&total, lo, mid](par::scope& inner) { tree_sum(inner, total, lo, mid); });
  par::join([&] { tree_sum(s, total, mid, (mid + hi) / 2); },
            [&] { tree_sum(s, total, (mid + hi) / 2, hi); });
}

TEST(ParStress, JoinsFromManyExternalThreads) {
  auto pool = par::pool::builder().num_threads(3).build();
  std::vector<std::thread> callers;
  std::atomic<int> wrong{0};
  for (int t = 0; t < 8; ++t) {
    callers.emplace_back([&, t] {
      for (int i = 0; i < 40; ++i) {
        const unsigned n = 10 + (t + i) % 8;
        if (pool.install([n] { return fib(n); }) != fib_reference(n)) wrong.fetch_add(1);
        if (par::join([n] { return fib(n); }, [] { return 1; }).first != fib_reference(n)) wrong.fetch_add(1);
      }
    });
  }
  for (auto& c : callers) c.join();
  EXPECT_EQ(wrong.load(), 0);
}

TEST(ParStress, ScopesSpawnsAndJoinsInterleave) {
  auto pool = par::pool::builder().num_threads(4).build();
  for (int round = 0; round < 30; ++round) {
    std::atomic<std::uint64_t> total{0};
    const std::uint64_t n = 2000 + round;
    pool.install([&] { par::scope([&](par::scope& s) { tree_sum(s, total, 0, n); }); });
    ASSERT_EQ(total.load(), n * (n - 1) / 2);
  }
}

TEST(ParStress, SleepingWorkersAreWokenEveryTime) {
  auto pool = par::pool::builder().num_threads(2).build();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  int round = 0;
  for (; round < 400 && std::chrono::steady_clock::now() < deadline; ++round) {
    // Gaps long enough for the workers to give up spinning and sleep.
    if (round % 4 == 0) std::this_thread::sleep_for(std::chrono::microseconds(200 + 50 * (round % 16)));
    const auto indices = pool.broadcast([] { return par::current_thread_index().value(); });
    ASSERT_EQ(indices, (std::vector<std::size_t>{0, 1}));
    ASSERT_EQ(pool.install([] { return fib(12); }), 144u);
  }
  EXPECT_GT(round, 50);
}

TEST(ParStress, DetachedSpawnsAllRunBeforeThePoolDies) {
  std::atomic<int> ran{0};
  {
    auto pool = par::pool::builder().num_threads(3).build();
    for (int i = 0; i < 2000; ++i) {
      pool.spawn([&ran] {
        par::spawn([&ran] { ran.fetch_add(1, std::memory_order_relaxed); });
        ran.fetch_add(1, std::memory_order_relaxed);
      });
    }
  }
  EXPECT_EQ(ran.load(), 4000);
}

TEST(ParStress, InstallAcrossPoolsBothWays) {
  auto a = par::pool::builder().num_threads(2).build();
  auto b = par::pool::builder().num_threads(2).build();
  std::atomic<int> wrong{0};
  std::thread other([&] {
    for (int i = 0; i < 50; ++i) {
      if (b.install([&] { return a.install([] { return fib(10); }) + fib(8); }) != 55 + 21)
        wrong.fetch_add(1);
    }
  });
  for (int i = 0; i < 50; ++i) {
    if (a.install([&] {
          return par::join([&] { return b.install([] { return fib(11); }); }, [] { return fib(9); });
        }) != std::pair<std::uint64_t, std::uint64_t>{89, 34}) {
      wrong.fetch_add(1);
    }
  }
  other.join();
  EXPECT_EQ(wrong.load(), 0);
}

}  // namespace
