// Machinery behind par::sort, par::stable_sort and par::for_each_chunk (tandem/par/sort.hpp).
//
// Unstable sort: pattern-defeating quicksort (Orson Peters' pdqsort, as in rayon's
// par_sort_unstable), the two sides of every large partition handed to par::join.
//   - whole-range check first: one ascending run is done, one strictly descending run is
//     reversed (a scan that stops after a couple of elements on random data);
//   - pivot: median of 3, ninther above 128 elements; for the branchless scheme a
//     recursive pseudo-median of 3 (Rust's ipnsort) that looks at ~n^0.53 elements;
//   - partition: for small trivially copyable elements in contiguous memory
//     ("branchless_friendly"), BlockQuicksort's block partition above 16384 elements and
//     ipnsort's cyclic Lomuto partition below, both branchless; otherwise pdqsort's
//     branchy Hoare partition. The pivot stays in the range until its final swap;
//   - an already partitioned range (no element moved) is finished by a bounded insertion
//     sort if that succeeds within 8 moves (sorted, nearly sorted inputs: O(n));
//   - a pivot not greater than the previous pivot (which sits just left of the range)
//     puts the elements equal to it aside in one pass (many duplicates: O(n log k));
//   - highly unbalanced partitions shuffle a few elements; after log2(n) of them the
//     range is heapsorted (O(n log n) worst case);
//   - small pieces: sorting networks + a branchless merge up to 32 elements for the
//     branchless scheme, insertion sort below 24 elements otherwise.
// Stable sort: top-down merge sort ping-ponging between the range and one buffer of n
// elements; the two halves are sorted with par::join and merges longer than 8192 are split
// by binary search (the middle of the longer run, the bound in the other) into pieces
// merged with par::join. Branchless_friendly elements: transposition networks on runs of
// up to 8 and merges that run from both ends at once; others: insertion sort on runs of
// up to 20 and a plain merge.
//
// Exception safety: the comparator only runs while the range holds a permutation of the
// input, or while one element sits in a local (an insertion sort's or a partition's
// "hole") that a catch block writes back, or while the elements are being copied from an
// intact source that a catch block copies back; so par::sort leaves a permutation when
// the comparator throws. The stable sort's invariant: each recursive call, when it
// throws, leaves all of its elements in the array it was asked to produce them in (see
// merge_sort). A join that cannot start (par::stack_exhausted) is handled the same way.
#pragma once

#include <algorithm>
#include <bit>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <exception>
#include <functional>
#include <iterator>
#include <memory>
#include <span>
#include <stdexcept>
#include <type_traits>
#include <utility>

#include "tandem/detail/par/join_impl.hpp"
#include "tandem/detail/par/registry.hpp"
#include "tandem/par/join.hpp"

namespace tandem::detail::sorting {

// ---------------------------------------------------------------------------------------------------------------
// Tuning
// ---------------------------------------------------------------------------------------------------------------
inline constexpr std::ptrdiff_t insertion_sort_threshold = 24;
inline constexpr std::ptrdiff_t ninther_threshold = 128;
inline constexpr std::ptrdiff_t partial_insertion_sort_limit = 8;
inline constexpr std::ptrdiff_t block_size = 64;
inline constexpr std::ptrdiff_t block_partition_above = 16384;
// Partitions with both sides at least this long are sorted with par::join.
inline constexpr std::ptrdiff_t unstable_parallel_cutoff = 4096;
// Merge sort: runs up to this long are insertion sorted (8 with networks, see
// stable_network_length); halves / merges longer than the cutoffs go through par::join.
inline constexpr std::ptrdiff_t stable_run_length = 20;
inline constexpr std::ptrdiff_t stable_parallel_cutoff = 4096;
inline constexpr std::ptrdiff_t merge_parallel_cutoff = 8192;
// Below this many elements no sort touches the pool.
inline constexpr std::ptrdiff_t sequential_below = 4096;

// ---------------------------------------------------------------------------------------------------------------
// The comparator as the algorithms see it: comp(proj(a), proj(b)) converted to bool,
// called through pointers so that every task shares the user's one object.
// ---------------------------------------------------------------------------------------------------------------
template <class Comp, class Proj>
struct compare_ref {
  Comp* comp;
  Proj* proj;
  template <class A, class B>
  bool operator()(A&& a, B&& b) const {
    return static_cast<bool>(
        std::invoke(*comp, std::invoke(*proj, std::forward<A>(a)), std::invoke(*proj, std::forward<B>(b))));
  }
};

template <class It>
using value_t = std::iter_value_t<It>;

// Elements for which the branchless schemes pay off: plain bytes, small, moved as copies.
template <class It>
inline constexpr bool branchless_friendly =
    std::is_pointer_v<It>&& std::is_trivially_copyable_v<value_t<It>>&&
        std::is_copy_constructible_v<value_t<It>>&& std::is_copy_assignable_v<value_t<It>> &&
    sizeof(value_t<It>) <= 32;

inline int log2_floor(std::size_t n) noexcept {
  return n == 0 ? 0 : static_cast<int>(std::bit_width(n)) - 1;
}

// ---------------------------------------------------------------------------------------------------------------
// Small sorts. The element being inserted is held in a local; a catch block writes it
// back into the hole if the comparator throws, so the range stays a permutation.
// ---------------------------------------------------------------------------------------------------------------

// Sorts [begin, end) by insertion (stable), knowing that [begin, sorted_end) is sorted.
template <class It, class Comp>
void insertion_sort_from(It begin, It sorted_end, It end, Comp& comp) {
  for (It cur = sorted_end; cur != end; ++cur) {
    It sift = cur;
    It sift_1 = cur - 1;
    if (comp(*sift, *sift_1)) {
      value_t<It> tmp(std::move(*sift));
      try {
        do {
          *sift = std::move(*sift_1);
          --sift;
        } while (sift != begin && comp(tmp, *--sift_1));
      } catch (...) {
        *sift = std::move(tmp);
        throw;
      }
      *sift = std::move(tmp);
    }
  }
}

// Sorts [begin, end) by insertion (stable).
template <class It, class Comp>
void insertion_sort(It begin, It end, Comp& comp) {
  if (end - begin > 1) insertion_sort_from(begin, begin + 1, end, comp);
}

// Same, knowing that *(begin - 1) is not greater than any element of [begin, end).
template <class It, class Comp>
void unguarded_insertion_sort(It begin, It end, Comp& comp) {
  if (begin == end) return;
  for (It cur = begin + 1; cur != end; ++cur) {
    It sift = cur;
    It sift_1 = cur - 1;
    if (comp(*sift, *sift_1)) {
      value_t<It> tmp(std::move(*sift));
      try {
        do {
          *sift = std::move(*sift_1);
          --sift;
        } while (comp(tmp, *--sift_1));
      } catch (...) {
        *sift = std::move(tmp);
        throw;
      }
      *sift = std::move(tmp);
    }
  }
}

// Insertion sort that gives up after moving partial_insertion_sort_limit elements;
// returns whether [begin, end) is sorted.
template <class It, class Comp>
bool partial_insertion_sort(It begin, It end, Comp& comp) {
  if (begin == end) return true;
  std::ptrdiff_t moved = 0;
  for (It cur = begin + 1; cur != end; ++cur) {
    It sift = cur;
    It sift_1 = cur - 1;
    if (comp(*sift, *sift_1)) {
      value_t<It> tmp(std::move(*sift));
      try {
        do {
          *sift = std::move(*sift_1);
          --sift;
        } while (sift != begin && comp(tmp, *--sift_1));
      } catch (...) {
        *sift = std::move(tmp);
        throw;
      }
      *sift = std::move(tmp);
      moved += cur - sift;
    }
    if (moved > partial_insertion_sort_limit) return false;
  }
  return true;
}

// ---------------------------------------------------------------------------------------------------------------
// Small sort for branchless_friendly elements: sorting networks (compare-exchanges that
// compile to conditional moves) on pieces of up to 16, insertion for the rest of a piece,
// and a branchless merge of two pieces. Elements are only copied (trivially copyable),
// and every comparison happens before the writes that depend on it; a merge works from a
// copy that is written back if the comparator throws.
// ---------------------------------------------------------------------------------------------------------------
inline constexpr std::ptrdiff_t small_sort_threshold = 32;
static_assert(small_sort_threshold <= 32, "small_sort sorts two pieces of at most 16");

template <class T, class Comp>
[[gnu::always_inline]] inline void compare_exchange(T& a, T& b, Comp& comp) {
  const bool swap = comp(b, a);
  T lo = swap ? b : a;
  T hi = swap ? a : b;
  a = lo;
  b = hi;
}

template <std::size_t I, std::size_t J, class T, class Comp>
[[gnu::always_inline]] inline void compare_exchange_at(T* x, Comp& comp) {
  compare_exchange(x[I], x[J], comp);
}

// Runs the K comparators of `Table::pairs` on N elements held in locals (registers):
// the fold expression makes every index a constant.
template <std::size_t N, class Table, class T, class Comp, std::size_t... K>
[[gnu::always_inline]] inline void run_network(T* v, Comp& comp, std::index_sequence<K...>) {
  T x[N];
  for (std::size_t i = 0; i < N; ++i) x[i] = v[i];
  (compare_exchange_at<Table::pairs.v[K][0], Table::pairs.v[K][1]>(x, comp), ...);
  for (std::size_t i = 0; i < N; ++i) v[i] = x[i];
}

// Green's network for 16 (60 comparators).
inline constexpr std::uint8_t network16[60][2] = {
    {0, 1},   {2, 3},   {4, 5},   {6, 7},   {8, 9},  {10, 11}, {12, 13}, {14, 15}, {0, 2},  {4, 6},
    {8, 10},  {12, 14}, {1, 3},   {5, 7},   {9, 11}, {13, 15}, {0, 4},   {8, 12},  {1, 5},  {9, 13},
    {2, 6},   {10, 14}, {3, 7},   {11, 15}, {0, 8},  {1, 9},   {2, 10},  {3, 11},  {4, 12}, {5, 13},
    {6, 14},  {7, 15},  {5, 10},  {6, 9},   {3, 12}, {13, 14}, {7, 11},  {1, 2},   {4, 8},  {1, 4},
    {7, 13},  {2, 8},   {11, 14}, {2, 4},   {5, 6},  {9, 10},  {11, 13}, {3, 8},   {7, 12}, {6, 8},
    {10, 12}, {3, 5},   {7, 9},   {3, 4},   {5, 6},  {7, 8},   {9, 10},  {11, 12}, {6, 7},  {8, 9}};

// Green's network restricted to its first N wires: the others may be taken to hold +inf,
// which no comparator moves, so the pairs with both wires below N sort N elements.
template <std::size_t N>
struct pruned_network16 {
  static constexpr std::size_t size = [] {
    std::size_t k = 0;
    for (const auto& p : network16) k += p[1] < N ? 1 : 0;
    return k;
  }();
  static constexpr auto pairs = [] {
    std::uint8_t out[size == 0 ? 1 : size][2] = {};
    std::size_t k = 0;
    for (const auto& p : network16) {
      if (p[1] < N) {
        out[k][0] = p[0];
        out[k][1] = p[1];
        ++k;
      }
    }
    struct table {
      std::uint8_t v[size == 0 ? 1 : size][2];
    } t{};
    for (std::size_t i = 0; i < k; ++i) {
      t.v[i][0] = out[i][0];
      t.v[i][1] = out[i][1];
    }
    return t;
  }();
};

template <std::size_t N, class T, class Comp>
void sort_network(T* v, Comp& comp) {
  run_network<N, pruned_network16<N>>(v, comp, std::make_index_sequence<pruned_network16<N>::size>{});
}

// Calls body.template operator()<N>() for the N in [First, First + sizeof...(I)) equal
// to n; does nothing for any other n.
template <std::size_t First, class Body, std::size_t... I>
void with_static_size(std::ptrdiff_t n, Body&& body, std::index_sequence<I...>) {
  (void)((n == static_cast<std::ptrdiff_t>(First + I) ? (body.template operator()<First + I>(), true)
                                                      : false) ||
         ...);
}

// Sorts up to 16 elements with a sorting network.
template <class T, class Comp>
void small_sort_piece(T* v, std::ptrdiff_t n, Comp& comp) {
  with_static_size<2>(
      n, [&]<std::size_t N>() { sort_network<N>(v, comp); }, std::make_index_sequence<15>{});
}

// Positions in the two runs of a merge that works from both ends at once.
struct merge_cursors {
  std::ptrdiff_t front_left;
  std::ptrdiff_t front_right;
  std::ptrdiff_t back_left;
  std::ptrdiff_t back_right;
};

// `steps` rounds of: the least of the two run fronts to out[t], the greatest of the two
// backs to out_back[-t] (two independent chains of work, branch-free). Ties keep left
// before right. The caller guarantees that no cursor runs past its run in `steps` rounds.
template <class T, class Comp>
merge_cursors merge_from_both_ends(
    const T* left, const T* right, merge_cursors at, T* out, T* out_back, std::ptrdiff_t steps, Comp& comp) {
  // Indices rather than pointers: the loop-carried chains are a load, a compare and an
  // add with carry, which measured about 20% faster than pointer updates.
  for (std::ptrdiff_t t = 0; t < steps; ++t) {
    T a = left[at.front_left];
    T b = right[at.front_right];
    const bool take_right = comp(b, a);
    out[t] = take_right ? b : a;
    at.front_right += take_right;
    at.front_left += !take_right;
    T c = left[at.back_left];
    T e = right[at.back_right];
    const bool take_left = comp(e, c);
    out_back[-t] = take_left ? c : e;
    at.back_left -= take_left;
    at.back_right -= !take_left;
  }
  return at;
}

// Merges the sorted src[0, h) and src[h, n), h = n / 2, into dst from both ends. With
// h = n / 2 neither end can run past its runs (for a strict weak order), so there are
// no bounds checks.
template <class T, class Comp>
void bidirectional_merge(const T* src, std::ptrdiff_t n, T* dst, Comp& comp) {
  const std::ptrdiff_t h = n / 2;
  const merge_cursors end =
      merge_from_both_ends(src, src + h, merge_cursors{0, 0, h - 1, n - h - 1}, dst, dst + n - 1, h, comp);
  if (n % 2 != 0) dst[h] = end.front_left <= end.back_left ? src[end.front_left] : src[h + end.front_right];
}

template <class T, class Comp>
void small_sort(T* v, std::ptrdiff_t n, Comp& comp) {
  if (n <= 16) {
    small_sort_piece(v, n, comp);
    return;
  }
  const std::ptrdiff_t h = n / 2;
  small_sort_piece(v, h, comp);
  small_sort_piece(v + h, n - h, comp);
  alignas(T) unsigned char raw[small_sort_threshold * sizeof(T)];
  const auto bytes = static_cast<std::size_t>(n) * sizeof(T);
  const T* copy = static_cast<const T*>(std::memcpy(raw, v, bytes));
  try {
    bidirectional_merge(copy, n, v, comp);
  } catch (...) {
    std::memcpy(v, copy, bytes);
    throw;
  }
}

// Heapsort by swaps only (no element ever leaves the range): the O(n log n) fallback.
template <class It, class Comp>
void sift_down(It first, std::ptrdiff_t len, std::ptrdiff_t node, Comp& comp) {
  for (;;) {
    std::ptrdiff_t child = 2 * node + 1;
    if (child >= len) return;
    if (child + 1 < len && comp(first[child], first[child + 1])) ++child;
    if (!comp(first[node], first[child])) return;
    std::iter_swap(first + node, first + child);
    node = child;
  }
}

template <class It, class Comp>
void heapsort(It begin, It end, Comp& comp) {
  const std::ptrdiff_t len = end - begin;
  for (std::ptrdiff_t i = len / 2; i-- > 0;) sift_down(begin, len, i, comp);
  for (std::ptrdiff_t last = len - 1; last > 0; --last) {
    std::iter_swap(begin, begin + last);
    sift_down(begin, last, 0, comp);
  }
}

template <class It, class Comp>
void sort2(It a, It b, Comp& comp) {
  if (comp(*b, *a)) std::iter_swap(a, b);
}

template <class It, class Comp>
void sort3(It a, It b, It c, Comp& comp) {
  sort2(a, b, comp);
  sort2(b, c, comp);
  sort2(a, b, comp);
}

// ---------------------------------------------------------------------------------------------------------------
// Partitions. The pivot is at *begin on entry and stays there until the final swap;
// `pivot` refers to it, or to a copy of it for trivially copyable elements (a register).
// Result: where the pivot ended up, and whether the range already was partitioned.
// ---------------------------------------------------------------------------------------------------------------

// pdqsort's partition_right with swaps: elements < pivot left, >= pivot right.
template <class It, class T, class Comp>
std::pair<It, bool> partition_right_branchy(It begin, It end, T& pivot, Comp& comp) {
  It first = begin;
  It last = end;
  // The median-of-3 guarantees an element >= pivot to the right.
  while (comp(*++first, pivot)) {}
  if (first - 1 == begin) {
    while (first < last && !comp(*--last, pivot)) {}
  } else {
    while (!comp(*--last, pivot)) {}
  }
  const bool already_partitioned = first >= last;
  while (first < last) {
    std::iter_swap(first, last);
    while (comp(*++first, pivot)) {}
    while (!comp(*--last, pivot)) {}
  }
  It pivot_pos = first - 1;
  std::iter_swap(begin, pivot_pos);
  return {pivot_pos, already_partitioned};
}

// Branchless cyclic Lomuto partition of [first, last) (Rust's ipnsort): returns the
// number of elements < pivot, moved to the front. One element at a time leaves its
// slot (the gap); no comparison runs while an element is out of the range.
template <class T, class Comp>
std::ptrdiff_t partition_lomuto_branchless(T* first, T* last, T& pivot, Comp& comp) {
  if (first == last) return 0;
  T gap_value = *first;
  T* gap = first;
  T* right = first + 1;
  std::ptrdiff_t num_lt = 0;
  auto step = [&](T* r) {
    T value = *r;
    const bool lt = comp(value, pivot);
    T* left = first + num_lt;
    *gap = *left;
    *left = value;
    gap = r;
    num_lt += lt;
  };
  try {
    // Two steps per iteration: enough independent work for the out-of-order core.
    for (; last - right >= 2; right += 2) {
      step(right);
      step(right + 1);
    }
    if (right != last) step(right);
    // The element that started in the gap.
    const bool lt = comp(gap_value, pivot);
    T* left = first + num_lt;
    *gap = *left;
    *left = gap_value;
    num_lt += lt;
  } catch (...) {
    *gap = gap_value;
    throw;
  }
  return num_lt;
}

template <class T, class Comp>
std::pair<T*, bool> partition_right_lomuto(T* begin, T* end, T& pivot, Comp& comp) {
  // Skip what is already in place at both ends (random data: a step or two; sorted data:
  // everything, which is how an already partitioned range is noticed).
  T* first = begin + 1;
  T* last = end;
  while (first < last && comp(*first, pivot)) ++first;
  while (first < last && !comp(*(last - 1), pivot)) --last;
  const bool already_partitioned = first >= last;
  if (!already_partitioned) first += partition_lomuto_branchless(first, last, pivot, comp);
  T* pivot_pos = first - 1;
  std::iter_swap(begin, pivot_pos);
  return {pivot_pos, already_partitioned};
}

// pdqsort's branchless block partition (BlockQuicksort, Edelkamp & Weiss).
template <class It>
void swap_offsets(It first,
                  It last,
                  const unsigned char* offsets_l,
                  const unsigned char* offsets_r,
                  std::size_t num,
                  bool use_swaps) {
  if (use_swaps) {
    // Needed for descending inputs to stay O(n).
    for (std::size_t i = 0; i < num; ++i) std::iter_swap(first + offsets_l[i], last - offsets_r[i]);
  } else if (num > 0) {
    It l = first + offsets_l[0];
    It r = last - offsets_r[0];
    value_t<It> tmp(std::move(*l));
    *l = std::move(*r);
    for (std::size_t i = 1; i < num; ++i) {
      l = first + offsets_l[i];
      *r = std::move(*l);
      r = last - offsets_r[i];
      *l = std::move(*r);
    }
    *r = std::move(tmp);
  }
}

template <class It, class T, class Comp>
std::pair<It, bool> partition_right_block(It begin, It end, T& pivot, Comp& comp) {
  // Guarded scans: no sentinel is needed on either side.
  It first = begin + 1;
  It last = end;
  while (first < last && comp(*first, pivot)) ++first;
  while (first < last && !comp(*(last - 1), pivot)) --last;
  const bool already_partitioned = first >= last;
  if (!already_partitioned) {
    --last;
    std::iter_swap(first, last);
    ++first;
    alignas(64) unsigned char offsets_l[block_size];
    alignas(64) unsigned char offsets_r[block_size];
    It offsets_l_base = first;
    It offsets_r_base = last;
    std::size_t num_l = 0, num_r = 0, start_l = 0, start_r = 0;
    while (first < last) {
      const auto num_unknown = static_cast<std::size_t>(last - first);
      const std::size_t left_split = num_l == 0 ? (num_r == 0 ? num_unknown / 2 : num_unknown) : 0;
      const std::size_t right_split = num_r == 0 ? (num_unknown - left_split) : 0;
      if (left_split >= static_cast<std::size_t>(block_size)) {
        for (std::size_t i = 0; i < static_cast<std::size_t>(block_size);) {
          for (int k = 0; k < 8; ++k) {
            offsets_l[num_l] = static_cast<unsigned char>(i++);
            num_l += !comp(*first, pivot);
            ++first;
          }
        }
      } else {
        for (std::size_t i = 0; i < left_split;) {
          offsets_l[num_l] = static_cast<unsigned char>(i++);
          num_l += !comp(*first, pivot);
          ++first;
        }
      }
      if (right_split >= static_cast<std::size_t>(block_size)) {
        for (std::size_t i = 0; i < static_cast<std::size_t>(block_size);) {
          for (int k = 0; k < 8; ++k) {
            offsets_r[num_r] = static_cast<unsigned char>(++i);
            num_r += comp(*--last, pivot);
          }
        }
      } else {
        for (std::size_t i = 0; i < right_split;) {
          offsets_r[num_r] = static_cast<unsigned char>(++i);
          num_r += comp(*--last, pivot);
        }
      }
      const std::size_t num = std::min(num_l, num_r);
      swap_offsets(offsets_l_base, offsets_r_base, offsets_l + start_l, offsets_r + start_r, num,
                   num_l == num_r);
      num_l -= num;
      num_r -= num;
      start_l += num;
      start_r += num;
      if (num_l == 0) {
        start_l = 0;
        offsets_l_base = first;
      }
      if (num_r == 0) {
        start_r = 0;
        offsets_r_base = last;
      }
    }
    if (num_l != 0) {
      while (num_l--) std::iter_swap(offsets_l_base + offsets_l[start_l + num_l], --last);
      first = last;
    }
    if (num_r != 0) {
      while (num_r--) std::iter_swap(offsets_r_base - offsets_r[start_r + num_r], first), ++first;
      last = first;
    }
  }
  It pivot_pos = first - 1;
  std::iter_swap(begin, pivot_pos);
  return {pivot_pos, already_partitioned};
}

// pdqsort's partition_left: elements <= pivot left, > pivot right; returns the pivot's
// final place. Used when the pivot equals the previous pivot: the left side is then all
// equal and needs no more work.
template <class It, class T, class Comp>
It partition_left(It begin, It end, T& pivot, Comp& comp) {
  It first = begin;
  It last = end;
  while (comp(pivot, *--last)) {}
  if (last + 1 == end) {
    while (first < last && !comp(pivot, *++first)) {}
  } else {
    while (!comp(pivot, *++first)) {}
  }
  while (first < last) {
    std::iter_swap(first, last);
    while (comp(pivot, *--last)) {}
    while (!comp(pivot, *++first)) {}
  }
  std::iter_swap(begin, last);
  return last;
}

// Median of *a, *b, *c (Rust's ipnsort).
template <class It, class Comp>
It median3(It a, It b, It c, Comp& comp) {
  const bool x = comp(*a, *b);
  const bool y = comp(*a, *c);
  if (x == y) return (comp(*b, *c) ^ x) ? c : b;
  return a;
}

template <class It, class Comp>
It median3_rec(It a, It b, It c, std::ptrdiff_t n, Comp& comp) {
  if (n * 8 >= 64) {
    const std::ptrdiff_t n8 = n / 8;
    a = median3_rec(a, a + n8 * 4, a + n8 * 7, n8, comp);
    b = median3_rec(b, b + n8 * 4, b + n8 * 7, n8, comp);
    c = median3_rec(c, c + n8 * 4, c + n8 * 7, n8, comp);
  }
  return median3(a, b, c, comp);
}

template <class It, class Comp>
It choose_pivot(It begin, std::ptrdiff_t n, Comp& comp) {
  const std::ptrdiff_t n8 = n / 8;
  It a = begin;
  It b = begin + n8 * 4;
  It c = begin + n8 * 7;
  return n < 64 ? median3(a, b, c, comp) : median3_rec(a, b, c, n8, comp);
}

enum class partition_scheme { branchy, lomuto, block };

template <class It>
inline constexpr partition_scheme default_scheme =
    branchless_friendly<It> ? partition_scheme::lomuto : partition_scheme::branchy;

// Calls f(pivot) with a reference to the pivot at *begin, or to a copy of it.
template <class It, class F>
decltype(auto) with_pivot(It begin, F&& f) {
  if constexpr (std::is_trivially_copyable_v<value_t<It>> && std::is_copy_constructible_v<value_t<It>>) {
    value_t<It> pivot = *begin;
    return f(pivot);
  } else {
    return f(*begin);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The quicksort loop. `leftmost`: no element left of begin belongs to the same sort
// call; otherwise *(begin - 1) is a pivot not greater than anything in [begin, end).
// Partitions whose sides are both at least `parallel_cutoff` long are split with join.
// ---------------------------------------------------------------------------------------------------------------
template <partition_scheme Scheme, class It, class Comp>
void pdq_loop(It begin, It end, Comp& comp, int bad_allowed, bool leftmost, std::ptrdiff_t parallel_cutoff) {
  constexpr bool lomuto = Scheme == partition_scheme::lomuto;
  for (;;) {
    const std::ptrdiff_t size = end - begin;
    if constexpr (lomuto) {
      if (size <= small_sort_threshold) {
        small_sort(begin, size, comp);
        return;
      }
    } else if (size < insertion_sort_threshold) {
      if (leftmost) {
        insertion_sort(begin, end, comp);
      } else {
        unguarded_insertion_sort(begin, end, comp);
      }
      return;
    }

    // Pivot to *begin: for the Lomuto scheme (which needs no sentinels), a recursive
    // pseudo-median of 3 that looks at about n^0.53 elements; else median of 3, or
    // pseudo-median of 9 for larger ranges.
    const std::ptrdiff_t s2 = size / 2;
    if constexpr (lomuto) {
      std::iter_swap(begin, choose_pivot(begin, size, comp));
    } else if (size > ninther_threshold) {
      sort3(begin, begin + s2, end - 1, comp);
      sort3(begin + 1, begin + (s2 - 1), end - 2, comp);
      sort3(begin + 2, begin + (s2 + 1), end - 3, comp);
      sort3(begin + (s2 - 1), begin + s2, begin + (s2 + 1), comp);
      std::iter_swap(begin, begin + s2);
    } else {
      sort3(begin + s2, begin, end - 1, comp);
    }

    // A pivot equal to the previous one: put every element equal to it on the left
    // (they are done) and go on with the greater ones.
    if (!leftmost && !comp(*(begin - 1), *begin)) {
      begin = with_pivot(begin, [&](auto& pivot) { return partition_left(begin, end, pivot, comp); }) + 1;
      continue;
    }

    const std::pair<It, bool> partitioned = with_pivot(begin, [&](auto& pivot) {
      if constexpr (Scheme == partition_scheme::lomuto) {
        // Block partition on large ranges (fewer stores per element when memory bound),
        // Lomuto below (less overhead per call).
        if (size > block_partition_above) return partition_right_block(begin, end, pivot, comp);
        return partition_right_lomuto(begin, end, pivot, comp);
      } else if constexpr (Scheme == partition_scheme::block) {
        return partition_right_block(begin, end, pivot, comp);
      } else {
        return partition_right_branchy(begin, end, pivot, comp);
      }
    });
    const It pivot_pos = partitioned.first;
    const bool already_partitioned = partitioned.second;

    const std::ptrdiff_t l_size = pivot_pos - begin;
    const std::ptrdiff_t r_size = end - (pivot_pos + 1);
    if (l_size < size / 8 || r_size < size / 8) {
      // Highly unbalanced: after too many of these, heapsort; else break the pattern.
      if (--bad_allowed == 0) {
        heapsort(begin, end, comp);
        return;
      }
      if (l_size >= insertion_sort_threshold) {
        std::iter_swap(begin, begin + l_size / 4);
        std::iter_swap(pivot_pos - 1, pivot_pos - l_size / 4);
        if (l_size > ninther_threshold) {
          std::iter_swap(begin + 1, begin + (l_size / 4 + 1));
          std::iter_swap(begin + 2, begin + (l_size / 4 + 2));
          std::iter_swap(pivot_pos - 2, pivot_pos - (l_size / 4 + 1));
          std::iter_swap(pivot_pos - 3, pivot_pos - (l_size / 4 + 2));
        }
      }
      if (r_size >= insertion_sort_threshold) {
        std::iter_swap(pivot_pos + 1, pivot_pos + (1 + r_size / 4));
        std::iter_swap(end - 1, end - r_size / 4);
        if (r_size > ninther_threshold) {
          std::iter_swap(pivot_pos + 2, pivot_pos + (2 + r_size / 4));
          std::iter_swap(pivot_pos + 3, pivot_pos + (3 + r_size / 4));
          std::iter_swap(end - 2, end - (1 + r_size / 4));
          std::iter_swap(end - 3, end - (2 + r_size / 4));
        }
      }
    } else if (already_partitioned && partial_insertion_sort(begin, pivot_pos, comp) &&
               partial_insertion_sort(pivot_pos + 1, end, comp)) {
      // Balanced and nothing moved: it was (nearly) sorted, and now it is.
      return;
    }

    if (l_size >= parallel_cutoff && r_size >= parallel_cutoff) {
      // The pivot at *pivot_pos is in its final place: neither side writes it, and the
      // right side reads it as its predecessor.
      tandem::par::join(
          [&, bad_allowed, leftmost] {
            pdq_loop<Scheme>(begin, pivot_pos, comp, bad_allowed, leftmost, parallel_cutoff);
          },
          [&, bad_allowed] {
            pdq_loop<Scheme>(pivot_pos + 1, end, comp, bad_allowed, false, parallel_cutoff);
          });
      return;
    }
    // Recurse into the shorter side, loop on the longer one (bounded stack depth).
    if (l_size < r_size) {
      pdq_loop<Scheme>(begin, pivot_pos, comp, bad_allowed, leftmost, parallel_cutoff);
      begin = pivot_pos + 1;
      leftmost = false;
    } else {
      pdq_loop<Scheme>(pivot_pos + 1, end, comp, bad_allowed, false, parallel_cutoff);
      end = pivot_pos;
    }
  }
}

// Runs body(parallel_cutoff) on a worker of the caller's pool (the global pool from
// outside any pool). Small inputs, and pools of one thread, run on the calling thread
// without joins.
template <class F>
void run_in_pool(std::ptrdiff_t n, std::ptrdiff_t parallel_cutoff, F&& body) {
  constexpr std::ptrdiff_t never = PTRDIFF_MAX;
  if (n < sequential_below) {
    body(never);
    return;
  }
  current_registry().in_worker(
      [&](worker_thread& w) { body(w.owner().num_threads() > 1 ? parallel_cutoff : never); });
}

template <partition_scheme Scheme = partition_scheme::branchy, class It, class Comp>
void unstable_sort_with(It begin, It end, Comp& comp, std::ptrdiff_t parallel_cutoff) {
  const std::ptrdiff_t n = end - begin;
  if (n < 2) return;
  constexpr partition_scheme scheme =
      Scheme == partition_scheme::lomuto && !branchless_friendly<It> ? partition_scheme::branchy : Scheme;
  pdq_loop<scheme>(begin, end, comp, log2_floor(static_cast<std::size_t>(n)), true, parallel_cutoff);
}

template <class It, class Comp>
void unstable_sort(It begin, It end, Comp comp) {
  const std::ptrdiff_t n = end - begin;
  if (n < 2) return;
  // A range that is one ascending run, or one strictly descending run, costs one scan.
  // (Random data stops after a couple of elements; a strictly descending run is reversed,
  // which keeps it a permutation and cannot reorder equal elements, there being none.)
  if (n >= insertion_sort_threshold) {
    It run_end = begin + 1;
    if (comp(*run_end, *begin)) {
      while (run_end != end && comp(*run_end, *(run_end - 1))) ++run_end;
      if (run_end == end) {
        std::reverse(begin, end);
        return;
      }
    } else {
      while (run_end != end && !comp(*run_end, *(run_end - 1))) ++run_end;
      if (run_end == end) return;
    }
  }
  run_in_pool(n, unstable_parallel_cutoff, [&](std::ptrdiff_t cutoff) {
    unstable_sort_with<default_scheme<It>>(begin, end, comp, cutoff);
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Stable merge sort.
// ---------------------------------------------------------------------------------------------------------------

// Moves [first, last) to out; returns the end of the output.
template <class In, class Out>
Out move_range(In first, In last, Out out) {
  return std::move(first, last, out);
}

// Branchless merge of the sorted runs l[0, nl) and r[0, nr) into out[0, nl + nr) for
// branchless_friendly elements (copies), as two independent chains of work: one from the
// front producing the first half of the output, one from the back producing the rest.
// The merge-path split (i, j) of the output's middle is found by binary search; the
// elements just past each half's share (l[i], r[j] for the front, l[i-1], r[j-1] for the
// back) stop each chain at its share, so the loops need no bounds checks. Runs already in
// order are copied. Ties take the left element first. If comp throws, the runs (which
// copying left intact) are copied to out before rethrowing.
template <class T, class Comp>
void merge_branchless(const T* l, std::ptrdiff_t nl, const T* r, std::ptrdiff_t nr, T* out, Comp& comp) {
  try {
    if (nl == 0 || nr == 0 || !comp(r[0], l[nl - 1])) {
      std::copy(l, l + nl, out);
      std::copy(r, r + nr, out + nl);
      return;
    }
    if (comp(r[nr - 1], l[0])) {
      std::copy(r, r + nr, out);
      std::copy(l, l + nl, out + nr);
      return;
    }
    const std::ptrdiff_t n = nl + nr;
    const std::ptrdiff_t k = n / 2;
    // Smallest i with r[k - 1 - i] < l[i]: the first k outputs are l[0, i) and r[0, k - i).
    std::ptrdiff_t lo = std::max<std::ptrdiff_t>(0, k - nr);
    std::ptrdiff_t hi = std::min(k, nl);
    while (lo < hi) {
      const std::ptrdiff_t mid = lo + (hi - lo) / 2;
      if (comp(r[k - 1 - mid], l[mid])) {
        hi = mid;
      } else {
        lo = mid + 1;
      }
    }
    const std::ptrdiff_t i = lo;
    const std::ptrdiff_t j = k - i;
    if (i == 0 || i == nl || j == 0 || j == nr) {
      // A chain would lack its stopper: one chain with bounds checks.
      const T* l_end = l + nl;
      const T* r_end = r + nr;
      while (l != l_end && r != r_end) {
        const bool take_r = comp(*r, *l);
        *out++ = take_r ? *r : *l;
        r += take_r;
        l += !take_r;
      }
      out = std::copy(l, l_end, out);
      std::copy(r, r_end, out);
      return;
    }
    const std::ptrdiff_t back = n - k;  // k or k + 1
    const merge_cursors end =
        merge_from_both_ends(l, r, merge_cursors{0, 0, nl - 1, nr - 1}, out, out + n - 1, k, comp);
    if (back > k) {
      T c = l[end.back_left];
      T e = r[end.back_right];
      out[k] = comp(e, c) ? c : e;
    }
  } catch (...) {
    std::copy(l, l + nl, out);
    std::copy(r, r + nr, out + nl);
    throw;
  }
}

// Merges the sorted runs [l, l_end) and [r, r_end) into out by moving; ties take the left
// element first. If comp throws, what is left of both runs is moved to the rest of the
// output before rethrowing, so the output holds all the elements.
template <class In, class Out, class Comp>
void merge_runs(In l, In l_end, In r, In r_end, Out out, Comp& comp) {
  if constexpr (branchless_friendly<In> && std::is_pointer_v<Out>) {
    merge_branchless(l, l_end - l, r, r_end - r, out, comp);
  } else {
    try {
      while (l != l_end && r != r_end) {
        if (comp(*r, *l)) {
          *out = std::move(*r);
          ++r;
        } else {
          *out = std::move(*l);
          ++l;
        }
        ++out;
      }
    } catch (...) {
      out = move_range(l, l_end, out);
      move_range(r, r_end, out);
      throw;
    }
    out = move_range(l, l_end, out);
    move_range(r, r_end, out);
  }
}

// Parallel merge: split at the middle of the longer run and the matching bound in the
// other one (lower_bound for a left element, upper_bound for a right one, which keeps
// ties in order), then merge both pieces with join. Same exception guarantee.
template <class In, class Out, class Comp>
void merge_parallel(In l, In l_end, In r, In r_end, Out out, Comp& comp, std::ptrdiff_t cutoff) {
  const std::ptrdiff_t nl = l_end - l;
  const std::ptrdiff_t nr = r_end - r;
  if (nl + nr <= cutoff || nl == 0 || nr == 0) {
    merge_runs(l, l_end, r, r_end, out, comp);
    return;
  }
  In lm, rm;
  try {
    if (nl >= nr) {
      lm = l + nl / 2;
      rm = std::lower_bound(r, r_end, *lm, comp);
    } else {
      rm = r + nr / 2;
      lm = std::upper_bound(l, l_end, *rm, comp);
    }
  } catch (...) {
    out = move_range(l, l_end, out);
    move_range(r, r_end, out);
    throw;
  }
  Out out_m = out + ((lm - l) + (rm - r));
  bool started = false;
  try {
    tandem::par::join(
        [&] {
          started = true;
          merge_parallel(l, lm, r, rm, out, comp, cutoff);
        },
        [&] { merge_parallel(lm, l_end, rm, r_end, out_m, comp, cutoff); });
  } catch (...) {
    // join ran both sides (each leaves its elements in its part of out), or, if it
    // could not start (par::stack_exhausted), neither.
    if (!started) {
      out = move_range(l, l_end, out);
      move_range(r, r_end, out);
    }
    throw;
  }
}

// Sorts the n elements now in x; the sorted result lands in y if to_y, else in x. y is
// an array of n live objects (moved-from or otherwise), used as scratch.
// If comp throws, all n elements are left in the destination array (y if to_y, else x),
// in some order; nothing is lost or duplicated.
// Odd-even transposition network for N elements: compare-exchanges of neighbours only,
// swapping when strictly out of order, so equal elements never pass each other (stable).
template <std::size_t N>
struct transposition_network {
  static constexpr std::size_t size = [] {
    std::size_t k = 0;
    for (std::size_t round = 0; round < N; ++round) {
      for (std::size_t i = round % 2; i + 1 < N; i += 2) ++k;
    }
    return k;
  }();
  static constexpr auto pairs = [] {
    struct table {
      std::uint8_t v[size == 0 ? 1 : size][2];
    } t{};
    std::size_t k = 0;
    for (std::size_t round = 0; round < N; ++round) {
      for (std::size_t i = round % 2; i + 1 < N; i += 2) {
        t.v[k][0] = static_cast<std::uint8_t>(i);
        t.v[k][1] = static_cast<std::uint8_t>(i + 1);
        ++k;
      }
    }
    return t;
  }();
};

inline constexpr std::ptrdiff_t stable_network_length = 8;

// Stable sort of up to 8 branchless_friendly elements.
template <class T, class Comp>
void stable_small_sort(T* v, std::ptrdiff_t n, Comp& comp) {
  with_static_size<2>(
      n,
      [&]<std::size_t N>() {
        run_network<N, transposition_network<N>>(v, comp,
                                                 std::make_index_sequence<transposition_network<N>::size>{});
      },
      std::make_index_sequence<7>{});
}

// Merges src[0, n/2) and src[n/2, n) into dst (branchless_friendly elements): runs already
// in order are copied, else both ends are merged at once. If comp throws, src (intact:
// elements are copied) is copied to dst.
template <class T, class Comp>
void merge_halves(const T* src, std::ptrdiff_t n, T* dst, Comp& comp) {
  const std::ptrdiff_t h = n / 2;
  try {
    if (!comp(src[h], src[h - 1])) {
      std::copy(src, src + n, dst);
      return;
    }
    bidirectional_merge(src, n, dst, comp);
  } catch (...) {
    std::copy(src, src + n, dst);
    throw;
  }
}

template <class X, class Y, class Comp>
void merge_sort(X x, Y y, std::ptrdiff_t n, bool to_y, Comp& comp, std::ptrdiff_t cutoff) {
  constexpr bool branchless = branchless_friendly<X> && std::is_pointer_v<Y>;
  if (n <= (branchless ? stable_network_length : stable_run_length)) {
    try {
      if constexpr (branchless) {
        stable_small_sort(x, n, comp);
      } else {
        insertion_sort(x, x + n, comp);
      }
    } catch (...) {
      if (to_y) move_range(x, x + n, y);
      throw;
    }
    if (to_y) move_range(x, x + n, y);
    return;
  }
  const std::ptrdiff_t h = n / 2;
  // The halves are sorted into the other array than the destination, then merged back.
  if (n >= cutoff) {
    bool started = false;
    try {
      tandem::par::join(
          [&] {
            started = true;
            merge_sort(x, y, h, !to_y, comp, cutoff);
          },
          [&] { merge_sort(x + h, y + h, n - h, !to_y, comp, cutoff); });
    } catch (...) {
      // join ran both halves, which are then in the other array; or, if it could not
      // start (par::stack_exhausted), neither, and everything is still in x.
      if (to_y) {
        move_range(x, x + n, y);
      } else if (started) {
        move_range(y, y + n, x);
      }
      throw;
    }
  } else {
    try {
      merge_sort(x, y, h, !to_y, comp, cutoff);
    } catch (...) {
      // The first half is in the other array, the second one still in x.
      if (to_y) {
        move_range(x, x + n, y);
      } else {
        move_range(y, y + h, x);
      }
      throw;
    }
    try {
      merge_sort(x + h, y + h, n - h, !to_y, comp, cutoff);
    } catch (...) {
      if (to_y) {
        move_range(x, x + n, y);
      } else {
        move_range(y, y + n, x);
      }
      throw;
    }
  }
  const std::ptrdiff_t merge_cutoff = cutoff >= PTRDIFF_MAX / 2 ? cutoff : merge_parallel_cutoff;
  if constexpr (branchless) {
    if (n <= merge_cutoff) {
      if (to_y) {
        merge_halves(x, n, y, comp);
      } else {
        merge_halves(y, n, x, comp);
      }
      return;
    }
  }
  if (to_y) {
    merge_parallel(x, x + h, x + h, x + n, y, comp, merge_cutoff);
  } else {
    merge_parallel(y, y + h, y + h, y + n, x, comp, merge_cutoff);
  }
}

// One buffer of n elements for the whole sort. For trivially copyable elements it is raw
// storage (operator new creates such objects implicitly); for others it is filled by
// moving the input into it, so both arrays always hold n live objects, and its objects
// are destroyed, and the storage freed, on every path out.
template <class T>
class merge_buffer {
 public:
  explicit merge_buffer(std::size_t n) : data_(std::allocator<T>{}.allocate(n)), n_(n) {}
  merge_buffer(const merge_buffer&) = delete;
  merge_buffer& operator=(const merge_buffer&) = delete;
  ~merge_buffer() {
    std::destroy_n(data_, constructed_);
    std::allocator<T>{}.deallocate(data_, n_);
  }
  T* data() const noexcept { return data_; }
  // Move-constructs the buffer's objects from [first, first + n).
  template <class It>
  void fill_from(It first) {
    for (; constructed_ < n_; ++constructed_, ++first)
      ::new (static_cast<void*>(data_ + constructed_)) T(std::move(*first));
  }

 private:
  T* data_;
  std::size_t n_;
  std::size_t constructed_ = 0;
};

template <class It, class Comp>
void stable_sort(It begin, It end, Comp comp) {
  using T = value_t<It>;
  const std::ptrdiff_t n = end - begin;
  if (n < 2) return;
  if (n <= stable_run_length) {
    insertion_sort(begin, end, comp);
    return;
  }
  merge_buffer<T> buffer(static_cast<std::size_t>(n));
  run_in_pool(n, stable_parallel_cutoff, [&](std::ptrdiff_t cutoff) {
    if constexpr (std::is_trivially_copyable_v<T>) {
      merge_sort(begin, buffer.data(), n, false, comp, cutoff);
    } else {
      buffer.fill_from(begin);
      // The elements are in the buffer now; sort them back into the range.
      merge_sort(buffer.data(), begin, n, true, comp, cutoff);
    }
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Chunks.
// ---------------------------------------------------------------------------------------------------------------
template <class T, class F>
void call_chunk(F& f, std::span<T> chunk, std::size_t index) {
  if constexpr (std::is_invocable_v<F&, std::span<T>, std::size_t>) {
    std::invoke(f, chunk, index);
  } else {
    std::invoke(f, chunk);
  }
}

template <class T, class F>
void chunks_between(std::span<T> all, std::size_t chunk_size, std::size_t lo, std::size_t hi, F& f) {
  if (hi - lo > 1) {
    const std::size_t mid = lo + (hi - lo) / 2;
    tandem::par::join([&] { chunks_between(all, chunk_size, lo, mid, f); },
                      [&] { chunks_between(all, chunk_size, mid, hi, f); });
    return;
  }
  const std::size_t offset = lo * chunk_size;
  call_chunk(f, all.subspan(offset, std::min(chunk_size, all.size() - offset)), lo);
}

template <class T, class F>
void for_each_chunk(std::span<T> all, std::size_t chunk_size, F& f) {
  if (chunk_size == 0) {
    throw std::invalid_argument("tandem::par::for_each_chunk: chunk_size must be at least 1");
  }
  const std::size_t chunks = all.size() / chunk_size + (all.size() % chunk_size != 0 ? 1 : 0);
  if (chunks == 0) return;
  if (chunks == 1) {
    call_chunk(f, all, 0);
    return;
  }
  current_registry().in_worker([&](worker_thread&) { chunks_between(all, chunk_size, 0, chunks, f); });
}

}  // namespace tandem::detail::sorting
