// par::sort, par::stable_sort and par::for_each_chunk: results against std::sort (and,
// for the stable sort, std::sort by (key, original index), which is what std::stable_sort
// by key gives; std::stable_sort itself does not compile with clang 19 -Werror on
// libstdc++ 12, whose std::get_temporary_buffer is deprecated) on many input shapes and sizes, every kind of
// range, move-only and non-default-constructible elements, comparators and projections, pools of 1, 2 and 4
// threads, exceptions from the comparator and from chunk bodies.
#include <algorithm>
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <numeric>
#include <ranges>
#include <set>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <pthread.h>

#include <tandem/par/errors.hpp>
#include <tandem/par/pool.hpp>
#include <tandem/par/sort.hpp>

#include "support/random.hpp"
#include "support/sanitizers.hpp"

namespace par = tandem::par;

namespace {

using test_support::splitmix64;

enum class shape { random, sorted, reversed, all_equal, organ_pipe, few_distinct, nearly_sorted, sawtooth };
constexpr shape all_shapes[] = {shape::random,        shape::sorted,     shape::reversed,
                                shape::all_equal,     shape::organ_pipe, shape::few_distinct,
                                shape::nearly_sorted, shape::sawtooth};

const char* name_of(shape s) {
  switch (s) {
    case shape::random:
      return "random";
    case shape::sorted:
      return "sorted";
    case shape::reversed:
      return "reversed";
    case shape::all_equal:
      return "all_equal";
    case shape::organ_pipe:
      return "organ_pipe";
    case shape::few_distinct:
      return "few_distinct";
    case shape::nearly_sorted:
      return "nearly_sorted";
    case shape::sawtooth:
      return "sawtooth";
  }
  return "?";
}

std::vector<std::int64_t> make_input(shape s, std::size_t n, std::uint64_t seed = 7) {
  std::vector<std::int64_t> v(n);
  for (std::size_t i = 0; i < n; ++i) {
    const auto r = static_cast<std::int64_t>(splitmix64(seed, i) >> 1);
    const auto si = static_cast<std::int64_t>(i);
    const auto sn = static_cast<std::int64_t>(n);
    switch (s) {
      case shape::random:
        v[i] = r;
        break;
      case shape::sorted:
        v[i] = si;
        break;
      case shape::reversed:
        v[i] = sn - si;
        break;
      case shape::all_equal:
        v[i] = 42;
        break;
      case shape::organ_pipe:
        v[i] = si < sn / 2 ? si : sn - si;
        break;
      case shape::few_distinct:
        v[i] = r % 5;
        break;
      case shape::nearly_sorted:
        v[i] = si;
        break;
      case shape::sawtooth:
        v[i] = si % 1000;
        break;
    }
  }
  if (s == shape::nearly_sorted && n > 1) {
    for (std::size_t k = 0; k < 1 + n / 1000; ++k) {
      std::swap(v[splitmix64(seed + 1, k) % n], v[splitmix64(seed + 2, k) % n]);
    }
  }
  return v;
}

// Sizes around the thresholds (insertion / small sort 24-32, sequential 4096) and primes.
std::vector<std::size_t> sizes() {
#ifdef TANDEM_TEST_SANITIZED
  return {0, 1, 2, 3, 5, 7, 16, 17, 31, 32, 33, 97, 257, 1009, 4093, 4099, 10007, 65537};
#else
  return {0, 1, 2, 3, 5, 7, 16, 17, 31, 32, 33, 97, 257, 1009, 4093, 4099, 10007, 65537, 262147};
#endif
}

// A record sorted by key; `index` is its place in the input, to check stability.
struct record {
  std::int64_t key;
  std::size_t index;
  friend bool operator==(const record&, const record&) = default;
};

std::vector<record> records_of(const std::vector<std::int64_t>& keys) {
  std::vector<record> out(keys.size());
  for (std::size_t i = 0; i < keys.size(); ++i) out[i] = {keys[i], i};
  return out;
}

const auto by_key = [](const record& a, const record& b) { return a.key < b.key; };

// The stable sort by key of records built by records_of: sorted by key, then by index.
void stable_reference(std::vector<record>& v, bool descending = false) {
  std::sort(v.begin(), v.end(), [descending](const record& a, const record& b) {
    if (a.key != b.key) return descending ? a.key > b.key : a.key < b.key;
    return a.index < b.index;
  });
}

// Runs f inside a pool of `threads` workers.
template <class F>
void in_pool(std::size_t threads, F&& f) {
  auto pool = par::pool::builder().num_threads(threads).build();
  pool.install(f);
}

// ---------------------------------------------------------------------------------------------------------------
// Results against the standard library.
// ---------------------------------------------------------------------------------------------------------------

TEST(ParSort, MatchesStdSortOnEveryShapeAndSize) {
  in_pool(4, [] {
    for (const shape s : all_shapes) {
      for (const std::size_t n : sizes()) {
        auto got = make_input(s, n);
        auto want = got;
        par::sort(got);
        std::sort(want.begin(), want.end());
        ASSERT_EQ(got, want) << name_of(s) << " n=" << n;
      }
    }
  });
}

TEST(ParSort, StableSortMatchesStdStableSortOnEveryShapeAndSize) {
  in_pool(4, [] {
    for (const shape s : all_shapes) {
      for (const std::size_t n : sizes()) {
        // Few distinct keys make stability visible.
        auto keys = make_input(s, n);
        for (auto& k : keys) k %= 64;
        auto got = records_of(keys);
        auto want = got;
        par::stable_sort(got, by_key);
        stable_reference(want);
        ASSERT_EQ(got, want) << name_of(s) << " n=" << n;
      }
    }
  });
}

TEST(ParSort, LargeRandomInputs) {
  const std::size_t n = 1'000'003;
  auto pool = par::pool::builder().num_threads(4).build();
  {
    auto got = make_input(shape::random, n, 11);
    auto want = got;
    pool.install([&] { par::sort(got); });
    std::sort(want.begin(), want.end());
    EXPECT_EQ(got, want);
  }
  {
    auto keys = make_input(shape::random, n, 12);
    for (auto& k : keys) k %= 1000;
    auto got = records_of(keys);
    auto want = got;
    pool.install([&] { par::stable_sort(got, by_key); });
    stable_reference(want);
    EXPECT_EQ(got, want);
  }
}

TEST(ParSort, PoolsOfOneTwoAndFourThreadsAndNoPool) {
  const std::size_t n = 200'003;
  const auto input = make_input(shape::random, n, 5);
  auto want = input;
  std::sort(want.begin(), want.end());
  for (const std::size_t threads : {1, 2, 4}) {
    auto got = input;
    in_pool(threads, [&] { par::sort(got); });
    EXPECT_EQ(got, want) << threads << " threads";
    auto stable = input;
    in_pool(threads, [&] { par::stable_sort(stable); });
    EXPECT_EQ(stable, want) << threads << " threads";
  }
  // Outside any pool: the global pool.
  auto got = input;
  par::sort(got);
  EXPECT_EQ(got, want);
  got = input;
  par::stable_sort(got);
  EXPECT_EQ(got, want);
}

TEST(ParSort, CustomComparatorAndProjection) {
  in_pool(2, [] {
    auto got = make_input(shape::random, 50'021);
    auto want = got;
    par::sort(got, std::greater<>{});
    std::sort(want.begin(), want.end(), std::greater<>{});
    EXPECT_EQ(got, want);

    auto keys = make_input(shape::random, 50'021, 3);
    for (auto& k : keys) k %= 100;
    auto recs = records_of(keys);
    auto recs_want = recs;
    par::stable_sort(recs, std::greater<>{}, &record::key);
    stable_reference(recs_want, true);
    EXPECT_EQ(recs, recs_want);

    auto unstable = records_of(keys);
    par::sort(unstable, {}, &record::key);
    EXPECT_TRUE(std::ranges::is_sorted(unstable, {}, &record::key));
    std::ranges::sort(unstable, {}, &record::index);
    EXPECT_EQ(unstable, records_of(keys));  // a permutation of the input
  });
}

TEST(ParSort, StringsTakeTheGenericPath) {
  std::vector<std::string> got;
  for (std::size_t i = 0; i < 20'011; ++i) got.push_back(std::to_string(splitmix64(9, i) % 5000) + "-x");
  auto want = got;
  auto stable = got;
  in_pool(2, [&] {
    par::sort(got);
    par::stable_sort(stable);
  });
  std::sort(want.begin(), want.end());
  EXPECT_EQ(got, want);
  EXPECT_EQ(stable, want);
}

TEST(ParSort, FloatingPointAndSmallTypes) {
  std::vector<double> d(30'011);
  std::vector<std::uint8_t> b(30'011);
  for (std::size_t i = 0; i < d.size(); ++i) {
    d[i] = static_cast<double>(splitmix64(4, i) % 100'000) / 7.0 - 5000.0;
    b[i] = static_cast<std::uint8_t>(splitmix64(5, i));
  }
  auto dw = d;
  auto bw = b;
  par::sort(d);
  par::sort(b);
  std::sort(dw.begin(), dw.end());
  std::sort(bw.begin(), bw.end());
  EXPECT_EQ(d, dw);
  EXPECT_EQ(b, bw);
}

// ---------------------------------------------------------------------------------------------------------------
// Element types.
// ---------------------------------------------------------------------------------------------------------------

TEST(ParSort, MoveOnlyElements) {
  const std::size_t n = 40'009;
  auto make = [&] {
    std::vector<std::unique_ptr<int>> v;
    for (std::size_t i = 0; i < n; ++i)
      v.push_back(std::make_unique<int>(static_cast<int>(splitmix64(2, i) % 1000)));
    return v;
  };
  auto by_pointee = [](const std::unique_ptr<int>& a, const std::unique_ptr<int>& b) { return *a < *b; };
  in_pool(4, [&] {
    for (const bool stable : {false, true}) {
      auto v = make();
      std::set<const int*> before;
      for (const auto& p : v) before.insert(p.get());
      std::vector<int> want;
      for (const auto& p : v) want.push_back(*p);
      std::sort(want.begin(), want.end());
      if (stable) {
        par::stable_sort(v, by_pointee);
      } else {
        par::sort(v, by_pointee);
      }
      std::set<const int*> after;
      std::vector<int> got;
      for (const auto& p : v) {
        ASSERT_NE(p, nullptr);
        after.insert(p.get());
        got.push_back(*p);
      }
      EXPECT_EQ(before, after) << "stable=" << stable;
      EXPECT_EQ(got, want) << "stable=" << stable;
    }
  });
}

// Move-only, no default constructor; stability is checked through `index`.
class ticket {
 public:
  ticket(int key, std::size_t index) : key_(std::make_unique<int>(key)), index_(index) {}
  ticket(ticket&&) noexcept = default;
  ticket& operator=(ticket&&) noexcept = default;
  int key() const { return *key_; }
  std::size_t index() const { return index_; }

 private:
  std::unique_ptr<int> key_;
  std::size_t index_;
};

TEST(ParSort, NonDefaultConstructibleMoveOnlyElementsStably) {
  static_assert(!std::is_default_constructible_v<ticket> && !std::is_copy_constructible_v<ticket>);
  const std::size_t n = 30'011;
  std::vector<ticket> v;
  for (std::size_t i = 0; i < n; ++i) v.emplace_back(static_cast<int>(splitmix64(6, i) % 50), i);
  std::deque<ticket> dq;
  for (std::size_t i = 0; i < n; ++i) dq.emplace_back(static_cast<int>(splitmix64(7, i) % 50), i);
  in_pool(2, [&] {
    par::stable_sort(v, {}, &ticket::key);
    par::stable_sort(dq, {}, &ticket::key);
  });
  for (std::size_t i = 1; i < n; ++i) {
    ASSERT_TRUE(v[i - 1].key() < v[i].key() ||
                (v[i - 1].key() == v[i].key() && v[i - 1].index() < v[i].index()));
    ASSERT_TRUE(dq[i - 1].key() < dq[i].key() ||
                (dq[i - 1].key() == dq[i].key() && dq[i - 1].index() < dq[i].index()));
  }
  std::vector<ticket> u;
  for (std::size_t i = 0; i < n; ++i) u.emplace_back(static_cast<int>(splitmix64(8, i) % 50), i);
  par::sort(u, {}, &ticket::key);
  std::vector<bool> seen(n);
  for (std::size_t i = 0; i < n; ++i) {
    if (i > 0) {
      ASSERT_LE(u[i - 1].key(), u[i].key());
    }
    ASSERT_FALSE(seen[u[i].index()]);
    seen[u[i].index()] = true;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Kinds of ranges.
// ---------------------------------------------------------------------------------------------------------------

TEST(ParSort, ArraysSpansCArraysDequesAndViews) {
  std::array<int, 5000> arr{};
  int c_array[5003];
  std::deque<int> dq;
  for (std::size_t i = 0; i < arr.size(); ++i) arr[i] = static_cast<int>(splitmix64(1, i) % 777);
  for (std::size_t i = 0; i < std::size(c_array); ++i) c_array[i] = static_cast<int>(splitmix64(2, i) % 777);
  for (std::size_t i = 0; i < 20'000; ++i) dq.push_back(static_cast<int>(splitmix64(3, i) % 777));

  auto arr_want = arr;
  std::sort(arr_want.begin(), arr_want.end());
  std::vector<int> c_want(std::begin(c_array), std::end(c_array));
  std::sort(c_want.begin(), c_want.end());
  std::vector<int> dq_want(dq.begin(), dq.end());
  std::sort(dq_want.begin(), dq_want.end());

  in_pool(2, [&] {
    par::sort(arr);
    par::sort(c_array);
    par::sort(dq);
  });
  EXPECT_EQ(arr, arr_want);
  EXPECT_TRUE(std::equal(std::begin(c_array), std::end(c_array), c_want.begin(), c_want.end()));
  EXPECT_TRUE(std::equal(dq.begin(), dq.end(), dq_want.begin(), dq_want.end()));

  // A span over part of a vector: only that part moves.
  auto v = make_input(shape::random, 30'000);
  const auto original = v;
  par::sort(std::span(v).subspan(10'000, 10'000));
  EXPECT_TRUE(std::equal(v.begin(), v.begin() + 10'000, original.begin()));
  EXPECT_TRUE(std::is_sorted(v.begin() + 10'000, v.begin() + 20'000));
  EXPECT_TRUE(std::equal(v.begin() + 20'000, v.end(), original.begin() + 20'000));
  par::stable_sort(std::span(v).first(10'000), std::greater<>{});
  EXPECT_TRUE(std::is_sorted(v.begin(), v.begin() + 10'000, std::greater<>{}));

  // A reversed view (random access, not contiguous): sorting it sorts v descending.
  auto w = make_input(shape::random, 20'000);
  par::sort(w | std::views::reverse);
  EXPECT_TRUE(std::is_sorted(w.begin(), w.end(), std::greater<>{}));
  auto x = make_input(shape::random, 20'000);
  par::stable_sort(x | std::views::reverse);
  EXPECT_TRUE(std::is_sorted(x.begin(), x.end(), std::greater<>{}));

  // Stable sort of a deque keeps equal elements in order.
  std::deque<record> dr;
  for (std::size_t i = 0; i < 20'000; ++i)
    dr.push_back({static_cast<std::int64_t>(splitmix64(4, i) % 30), i});
  std::vector<record> dr_want(dr.begin(), dr.end());
  stable_reference(dr_want);
  par::stable_sort(dr, by_key);
  EXPECT_TRUE(std::equal(dr.begin(), dr.end(), dr_want.begin(), dr_want.end()));
}

// ---------------------------------------------------------------------------------------------------------------
// Complexity on patterns, and the heapsort fallback.
// ---------------------------------------------------------------------------------------------------------------

TEST(ParSort, SortedReversedAndEqualInputsTakeLinearComparisons) {
  const std::size_t n = 100'000;
  for (const shape s : {shape::sorted, shape::reversed, shape::all_equal}) {
    auto v = make_input(s, n);
    std::atomic<std::size_t> calls{0};
    par::sort(v, [&](std::int64_t a, std::int64_t b) {
      calls.fetch_add(1, std::memory_order_relaxed);
      return a < b;
    });
    EXPECT_TRUE(std::is_sorted(v.begin(), v.end()));
    EXPECT_LE(calls.load(), 4 * n) << name_of(s);
  }
}

TEST(ParSort, HeapsortFallbackSortsWhenPartitionsGoBad) {
  // With no bad partitions allowed, the first unbalanced one switches to heapsort.
  namespace sorting = tandem::detail::sorting;
  for (const shape s : all_shapes) {
    auto v = make_input(s, 5000);
    auto want = v;
    std::sort(want.begin(), want.end());
    std::less<> less;
    std::identity id;
    sorting::compare_ref<std::less<>, std::identity> cmp{&less, &id};
    sorting::pdq_loop<sorting::partition_scheme::lomuto>(v.data(), v.data() + v.size(), cmp, 1, true,
                                                         PTRDIFF_MAX);
    EXPECT_EQ(v, want) << name_of(s);
    v = make_input(s, 5000);
    sorting::pdq_loop<sorting::partition_scheme::branchy>(v.data(), v.data() + v.size(), cmp, 1, true,
                                                          PTRDIFF_MAX);
    EXPECT_EQ(v, want) << name_of(s);
    v = make_input(s, 5000);
    sorting::heapsort(v.data(), v.data() + v.size(), cmp);
    EXPECT_EQ(v, want) << name_of(s);
  }
}

TEST(ParSort, EveryPartitionSchemeSorts) {
  namespace sorting = tandem::detail::sorting;
  std::less<> less;
  std::identity id;
  sorting::compare_ref<std::less<>, std::identity> cmp{&less, &id};
  for (const shape s : all_shapes) {
    for (const std::size_t n : {100, 5000, 70'000}) {
      auto want = make_input(s, n);
      std::sort(want.begin(), want.end());
      auto a = make_input(s, n);
      sorting::unstable_sort_with<sorting::partition_scheme::branchy>(a.data(), a.data() + n, cmp,
                                                                      PTRDIFF_MAX);
      EXPECT_EQ(a, want) << name_of(s) << " branchy n=" << n;
      auto b = make_input(s, n);
      sorting::unstable_sort_with<sorting::partition_scheme::block>(b.data(), b.data() + n, cmp, PTRDIFF_MAX);
      EXPECT_EQ(b, want) << name_of(s) << " block n=" << n;
      auto c = make_input(s, n);
      sorting::unstable_sort_with<sorting::partition_scheme::lomuto>(c.data(), c.data() + n, cmp,
                                                                     PTRDIFF_MAX);
      EXPECT_EQ(c, want) << name_of(s) << " lomuto n=" << n;
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Exceptions.
// ---------------------------------------------------------------------------------------------------------------

struct comparator_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Throws on its `limit`-th call (counted across threads).
struct throwing_less {
  std::atomic<std::size_t>* calls;
  std::size_t limit;
  template <class T>
  bool operator()(const T& a, const T& b) const {
    if (calls->fetch_add(1, std::memory_order_relaxed) + 1 == limit)
      throw comparator_error("comparator failed");
    return a < b;
  }
};

TEST(ParSort, ComparatorExceptionLeavesAPermutation) {
#ifdef TANDEM_TEST_SANITIZED
  const std::size_t sizes_here[] = {20, 30, 100, 5000, 50'000};
#else
  const std::size_t sizes_here[] = {20, 30, 100, 5000, 50'000, 300'007};
#endif
  auto pool = par::pool::builder().num_threads(4).build();
  int throws = 0;
  for (const shape s : {shape::random, shape::few_distinct, shape::organ_pipe}) {
    for (const std::size_t n : sizes_here) {
      const auto input = make_input(s, n);
      auto want = input;
      std::sort(want.begin(), want.end());
      // Throw early, in the middle and late in the sort.
      for (const std::size_t limit : {std::size_t{1}, n / 3 + 1, 2 * n, 10 * n}) {
        for (const bool stable : {false, true}) {
          auto v = input;
          std::atomic<std::size_t> calls{0};
          bool threw = false;
          try {
            pool.install([&] {
              if (stable) {
                par::stable_sort(v, throwing_less{&calls, limit});
              } else {
                par::sort(v, throwing_less{&calls, limit});
              }
            });
          } catch (const comparator_error&) {
            threw = true;
            ++throws;
          }
          EXPECT_EQ(threw, calls.load() >= limit);
          auto check = v;
          std::sort(check.begin(), check.end());
          ASSERT_EQ(check, want) << name_of(s) << " n=" << n << " limit=" << limit << " stable=" << stable;
          if (!threw) {
            EXPECT_EQ(v, want);
          }
        }
      }
    }
  }
  EXPECT_GT(throws, 50);
}

TEST(ParSort, ComparatorExceptionWithMoveOnlyElementsLosesNothing) {
  auto pool = par::pool::builder().num_threads(4).build();
  for (const std::size_t n : {25, 40, 3000, 20'000}) {
    for (const std::size_t limit : {std::size_t{1}, n / 2, 3 * n, 8 * n}) {
      for (const bool stable : {false, true}) {
        std::vector<std::unique_ptr<int>> v;
        std::multiset<int> values;
        for (std::size_t i = 0; i < n; ++i) {
          v.push_back(std::make_unique<int>(static_cast<int>(splitmix64(3, i) % 100)));
          values.insert(*v.back());
        }
        std::atomic<std::size_t> calls{0};
        auto cmp = [&](const std::unique_ptr<int>& a, const std::unique_ptr<int>& b) {
          if (a == nullptr || b == nullptr) throw std::logic_error("compared a moved-from element");
          if (calls.fetch_add(1, std::memory_order_relaxed) + 1 == limit) throw comparator_error("boom");
          return *a < *b;
        };
        try {
          pool.install([&] {
            if (stable) {
              par::stable_sort(v, cmp);
            } else {
              par::sort(v, cmp);
            }
          });
        } catch (const comparator_error&) {}
        std::multiset<int> after;
        for (const auto& p : v) {
          ASSERT_NE(p, nullptr) << "n=" << n << " limit=" << limit << " stable=" << stable;
          after.insert(*p);
        }
        EXPECT_EQ(after, values);
      }
    }
  }
}

// The lowest address of the calling thread's stack.
const char* stack_low_end() {
  pthread_attr_t attr;
  void* low = nullptr;
  std::size_t size = 0;
  if (pthread_getattr_np(pthread_self(), &attr) != 0) return nullptr;
  pthread_attr_getstack(&attr, &low, &size);
  pthread_attr_destroy(&attr);
  return static_cast<const char*>(low);
}

// Recurses until at most `left` bytes of stack remain above `low`, then calls f.
template <class F>
[[gnu::noinline]] void with_stack_left(const char* low, std::size_t left, F& f) {
  volatile char pad[64];
  pad[0] = 1;
  const auto* here = static_cast<const char*>(__builtin_frame_address(0));
  if (static_cast<std::size_t>(here - low) <= left) {
    f();
  } else {
    with_stack_left(low, left, f);
  }
  pad[1] = pad[0];
}

TEST(ParSort, StackExhaustionInsideTheSortLeavesAPermutation) {
  // Start the sorts with less and less stack left, in steps smaller than a sort's frames,
  // so that their joins run out (par::stack_exhausted: a join refuses to start with less
  // than 64 KiB left) at every depth of the recursion, with some of the work done and
  // some not started.
#ifdef TANDEM_TEST_SANITIZED
  const std::size_t step = 512;
#else
  const std::size_t step = 128;
#endif
  auto pool = par::pool::builder().num_threads(2).stack_size(512 << 10).build();
  int exhausted = 0;
  for (std::size_t left = 80 << 10; left >= 62 << 10; left -= step) {
    for (const bool stable : {false, true}) {
      std::vector<std::unique_ptr<int>> v;
      std::multiset<int> values;
      for (std::size_t i = 0; i < 10'000; ++i) {
        v.push_back(std::make_unique<int>(static_cast<int>(splitmix64(5, i) % 1000)));
        values.insert(*v.back());
      }
      auto cmp = [](const std::unique_ptr<int>& a, const std::unique_ptr<int>& b) { return *a < *b; };
      try {
        pool.install([&] {
          auto body = [&] {
            if (stable) {
              par::stable_sort(v, cmp);
            } else {
              par::sort(v, cmp);
            }
          };
          with_stack_left(stack_low_end(), left, body);
        });
      } catch (const par::stack_exhausted&) {
        ++exhausted;
      }
      std::multiset<int> after;
      for (const auto& p : v) {
        ASSERT_NE(p, nullptr) << "left=" << left << " stable=" << stable;
        after.insert(*p);
      }
      ASSERT_EQ(after, values) << "left=" << left << " stable=" << stable;
    }
  }
  EXPECT_GT(exhausted, 0);
}

// ---------------------------------------------------------------------------------------------------------------
// Chunks.
// ---------------------------------------------------------------------------------------------------------------

TEST(ParForEachChunk, TouchesEveryElementOnceWithTheRightChunks) {
  in_pool(4, [] {
    for (const std::size_t n : {0, 1, 7, 64, 1000, 100'003}) {
      for (const std::size_t chunk : {1, 3, 64, 1000, 200'000}) {
        std::vector<std::atomic<int>> touched(n);
        const std::size_t chunks = (n + chunk - 1) / chunk;
        std::vector<std::atomic<int>> seen(chunks);
        std::vector<std::size_t> data(n);
        std::iota(data.begin(), data.end(), std::size_t{0});
        std::atomic<bool> bad_chunk{false};
        par::for_each_chunk(data, chunk, [&](std::span<std::size_t> c, std::size_t index) {
          seen[index].fetch_add(1);
          const std::size_t expected = index + 1 < chunks ? chunk : n - index * chunk;
          if (c.size() != expected || c.empty() || c.front() != index * chunk) bad_chunk = true;
          for (std::size_t& x : c) {
            touched[x].fetch_add(1);
            x = x * 2;
          }
        });
        EXPECT_FALSE(bad_chunk.load()) << "n=" << n << " chunk=" << chunk;
        for (std::size_t i = 0; i < n; ++i) {
          ASSERT_EQ(touched[i].load(), 1) << i;
          ASSERT_EQ(data[i], 2 * i);
        }
        for (std::size_t i = 0; i < chunks; ++i) ASSERT_EQ(seen[i].load(), 1) << i;
      }
    }
  });
}

TEST(ParForEachChunk, SpanOnlyBodiesConstElementsAndArrays) {
  const std::vector<int> v(10'000, 1);
  std::atomic<long> sum{0};
  par::for_each_chunk(v, 333, [&](std::span<const int> c) {
    long s = 0;
    for (const int x : c) s += x;
    sum.fetch_add(s);
  });
  EXPECT_EQ(sum.load(), 10'000);

  int arr[10] = {};
  par::for_each_chunk(arr, 4, [](std::span<int> c, std::size_t i) {
    for (int& x : c) x = static_cast<int>(i);
  });
  EXPECT_EQ(arr[0], 0);
  EXPECT_EQ(arr[4], 1);
  EXPECT_EQ(arr[9], 2);
}

TEST(ParForEachChunk, ChunkSizeZeroThrows) {
  std::vector<int> v(10);
  bool called = false;
  try {
    par::for_each_chunk(v, 0, [&](std::span<int>) { called = true; });
    FAIL() << "no exception";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("chunk_size"), std::string::npos);
  }
  EXPECT_FALSE(called);
  std::vector<int> empty;
  EXPECT_THROW(par::for_each_chunk(empty, 0, [](std::span<int>) {}), std::invalid_argument);
}

TEST(ParForEachChunk, ExceptionPropagatesAfterEveryChunkRan) {
  std::vector<int> v(1000);
  std::atomic<int> ran{0};
  auto pool = par::pool::builder().num_threads(4).build();
  try {
    pool.install([&] {
      par::for_each_chunk(v, 10, [&](std::span<int>, std::size_t i) {
        ran.fetch_add(1);
        if (i % 7 == 3) throw std::runtime_error("chunk " + std::to_string(i));
      });
    });
    FAIL() << "no exception";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "chunk 3");  // the lowest-indexed chunk that threw
  }
  EXPECT_EQ(ran.load(), 100);
}

}  // namespace
