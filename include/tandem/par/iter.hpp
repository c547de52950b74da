// Parallel iterators: rayon's par_iter for C++.
//
//   std::vector<std::uint64_t> v = ...;
//   auto total   = par::iter(v).sum();
//   auto squares = par::iter(v).map([](auto x) { return x * x; }).collect<std::vector>();
//   par::iter(v).for_each([](auto& x) { x += 1; });          // items are references
//   auto evens   = par::range(0, 1000).filter([](int i) { return i % 2 == 0; }).count();
//
// Adaptors are lazy: nothing runs until a consumer (for_each, reduce, sum, collect,
// ...) is called. The consumer blocks until done and returns the result; results of
// ordered consumers (collect, find_first, position_first, partition) follow the input's
// order. Small inputs run on the calling thread as a plain loop would; larger ones are
// split over the pool the caller is in (or the global pool), see
// include/tandem/detail/par/iter/driver.hpp.
//
// Thread safety: user functions run concurrently on several threads, on distinct items,
// and must be callable through a const reference (lambdas are, unless `mutable`). The
// iterator itself holds no state and may be consumed any number of times.
// Exceptions: the first exception a user function throws stops pieces that have not
// started, and is rethrown once the running ones finish.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <functional>
#include <initializer_list>
#include <iterator>
#include <limits>
#include <optional>
#include <ranges>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "tandem/detail/memory/fresh_storage.hpp"
#include "tandem/detail/par/iter/driver.hpp"
#include "tandem/detail/par/iter/stages.hpp"

namespace tandem::par {

template <class Stage>
class parallel_iterator;

namespace iter_detail {
template <class S>
parallel_iterator<S> wrap(S stage, detail::iter::split_hints hints) {
  return parallel_iterator<S>(std::move(stage), hints);
}
struct unit {};
}  // namespace iter_detail

template <class Stage>
class parallel_iterator {
 public:
  // What the iterator yields (a reference for sources given as lvalues).
  using item_type = typename Stage::item_type;
  // What consumers that keep items (collect, min, find_first, ...) store.
  using value_type = std::remove_cvref_t<item_type>;
  // True when item i comes from input position i (no filter-like step before).
  static constexpr bool indexed = Stage::indexed;

  explicit parallel_iterator(Stage stage, detail::iter::split_hints hints = {})
      : stage_(std::move(stage)), hints_(hints) {}

  // ------------------------------------------------------------ adaptors

  template <class F>
  auto map(F f) const {
    return iter_detail::wrap(detail::iter::map_stage<Stage, F>(stage_, std::move(f)), hints_);
  }
  // Calls f(item) (const) for each item as it passes, then passes the item on.
  template <class F>
  auto inspect(F f) const {
    return iter_detail::wrap(detail::iter::inspect_stage<Stage, F>(stage_, std::move(f)), hints_);
  }
  template <class P>
  auto filter(P predicate) const {
    return iter_detail::wrap(detail::iter::filter_stage<Stage, P>(stage_, std::move(predicate)), hints_);
  }
  // f(item) returns a std::optional; the values of the engaged ones go on.
  template <class F>
  auto filter_map(F f) const {
    return iter_detail::wrap(detail::iter::filter_map_stage<Stage, F>(stage_, std::move(f)), hints_);
  }
  // f(item) returns a range; its elements go on, in order.
  template <class F>
  auto flat_map(F f) const {
    return iter_detail::wrap(detail::iter::flat_map_stage<Stage, F>(stage_, std::move(f)), hints_);
  }
  // Items become std::pair{index, item}. Indexed iterators only.
  auto enumerate() const { return iter_detail::wrap(detail::iter::enumerate_stage<Stage>(stage_), hints_); }
  // Items become std::pair{item, other's item}, as long as the shorter one. Indexed only.
  template <class Other>
  auto zip(const parallel_iterator<Other>& other) const {
    return iter_detail::wrap(detail::iter::zip_stage<Stage, Other>(stage_, other.stage_), hints_);
  }
  // Items become consecutive groups of n items (the last may be shorter): a std::span
  // over a contiguous source given as an lvalue, else a std::vector. Indexed only.
  auto chunks(std::size_t n) const {
    check_positive(n, "chunks");
    return iter_detail::wrap(detail::iter::chunks_stage<Stage>(stage_, n), hints_);
  }
  // The first n items / all but the first n / every n-th item from the first. Indexed only.
  auto take(std::size_t n) const { return slice(0, std::min(n, stage_.size()), 1); }
  auto skip(std::size_t n) const {
    return slice(std::min(n, stage_.size()), stage_.size() - std::min(n, stage_.size()), 1);
  }
  auto step_by(std::size_t n) const {
    check_positive(n, "step_by");
    return slice(0, detail::iter::ceil_div(stage_.size(), n), n);
  }
  // fold(identity, op) then a consumer: one accumulator per piece of work, rayon's
  // fold; identity() makes a fresh accumulator, op(acc, item) returns the next one.
  template <class Identity, class Op>
  auto fold(Identity identity, Op op) const {
    return iter_detail::wrap(
        detail::iter::fold_stage<Stage, Identity, Op>(stage_, std::move(identity), std::move(op)), hints_);
  }
  // Bounds on the pieces the work is cut into (in input positions).
  auto with_min_len(std::size_t n) const {
    auto copy = *this;
    copy.hints_.min_len = std::max<std::size_t>(1, n);
    return copy;
  }
  auto with_max_len(std::size_t n) const {
    check_positive(n, "with_max_len");
    auto copy = *this;
    copy.hints_.max_len = n;
    return copy;
  }

  // ------------------------------------------------------------ consumers

  template <class F>
  void for_each(F f) const {
    auto leaf = [&](std::size_t lo, std::size_t hi) {
      auto sink = [&](std::size_t, auto&& x) {
        std::invoke(f, std::forward<decltype(x)>(x));
        return true;
      };
      stage_.drive(lo, hi, sink);
      return iter_detail::unit{};
    };
    run(false, leaf, [](iter_detail::unit, iter_detail::unit) { return iter_detail::unit{}; });
  }

  // op(a, b) must be associative; identity is a value or a function returning one, and
  // must be neutral for op (it seeds every piece).
  template <class Identity, class Op>
  auto reduce(Identity identity, Op op) const {
    return reduce_impl(false, std::move(identity), std::move(op));
  }

  auto sum() const {
    return reduce_impl(Stage::trivial, value_type{}, [](value_type a, value_type b) { return a + b; });
  }
  auto product() const {
    return reduce_impl(Stage::trivial, value_type{1}, [](value_type a, value_type b) { return a * b; });
  }

  std::size_t count() const {
    auto leaf = [&](std::size_t lo, std::size_t hi) {
      std::size_t n = 0;
      auto sink = [&](std::size_t, auto&&) {
        ++n;
        return true;
      };
      stage_.drive(lo, hi, sink);
      return n;
    };
    return run(Stage::trivial, leaf, std::plus<>{});
  }

  // The least item (the first of equal ones, as std::min_element); empty if none.
  std::optional<value_type> min() const { return best(Stage::trivial, std::less<>{}, false); }
  // The greatest item (the first of equal ones, as std::max_element); empty if none.
  std::optional<value_type> max() const { return best(Stage::trivial, std::less<>{}, true); }
  template <class Compare>
  std::optional<value_type> min_by(Compare less) const {
    return best(false, std::move(less), false);
  }
  template <class Compare>
  std::optional<value_type> max_by(Compare less) const {
    return best(false, std::move(less), true);
  }
  template <class Key>
  std::optional<value_type> min_by_key(Key key) const {
    return best(false, by_key(std::move(key)), false);
  }
  template <class Key>
  std::optional<value_type> max_by_key(Key key) const {
    return best(false, by_key(std::move(key)), true);
  }

  // Short-circuiting: once the answer is known, pieces not yet started are skipped and
  // running ones stop at their next item.
  template <class P>
  bool any(P predicate) const {
    detail::iter::run_state state;
    auto leaf = [&](std::size_t lo, std::size_t hi) {
      bool found = false;
      auto sink = [&](std::size_t, auto&& x) {
        if (state.stopped()) return false;
        if (!std::invoke(predicate, std::as_const(x))) return true;
        found = true;
        state.request_stop();
        return false;
      };
      stage_.drive(lo, hi, sink);
      return found;
    };
    return detail::iter::run_pieces(stage_.size(), false, hints_, state, leaf, std::logical_or<>{});
  }
  template <class P>
  bool all(P predicate) const {
    return !any([&predicate](const auto& x) { return !std::invoke(predicate, x); });
  }

  // Some item that satisfies the predicate (not necessarily the first), or empty.
  template <class P>
  std::optional<value_type> find_any(P predicate) const {
    detail::iter::run_state state;
    auto leaf = [&](std::size_t lo, std::size_t hi) {
      std::optional<value_type> found;
      auto sink = [&](std::size_t, auto&& x) {
        if (state.stopped()) return false;
        if (!std::invoke(predicate, std::as_const(x))) return true;
        found.emplace(std::forward<decltype(x)>(x));
        state.request_stop();
        return false;
      };
      stage_.drive(lo, hi, sink);
      return found;
    };
    return detail::iter::run_pieces(stage_.size(), false, hints_, state, leaf, first_engaged());
  }

  // The first item in sequence order that satisfies the predicate, or empty.
  template <class P>
  std::optional<value_type> find_first(P predicate) const {
    auto found = first_match<true>(std::move(predicate));
    if (!found) return std::nullopt;
    return std::move(found->second);
  }

  // The position of the first item that satisfies the predicate. Indexed only.
  template <class P>
  std::optional<std::size_t> position_first(P predicate) const {
    static_assert(Stage::indexed, "position_first needs an indexed iterator (positions are input positions)");
    return first_match<false>(std::move(predicate));
  }

  // {items that satisfy the predicate, items that do not}, each in sequence order.
  template <class P>
  std::pair<std::vector<value_type>, std::vector<value_type>> partition(P predicate) const {
    using lists = std::pair<std::vector<std::vector<value_type>>, std::vector<std::vector<value_type>>>;
    auto leaf = [&](std::size_t lo, std::size_t hi) {
      lists out;
      out.first.emplace_back();
      out.second.emplace_back();
      auto sink = [&](std::size_t, auto&& x) {
        auto& side = std::invoke(predicate, std::as_const(x)) ? out.first.back() : out.second.back();
        side.emplace_back(std::forward<decltype(x)>(x));
        return true;
      };
      stage_.drive(lo, hi, sink);
      return out;
    };
    auto combine = [](lists left, lists right) {
      append_lists(left.first, std::move(right.first));
      append_lists(left.second, std::move(right.second));
      return left;
    };
    lists parts = run(false, leaf, combine);
    return {flatten(std::move(parts.first)), flatten(std::move(parts.second))};
  }

  // Every item, in sequence order, in a new container: collect<std::vector>() or
  // collect<std::vector<long>>(). With a known length (no filter-like step) a vector
  // is filled in place, each piece writing its own slots (after std::vector's own
  // value-initialization; a large one is backed by huge pages first, which makes that
  // initialization's page faults 512 times fewer: detail/memory/fresh_storage.hpp).
  template <template <class...> class Container>
  auto collect() const {
    return collect<Container<value_type>>();
  }
  template <class Container>
  Container collect() const {
    using element = typename Container::value_type;
    if constexpr (std::is_same_v<Container, std::vector<element>>) {
      return collect_vector<element>();
    } else {
      std::vector<element> items = collect_vector<element>();
      return Container(std::make_move_iterator(items.begin()), std::make_move_iterator(items.end()));
    }
  }

 private:
  template <class>
  friend class parallel_iterator;

  template <class Leaf, class Combine>
  auto run(bool trivial, Leaf leaf, Combine combine) const {
    detail::iter::run_state state;
    return detail::iter::run_pieces(stage_.size(), trivial, hints_, state, std::move(leaf),
                                    std::move(combine));
  }

  auto slice(std::size_t first, std::size_t count, std::size_t step) const {
    return iter_detail::wrap(detail::iter::slice_stage<Stage>(stage_, first, count, step), hints_);
  }

  static void check_positive(std::size_t n, const char* what) {
    if (n == 0)
      throw std::invalid_argument(std::string("par::parallel_iterator::") + what +
                                  ": the size must be positive, got 0");
  }

  template <class Identity>
  static auto identity_value(const Identity& identity) {
    if constexpr (std::is_invocable_v<const Identity&>) {
      return std::invoke(identity);
    } else {
      return identity;
    }
  }

  template <class Identity, class Op>
  auto reduce_impl(bool trivial, Identity identity, Op op) const {
    using T = std::remove_cvref_t<decltype(identity_value(identity))>;
    auto leaf = [&](std::size_t lo, std::size_t hi) {
      T acc = identity_value(identity);
      auto sink = [&](std::size_t, auto&& x) {
        acc = std::invoke(op, std::move(acc), std::forward<decltype(x)>(x));
        return true;
      };
      stage_.drive(lo, hi, sink);
      return acc;
    };
    return run(trivial, leaf, [&](T a, T b) { return std::invoke(op, std::move(a), std::move(b)); });
  }

  template <class Key>
  static auto by_key(Key key) {
    return [key = std::move(key)](const auto& a, const auto& b) {
      return std::invoke(key, a) < std::invoke(key, b);
    };
  }

  // The first least (or first greatest) item under `less`.
  template <class Compare>
  std::optional<value_type> best(bool trivial, Compare less, bool greatest) const {
    auto better = [&](const value_type& candidate, const value_type& current) {
      return greatest ? std::invoke(less, current, candidate) : std::invoke(less, candidate, current);
    };
    auto leaf = [&](std::size_t lo, std::size_t hi) {
      std::optional<value_type> kept;
      auto sink = [&](std::size_t, auto&& x) {
        if (!kept || better(x, *kept)) kept.emplace(std::forward<decltype(x)>(x));
        return true;
      };
      stage_.drive(lo, hi, sink);
      return kept;
    };
    auto combine = [&](std::optional<value_type> left, std::optional<value_type> right) {
      if (!left) return right;
      if (right && better(*right, *left)) return right;
      return left;
    };
    return run(trivial, leaf, combine);
  }

  static auto first_engaged() {
    return [](std::optional<value_type> left, std::optional<value_type> right) {
      return left ? std::move(left) : std::move(right);
    };
  }

  // {input position, item} of the first match in sequence order.
  // Keeps the item only when asked: position_first must work on items it cannot copy.
  template <bool KeepItem, class P>
  auto first_match(P predicate) const {
    using entry_t = std::conditional_t<KeepItem, std::pair<std::size_t, value_type>, std::size_t>;
    using found_t = std::optional<entry_t>;
    // Smallest input position matched so far: pieces past it have nothing to add.
    std::atomic<std::size_t> bound{std::numeric_limits<std::size_t>::max()};
    auto leaf = [&](std::size_t lo, std::size_t hi) {
      found_t found;
      if (lo >= bound.load(std::memory_order_relaxed)) return found;
      auto sink = [&](std::size_t i, auto&& x) {
        if (i > bound.load(std::memory_order_relaxed)) return false;
        if (!std::invoke(predicate, std::as_const(x))) return true;
        if constexpr (KeepItem) {
          found.emplace(i, std::forward<decltype(x)>(x));
        } else {
          found.emplace(i);
        }
        std::size_t seen = bound.load(std::memory_order_relaxed);
        // Relaxed: the bound only prunes; the result travels through the combine.
        while (i < seen && !bound.compare_exchange_weak(seen, i, std::memory_order_relaxed)) {}
        return false;
      };
      stage_.drive(lo, hi, sink);
      return found;
    };
    auto combine = [](found_t left, found_t right) { return left ? std::move(left) : std::move(right); };
    return run(false, leaf, combine);
  }

  template <class T>
  static void append_lists(std::vector<std::vector<T>>& into, std::vector<std::vector<T>>&& from) {
    for (auto& part : from) {
      if (!part.empty()) into.push_back(std::move(part));
    }
  }

  template <class T>
  static std::vector<T> flatten(std::vector<std::vector<T>>&& parts) {
    if (parts.size() == 1) return std::move(parts.front());
    std::size_t total = 0;
    for (const auto& part : parts) total += part.size();
    std::vector<T> out;
    out.reserve(total);
    for (auto& part : parts) std::move(part.begin(), part.end(), std::back_inserter(out));
    return out;
  }

  template <class T>
  std::vector<T> collect_vector() const {
    if constexpr (Stage::indexed && std::is_default_constructible_v<T> && std::is_move_assignable_v<T>) {
      return collect_in_place<T>();
    } else {
      using list = std::vector<std::vector<T>>;
      auto leaf = [&](std::size_t lo, std::size_t hi) {
        list out(1);
        auto sink = [&](std::size_t, auto&& x) {
          out.back().emplace_back(std::forward<decltype(x)>(x));
          return true;
        };
        stage_.drive(lo, hi, sink);
        return out;
      };
      auto combine = [](list left, list right) {
        append_lists(left, std::move(right));
        return left;
      };
      return flatten(run(false, leaf, combine));
    }
  }

  template <class T>
  std::vector<T> collect_in_place() const {
    const std::size_t n = stage_.size();
    std::vector<T> out;
    out.reserve(n);
    detail::advise_huge_pages(out.data(), n * sizeof(T));
    out.resize(n);
    T* slots = out.data();
    auto leaf = [&](std::size_t lo, std::size_t hi) {
      for (std::size_t i = lo; i < hi; ++i) slots[i] = static_cast<T>(stage_.get(i));
      return iter_detail::unit{};
    };
    run(Stage::trivial, leaf, [](iter_detail::unit, iter_detail::unit) { return iter_detail::unit{}; });
    return out;
  }

  Stage stage_;
  detail::iter::split_hints hints_;
};

// A parallel iterator over a random-access range with a known size: std::vector,
// std::array, std::span, std::deque, C arrays, std::views::iota(a, b), ... An lvalue is
// borrowed (items are references to its elements and must outlive the consumer call);
// an rvalue is moved into the iterator.
template <class R>
requires std::ranges::random_access_range<std::remove_reference_t<R>> &&
    std::ranges::sized_range<std::remove_reference_t<R>>
auto iter(R&& range) {
  return parallel_iterator<detail::iter::range_source<R>>(
      detail::iter::range_source<R>(std::forward<R>(range)));
}

// par::iter({1, 2, 3}): the list lives until the end of the full expression.
template <class T>
auto iter(std::initializer_list<T> list) {
  return parallel_iterator<detail::iter::range_source<std::initializer_list<T>>>(
      detail::iter::range_source<std::initializer_list<T>>(std::move(list)));
}

// The integers first, first + 1, ..., last - 1 (empty when last <= first).
template <std::integral I>
auto range(I first, I last) {
  return parallel_iterator<detail::iter::integer_source<I>>(detail::iter::integer_source<I>(first, last));
}

}  // namespace tandem::par
