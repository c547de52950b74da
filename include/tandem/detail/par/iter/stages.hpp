// The stages of a parallel iterator pipeline: sources and adaptors.
//
// A stage is a value type with
//   std::size_t size() const               how many base indices it covers
//   static constexpr bool indexed          one item per base index, item i = get(i)
//   static constexpr bool trivial          no user code runs per item (cost known tiny)
//   using item_type                        what it yields (may be a reference)
//   item_type get(std::size_t i) const     indexed stages only
//   bool drive(lo, hi, sink) const         feeds the items of base indices [lo, hi),
//                                          in order, as sink(base_index, item); stops
//                                          and returns false when sink returns false
// Stages are called concurrently on disjoint index ranges from several threads, so
// they hold no mutable state; user functions are invoked through const references.
#pragma once

#include <cstddef>
#include <functional>
#include <iterator>
#include <memory>
#include <optional>
#include <ranges>
#include <span>
#include <type_traits>
#include <utility>
#include <vector>

namespace tandem::detail::iter {

template <class T>
concept stage = requires(const T& s) {
  { s.size() } -> std::convertible_to<std::size_t>;
  { T::indexed } -> std::convertible_to<bool>;
  { T::trivial } -> std::convertible_to<bool>;
  typename T::item_type;
};

// n / d rounded up, without overflowing for d near SIZE_MAX.
inline std::size_t ceil_div(std::size_t n, std::size_t d) {
  return n == 0 ? 0 : (n - 1) / d + 1;
}

// Drives an indexed stage through its get().
template <class Stage, class Sink>
bool drive_indexed(const Stage& s, std::size_t lo, std::size_t hi, Sink& sink) {
  for (std::size_t i = lo; i < hi; ++i) {
    if (!sink(i, s.get(i))) return false;
  }
  return true;
}

// ---------------------------------------------------------------- sources

// A random-access range: borrowed when given as an lvalue (items are references into
// it, so for_each can mutate), owned when given as an rvalue (views, temporaries).
template <class R>
class range_source {
  using owned_t = std::remove_cvref_t<R>;
  // Borrowed: a pointer. Owned views: by value (cheap to copy). Owned containers: shared,
  // so that adaptors, which copy the pipeline, neither copy the elements nor need
  // them copyable.
  using stored_t =
      std::conditional_t<std::is_lvalue_reference_v<R>,
                         std::remove_reference_t<R>*,
                         std::conditional_t<std::ranges::view<owned_t>, owned_t, std::shared_ptr<owned_t>>>;

 public:
  static constexpr bool indexed = true;
  static constexpr bool trivial = true;

  explicit range_source(R&& r) : stored_(store(std::forward<R>(r))) {}

  std::size_t size() const { return static_cast<std::size_t>(std::ranges::size(range())); }

  decltype(auto) get(std::size_t i) const {
    return std::ranges::begin(range())[static_cast<std::ranges::range_difference_t<range_t>>(i)];
  }

  template <class Sink>
  bool drive(std::size_t lo, std::size_t hi, Sink& sink) const {
    return drive_indexed(*this, lo, hi, sink);
  }

  // True when items are references into contiguous memory (chunks can be spans).
  // Only for borrowed ranges: spans into an owned copy would dangle once the iterator
  // that owns it is gone.
  static constexpr bool contiguous =
      std::is_lvalue_reference_v<R> && std::ranges::contiguous_range<std::remove_reference_t<R>> &&
      std::is_lvalue_reference_v<std::ranges::range_reference_t<std::remove_reference_t<R>>>;

  auto* data() const { return std::ranges::data(range()); }

 private:
  // Owned ranges are mutable through a const stage for the same reason borrowed
  // ones are: the stage is the range's handle, the items are the user's.
  using range_t = std::remove_reference_t<R>;
  static stored_t store(R&& r) {
    if constexpr (std::is_lvalue_reference_v<R>) {
      return &r;
    } else if constexpr (std::ranges::view<owned_t>) {
      return stored_t(std::move(r));
    } else {
      return std::make_shared<owned_t>(std::move(r));
    }
  }
  range_t& range() const {
    if constexpr (std::is_lvalue_reference_v<R>) {
      return *stored_;
    } else if constexpr (std::ranges::view<owned_t>) {
      return stored_;
    } else {
      return *stored_;
    }
  }
  mutable stored_t stored_;

 public:
  using item_type = std::ranges::range_reference_t<range_t>;
};

template <std::integral I>
class integer_source {
  // Arithmetic in the unsigned type: ranges wider than I's positive half do not overflow.
  using unsigned_t = std::make_unsigned_t<I>;

 public:
  static constexpr bool indexed = true;
  static constexpr bool trivial = true;
  using item_type = I;

  integer_source(I first, I last)
      : first_(first),
        count_(last > first ? static_cast<std::size_t>(
                                  // The outer cast: narrow types promote to int, where the
                                  // difference could be negative.
                                  static_cast<unsigned_t>(static_cast<unsigned_t>(last) -
                                                          static_cast<unsigned_t>(first)))
                            : 0) {}
  std::size_t size() const { return count_; }
  I get(std::size_t i) const {
    return static_cast<I>(static_cast<unsigned_t>(first_) + static_cast<unsigned_t>(i));
  }
  template <class Sink>
  bool drive(std::size_t lo, std::size_t hi, Sink& sink) const {
    return drive_indexed(*this, lo, hi, sink);
  }

 private:
  I first_;
  std::size_t count_;
};

// ---------------------------------------------------------------- one-to-one adaptors

template <stage Base, class F>
class map_stage {
 public:
  static constexpr bool indexed = Base::indexed;
  static constexpr bool trivial = false;
  using item_type = std::invoke_result_t<const F&, typename Base::item_type>;

  map_stage(Base base, F f) : base_(std::move(base)), f_(std::move(f)) {}
  std::size_t size() const { return base_.size(); }
  item_type get(std::size_t i) const requires Base::indexed { return std::invoke(f_, base_.get(i)); }
  template <class Sink>
  bool drive(std::size_t lo, std::size_t hi, Sink& sink) const {
    auto mapped = [&](std::size_t i, auto&& x) {
      return sink(i, std::invoke(f_, std::forward<decltype(x)>(x)));
    };
    return base_.drive(lo, hi, mapped);
  }

 private:
  Base base_;
  F f_;
};

template <stage Base, class F>
class inspect_stage {
 public:
  static constexpr bool indexed = Base::indexed;
  static constexpr bool trivial = false;
  using item_type = typename Base::item_type;

  inspect_stage(Base base, F f) : base_(std::move(base)), f_(std::move(f)) {}
  std::size_t size() const { return base_.size(); }
  item_type get(std::size_t i) const requires Base::indexed {
    item_type x = base_.get(i);
    std::invoke(f_, std::as_const(x));
    return std::forward<item_type>(x);
  }
  template <class Sink>
  bool drive(std::size_t lo, std::size_t hi, Sink& sink) const {
    auto seen = [&](std::size_t i, auto&& x) {
      std::invoke(f_, std::as_const(x));
      return sink(i, std::forward<decltype(x)>(x));
    };
    return base_.drive(lo, hi, seen);
  }

 private:
  Base base_;
  F f_;
};

template <stage Base>
class enumerate_stage {
  static_assert(Base::indexed,
                "enumerate needs an indexed iterator (no filter/filter_map/flat_map before it)");

 public:
  static constexpr bool indexed = true;
  static constexpr bool trivial = Base::trivial;
  using item_type = std::pair<std::size_t, typename Base::item_type>;

  explicit enumerate_stage(Base base) : base_(std::move(base)) {}
  std::size_t size() const { return base_.size(); }
  item_type get(std::size_t i) const { return item_type(i, base_.get(i)); }
  template <class Sink>
  bool drive(std::size_t lo, std::size_t hi, Sink& sink) const {
    return drive_indexed(*this, lo, hi, sink);
  }

 private:
  Base base_;
};

template <stage A, stage B>
class zip_stage {
  static_assert(A::indexed && B::indexed, "zip needs two indexed iterators");

 public:
  static constexpr bool indexed = true;
  static constexpr bool trivial = A::trivial && B::trivial;
  using item_type = std::pair<typename A::item_type, typename B::item_type>;

  zip_stage(A a, B b) : a_(std::move(a)), b_(std::move(b)) {}
  std::size_t size() const { return std::min(a_.size(), b_.size()); }
  item_type get(std::size_t i) const { return item_type(a_.get(i), b_.get(i)); }
  template <class Sink>
  bool drive(std::size_t lo, std::size_t hi, Sink& sink) const {
    return drive_indexed(*this, lo, hi, sink);
  }

 private:
  A a_;
  B b_;
};

// skip / take / step_by: item i of the result is base item first + i * step.
template <stage Base>
class slice_stage {
  static_assert(Base::indexed, "skip, take and step_by need an indexed iterator");

 public:
  static constexpr bool indexed = true;
  static constexpr bool trivial = Base::trivial;
  using item_type = typename Base::item_type;

  slice_stage(Base base, std::size_t first, std::size_t count, std::size_t step)
      : base_(std::move(base)), first_(first), count_(count), step_(step) {}
  std::size_t size() const { return count_; }
  item_type get(std::size_t i) const { return base_.get(first_ + i * step_); }
  template <class Sink>
  bool drive(std::size_t lo, std::size_t hi, Sink& sink) const {
    return drive_indexed(*this, lo, hi, sink);
  }
  const Base& base() const { return base_; }
  std::size_t first() const { return first_; }
  std::size_t step() const { return step_; }

 private:
  Base base_;
  std::size_t first_, count_, step_;
};

// chunks(n): item i is base items [i*n, min((i+1)*n, size)): a std::span over a
// contiguous source, otherwise a std::vector of the items' values.
template <stage Base>
class chunks_stage {
  static_assert(Base::indexed, "chunks needs an indexed iterator");
  static constexpr bool spans = requires { requires Base::contiguous; };

  static auto chunk_type_helper() {
    if constexpr (spans) {
      return std::type_identity<std::span<std::remove_reference_t<typename Base::item_type>>>{};
    } else {
      return std::type_identity<std::vector<std::remove_cvref_t<typename Base::item_type>>>{};
    }
  }

 public:
  static constexpr bool indexed = true;
  static constexpr bool trivial = Base::trivial;
  using item_type = typename decltype(chunk_type_helper())::type;

  chunks_stage(Base base, std::size_t chunk) : base_(std::move(base)), chunk_(chunk) {}
  std::size_t size() const { return ceil_div(base_.size(), chunk_); }
  item_type get(std::size_t i) const {
    const std::size_t lo = i * chunk_;
    const std::size_t hi = std::min(base_.size(), lo + chunk_);
    if constexpr (spans) {
      return item_type(base_.data() + lo, hi - lo);
    } else {
      item_type out;
      out.reserve(hi - lo);
      for (std::size_t k = lo; k < hi; ++k) out.push_back(base_.get(k));
      return out;
    }
  }
  template <class Sink>
  bool drive(std::size_t lo, std::size_t hi, Sink& sink) const {
    return drive_indexed(*this, lo, hi, sink);
  }

 private:
  Base base_;
  std::size_t chunk_;
};

// ---------------------------------------------------------------- filtering adaptors

template <stage Base, class P>
class filter_stage {
 public:
  static constexpr bool indexed = false;
  static constexpr bool trivial = false;
  using item_type = typename Base::item_type;

  filter_stage(Base base, P p) : base_(std::move(base)), p_(std::move(p)) {}
  std::size_t size() const { return base_.size(); }
  template <class Sink>
  bool drive(std::size_t lo, std::size_t hi, Sink& sink) const {
    auto kept = [&](std::size_t i, auto&& x) {
      if (!std::invoke(p_, std::as_const(x))) return true;
      return sink(i, std::forward<decltype(x)>(x));
    };
    return base_.drive(lo, hi, kept);
  }

 private:
  Base base_;
  P p_;
};

template <stage Base, class F>
class filter_map_stage {
  using result_t = std::remove_cvref_t<std::invoke_result_t<const F&, typename Base::item_type>>;

 public:
  static constexpr bool indexed = false;
  static constexpr bool trivial = false;
  using item_type = typename result_t::value_type;

  filter_map_stage(Base base, F f) : base_(std::move(base)), f_(std::move(f)) {}
  std::size_t size() const { return base_.size(); }
  template <class Sink>
  bool drive(std::size_t lo, std::size_t hi, Sink& sink) const {
    auto kept = [&](std::size_t i, auto&& x) {
      result_t r = std::invoke(f_, std::forward<decltype(x)>(x));
      if (!r) return true;
      return sink(i, std::move(*r));
    };
    return base_.drive(lo, hi, kept);
  }

 private:
  Base base_;
  F f_;
};

template <stage Base, class F>
class flat_map_stage {
  using inner_t = std::invoke_result_t<const F&, typename Base::item_type>;
  // Items of a range returned by value die with it: yield values then.
  using inner_range_t = std::remove_reference_t<inner_t>;

 public:
  static constexpr bool indexed = false;
  static constexpr bool trivial = false;
  using item_type = std::conditional_t<std::is_lvalue_reference_v<inner_t>,
                                       std::ranges::range_reference_t<inner_range_t>,
                                       std::ranges::range_value_t<inner_range_t>>;

  flat_map_stage(Base base, F f) : base_(std::move(base)), f_(std::move(f)) {}
  std::size_t size() const { return base_.size(); }
  template <class Sink>
  bool drive(std::size_t lo, std::size_t hi, Sink& sink) const {
    auto expanded = [&](std::size_t i, auto&& x) {
      inner_t&& inner = std::invoke(f_, std::forward<decltype(x)>(x));
      for (auto&& y : inner) {
        if (!sink(i, static_cast<item_type>(std::forward<decltype(y)>(y)))) return false;
      }
      return true;
    };
    return base_.drive(lo, hi, expanded);
  }

 private:
  Base base_;
  F f_;
};

// fold(identity, op): one accumulator per piece of work the driver hands out.
template <stage Base, class Identity, class Op>
class fold_stage {
 public:
  static constexpr bool indexed = false;
  static constexpr bool trivial = false;
  using item_type = std::remove_cvref_t<std::invoke_result_t<const Identity&>>;

  fold_stage(Base base, Identity identity, Op op)
      : base_(std::move(base)), identity_(std::move(identity)), op_(std::move(op)) {}
  std::size_t size() const { return base_.size(); }
  template <class Sink>
  bool drive(std::size_t lo, std::size_t hi, Sink& sink) const {
    if (lo == hi) return true;
    item_type acc = std::invoke(identity_);
    auto add = [&](std::size_t, auto&& x) {
      acc = std::invoke(op_, std::move(acc), std::forward<decltype(x)>(x));
      return true;
    };
    base_.drive(lo, hi, add);
    return sink(lo, std::move(acc));
  }

 private:
  Base base_;
  Identity identity_;
  Op op_;
};

}  // namespace tandem::detail::iter
