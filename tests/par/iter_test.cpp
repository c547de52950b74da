// Tests for the parallel iterators (include/tandem/par/iter.hpp): every source, adaptor and consumer checked
// against the sequential std algorithm on random inputs (fixed seeds) of many sizes, called from the main
// thread (global pool) and from inside pools of 1, 2 and 3 threads; the parallel path (past the driver's
// sequential phase) for every consumer; split hints; argument checks; move-only and non-default-constructible
// items; exceptions; short-circuiting; regression tests for bugs found on the way (last section).
#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <iterator>
#include <limits>
#include <list>
#include <memory>
#include <mutex>
#include <numeric>
#include <optional>
#include <random>
#include <ranges>
#include <set>
#include <span>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include <tandem/par.hpp>

namespace par = tandem::par;
using u64 = std::uint64_t;

namespace {

constexpr std::size_t kSizes[] = {0, 1, 2, 3, 7, 31, 100, 997, 10'007, 65'537};
constexpr std::size_t kHuge = 1'000'003;

std::vector<u64> random_values(std::size_t n, u64 seed, u64 bound = 0) {
  std::mt19937_64 gen(seed);
  std::vector<u64> v(n);
  for (auto& x : v) x = bound == 0 ? gen() : gen() % bound;
  return v;
}

// A few dozen cycles of work per item: inputs of tens of thousands of items then outlast the driver's 25 µs
// sequential phase by far, so the rest of the work goes to the pool.
u64 churn(u64 x) {
  for (int round = 0; round < 6; ++round) {
    x ^= x >> 31;
    x *= 0x7fb5d329728ea185ULL;
    x ^= x >> 27;
  }
  return x;
}

std::vector<u64> churned(const std::vector<u64>& v) {
  std::vector<u64> out(v.size());
  std::transform(v.begin(), v.end(), out.begin(), churn);
  return out;
}

u64 plain_sum(const std::vector<u64>& v) {
  return std::accumulate(v.begin(), v.end(), u64{0});
}

void spin_for(std::chrono::microseconds d) {
  const auto end = std::chrono::steady_clock::now() + d;
  while (std::chrono::steady_clock::now() < end) {}
}

par::pool& pool_of(std::size_t threads) {
  static par::pool one = par::pool::builder().num_threads(1).build();
  static par::pool two = par::pool::builder().num_threads(2).build();
  static par::pool three = par::pool::builder().num_threads(3).build();
  switch (threads) {
    case 1:
      return one;
    case 2:
      return two;
    default:
      return three;
  }
}

// Runs body() from the main thread (the global pool does the parallel part) and inside pools of 1, 2 and 3
// threads. Failures carry the context in their trace.
template <class Body>
void in_each_context(Body&& body) {
  {
    SCOPED_TRACE("called from the main thread (global pool)");
    body();
  }
  for (std::size_t threads : {std::size_t{1}, std::size_t{2}, std::size_t{3}}) {
    pool_of(threads).install([&] {
      SCOPED_TRACE("called inside a pool of " + std::to_string(threads) + " threads");
      body();
    });
  }
}

// EXPECT_EQ for long sequences: reports the size or the first differing position instead of printing both.
template <class A, class B>
void expect_same_sequence(const A& actual, const B& expected) {
  ASSERT_EQ(std::size(actual), std::size(expected));
  auto a = std::begin(actual);
  auto e = std::begin(expected);
  for (std::size_t i = 0; a != std::end(actual); ++a, ++e, ++i) {
    if (!(*a == *e)) {
      ADD_FAILURE() << "sequences differ first at position " << i << " of " << std::size(expected);
      return;
    }
  }
}

// An item whose order looks at the key only, so that equal keys tell which of the equal items was returned.
struct keyed {
  u64 key;
  std::size_t id;
  friend bool operator<(const keyed& a, const keyed& b) { return a.key < b.key; }
};

struct no_default {
  explicit no_default(u64 v) : value(v) {}
  u64 value;
  friend bool operator==(const no_default&, const no_default&) = default;
};
static_assert(!std::is_default_constructible_v<no_default>);

struct boom : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Calls f, expects it to throw boom with message `what`.
template <class F>
void expect_boom(F&& f, const std::string& what) {
  try {
    f();
    ADD_FAILURE() << "expected boom(\"" << what << "\"), nothing was thrown";
  } catch (const boom& e) {
    EXPECT_EQ(std::string(e.what()), what);
  } catch (const std::exception& e) {
    ADD_FAILURE() << "expected boom, got another exception: " << e.what();
  } catch (...) {
    ADD_FAILURE() << "expected boom, got a non-std exception";
  }
}

}  // namespace

// ---------------------------------------------------------------------------------------------------------------
// Sources
// ---------------------------------------------------------------------------------------------------------------

TEST(ParIterSources, VectorSpanDequeIotaRangeAndOwnedVector) {
  in_each_context([] {
    for (std::size_t n : kSizes) {
      SCOPED_TRACE("n = " + std::to_string(n));
      const auto v = random_values(n, 11 + n);
      const u64 total = plain_sum(v);
      const auto mapped = churned(v);

      EXPECT_EQ(par::iter(v).sum(), total);
      EXPECT_EQ(par::iter(v).count(), n);
      expect_same_sequence(par::iter(v).collect<std::vector>(), v);
      expect_same_sequence(par::iter(v).map(churn).collect<std::vector>(), mapped);

      std::vector<u64> mutable_copy = v;
      EXPECT_EQ(par::iter(mutable_copy).map(churn).sum(), plain_sum(mapped));

      const std::span<const u64> s(v);
      EXPECT_EQ(par::iter(s).sum(), total);
      expect_same_sequence(par::iter(std::span<const u64>(v)).map(churn).collect<std::vector>(), mapped);

      const std::deque<u64> d(v.begin(), v.end());
      EXPECT_EQ(par::iter(d).sum(), total);
      expect_same_sequence(par::iter(d).map(churn).collect<std::vector>(), mapped);

      EXPECT_EQ(par::iter(std::vector<u64>(v)).sum(), total);
      expect_same_sequence(par::iter(std::vector<u64>(v)).map(churn).collect<std::vector>(), mapped);

      std::vector<int> ints(n);
      std::iota(ints.begin(), ints.end(), 0);
      const int ni = static_cast<int>(n);
      expect_same_sequence(par::iter(std::views::iota(0, ni)).collect<std::vector>(), ints);
      expect_same_sequence(
          par::iter(std::views::iota(0, ni)).map([](int i) { return i; }).collect<std::vector>(), ints);
      expect_same_sequence(par::range(0, ni).collect<std::vector>(), ints);
      EXPECT_EQ(par::range<u64>(0, n).sum(), n == 0 ? 0 : n * (n - 1) / 2);
      EXPECT_EQ(par::range<u64>(0, n).map(churn).sum(),
                plain_sum(churned(std::vector<u64>(ints.begin(), ints.end()))));
      EXPECT_EQ(par::range(-ni, ni).count(), 2 * n);
      EXPECT_EQ(par::range<long long>(-static_cast<long long>(n), 0).sum(),
                -static_cast<long long>(n * (n + 1) / 2));
    }
  });
}

TEST(ParIterSources, ArraysCArraysAndInitializerLists) {
  in_each_context([] {
    const std::array<u64, 7> small = {5, 1, 4, 1, 5, 9, 2};
    EXPECT_EQ(par::iter(small).sum(), 27u);
    EXPECT_EQ(par::iter(small).collect<std::vector>(), std::vector<u64>(small.begin(), small.end()));
    EXPECT_EQ(par::iter(small).min(), std::optional<u64>(1));

    int c_array[5] = {3, -1, 4, -1, 5};
    EXPECT_EQ(par::iter(c_array).sum(), 10);
    EXPECT_EQ(par::iter(c_array).collect<std::vector>(), (std::vector<int>{3, -1, 4, -1, 5}));
    par::iter(c_array).for_each([](int& x) { x *= 2; });
    EXPECT_EQ(std::vector<int>(std::begin(c_array), std::end(c_array)), (std::vector<int>{6, -2, 8, -2, 10}));

    EXPECT_EQ(par::iter({1, 2, 3}).sum(), 6);
    EXPECT_EQ(par::iter({1, 2, 3}).map([](int x) { return x * 10; }).collect<std::vector>(),
              (std::vector<int>{10, 20, 30}));
    EXPECT_EQ(par::iter({std::string("b"), std::string("a"), std::string("c")}).min(),
              std::optional<std::string>("a"));
    EXPECT_EQ(par::iter(std::initializer_list<int>{}).count(), 0u);

    // Large ones, past the sequential phase.
    constexpr std::size_t kBig = 65'537;
    const auto values = random_values(kBig, 99);
    auto big_array = std::make_unique<std::array<u64, kBig>>();
    std::copy(values.begin(), values.end(), big_array->begin());
    EXPECT_EQ(par::iter(*big_array).sum(), plain_sum(values));
    expect_same_sequence(par::iter(*big_array).map(churn).collect<std::vector>(), churned(values));

    struct holder {
      u64 items[kBig];
    };
    auto big_c = std::make_unique<holder>();
    std::copy(values.begin(), values.end(), std::begin(big_c->items));
    EXPECT_EQ(par::iter(big_c->items).map(churn).sum(), plain_sum(churned(values)));
    par::iter(big_c->items).for_each([](u64& x) { x = churn(x); });
    expect_same_sequence(big_c->items, churned(values));
  });
}

TEST(ParIterSources, EmptyAndReversedIntegerRanges) {
  EXPECT_EQ(par::range(5, 5).count(), 0u);
  EXPECT_EQ(par::range(5, 2).count(), 0u);
  EXPECT_EQ(par::range(-3, -7).sum(), 0);
  EXPECT_EQ(par::range<u64>(10, 3).collect<std::vector>(), std::vector<u64>{});
  // (take() first: a wrong, huge size must fail here rather than run for ever below.)
  ASSERT_EQ(par::range<std::int8_t>(-128, 127).take(1000).count(), 255u);
  EXPECT_EQ(par::range<std::int8_t>(-128, 127).count(), 255u);
  EXPECT_EQ(par::range<std::int8_t>(-128, 127).map([](std::int8_t x) { return int{x}; }).sum(), -255);
  EXPECT_EQ(par::range<unsigned char>(250, 255).collect<std::vector>(),
            (std::vector<unsigned char>{250, 251, 252, 253, 254}));
}

TEST(ParIterSources, IteratorCanBeConsumedRepeatedly) {
  const auto v = random_values(65'537, 3);
  const auto it = par::iter(v).map(churn).filter([](u64 x) { return x % 3 == 0; });
  const auto first = it.collect<std::vector>();
  for (int round = 0; round < 3; ++round) {
    EXPECT_EQ(it.count(), first.size());
    expect_same_sequence(it.collect<std::vector>(), first);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// collect
// ---------------------------------------------------------------------------------------------------------------

TEST(ParIterCollect, MapMatchesTransform) {
  in_each_context([] {
    for (std::size_t n : kSizes) {
      SCOPED_TRACE("n = " + std::to_string(n));
      const auto v = random_values(n, 100 + n);
      const auto expected = churned(v);
      expect_same_sequence(par::iter(v).map(churn).collect<std::vector>(), expected);
      expect_same_sequence(par::iter(v).map(churn).collect<std::vector<u64>>(), expected);
    }
  });
}

TEST(ParIterCollect, HugeMapKeepsOrderExactly) {
  const auto v = random_values(kHuge, 7);
  const auto expected = churned(v);
  auto check = [&] {
    const auto got = par::iter(v).map(churn).collect<std::vector>();
    EXPECT_TRUE(got == expected);
    expect_same_sequence(got, expected);
    EXPECT_TRUE(par::iter(v).collect<std::vector>() == v);
  };
  {
    SCOPED_TRACE("main thread");
    check();
  }
  pool_of(3).install([&] {
    SCOPED_TRACE("3-thread pool");
    check();
  });
}

TEST(ParIterCollect, OtherContainersAndConversions) {
  in_each_context([] {
    for (std::size_t n : kSizes) {
      SCOPED_TRACE("n = " + std::to_string(n));
      const auto v = random_values(n, 200 + n, 1'000'000);
      const auto mapped = churned(v);

      const auto d = par::iter(v).map(churn).collect<std::deque>();
      static_assert(std::is_same_v<std::remove_const_t<decltype(d)>, std::deque<u64>>);
      expect_same_sequence(d, mapped);

      const auto l = par::iter(v).collect<std::list>();
      expect_same_sequence(l, v);

      const auto s = par::iter(v).map([](u64 x) { return x % 1000; }).collect<std::set>();
      std::set<u64> expected_set;
      for (u64 x : v) expected_set.insert(x % 1000);
      EXPECT_EQ(s, expected_set);

      // Conversion, on the fill-in-place path (known length) and on the list path (after a filter).
      const auto longs = par::iter(v).collect<std::vector<long>>();
      expect_same_sequence(longs, std::vector<long>(v.begin(), v.end()));
      const auto mapped_longs = par::iter(v).map([](u64 x) { return x + 1; }).collect<std::vector<long>>();
      std::vector<long> expected_longs;
      for (u64 x : v) expected_longs.push_back(static_cast<long>(x + 1));
      expect_same_sequence(mapped_longs, expected_longs);
      const auto odd_longs =
          par::iter(v).filter([](u64 x) { return x % 2 == 1; }).collect<std::vector<long>>();
      std::vector<long> expected_odd;
      for (u64 x : v)
        if (x % 2 == 1) expected_odd.push_back(static_cast<long>(x));
      expect_same_sequence(odd_longs, expected_odd);
      const auto odd_set = par::iter(v).filter([](u64 x) { return x % 2 == 1; }).collect<std::set<long>>();
      EXPECT_EQ(odd_set, std::set<long>(expected_odd.begin(), expected_odd.end()));
    }
  });
}

TEST(ParIterCollect, FilterKeepsOrder) {
  in_each_context([] {
    for (std::size_t n : kSizes) {
      SCOPED_TRACE("n = " + std::to_string(n));
      const auto v = random_values(n, 300 + n);
      for (u64 modulus : {u64{1}, u64{3}, u64{1000}, u64{1'000'000'007}}) {
        auto keep = [modulus](u64 x) { return churn(x) % modulus == 0; };
        std::vector<u64> expected;
        std::copy_if(v.begin(), v.end(), std::back_inserter(expected), keep);
        expect_same_sequence(par::iter(v).filter(keep).collect<std::vector>(), expected);
        EXPECT_EQ(par::iter(v).filter(keep).count(),
                  static_cast<std::size_t>(std::count_if(v.begin(), v.end(), keep)));
        EXPECT_EQ(par::iter(v).filter(keep).sum(), plain_sum(expected));
        // filter after map, map after filter
        std::vector<u64> expected_mapped;
        for (u64 x : v)
          if (keep(x)) expected_mapped.push_back(churn(x));
        expect_same_sequence(par::iter(v).filter(keep).map(churn).collect<std::vector>(), expected_mapped);
        expect_same_sequence(par::iter(v)
                                 .map(churn)
                                 .filter([modulus](u64 y) { return y % modulus == 0; })
                                 .collect<std::vector>(),
                             expected_mapped);
      }
    }
  });
}

TEST(ParIterCollect, StringsAsItems) {
  in_each_context([] {
    for (std::size_t n : kSizes) {
      SCOPED_TRACE("n = " + std::to_string(n));
      const auto v = random_values(n, 400 + n, 100'000);
      std::vector<std::string> expected;
      for (u64 x : v) expected.push_back(std::to_string(churn(x) % 100'000));
      auto to_text = [](u64 x) { return std::to_string(churn(x) % 100'000); };

      expect_same_sequence(par::iter(v).map(to_text).collect<std::vector>(), expected);
      EXPECT_EQ(par::iter(v).map(to_text).collect<std::set>(),
                std::set<std::string>(expected.begin(), expected.end()));
      expect_same_sequence(par::iter(expected).collect<std::vector>(), expected);
      std::vector<std::string> long_ones;
      std::copy_if(expected.begin(), expected.end(), std::back_inserter(long_ones),
                   [](const std::string& s) { return s.size() >= 5; });
      expect_same_sequence(par::iter(expected)
                               .filter([](const std::string& s) { return s.size() >= 5; })
                               .collect<std::vector>(),
                           long_ones);

      auto by_size = [](const std::string& a, const std::string& b) { return a.size() < b.size(); };
      auto size_of = [](const std::string& s) { return s.size(); };
      if (n == 0) {
        EXPECT_EQ(par::iter(expected).min(), std::nullopt);
        EXPECT_EQ(par::iter(v).map(to_text).max(), std::nullopt);
        EXPECT_EQ(par::iter(v).map(to_text).min_by_key(size_of), std::nullopt);
        continue;
      }
      EXPECT_EQ(par::iter(expected).min(), *std::min_element(expected.begin(), expected.end()));
      EXPECT_EQ(par::iter(expected).max(), *std::max_element(expected.begin(), expected.end()));
      EXPECT_EQ(par::iter(v).map(to_text).min(), *std::min_element(expected.begin(), expected.end()));
      EXPECT_EQ(par::iter(v).map(to_text).max(), *std::max_element(expected.begin(), expected.end()));
      // Many strings share a length: the first of them must come back.
      EXPECT_EQ(par::iter(v).map(to_text).min_by(by_size),
                *std::min_element(expected.begin(), expected.end(), by_size));
      EXPECT_EQ(par::iter(v).map(to_text).max_by(by_size),
                *std::max_element(expected.begin(), expected.end(), by_size));
      EXPECT_EQ(par::iter(v).map(to_text).min_by_key(size_of),
                *std::min_element(expected.begin(), expected.end(), by_size));
      EXPECT_EQ(par::iter(expected).max_by_key(size_of),
                *std::max_element(expected.begin(), expected.end(), by_size));
    }
  });
}

TEST(ParIterCollect, ItemsWithoutDefaultConstructor) {
  in_each_context([] {
    for (std::size_t n : kSizes) {
      SCOPED_TRACE("n = " + std::to_string(n));
      const auto v = random_values(n, 500 + n);
      std::vector<no_default> expected;
      for (u64 x : v) expected.emplace_back(churn(x));
      auto make = [](u64 x) { return no_default(churn(x)); };
      expect_same_sequence(par::iter(v).map(make).collect<std::vector>(), expected);
      expect_same_sequence(par::iter(v).map(make).collect<std::deque>(), expected);
      EXPECT_EQ(par::iter(v).map(make).count(), n);
    }
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Adaptors
// ---------------------------------------------------------------------------------------------------------------

TEST(ParIterAdaptors, FilterMap) {
  in_each_context([] {
    for (std::size_t n : kSizes) {
      SCOPED_TRACE("n = " + std::to_string(n));
      const auto v = random_values(n, 600 + n);
      auto f = [](u64 x) -> std::optional<u64> {
        if (x % 3 == 0) return std::nullopt;
        return churn(x);
      };
      std::vector<u64> expected;
      for (u64 x : v)
        if (auto y = f(x)) expected.push_back(*y);
      expect_same_sequence(par::iter(v).filter_map(f).collect<std::vector>(), expected);
      EXPECT_EQ(par::iter(v).filter_map(f).count(), expected.size());
      EXPECT_EQ(par::iter(v).filter_map(f).sum(), plain_sum(expected));
      auto text = [](u64 x) -> std::optional<std::string> {
        if (x % 2 == 0) return std::nullopt;
        return std::to_string(x % 1000);
      };
      std::vector<std::string> expected_text;
      for (u64 x : v)
        if (auto t = text(x)) expected_text.push_back(*t);
      expect_same_sequence(par::iter(v).filter_map(text).collect<std::vector>(), expected_text);
    }
  });
}

TEST(ParIterAdaptors, FlatMapKeepsOrder) {
  in_each_context([] {
    for (std::size_t n : kSizes) {
      SCOPED_TRACE("n = " + std::to_string(n));
      const auto v = random_values(n, 700 + n);
      // Ranges returned by value, of 0 to 3 items.
      auto expand = [](u64 x) {
        std::vector<u64> out;
        for (u64 k = 0; k < x % 4; ++k) out.push_back(churn(x) + k);
        return out;
      };
      std::vector<u64> expected;
      for (u64 x : v)
        for (u64 y : expand(x)) expected.push_back(y);
      expect_same_sequence(par::iter(v).flat_map(expand).collect<std::vector>(), expected);
      EXPECT_EQ(par::iter(v).flat_map(expand).count(), expected.size());
      EXPECT_EQ(par::iter(v).flat_map(expand).sum(), plain_sum(expected));
      // Short-circuiting inside one item's range: several of its elements match, the first one wins.
      auto five = [](u64 x) {
        return std::vector<u64>{x * 10, x * 10 + 1, x * 10 + 2, x * 10 + 3, x * 10 + 4};
      };
      auto odd = [](u64 y) { return y % 2 == 1; };
      EXPECT_EQ(par::iter(v).flat_map(five).find_first(odd),
                n == 0 ? std::nullopt : std::optional<u64>(v[0] * 10 + 1));
      EXPECT_EQ(par::iter(v).flat_map(five).any(odd), n > 0);

      // Views returned by value.
      std::vector<u64> expected_iota;
      for (u64 x : v)
        for (u64 k = 0; k < x % 5; ++k) expected_iota.push_back(k);
      expect_same_sequence(
          par::iter(v).flat_map([](u64 x) { return std::views::iota(u64{0}, x % 5); }).collect<std::vector>(),
          expected_iota);

      // Ranges returned by reference: items are references into them.
      std::vector<std::vector<u64>> nested;
      for (u64 x : v) nested.push_back(expand(x));
      auto inner = [](const std::vector<u64>& row) -> const std::vector<u64>& { return row; };
      expect_same_sequence(par::iter(nested).flat_map(inner).collect<std::vector>(), expected);
      std::vector<const u64*> addresses;
      for (const auto& row : nested)
        for (const u64& x : row) addresses.push_back(&x);
      expect_same_sequence(
          par::iter(nested).flat_map(inner).map([](const u64& x) { return &x; }).collect<std::vector>(),
          addresses);
    }
  });
}

TEST(ParIterAdaptors, InspectSeesEveryItemAndPassesItOn) {
  in_each_context([] {
    for (std::size_t n : kSizes) {
      SCOPED_TRACE("n = " + std::to_string(n));
      const auto v = random_values(n, 800 + n);
      std::atomic<u64> seen_sum{0};
      std::atomic<std::size_t> seen_count{0};
      auto note = [&](const u64& x) {
        seen_sum.fetch_add(x, std::memory_order_relaxed);
        seen_count.fetch_add(1, std::memory_order_relaxed);
      };
      expect_same_sequence(par::iter(v).inspect(note).collect<std::vector>(), v);
      EXPECT_EQ(seen_count.load(), n);
      EXPECT_EQ(seen_sum.load(), plain_sum(v));

      seen_sum = 0;
      seen_count = 0;
      EXPECT_EQ(par::iter(v).inspect(note).map(churn).sum(), plain_sum(churned(v)));
      EXPECT_EQ(seen_count.load(), n);
      EXPECT_EQ(seen_sum.load(), plain_sum(v));

      // Items stay references: a for_each after inspect still mutates the input.
      std::vector<u64> w = v;
      seen_count = 0;
      par::iter(w).inspect(note).for_each([](u64& x) { x = churn(x); });
      EXPECT_EQ(seen_count.load(), n);
      expect_same_sequence(w, churned(v));
    }
  });
}

TEST(ParIterAdaptors, ForEachMutatesThroughReferences) {
  in_each_context([] {
    for (std::size_t n : kSizes) {
      SCOPED_TRACE("n = " + std::to_string(n));
      auto v = random_values(n, 900 + n);
      const auto expected = churned(v);
      par::iter(v).for_each([](u64& x) { x = churn(x); });
      expect_same_sequence(v, expected);

      std::deque<u64> d(n, 0);
      par::iter(d).enumerate().for_each([](std::pair<std::size_t, u64&> p) { p.second = p.first * 3; });
      for (std::size_t i = 0; i < n; ++i) ASSERT_EQ(d[i], i * 3);

      std::vector<u64> slots(n, 0);
      par::range<std::size_t>(0, n).for_each([&slots](std::size_t i) { slots[i] = churn(i); });
      for (std::size_t i = 0; i < n; ++i) ASSERT_EQ(slots[i], churn(i));

      std::atomic<u64> total{0};
      par::iter(v).map(churn).for_each([&total](u64 x) { total.fetch_add(x, std::memory_order_relaxed); });
      EXPECT_EQ(total.load(), plain_sum(churned(expected)));
    }
  });
}

TEST(ParIterAdaptors, Enumerate) {
  in_each_context([] {
    for (std::size_t n : kSizes) {
      SCOPED_TRACE("n = " + std::to_string(n));
      const auto v = random_values(n, 1000 + n);
      const auto pairs = par::iter(v).enumerate().collect<std::vector>();
      ASSERT_EQ(pairs.size(), n);
      for (std::size_t i = 0; i < n; ++i) {
        ASSERT_EQ(pairs[i].first, i);
        ASSERT_EQ(&pairs[i].second, &v[i]);  // references into the input
      }
      const auto mapped = par::iter(v).map(churn).enumerate().collect<std::vector>();
      ASSERT_EQ(mapped.size(), n);
      for (std::size_t i = 0; i < n; ++i) ASSERT_EQ(mapped[i], std::make_pair(i, churn(v[i])));

      // Indices are positions within what enumerate sees (after skip/step_by).
      const auto indices = par::iter(v)
                               .skip(3)
                               .step_by(2)
                               .enumerate()
                               .map([](const auto& p) { return std::make_pair(p.first, p.second); })
                               .collect<std::vector>();
      std::vector<std::pair<std::size_t, u64>> expected;
      for (std::size_t i = 3, k = 0; i < n; i += 2, ++k) expected.emplace_back(k, v[i]);
      EXPECT_EQ(indices, expected);

      // Filtering on the index keeps order.
      std::vector<std::size_t> every_third;
      for (std::size_t i = 0; i < n; i += 3) every_third.push_back(i);
      expect_same_sequence(par::iter(v)
                               .enumerate()
                               .filter([](const auto& p) { return p.first % 3 == 0; })
                               .map([](const auto& p) { return p.first; })
                               .collect<std::vector>(),
                           every_third);
      EXPECT_EQ(par::iter(v).enumerate().map([](const auto& p) { return p.first; }).sum(),
                n == 0 ? 0 : n * (n - 1) / 2);
    }
  });
}

TEST(ParIterAdaptors, ZipTruncatesToTheShorter) {
  in_each_context([] {
    for (std::size_t n : kSizes) {
      SCOPED_TRACE("n = " + std::to_string(n));
      const auto a = random_values(n, 1100 + n);
      for (std::size_t m : {std::size_t{0}, n / 2, n, n + 5}) {
        const auto b = random_values(m, 1200 + m);
        const std::size_t len = std::min(n, m);
        std::vector<u64> expected;
        for (std::size_t i = 0; i < len; ++i) expected.push_back(churn(a[i]) ^ b[i]);
        auto mix = [](const auto& p) { return churn(p.first) ^ p.second; };
        expect_same_sequence(par::iter(a).zip(par::iter(b)).map(mix).collect<std::vector>(), expected);
        EXPECT_EQ(par::iter(a).zip(par::iter(b)).count(), len);
        EXPECT_EQ(par::iter(b).zip(par::iter(a)).count(), len);
        // The items are references into both inputs.
        const auto refs = par::iter(a).zip(par::iter(b)).collect<std::vector>();
        ASSERT_EQ(refs.size(), len);
        for (std::size_t i = 0; i < len; ++i) {
          ASSERT_EQ(&refs[i].first, &a[i]);
          ASSERT_EQ(&refs[i].second, &b[i]);
        }
      }
      // Zip with an integer range, and with a mapped iterator.
      const auto pos = par::iter(a)
                           .zip(par::range<std::size_t>(0, n + 10))
                           .map([](const auto& p) { return p.second; })
                           .collect<std::vector>();
      std::vector<std::size_t> expected_pos(n);
      std::iota(expected_pos.begin(), expected_pos.end(), std::size_t{0});
      expect_same_sequence(pos, expected_pos);
      std::vector<u64> a_sq(n);
      std::transform(a.begin(), a.end(), a_sq.begin(), [](u64 x) { return x * x; });
      EXPECT_EQ(par::iter(a)
                    .zip(par::iter(a).map([](u64 x) { return x * x; }))
                    .map([](const auto& p) { return p.first * p.second; })
                    .sum(),
                std::inner_product(a.begin(), a.end(), a_sq.begin(), u64{0}));
    }
  });
}

TEST(ParIterAdaptors, ChunksSizesAndContents) {
  in_each_context([] {
    for (std::size_t n : kSizes) {
      SCOPED_TRACE("n = " + std::to_string(n));
      auto v = random_values(n, 1300 + n);
      for (std::size_t k :
           {std::size_t{1}, std::size_t{2}, std::size_t{3}, std::size_t{64}, n, n + 1, n + 1000}) {
        if (k == 0) continue;
        SCOPED_TRACE("chunk size " + std::to_string(k));
        const std::size_t chunks = (n + k - 1) / k;
        std::vector<std::size_t> expected_sizes(chunks, k);
        if (chunks > 0) expected_sizes.back() = n - (chunks - 1) * k;
        std::vector<u64> expected_sums;
        for (std::size_t c = 0; c < chunks; ++c)
          expected_sums.push_back(
              std::accumulate(v.begin() + static_cast<std::ptrdiff_t>(c * k),
                              v.begin() + static_cast<std::ptrdiff_t>(c * k + expected_sizes[c]), u64{0}));

        // Over a vector lvalue: spans into the vector.
        static_assert(std::is_same_v<decltype(par::iter(v).chunks(k))::item_type, std::span<u64>>);
        expect_same_sequence(
            par::iter(v).chunks(k).map([](std::span<u64> s) { return s.size(); }).collect<std::vector>(),
            expected_sizes);
        expect_same_sequence(
            par::iter(v)
                .chunks(k)
                .map([](std::span<u64> s) { return std::accumulate(s.begin(), s.end(), u64{0}); })
                .collect<std::vector>(),
            expected_sums);
        const auto spans = par::iter(v).chunks(k).collect<std::vector>();
        ASSERT_EQ(spans.size(), chunks);
        for (std::size_t c = 0; c < chunks; ++c) {
          ASSERT_EQ(spans[c].data(), v.data() + c * k);
          ASSERT_EQ(spans[c].size(), expected_sizes[c]);
        }
        EXPECT_EQ(par::iter(v).chunks(k).count(), chunks);

        // Over a deque (not contiguous) and over a mapped iterator: vectors of values.
        const std::deque<u64> d(v.begin(), v.end());
        static_assert(std::is_same_v<decltype(par::iter(d).chunks(k))::item_type, std::vector<u64>>);
        const auto deque_chunks = par::iter(d).chunks(k).collect<std::vector>();
        ASSERT_EQ(deque_chunks.size(), chunks);
        for (std::size_t c = 0; c < chunks; ++c)
          ASSERT_TRUE(std::equal(deque_chunks[c].begin(), deque_chunks[c].end(),
                                 v.begin() + static_cast<std::ptrdiff_t>(c * k),
                                 v.begin() + static_cast<std::ptrdiff_t>(c * k + expected_sizes[c])));
        auto chunk_sum = [](const std::vector<u64>& s) {
          return std::accumulate(s.begin(), s.end(), u64{0});
        };
        expect_same_sequence(
            par::iter(v).map([](u64 x) { return x; }).chunks(k).map(chunk_sum).collect<std::vector>(),
            expected_sums);
        // After skip the chunks are vectors of values again.
        if (n > 1) {
          const auto skipped = par::iter(v).skip(1).chunks(k).map(chunk_sum).collect<std::vector>();
          EXPECT_EQ(std::accumulate(skipped.begin(), skipped.end(), u64{0}), plain_sum(v) - v[0]);
        }
      }
    }
  });
}

TEST(ParIterAdaptors, ChunksWriteThroughSpans) {
  in_each_context([] {
    for (std::size_t n : kSizes) {
      SCOPED_TRACE("n = " + std::to_string(n));
      std::vector<u64> v(n, 0);
      par::iter(v).chunks(7).enumerate().for_each([](std::pair<std::size_t, std::span<u64>> p) {
        for (u64& x : p.second) x = p.first;
      });
      for (std::size_t i = 0; i < n; ++i) ASSERT_EQ(v[i], i / 7);
    }
  });
}

TEST(ParIterAdaptors, TakeSkipStepBy) {
  in_each_context([] {
    for (std::size_t n : kSizes) {
      SCOPED_TRACE("n = " + std::to_string(n));
      const auto v = random_values(n, 1400 + n);
      const std::size_t big = std::numeric_limits<std::size_t>::max();
      for (std::size_t t : {std::size_t{0}, std::size_t{1}, std::size_t{2}, n / 2, n == 0 ? 0 : n - 1, n,
                            n + 1, n + 1000, big}) {
        SCOPED_TRACE("t = " + std::to_string(t));
        const std::size_t kept = std::min(t, n);
        const std::vector<u64> head(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(kept));
        const std::vector<u64> tail(v.begin() + static_cast<std::ptrdiff_t>(kept), v.end());
        expect_same_sequence(par::iter(v).take(t).collect<std::vector>(), head);
        expect_same_sequence(par::iter(v).skip(t).collect<std::vector>(), tail);
        EXPECT_EQ(par::iter(v).take(t).count(), head.size());
        EXPECT_EQ(par::iter(v).skip(t).count(), tail.size());
        EXPECT_EQ(par::iter(v).map(churn).take(t).sum(), plain_sum(churned(head)));
        EXPECT_EQ(par::iter(v).map(churn).skip(t).sum(), plain_sum(churned(tail)));
      }
      for (std::size_t s : {std::size_t{1}, std::size_t{2}, std::size_t{3}, std::size_t{7}, std::size_t{1000},
                            n, n + 1, n + 1000}) {
        if (s == 0) continue;
        SCOPED_TRACE("step = " + std::to_string(s));
        std::vector<u64> expected;
        for (std::size_t i = 0; i < n; i += s) expected.push_back(v[i]);
        expect_same_sequence(par::iter(v).step_by(s).collect<std::vector>(), expected);
        EXPECT_EQ(par::iter(v).step_by(s).count(), expected.size());
        EXPECT_EQ(par::iter(v).map(churn).step_by(s).sum(), plain_sum(churned(expected)));
        EXPECT_EQ(par::iter(v).step_by(s).position_first([](u64) { return true; }),
                  expected.empty() ? std::nullopt : std::optional<std::size_t>(0));
      }
      // Chains: skip 3, every 2nd, first 5; and take then skip.
      std::vector<u64> chain;
      for (std::size_t i = 3; i < n && chain.size() < 5; i += 2) chain.push_back(v[i]);
      expect_same_sequence(par::iter(v).skip(3).step_by(2).take(5).collect<std::vector>(), chain);
      std::vector<u64> middle;
      for (std::size_t i = 10; i < std::min<std::size_t>(n, 50); ++i) middle.push_back(v[i]);
      expect_same_sequence(par::iter(v).take(50).skip(10).collect<std::vector>(), middle);
      std::vector<u64> stepped_twice;
      for (std::size_t i = 0; i < n; i += 6) stepped_twice.push_back(v[i]);
      expect_same_sequence(par::iter(v).step_by(2).step_by(3).collect<std::vector>(), stepped_twice);
    }
  });
}

TEST(ParIterAdaptors, ZeroSizesThrowInvalidArgument) {
  const std::vector<u64> v = random_values(100, 1);
  const std::vector<u64> empty;
  for (const auto* input : {&v, &empty}) {
    EXPECT_THROW((void)par::iter(*input).chunks(0), std::invalid_argument);
    EXPECT_THROW((void)par::iter(*input).step_by(0), std::invalid_argument);
    EXPECT_THROW((void)par::iter(*input).with_max_len(0), std::invalid_argument);
    EXPECT_THROW((void)par::iter(*input).map(churn).with_max_len(0), std::invalid_argument);
  }
  try {
    (void)par::iter(v).chunks(0);
    ADD_FAILURE() << "chunks(0) did not throw";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("chunks"), std::string::npos) << e.what();
  }
  // with_min_len(0) is allowed (treated as 1).
  EXPECT_EQ(par::iter(v).with_min_len(0).sum(), plain_sum(v));
}

TEST(ParIterAdaptors, FoldThenSumEqualsPlainSum) {
  in_each_context([] {
    for (std::size_t n : kSizes) {
      SCOPED_TRACE("n = " + std::to_string(n));
      const auto v = random_values(n, 1500 + n);
      const u64 expected = plain_sum(churned(v));
      EXPECT_EQ(par::iter(v).fold([] { return u64{0}; }, [](u64 acc, u64 x) { return acc + churn(x); }).sum(),
                expected);
      EXPECT_EQ(par::iter(v)
                    .fold([] { return u64{0}; }, [](u64 acc, u64 x) { return acc + churn(x); })
                    .reduce(u64{0}, std::plus<>{}),
                expected);
      // One accumulator per piece, in order, none empty: concatenated they are the input.
      const auto pieces = par::iter(v)
                              .fold([] { return std::vector<u64>{}; },
                                    [](std::vector<u64> acc, u64 x) {
                                      acc.push_back(x);
                                      return acc;
                                    })
                              .collect<std::vector>();
      std::vector<u64> joined;
      for (const auto& piece : pieces) {
        EXPECT_FALSE(piece.empty());
        joined.insert(joined.end(), piece.begin(), piece.end());
      }
      expect_same_sequence(joined, v);
      if (n == 0) {
        EXPECT_EQ(pieces.size(), 0u);
      }
      // fold after filter
      const auto odd = par::iter(v)
                           .filter([](u64 x) { return x % 2 == 1; })
                           .fold([] { return std::size_t{0}; }, [](std::size_t c, u64) { return c + 1; })
                           .sum();
      EXPECT_EQ(
          odd, static_cast<std::size_t>(std::count_if(v.begin(), v.end(), [](u64 x) { return x % 2 == 1; })));
    }
  });
}

TEST(ParIterAdaptors, SplitHintsKeepResultsAndBoundPieces) {
  in_each_context([] {
    for (std::size_t n : kSizes) {
      SCOPED_TRACE("n = " + std::to_string(n));
      const auto v = random_values(n, 1600 + n);
      const auto mapped = churned(v);
      auto pieces_of = [](const auto& it) {
        return it.fold([] { return std::size_t{0}; }, [](std::size_t c, u64) { return c + 1; })
            .template collect<std::vector>();
      };
      for (std::size_t min_len :
           {std::size_t{1}, std::size_t{7}, std::size_t{1000}, std::size_t{1'000'000}}) {
        SCOPED_TRACE("with_min_len(" + std::to_string(min_len) + ")");
        const auto it = par::iter(v).map(churn).with_min_len(min_len);
        EXPECT_EQ(it.sum(), plain_sum(mapped));
        expect_same_sequence(it.collect<std::vector>(), mapped);
        // Every piece has at least min_len items, but the last.
        const auto sizes = pieces_of(it);
        for (std::size_t i = 0; i + 1 < sizes.size(); ++i)
          ASSERT_GE(sizes[i], min_len) << "piece " << i << " of " << sizes.size();
        EXPECT_EQ(std::accumulate(sizes.begin(), sizes.end(), std::size_t{0}), n);
      }
      for (std::size_t max_len : {std::size_t{3}, std::size_t{64}, std::size_t{100'000}}) {
        SCOPED_TRACE("with_max_len(" + std::to_string(max_len) + ")");
        const auto it = par::iter(v).map(churn).with_max_len(max_len);
        EXPECT_EQ(it.sum(), plain_sum(mapped));
        expect_same_sequence(it.collect<std::vector>(), mapped);
        EXPECT_EQ(it.filter([](u64 x) { return x % 5 == 0; }).count(),
                  static_cast<std::size_t>(
                      std::count_if(mapped.begin(), mapped.end(), [](u64 x) { return x % 5 == 0; })));
        const auto sizes = pieces_of(it);
        for (std::size_t i = 0; i < sizes.size(); ++i) ASSERT_LE(sizes[i], max_len) << "piece " << i;
        EXPECT_EQ(std::accumulate(sizes.begin(), sizes.end(), std::size_t{0}), n);
        if (n > 0) {
          EXPECT_EQ(it.position_first([&](u64 x) { return x == mapped.back(); }),
                    static_cast<std::size_t>(std::find(mapped.begin(), mapped.end(), mapped.back()) -
                                             mapped.begin()));
        }
      }
      // Both at once.
      EXPECT_EQ(par::iter(v).with_min_len(10).with_max_len(100).map(churn).sum(), plain_sum(mapped));
    }
  });
}

TEST(ParIterAdaptors, MaxLenOneOnThreeThreads) {
  pool_of(3).install([] {
    for (std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{2}, std::size_t{31}, std::size_t{997},
                          std::size_t{10'007}}) {
      SCOPED_TRACE("n = " + std::to_string(n));
      const auto v = random_values(n, 1700 + n);
      const auto mapped = churned(v);
      const auto it = par::iter(v).with_max_len(1);
      EXPECT_EQ(it.sum(), plain_sum(v));
      expect_same_sequence(it.map(churn).collect<std::vector>(), mapped);
      expect_same_sequence(it.filter([](u64 x) { return x % 2 == 0; }).collect<std::vector>(), [&] {
        std::vector<u64> e;
        std::copy_if(v.begin(), v.end(), std::back_inserter(e), [](u64 x) { return x % 2 == 0; });
        return e;
      }());
      const auto sizes =
          it.fold([] { return std::size_t{0}; }, [](std::size_t c, const u64&) { return c + 1; })
              .collect<std::vector>();
      EXPECT_EQ(sizes.size(), n);
      EXPECT_EQ(it.map(churn).max(),
                n == 0 ? std::nullopt : std::optional<u64>(*std::max_element(mapped.begin(), mapped.end())));
      if (n > 0) {
        EXPECT_EQ(it.position_first([&](const u64& x) { return x == v.back(); }),
                  static_cast<std::size_t>(std::find(v.begin(), v.end(), v.back()) - v.begin()));
      }
    }
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Consumers
// ---------------------------------------------------------------------------------------------------------------

TEST(ParIterConsumers, SumProductCountReduce) {
  in_each_context([] {
    for (std::size_t n : kSizes) {
      SCOPED_TRACE("n = " + std::to_string(n));
      const auto v = random_values(n, 1800 + n);
      EXPECT_EQ(par::iter(v).sum(), plain_sum(v));
      EXPECT_EQ(par::iter(v).map(churn).sum(), plain_sum(churned(v)));
      // Products of odd numbers never reach 0 modulo 2^64; wrapping multiplication is associative.
      auto odd = [](u64 x) { return churn(x) | 1; };
      u64 expected_product = 1;
      for (u64 x : v) expected_product *= odd(x);
      EXPECT_EQ(par::iter(v).map(odd).product(), expected_product);
      EXPECT_EQ(par::iter(v).count(), n);
      EXPECT_EQ(par::iter(v).map(churn).count(), n);

      EXPECT_EQ(par::iter(v).reduce(u64{0}, std::plus<>{}), plain_sum(v));
      EXPECT_EQ(par::iter(v).map(churn).reduce([] { return u64{0}; }, [](u64 a, u64 b) { return a + b; }),
                plain_sum(churned(v)));
      EXPECT_EQ(par::iter(v).map(churn).reduce(~u64{0}, [](u64 a, u64 b) { return a & b; }),
                std::accumulate(v.begin(), v.end(), ~u64{0}, [](u64 a, u64 x) { return a & churn(x); }));
      // Associative, not commutative: the pieces must be combined in order.
      std::vector<std::string> words;
      for (u64 x : v) words.push_back(std::to_string(x % 100));
      const std::string joined = std::accumulate(words.begin(), words.end(), std::string{});
      auto append = [](std::string a, const std::string& b) {
        a += b;
        return a;
      };
      EXPECT_EQ(par::iter(words).reduce(std::string{}, append), joined);
      EXPECT_EQ(par::iter(v)
                    .map([](u64 x) { return std::to_string(x % 100); })
                    .reduce([] { return std::string{}; }, append),
                joined);
    }
  });
}

TEST(ParIterConsumers, EmptyInputs) {
  in_each_context([] {
    const std::vector<u64> empty;
    EXPECT_EQ(par::iter(empty).sum(), 0u);
    EXPECT_EQ(par::iter(empty).product(), 1u);
    EXPECT_EQ(par::iter(empty).count(), 0u);
    EXPECT_EQ(par::iter(empty).map(churn).sum(), 0u);
    EXPECT_EQ(par::iter(empty).map(churn).product(), 1u);
    EXPECT_EQ(par::iter(empty).reduce(u64{42}, std::plus<>{}), 42u);
    EXPECT_EQ(par::iter(empty).min(), std::nullopt);
    EXPECT_EQ(par::iter(empty).max(), std::nullopt);
    EXPECT_EQ(par::iter(empty).min_by(std::less<>{}), std::nullopt);
    EXPECT_EQ(par::iter(empty).max_by(std::less<>{}), std::nullopt);
    EXPECT_EQ(par::iter(empty).min_by_key(churn), std::nullopt);
    EXPECT_EQ(par::iter(empty).max_by_key(churn), std::nullopt);
    EXPECT_FALSE(par::iter(empty).any([](u64) { return true; }));
    EXPECT_TRUE(par::iter(empty).all([](u64) { return false; }));
    EXPECT_EQ(par::iter(empty).find_any([](u64) { return true; }), std::nullopt);
    EXPECT_EQ(par::iter(empty).find_first([](u64) { return true; }), std::nullopt);
    EXPECT_EQ(par::iter(empty).position_first([](u64) { return true; }), std::nullopt);
    EXPECT_EQ(par::iter(empty).partition([](u64) { return true; }),
              (std::pair<std::vector<u64>, std::vector<u64>>{}));
    EXPECT_TRUE(par::iter(empty).collect<std::vector>().empty());
    // Everything filtered out of a large input.
    const auto v = random_values(65'537, 5);
    const auto none = par::iter(v).filter([](u64) { return false; });
    EXPECT_EQ(none.sum(), 0u);
    EXPECT_EQ(none.product(), 1u);
    EXPECT_EQ(none.count(), 0u);
    EXPECT_EQ(none.min(), std::nullopt);
    EXPECT_EQ(none.max_by_key(churn), std::nullopt);
    EXPECT_TRUE(none.collect<std::vector>().empty());
  });
}

TEST(ParIterConsumers, MinMaxReturnTheFirstOfEqualItems) {
  in_each_context([] {
    for (std::size_t n : kSizes) {
      SCOPED_TRACE("n = " + std::to_string(n));
      // Keys from a small set: many ties.
      std::vector<keyed> items;
      for (std::size_t i = 0; i < n; ++i) items.push_back({churn(i + 17 * n) % 8, i});
      auto make = [n](std::size_t i) { return keyed{churn(i + 17 * n) % 8, i}; };
      const auto mapped = par::range<std::size_t>(0, n).map(make);
      auto key_of = [](const keyed& k) { return k.key; };
      auto key_less = [](const keyed& a, const keyed& b) { return a.key < b.key; };
      auto key_greater = [](const keyed& a, const keyed& b) { return a.key > b.key; };
      auto id_of = [](const std::optional<keyed>& k) {
        return k ? std::optional<std::size_t>(k->id) : std::nullopt;
      };
      std::optional<std::size_t> first_min, first_max, first_max_by_greater;
      if (n > 0) {
        first_min = std::min_element(items.begin(), items.end())->id;
        first_max = std::max_element(items.begin(), items.end())->id;
        first_max_by_greater = std::max_element(items.begin(), items.end(), key_greater)->id;
      }
      EXPECT_EQ(id_of(par::iter(items).min()), first_min);
      EXPECT_EQ(id_of(par::iter(items).max()), first_max);
      EXPECT_EQ(id_of(mapped.min()), first_min);
      EXPECT_EQ(id_of(mapped.max()), first_max);
      EXPECT_EQ(id_of(mapped.min_by(key_less)), first_min);
      EXPECT_EQ(id_of(mapped.max_by(key_less)), first_max);
      EXPECT_EQ(id_of(par::iter(items).min_by(key_less)), first_min);
      EXPECT_EQ(id_of(par::iter(items).max_by(key_less)), first_max);
      EXPECT_EQ(id_of(mapped.min_by_key(key_of)), first_min);
      EXPECT_EQ(id_of(mapped.max_by_key(key_of)), first_max);
      EXPECT_EQ(id_of(par::iter(items).min_by_key(key_of)), first_min);
      EXPECT_EQ(id_of(par::iter(items).max_by_key(key_of)), first_max);
      // With the order reversed, max_by gives the first least one (as std::max_element does).
      EXPECT_EQ(id_of(mapped.max_by(key_greater)), first_max_by_greater);
      EXPECT_EQ(id_of(mapped.min_by(key_greater)), first_max);

      // Plain numbers.
      const auto v = random_values(n, 1900 + n, 1000);
      std::optional<u64> vmin, vmax;
      if (n > 0) {
        vmin = *std::min_element(v.begin(), v.end());
        vmax = *std::max_element(v.begin(), v.end());
      }
      EXPECT_EQ(par::iter(v).min(), vmin);
      EXPECT_EQ(par::iter(v).max(), vmax);
      EXPECT_EQ(par::iter(v).map([](u64 x) { return x; }).min(), vmin);
      EXPECT_EQ(par::iter(v).map([](u64 x) { return x; }).max(), vmax);
    }
  });
}

TEST(ParIterConsumers, AnyAllFindAgainstStdAlgorithms) {
  in_each_context([] {
    for (std::size_t n : kSizes) {
      SCOPED_TRACE("n = " + std::to_string(n));
      const auto v = random_values(n, 2000 + n, 100'000);
      // Predicates that match nothing, rarely, often, always.
      for (u64 modulus : {u64{1'000'000}, u64{5000}, u64{7}, u64{1}}) {
        SCOPED_TRACE("matches when churn(x) % " + std::to_string(modulus) + " == 0");
        auto pred = [modulus](u64 x) { return modulus != 1'000'000 && churn(x) % modulus == 0; };
        auto not_pred = [&pred](u64 x) { return !pred(x); };
        EXPECT_EQ(par::iter(v).any(pred), std::any_of(v.begin(), v.end(), pred));
        EXPECT_EQ(par::iter(v).all(pred), std::all_of(v.begin(), v.end(), pred));
        EXPECT_EQ(par::iter(v).all(not_pred), std::all_of(v.begin(), v.end(), not_pred));
        const auto it = std::find_if(v.begin(), v.end(), pred);
        const std::optional<u64> first = it == v.end() ? std::nullopt : std::optional<u64>(*it);
        const std::optional<std::size_t> first_pos =
            it == v.end() ? std::nullopt
                          : std::optional<std::size_t>(static_cast<std::size_t>(it - v.begin()));
        EXPECT_EQ(par::iter(v).find_first(pred), first);
        EXPECT_EQ(par::iter(v).position_first(pred), first_pos);
        EXPECT_EQ(par::iter(v).map([](u64 x) { return x; }).position_first(pred), first_pos);
        const auto some = par::iter(v).find_any(pred);
        EXPECT_EQ(some.has_value(), first.has_value());
        if (some) {
          EXPECT_TRUE(pred(*some));
          EXPECT_NE(std::find(v.begin(), v.end(), *some), v.end());
        }
        // After a filter: the first match of what the filter keeps.
        auto even = [](u64 x) { return x % 2 == 0; };
        std::optional<u64> first_even_match;
        for (u64 x : v)
          if (even(x) && pred(x)) {
            first_even_match = x;
            break;
          }
        EXPECT_EQ(par::iter(v).filter(even).find_first(pred), first_even_match);
      }
    }
  });
}

TEST(ParIterConsumers, FindFirstAcrossPiecesOfAHugeInput) {
  std::vector<u64> v(kHuge);
  std::iota(v.begin(), v.end(), u64{0});
  auto check = [&] {
    // Every 1000th item matches: every piece has matches, the first one must win.
    auto every_1000th = [](u64 x) { return x % 1000 == 999; };
    EXPECT_EQ(par::iter(v).find_first(every_1000th), std::optional<u64>(999));
    EXPECT_EQ(par::iter(v).position_first(every_1000th), std::optional<std::size_t>(999));
    EXPECT_EQ(par::iter(v).map(churn).position_first([](u64 y) { return y % 1000 == 0; }),
              static_cast<std::size_t>(
                  std::find_if(v.begin(), v.end(), [](u64 x) { return churn(x) % 1000 == 0; }) - v.begin()));
    // Matches only from the middle on: the first one lies in the parallel part.
    auto late = [](u64 x) { return x >= 500'000 && x % 1000 == 7; };
    EXPECT_EQ(par::iter(v).find_first(late), std::optional<u64>(500'007));
    EXPECT_EQ(par::iter(v).position_first(late), std::optional<std::size_t>(500'007));
    std::optional<u64> late_multiple_of_3;
    for (u64 x = 0; x < kHuge && !late_multiple_of_3; ++x)
      if (x % 3 == 0 && late(x)) late_multiple_of_3 = x;
    EXPECT_EQ(par::range<u64>(0, kHuge).filter([](u64 x) { return x % 3 == 0; }).find_first(late),
              late_multiple_of_3);
    // Only the last item matches.
    EXPECT_EQ(par::iter(v).position_first([](u64 x) { return x == kHuge - 1; }),
              std::optional<std::size_t>(kHuge - 1));
    const auto any_late = par::iter(v).find_any(late);
    ASSERT_TRUE(any_late.has_value());
    EXPECT_TRUE(late(*any_late));
  };
  {
    SCOPED_TRACE("main thread");
    check();
  }
  for (std::size_t threads : {std::size_t{2}, std::size_t{3}}) {
    pool_of(threads).install([&] {
      SCOPED_TRACE("pool of " + std::to_string(threads));
      check();
    });
  }
}

TEST(ParIterConsumers, PartitionKeepsOrderOnBothSides) {
  in_each_context([] {
    for (std::size_t n : kSizes) {
      SCOPED_TRACE("n = " + std::to_string(n));
      const auto v = random_values(n, 2100 + n);
      for (u64 modulus : {u64{1}, u64{2}, u64{5}}) {
        auto pred = [modulus](u64 x) { return churn(x) % modulus == 0 && modulus != 1; };
        std::vector<u64> yes, no;
        std::partition_copy(v.begin(), v.end(), std::back_inserter(yes), std::back_inserter(no), pred);
        const auto [got_yes, got_no] = par::iter(v).partition(pred);
        expect_same_sequence(got_yes, yes);
        expect_same_sequence(got_no, no);
        const auto [mapped_yes, mapped_no] = par::iter(v).map([](u64 x) { return x; }).partition(pred);
        expect_same_sequence(mapped_yes, yes);
        expect_same_sequence(mapped_no, no);
      }
      // Strings
      std::vector<std::string> words;
      for (u64 x : v) words.push_back(std::to_string(x % 1000));
      auto short_word = [](const std::string& s) { return s.size() < 3; };
      std::vector<std::string> yes, no;
      std::partition_copy(words.begin(), words.end(), std::back_inserter(yes), std::back_inserter(no),
                          short_word);
      const auto [got_yes, got_no] = par::iter(words).partition(short_word);
      expect_same_sequence(got_yes, yes);
      expect_same_sequence(got_no, no);
    }
  });
}

// ---------------------------------------------------------------------------------------------------------------
// The parallel path: every consumer, from the main thread, on an input that outlasts the sequential phase.
// The sequential phase runs on the calling thread, which is no worker here; an item seen on a worker proves
// the rest went to the pool.
// ---------------------------------------------------------------------------------------------------------------

TEST(ParIterParallelPath, EveryConsumerRunsOnThePoolForLargeInputs) {
  ASSERT_FALSE(par::current_thread_index().has_value());
  constexpr std::size_t n = 65'537;
  const auto v = random_values(n, 2200);  // full range: no repeated values
  const auto mapped = churned(v);
  std::atomic<bool> on_worker{false};
  auto map = [&on_worker](u64 x) {
    if (par::current_thread_index().has_value()) on_worker.store(true, std::memory_order_relaxed);
    return churn(x);
  };
  const auto it = par::iter(v).map(map);
  auto check = [&](const char* what, auto&& run) {
    SCOPED_TRACE(what);
    on_worker = false;
    run();
    EXPECT_TRUE(on_worker.load()) << what << " never ran an item on a pool worker";
  };

  check("for_each", [&] {
    std::vector<u64> out(n);
    par::iter(v).enumerate().for_each(
        [&](std::pair<std::size_t, const u64&> p) { out[p.first] = map(p.second); });
    expect_same_sequence(out, mapped);
  });
  check("reduce", [&] { EXPECT_EQ(it.reduce(u64{0}, std::plus<>{}), plain_sum(mapped)); });
  check("sum", [&] { EXPECT_EQ(it.sum(), plain_sum(mapped)); });
  check("product", [&] {
    u64 p = 1;
    for (u64 x : mapped) p *= x | 1;
    EXPECT_EQ(it.map([](u64 x) { return x | 1; }).product(), p);
  });
  check("count", [&] { EXPECT_EQ(it.count(), n); });
  check("min", [&] { EXPECT_EQ(it.min(), *std::min_element(mapped.begin(), mapped.end())); });
  check("max", [&] { EXPECT_EQ(it.max(), *std::max_element(mapped.begin(), mapped.end())); });
  auto low_bits_less = [](u64 a, u64 b) { return (a & 0xff) < (b & 0xff); };
  check("min_by", [&] {
    EXPECT_EQ(it.min_by(low_bits_less), *std::min_element(mapped.begin(), mapped.end(), low_bits_less));
  });
  check("max_by", [&] {
    EXPECT_EQ(it.max_by(low_bits_less), *std::max_element(mapped.begin(), mapped.end(), low_bits_less));
  });
  auto low_bits = [](u64 a) { return a & 0xff; };
  check("min_by_key", [&] {
    EXPECT_EQ(it.min_by_key(low_bits), *std::min_element(mapped.begin(), mapped.end(), low_bits_less));
  });
  check("max_by_key", [&] {
    EXPECT_EQ(it.max_by_key(low_bits), *std::max_element(mapped.begin(), mapped.end(), low_bits_less));
  });
  check("any (no match)", [&] { EXPECT_FALSE(it.any([](u64 x) { return x == 0; })); });
  check("any (last item)", [&] { EXPECT_TRUE(it.any([&](u64 x) { return x == mapped.back(); })); });
  check("all", [&] { EXPECT_TRUE(it.all([](u64 x) { return x != 0; })); });
  check("find_any",
        [&] { EXPECT_EQ(it.find_any([&](u64 x) { return x == mapped.back(); }), mapped.back()); });
  check("find_first",
        [&] { EXPECT_EQ(it.find_first([&](u64 x) { return x == mapped.back(); }), mapped.back()); });
  check("position_first", [&] {
    EXPECT_EQ(
        it.position_first([&](u64 x) { return x == mapped.back(); }),
        static_cast<std::size_t>(std::find(mapped.begin(), mapped.end(), mapped.back()) - mapped.begin()));
  });
  check("partition", [&] {
    std::vector<u64> yes, no;
    std::partition_copy(mapped.begin(), mapped.end(), std::back_inserter(yes), std::back_inserter(no),
                        [](u64 x) { return x % 3 == 0; });
    const auto [got_yes, got_no] = it.partition([](u64 x) { return x % 3 == 0; });
    expect_same_sequence(got_yes, yes);
    expect_same_sequence(got_no, no);
  });
  check("collect<std::vector>", [&] { expect_same_sequence(it.collect<std::vector>(), mapped); });
  check("collect<std::deque>", [&] { expect_same_sequence(it.collect<std::deque>(), mapped); });
  check("collect<std::set>",
        [&] { EXPECT_EQ(it.collect<std::set>(), std::set<u64>(mapped.begin(), mapped.end())); });
  check("filter + collect", [&] {
    std::vector<u64> expected;
    std::copy_if(mapped.begin(), mapped.end(), std::back_inserter(expected),
                 [](u64 x) { return x % 3 == 0; });
    expect_same_sequence(it.filter([](u64 x) { return x % 3 == 0; }).collect<std::vector>(), expected);
  });
  check("collect of strings", [&] {
    std::vector<std::string> expected;
    for (u64 x : mapped) expected.push_back(std::to_string(x % 1000));
    expect_same_sequence(it.map([](u64 x) { return std::to_string(x % 1000); }).collect<std::vector>(),
                         expected);
  });
  check("fold + sum",
        [&] { EXPECT_EQ(it.fold([] { return u64{0}; }, std::plus<>{}).sum(), plain_sum(mapped)); });
}

TEST(ParIterParallelPath, SlowItemsAreSpreadOverSeveralWorkers) {
  // 200 items of ~50 µs each on a 3-thread pool: after the first item the sequential phase is over and the
  // rest is split over the pool; more than one worker must take part. Retried a few times on a loaded
  // machine.
  std::set<std::size_t> seen;
  for (int attempt = 0; attempt < 5 && seen.size() < 2; ++attempt) {
    std::mutex m;
    seen.clear();
    const u64 total = pool_of(3).install([&] {
      return par::range<u64>(0, 200)
          .map([&](u64 i) {
            spin_for(std::chrono::microseconds(50));
            const auto index = par::current_thread_index();
            std::lock_guard lock(m);
            seen.insert(index.value_or(999));
            return i;
          })
          .sum();
    });
    EXPECT_EQ(total, 199u * 200u / 2);
  }
  EXPECT_GT(seen.size(), 1u);
  EXPECT_EQ(seen.count(999), 0u) << "an item ran outside the pool";
  for (std::size_t index : seen) EXPECT_LT(index, 3u);
}

// ---------------------------------------------------------------------------------------------------------------
// The sequential phase (detail/par/iter/driver.hpp): called from a thread outside any pool, items the caller
// processes see no thread index.
// ---------------------------------------------------------------------------------------------------------------

TEST(ParIterSequentialPhase, CheapItemsWithAUserFunctionStayOnTheCallingThread) {
  // 100 items of a few cycles are far inside the 25 µs budget; retried in case the thread was preempted.
  bool all_on_caller = false;
  for (int attempt = 0; attempt < 5 && !all_on_caller; ++attempt) {
    std::atomic<int> on_pool{0};
    const u64 total = par::range<u64>(0, 100)
                          .map([&](u64 i) {
                            if (par::current_thread_index().has_value()) on_pool.fetch_add(1);
                            return i;
                          })
                          .sum();
    EXPECT_EQ(total, 99u * 100u / 2);
    all_on_caller = on_pool.load() == 0;
  }
  EXPECT_TRUE(all_on_caller);
}

TEST(ParIterSequentialPhase, EvenItemsLeaveTheCallingThreadWithinTheBudget) {
  // Items of at least 5 µs: a block never holds more items than the budget left over the last block's time
  // per item, so the caller stops after at most 25 µs / 5 µs = 5 items whatever the timing, and the pool
  // does the rest.
  std::atomic<int> on_caller{0};
  const u64 total = par::range<u64>(0, 400)
                        .map([&](u64 i) {
                          spin_for(std::chrono::microseconds(5));
                          if (!par::current_thread_index().has_value()) on_caller.fetch_add(1);
                          return i;
                        })
                        .sum();
  EXPECT_EQ(total, 399u * 400u / 2);
  EXPECT_GE(on_caller.load(), 1);
  EXPECT_LE(on_caller.load(), 5);
}

// ---------------------------------------------------------------------------------------------------------------
// Move-only items
// ---------------------------------------------------------------------------------------------------------------

TEST(ParIterMoveOnly, UniquePtrsThroughReferences) {
  in_each_context([] {
    for (std::size_t n : kSizes) {
      SCOPED_TRACE("n = " + std::to_string(n));
      const auto v = random_values(n, 2300 + n);
      std::vector<std::unique_ptr<u64>> ptrs;
      for (u64 x : v) ptrs.push_back(std::make_unique<u64>(x));
      auto deref = [](const std::unique_ptr<u64>& p) { return *p; };
      EXPECT_EQ(par::iter(ptrs).map(deref).sum(), plain_sum(v));
      EXPECT_EQ(par::iter(ptrs).count(), n);
      expect_same_sequence(par::iter(ptrs).map(deref).collect<std::vector>(), v);
      std::vector<const u64*> raw;
      for (const auto& p : ptrs) raw.push_back(p.get());
      expect_same_sequence(par::iter(ptrs)
                               .map([](const std::unique_ptr<u64>& p) -> const u64* { return p.get(); })
                               .collect<std::vector>(),
                           raw);
      par::iter(ptrs).for_each([](std::unique_ptr<u64>& p) { *p = churn(*p); });
      expect_same_sequence(par::iter(ptrs).map(deref).collect<std::vector>(), churned(v));
      if (n > 0) {
        const u64 target = churn(v[n / 2]);
        EXPECT_TRUE(par::iter(ptrs).any([target](const std::unique_ptr<u64>& p) { return *p == target; }));
        const auto expected_pos =
            std::find_if(ptrs.begin(), ptrs.end(), [target](const auto& p) { return *p == target; }) -
            ptrs.begin();
        // (position_first straight on the unique_ptr references does not compile: it copies the item.)
        EXPECT_EQ(par::iter(ptrs).map(deref).position_first([target](u64 x) { return x == target; }),
                  std::optional<std::size_t>(static_cast<std::size_t>(expected_pos)));
      }
    }
  });
}

TEST(ParIterMoveOnly, UniquePtrsAsValues) {
  in_each_context([] {
    for (std::size_t n : kSizes) {
      SCOPED_TRACE("n = " + std::to_string(n));
      auto make = [](u64 i) { return std::make_unique<u64>(churn(i)); };
      const auto src = par::range<u64>(0, n).map(make);
      const auto boxes = src.collect<std::vector>();
      ASSERT_EQ(boxes.size(), n);
      for (std::size_t i = 0; i < n; ++i) ASSERT_EQ(*boxes[i], churn(i));
      const auto odd_boxes =
          src.filter([](const std::unique_ptr<u64>& p) { return *p % 2 == 1; }).collect<std::vector>();
      std::vector<u64> expected_odd;
      for (u64 i = 0; i < n; ++i)
        if (churn(i) % 2 == 1) expected_odd.push_back(churn(i));
      ASSERT_EQ(odd_boxes.size(), expected_odd.size());
      for (std::size_t i = 0; i < odd_boxes.size(); ++i) ASSERT_EQ(*odd_boxes[i], expected_odd[i]);
      EXPECT_EQ(src.map([](std::unique_ptr<u64> p) { return *p; }).sum(), plain_sum(churned([n] {
                  std::vector<u64> idx(n);
                  std::iota(idx.begin(), idx.end(), u64{0});
                  return idx;
                }())));
      const auto first = src.find_first([](const std::unique_ptr<u64>& p) { return *p % 10 == 3; });
      std::optional<u64> expected_first;
      for (u64 i = 0; i < n; ++i)
        if (churn(i) % 10 == 3) {
          expected_first = churn(i);
          break;
        }
      EXPECT_EQ(first.has_value(), expected_first.has_value());
      if (first && expected_first) {
        EXPECT_EQ(**first, *expected_first);
      }
      const auto [yes, no] = src.partition([](const std::unique_ptr<u64>& p) { return *p % 2 == 1; });
      EXPECT_EQ(yes.size(), expected_odd.size());
      EXPECT_EQ(yes.size() + no.size(), n);
    }
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Exceptions
// ---------------------------------------------------------------------------------------------------------------

TEST(ParIterExceptions, ThrowingMapIsRethrownByEveryConsumer) {
  in_each_context([] {
    for (std::size_t n : {std::size_t{1}, std::size_t{100}, std::size_t{65'537}}) {
      for (std::size_t bad : {std::size_t{0}, n / 2, n - 1}) {
        SCOPED_TRACE("n = " + std::to_string(n) + ", throws at " + std::to_string(bad));
        const std::string what = "bad item " + std::to_string(bad);
        const auto it = par::range<std::size_t>(0, n).map([bad](std::size_t i) {
          if (i == bad) throw boom("bad item " + std::to_string(i));
          return churn(i);
        });
        expect_boom([&] { (void)it.sum(); }, what);
        expect_boom([&] { (void)it.collect<std::vector>(); }, what);
        expect_boom([&] { (void)it.filter([](u64 x) { return x % 2 == 0; }).collect<std::vector>(); }, what);
        expect_boom([&] { it.for_each([](u64) {}); }, what);
        expect_boom([&] { (void)it.count(); }, what);
        expect_boom([&] { (void)it.max(); }, what);
        expect_boom([&] { (void)it.partition([](u64 x) { return x % 2 == 0; }); }, what);
        expect_boom([&] { (void)it.fold([] { return u64{0}; }, std::plus<>{}).sum(); }, what);
        // find_first must look at every item up to the first match: it meets the bad one.
        expect_boom([&] { (void)it.find_first([](u64) { return false; }); }, what);
        // A throwing for_each body / predicate.
        expect_boom(
            [&] {
              par::range<std::size_t>(0, n).for_each([bad](std::size_t i) {
                if (i == bad) throw boom("bad item " + std::to_string(i));
              });
            },
            what);
        expect_boom(
            [&] {
              (void)par::range<std::size_t>(0, n).any([bad](std::size_t i) {
                if (i == bad) throw boom("bad item " + std::to_string(i));
                return false;
              });
            },
            what);
      }
    }
  });
}

TEST(ParIterExceptions, EarlyThrowSkipsTheRestAndThePoolStaysUsable) {
  in_each_context([] {
    std::atomic<std::size_t> processed{0};
    const auto it = par::range<std::size_t>(0, kHuge).map([&processed](std::size_t i) {
      processed.fetch_add(1, std::memory_order_relaxed);
      if (i == 10) throw boom("early");
      return churn(i);
    });
    expect_boom([&] { (void)it.sum(); }, "early");
    EXPECT_LT(processed.load(), kHuge / 10);
    processed = 0;
    expect_boom([&] { (void)it.collect<std::vector>(); }, "early");
    EXPECT_LT(processed.load(), kHuge / 10);
    processed = 0;
    expect_boom([&] { it.for_each([](u64) {}); }, "early");
    EXPECT_LT(processed.load(), kHuge / 10);
    // The pool still works.
    const auto v = random_values(65'537, 2400);
    EXPECT_EQ(par::iter(v).map(churn).sum(), plain_sum(churned(v)));
  });
}

TEST(ParIterExceptions, ThrowInTheParallelPartStopsPiecesNotStarted) {
  // From the main thread the sequential phase runs on it; the first item a pool worker takes throws, so the
  // throw happens in the parallel part. Pieces of at most 1000 items: those not started are skipped.
  ASSERT_FALSE(par::current_thread_index().has_value());
  for (int round = 0; round < 3; ++round) {
    std::atomic<std::size_t> processed{0};
    std::atomic<bool> thrown{false};
    auto it = par::range<std::size_t>(0, kHuge)
                  .map([&](std::size_t i) {
                    processed.fetch_add(1, std::memory_order_relaxed);
                    if (par::current_thread_index().has_value() && !thrown.exchange(true))
                      throw boom("in the pool");
                    return churn(i);
                  })
                  .with_max_len(1000);
    expect_boom([&] { (void)it.sum(); }, "in the pool");
    EXPECT_TRUE(thrown.load());
    EXPECT_LT(processed.load(), kHuge / 2);
  }
  const auto v = random_values(65'537, 2500);
  EXPECT_EQ(par::iter(v).map(churn).sum(), plain_sum(churned(v)));
  pool_of(3).install([&] { EXPECT_EQ(par::iter(v).map(churn).sum(), plain_sum(churned(v))); });
}

// ---------------------------------------------------------------------------------------------------------------
// Short-circuiting
// ---------------------------------------------------------------------------------------------------------------

TEST(ParIterShortCircuit, AnyAndAllStopEarly) {
  in_each_context([] {
    std::atomic<std::size_t> processed{0};
    const auto it = par::range<u64>(0, kHuge).inspect(
        [&processed](u64) { processed.fetch_add(1, std::memory_order_relaxed); });
    EXPECT_TRUE(it.any([](u64 i) { return i == 0; }));
    EXPECT_LT(processed.load(), kHuge / 10);
    processed = 0;
    EXPECT_FALSE(it.all([](u64 i) { return i != 0; }));
    EXPECT_LT(processed.load(), kHuge / 10);
    processed = 0;
    EXPECT_TRUE(it.find_any([](u64 i) { return i < 5; }).has_value());
    EXPECT_LT(processed.load(), kHuge / 10);
    processed = 0;
    EXPECT_EQ(it.find_first([](u64 i) { return i == 3; }), std::optional<u64>(3));
    EXPECT_LT(processed.load(), kHuge / 10);
    // And they still look at everything when they must.
    processed = 0;
    EXPECT_FALSE(it.any([](u64 i) { return i == kHuge; }));
    EXPECT_EQ(processed.load(), kHuge);
  });
}

TEST(ParIterShortCircuit, AnyStopsInTheParallelPart) {
  // From the main thread: the first item seen on a pool worker matches.
  ASSERT_FALSE(par::current_thread_index().has_value());
  std::atomic<std::size_t> processed{0};
  const auto it = par::range<u64>(0, kHuge).map([&processed](u64 i) {
    processed.fetch_add(1, std::memory_order_relaxed);
    return churn(i);
  });
  EXPECT_TRUE(it.any([](u64) { return par::current_thread_index().has_value(); }));
  EXPECT_LT(processed.load(), kHuge / 2);
}

// ---------------------------------------------------------------------------------------------------------------
// Nesting
// ---------------------------------------------------------------------------------------------------------------

TEST(ParIterNesting, IteratorsInsideIterators) {
  in_each_context([] {
    std::vector<std::vector<u64>> rows;
    for (std::size_t r = 0; r < 40; ++r) rows.push_back(random_values(r * 97, 2600 + r));
    std::vector<u64> expected;
    for (const auto& row : rows) expected.push_back(plain_sum(churned(row)));
    const auto got = par::iter(rows)
                         .map([](const std::vector<u64>& row) { return par::iter(row).map(churn).sum(); })
                         .collect<std::vector>();
    EXPECT_EQ(got, expected);
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Regressions: bugs found while writing these tests.
// ---------------------------------------------------------------------------------------------------------------

// The driver's sequential phase used to accumulate with `acc = combine(std::move(acc), leaf(...))`. For
// min/max consumers acc is a std::optional<value_type>; when value_type holds references (enumerate/zip over
// an lvalue: std::pair<std::size_t, T&>) optional's assignment assigned through the reference and overwrote
// an element of the user's input; with const references (or any non-assignable item) it did not compile.
TEST(ParIterRegressions, MinMaxOverEnumerateOrZipLeaveTheInputAlone) {
  in_each_context([] {
    std::vector<int> v = {5, 3, 1, 4};
    const auto m = par::iter(v).enumerate().min_by_key([](const auto& p) { return p.second; });
    ASSERT_TRUE(m.has_value());
    EXPECT_EQ(m->first, 2u);
    EXPECT_EQ(&m->second, &v[2]);
    EXPECT_EQ(v, (std::vector<int>{5, 3, 1, 4}));

    std::vector<int> a = {1, 2, 3, 9, 4};
    std::vector<int> b = {0, 0, 0, 0, 0};
    const auto z = par::iter(a).zip(par::iter(b)).max_by_key([](const auto& p) { return p.first; });
    ASSERT_TRUE(z.has_value());
    EXPECT_EQ(&z->first, &a[3]);
    EXPECT_EQ(a, (std::vector<int>{1, 2, 3, 9, 4}));

    // Large inputs, past the sequential phase, mutable and const.
    for (std::size_t n : {std::size_t{997}, std::size_t{65'537}}) {
      SCOPED_TRACE("n = " + std::to_string(n));
      auto w = random_values(n, 2700 + n, 1000);
      const auto original = w;
      const auto& cw = w;
      const std::size_t first_min =
          static_cast<std::size_t>(std::min_element(original.begin(), original.end()) - original.begin());
      const std::size_t first_max =
          static_cast<std::size_t>(std::max_element(original.begin(), original.end()) - original.begin());
      const std::size_t first_middle = static_cast<std::size_t>(
          std::find(original.begin(), original.end(), original[n / 2]) - original.begin());
      auto second = [](const auto& p) { return p.second; };
      auto by_second = [](const auto& x, const auto& y) { return x.second < y.second; };
      auto is_middle = [&](const auto& p) { return p.second == original[n / 2]; };
      EXPECT_EQ(par::iter(w).enumerate().min_by_key(second)->first, first_min);
      EXPECT_EQ(par::iter(w).enumerate().max_by_key(second)->first, first_max);
      EXPECT_EQ(par::iter(w).enumerate().min_by(by_second)->first, first_min);
      EXPECT_EQ(par::iter(w).enumerate().max_by(by_second)->first, first_max);
      EXPECT_EQ(par::iter(cw).enumerate().min_by_key(second)->first, first_min);
      EXPECT_EQ(par::iter(cw).enumerate().max_by(by_second)->first, first_max);
      EXPECT_EQ(par::iter(w).enumerate().min()->first, 0u);  // pairs compare by index first
      EXPECT_EQ(par::iter(w).enumerate().find_first(is_middle)->first, first_middle);
      EXPECT_EQ(par::iter(cw).enumerate().find_first(is_middle)->first, first_middle);
      EXPECT_EQ(par::iter(w).zip(par::iter(cw)).max_by_key([](const auto& p) { return p.first; })->first,
                original[first_max]);
      expect_same_sequence(w, original);
    }
  });
}

struct not_assignable {
  const u64 value;
};
static_assert(!std::is_move_assignable_v<not_assignable>);

TEST(ParIterRegressions, NonAssignableItems) {
  in_each_context([] {
    for (std::size_t n : kSizes) {
      SCOPED_TRACE("n = " + std::to_string(n));
      const auto v = random_values(n, 2800 + n, 1000);
      const auto it = par::iter(v).map([](u64 x) { return not_assignable{x}; });
      auto value_of = [](const not_assignable& f) { return f.value; };
      const auto lo = it.min_by_key(value_of);
      const auto hi = it.max_by_key(value_of);
      ASSERT_EQ(lo.has_value(), n > 0);
      if (n > 0) {
        EXPECT_EQ(lo->value, *std::min_element(v.begin(), v.end()));
        EXPECT_EQ(hi->value, *std::max_element(v.begin(), v.end()));
        EXPECT_EQ(it.find_first([&](const not_assignable& f) { return f.value == v[n / 2]; })->value,
                  v[n / 2]);
      }
    }
  });
}

// step_by(n) and chunks(n) sized themselves as (size + n - 1) / n, which wraps for n close to SIZE_MAX.
TEST(ParIterRegressions, StepByAndChunksWithHugeSizes) {
  const std::vector<int> v = {1, 2, 3};
  const std::size_t huge = std::numeric_limits<std::size_t>::max();
  EXPECT_EQ(par::iter(v).step_by(huge).collect<std::vector>(), std::vector<int>{1});
  EXPECT_EQ(par::iter(v).step_by(huge - 1).collect<std::vector>(), std::vector<int>{1});
  EXPECT_EQ(par::iter(v).chunks(huge).count(), 1u);
  EXPECT_EQ(par::iter(v)
                .chunks(huge - 1)
                .map([](std::span<const int> s) { return s.size(); })
                .collect<std::vector>(),
            std::vector<std::size_t>{3});
  EXPECT_EQ(par::iter(std::vector<int>{}).step_by(huge).count(), 0u);
  EXPECT_EQ(par::iter(std::vector<int>{}).chunks(huge).count(), 0u);
}

// integer_source computed `last - first` and `first + i` in I: signed overflow (UB) for int ranges wider than
// INT_MAX, and a wrong size.
TEST(ParIterRegressions, IntegerRangesWiderThanTheSignedHalf) {
  EXPECT_EQ(par::range(INT_MIN, 0).skip(std::size_t{1} << 31).take(5).count(), 0u);
  EXPECT_EQ(par::range(INT_MIN, 0).take(3).collect<std::vector>(),
            (std::vector<int>{INT_MIN, INT_MIN + 1, INT_MIN + 2}));
  EXPECT_EQ(par::range(INT_MIN, INT_MAX).skip((std::size_t{1} << 32) - 4).collect<std::vector>(),
            (std::vector<int>{INT_MAX - 3, INT_MAX - 2, INT_MAX - 1}));
  constexpr auto lmin = std::numeric_limits<long long>::min();
  constexpr auto lmax = std::numeric_limits<long long>::max();
  EXPECT_EQ(par::range(lmin, lmax).skip(std::numeric_limits<std::size_t>::max() - 2).collect<std::vector>(),
            (std::vector<long long>{lmax - 2, lmax - 1}));
}

// The same for the small signed types, where the difference of the unsigned values is promoted to int: every
// range from a negative to a non-negative bound (take() keeps a wrong, huge size from running for ever).
TEST(ParIterRegressions, SmallSignedIntegerRangesAcrossZero) {
  EXPECT_EQ(par::range<std::int8_t>(-1, 1).take(1000).count(), 2u);
  EXPECT_EQ(par::range<std::int8_t>(-128, 127).take(1000).count(), 255u);
  EXPECT_EQ(par::range<short>(-5, 5).take(1000).collect<std::vector>(),
            (std::vector<short>{-5, -4, -3, -2, -1, 0, 1, 2, 3, 4}));
  EXPECT_EQ(par::range<short>(SHRT_MIN, SHRT_MAX).take(100'000).count(), 65'535u);
  EXPECT_EQ(par::range<signed char>(-3, 3).take(1000).map([](signed char c) { return int{c}; }).sum(), -3);
  EXPECT_EQ(par::range<std::int8_t>(-10, -5).take(1000).count(), 5u);
  EXPECT_EQ(par::range<std::uint8_t>(0, 255).take(1000).count(), 255u);
}

// chunks over a contiguous range given as an rvalue (the iterator owns a copy) yielded spans into that copy,
// which dangle once the iterator is gone; they are vectors of values, as documented.
TEST(ParIterRegressions, ChunksOverAnOwnedVectorAreVectors) {
  using owned_chunks = decltype(par::iter(std::vector<int>{}).chunks(2));
  EXPECT_TRUE((std::is_same_v<owned_chunks::item_type, std::vector<int>>));
  const auto chunks = par::iter(std::vector<int>{1, 2, 3, 4, 5}).chunks(2).collect<std::vector>();
  EXPECT_EQ(chunks, (std::vector<std::vector<int>>{{1, 2}, {3, 4}, {5}}));
}

TEST(ParIterRegressions, PositionFirstOverMoveOnlyItems) {
  std::vector<std::unique_ptr<int>> v;
  for (int i = 0; i < 100; ++i) v.push_back(std::make_unique<int>(i));
  EXPECT_EQ(par::iter(v).position_first([](const auto& p) { return *p == 42; }),
            std::optional<std::size_t>(42));
  EXPECT_EQ(par::iter(v).position_first([](const auto& p) { return *p < 0; }), std::nullopt);
}

TEST(ParIterRegressions, InspectPassesMoveOnlyItemsOn) {
  std::atomic<int> seen{0};
  const auto out = par::range(0, 10)
                       .map([](int i) { return std::make_unique<int>(i); })
                       .inspect([&](const auto& p) { seen.fetch_add(*p); })
                       .collect<std::vector>();
  ASSERT_EQ(out.size(), 10u);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(*out[i], i);
  EXPECT_EQ(seen.load(), 45);
}

TEST(ParIterRegressions, OwnedContainersOfMoveOnlyItemsTakeAdaptors) {
  std::vector<std::unique_ptr<int>> v;
  for (int i = 0; i < 1000; ++i) v.push_back(std::make_unique<int>(i));
  const auto total =
      par::iter(std::move(v)).filter([](const auto& p) { return *p % 2 == 0; }).map([](const auto& p) {
        return *p;
      });
  EXPECT_EQ(total.sum(), 249500);
  EXPECT_EQ(total.count(), 500u);  // consumable again: the adaptors share the owned vector
}
