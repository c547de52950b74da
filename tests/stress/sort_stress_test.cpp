// par::sort / par::stable_sort / par::for_each_chunk from several external threads at
// once on one shared pool (and on the global pool), with sizes that cross the parallel
// cut-offs, so that pieces of different sorts are stolen by the same workers. Every
// result is checked. Also runs under ThreadSanitizer: kept to about a second in release.
#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <tandem/par/pool.hpp>
#include <tandem/par/sort.hpp>

#include "support/random.hpp"

namespace par = tandem::par;

namespace {

#if defined(__SANITIZE_THREAD__)
constexpr int rounds = 3;
constexpr std::size_t max_size = 40'000;
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
constexpr int rounds = 3;
constexpr std::size_t max_size = 40'000;
#else
constexpr int rounds = 12;
constexpr std::size_t max_size = 200'000;
#endif
#else
constexpr int rounds = 12;
constexpr std::size_t max_size = 200'000;
#endif

using test_support::splitmix64;

struct item {
  std::uint32_t key;
  std::uint32_t index;
};

// One caller's work for one round: an unstable sort, a stable sort and a chunked pass,
// each checked. Returns the number of wrong results.
int one_round(std::uint64_t seed, std::size_t n) {
  int wrong = 0;
  std::vector<std::uint64_t> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = splitmix64(seed, i) % (seed % 2 == 0 ? 1'000'000'000 : 97);
  auto want = v;
  std::sort(want.begin(), want.end());
  par::sort(v);
  if (v != want) ++wrong;

  std::vector<item> items(n);
  for (std::size_t i = 0; i < n; ++i) {
    items[i] = {static_cast<std::uint32_t>(splitmix64(seed + 1, i) % 100), static_cast<std::uint32_t>(i)};
  }
  par::stable_sort(items, [](const item& a, const item& b) { return a.key < b.key; });
  for (std::size_t i = 1; i < n; ++i) {
    const item& a = items[i - 1];
    const item& b = items[i];
    if (a.key > b.key || (a.key == b.key && a.index > b.index)) {
      ++wrong;
      break;
    }
  }

  std::vector<std::string> words(n / 8);
  for (std::size_t i = 0; i < words.size(); ++i) words[i] = std::to_string(splitmix64(seed + 2, i) % 10'000);
  auto words_want = words;
  std::sort(words_want.begin(), words_want.end());
  par::sort(words);
  if (words != words_want) ++wrong;

  std::atomic<std::size_t> total{0};
  par::for_each_chunk(v, 1000, [&](std::span<std::uint64_t> chunk, std::size_t) {
    total.fetch_add(chunk.size(), std::memory_order_relaxed);
  });
  if (total.load() != n) ++wrong;
  return wrong;
}

TEST(SortStress, ConcurrentSortsFromExternalThreadsOnASharedPool) {
  auto pool = par::pool::builder().num_threads(3).build();
  std::atomic<int> wrong{0};
  std::vector<std::thread> callers;
  for (int t = 0; t < 4; ++t) {
    callers.emplace_back([&, t] {
      for (int r = 0; r < rounds; ++r) {
        const std::uint64_t seed = static_cast<std::uint64_t>(t * 1000 + r);
        const std::size_t n = 1000 + splitmix64(seed, 99) % max_size;
        // Alternate between installing into the pool and using the global pool.
        if (r % 3 == 2) {
          wrong.fetch_add(one_round(seed, n));
        } else {
          wrong.fetch_add(pool.install([&] { return one_round(seed, n); }));
        }
      }
    });
  }
  for (auto& c : callers) c.join();
  EXPECT_EQ(wrong.load(), 0);
}

TEST(SortStress, NestedSortsInsideChunks) {
  // Each chunk sorts itself with par::sort: sorts nested in a parallel loop.
  auto pool = par::pool::builder().num_threads(4).build();
  const std::size_t n = max_size;
  std::vector<std::uint64_t> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = splitmix64(77, i);
  pool.install(
      [&] { par::for_each_chunk(v, n / 8 + 1, [](std::span<std::uint64_t> chunk) { par::sort(chunk); }); });
  for (std::size_t start = 0; start < n; start += n / 8 + 1) {
    const std::size_t end = std::min(n, start + n / 8 + 1);
    EXPECT_TRUE(std::is_sorted(v.begin() + static_cast<std::ptrdiff_t>(start),
                               v.begin() + static_cast<std::ptrdiff_t>(end)));
  }
}

}  // namespace
