// Parallel iterators under contention: several external threads and detached pool tasks run different
// consumers (sum, collect of a filter, find_first / position_first, any with an early exit, for_each into
// disjoint slots, nested iterators) at the same time on one shared 3-thread pool, with some calls going to
// the global pool meanwhile. Every result is checked. Also built with ThreadSanitizer; time-boxed (~1 s).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <numeric>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <tandem/par.hpp>

namespace par = tandem::par;
using u64 = std::uint64_t;

namespace {

u64 churn(u64 x) {
  for (int round = 0; round < 4; ++round) {
    x ^= x >> 31;
    x *= 0x7fb5d329728ea185ULL;
    x ^= x >> 27;
  }
  return x;
}

// The shared input and the expected results, computed sequentially once.
struct fixture {
  explicit fixture(std::size_t n) : values(n) {
    std::mt19937_64 gen(2024);
    for (auto& x : values) x = gen();
    mapped.resize(n);
    std::transform(values.begin(), values.end(), mapped.begin(), churn);
    mapped_sum = std::accumulate(mapped.begin(), mapped.end(), u64{0});
    std::copy_if(mapped.begin(), mapped.end(), std::back_inserter(kept), keep);
    rows.resize(24);
    for (std::size_t r = 0; r < rows.size(); ++r) {
      rows[r].assign(values.begin(), values.begin() + static_cast<std::ptrdiff_t>((r * 331) % n));
      row_sums.push_back(std::accumulate(rows[r].begin(), rows[r].end(), u64{0}));
    }
  }
  static bool keep(u64 x) { return x % 3 == 0; }

  std::vector<u64> values;
  std::vector<u64> mapped;
  u64 mapped_sum = 0;
  std::vector<u64> kept;
  std::vector<std::vector<u64>> rows;
  std::vector<u64> row_sums;
};

// Runs consumer number `kind` (0..5) once with `seed` varying the inputs; returns false on a wrong result.
bool run_consumer(const fixture& f, unsigned kind, std::size_t seed) {
  const std::size_t n = f.values.size();
  switch (kind % 6) {
    case 0:
      return par::iter(f.values).map(churn).sum() == f.mapped_sum;
    case 1:
      return par::iter(f.values).map(churn).filter(fixture::keep).collect<std::vector>() == f.kept;
    case 2: {
      // The first of the items equal to values[target] (all distinct in practice), wherever it lies.
      const std::size_t target = (seed * 7919) % n;
      const u64 wanted = f.mapped[target];
      const auto first = par::iter(f.values).map(churn).find_first([wanted](u64 x) { return x == wanted; });
      const auto pos = par::iter(f.mapped).position_first([wanted](u64 x) { return x == wanted; });
      const auto expected_pos =
          static_cast<std::size_t>(std::find(f.mapped.begin(), f.mapped.end(), wanted) - f.mapped.begin());
      return first == wanted && pos == expected_pos;
    }
    case 3: {
      // An early match: any() stops long before the end; a missing one: it looks at everything.
      std::atomic<std::size_t> seen{0};
      const auto counted =
          par::iter(f.values).inspect([&seen](const u64&) { seen.fetch_add(1, std::memory_order_relaxed); });
      const std::size_t early = seed % 8;
      const u64 wanted = f.values[early];
      if (!counted.any([wanted](u64 x) { return x == wanted; })) return false;
      if (seen.load() >= n) return false;
      seen = 0;
      if (counted.any([](u64 x) { return x == 0; })) return false;  // (no zero among the random values)
      return seen.load() == n && counted.all([](u64 x) { return x != 0; });
    }
    case 4: {
      std::vector<u64> out(n, 0);
      par::range<std::size_t>(0, n).for_each([&](std::size_t i) { out[i] = churn(f.values[i]); });
      return out == f.mapped;
    }
    default: {
      const auto sums = par::iter(f.rows)
                            .map([](const std::vector<u64>& row) { return par::iter(row).sum(); })
                            .collect<std::vector>();
      return sums == f.row_sums;
    }
  }
}

}  // namespace

TEST(ParIterStress, ConsumersFromExternalThreadsAndPoolTasksShareAPool) {
  const fixture f(20'000);
  auto pool = par::pool::builder().num_threads(3).build();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(1000);

  std::atomic<int> wrong{0};
  std::atomic<int> spawned{0};
  std::atomic<int> finished{0};
  std::atomic<int> calls[6] = {};
  std::vector<std::thread> callers;
  for (unsigned t = 0; t < 4; ++t) {
    callers.emplace_back([&, t] {
      for (std::size_t round = 0; round < 4 || std::chrono::steady_clock::now() < deadline; ++round) {
        const unsigned kind = static_cast<unsigned>((t + round) % 6);
        bool ok = true;
        if (round % 5 == 4) {
          // Straight from this thread: the global pool, concurrently with the shared one.
          ok = run_consumer(f, kind, round * 4 + t);
        } else {
          ok = pool.install([&] { return run_consumer(f, kind, round * 4 + t); });
        }
        if (!ok) wrong.fetch_add(1);
        calls[kind].fetch_add(1, std::memory_order_relaxed);
        if (round % 3 == 0) {
          // A detached task on the pool runs another consumer meanwhile.
          spawned.fetch_add(1);
          const unsigned other = (kind + 3) % 6;
          pool.spawn([&f, &wrong, &finished, &calls, other, seed = round * 4 + t] {
            if (!run_consumer(f, other, seed)) wrong.fetch_add(1);
            calls[other].fetch_add(1, std::memory_order_relaxed);
            finished.fetch_add(1);
          });
        }
      }
    });
  }
  for (auto& c : callers) c.join();
  while (finished.load() < spawned.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));

  EXPECT_EQ(wrong.load(), 0);
  for (unsigned kind = 0; kind < 6; ++kind)
    EXPECT_GT(calls[kind].load(), 0) << "consumer " << kind << " never ran";
}

TEST(ParIterStress, ThrowingAndShortCircuitingCallsInterleaveWithOrdinaryOnes) {
  const fixture f(20'000);
  auto pool = par::pool::builder().num_threads(3).build();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(500);
  std::atomic<int> wrong{0};
  std::vector<std::thread> callers;
  for (unsigned t = 0; t < 3; ++t) {
    callers.emplace_back([&, t] {
      for (std::size_t round = 0; round < 4 || std::chrono::steady_clock::now() < deadline; ++round) {
        const bool ok = pool.install([&]() -> bool {
          if (t == 0) {
            // A throw somewhere in the input; it must come back, whatever else the pool is doing.
            const std::size_t bad = (round * 4099) % f.values.size();
            try {
              (void)par::range<std::size_t>(0, f.values.size())
                  .map([&](std::size_t i) {
                    if (i == bad) throw std::runtime_error("bad " + std::to_string(i));
                    return churn(f.values[i]);
                  })
                  .sum();
              return false;
            } catch (const std::runtime_error& e) {
              return std::string(e.what()) == "bad " + std::to_string(bad);
            }
          }
          if (t == 1) return run_consumer(f, 3, round);  // any() with early exits
          return run_consumer(f, static_cast<unsigned>(round % 3), round);
        });
        if (!ok) wrong.fetch_add(1);
      }
    });
  }
  for (auto& c : callers) c.join();
  EXPECT_EQ(wrong.load(), 0);
}
