// Parallel sorting and chunked work (rayon's par_sort_unstable, par_sort, par_chunks_mut).
//
//   par::sort(v);                                  // unstable, like std::sort
//   par::sort(v.begin(), v.end());                 // iterator pairs work too
//   par::sort(v, std::greater<>{});
//   par::sort(people, {}, &person::age);           // projection, like std::ranges::sort
//   par::stable_sort(records, by_key);             // stable, like std::stable_sort
//   par::for_each_chunk(std::span(v), 4096, [](std::span<T> chunk, std::size_t index) { ... });
//
// Every function here runs on the pool the caller is in (the global pool outside any
// pool) and returns when all the work is done. See docs/par.md, "Sorting".
#pragma once

#include <concepts>
#include <cstddef>
#include <functional>
#include <iterator>
#include <ranges>
#include <span>
#include <type_traits>
#include <utility>

#include "tandem/detail/par/sort_impl.hpp"

namespace tandem::par {

// Sorts `range` into ascending order of comp(proj(a), proj(b)); equal elements may be
// reordered. Pattern-defeating quicksort (pdqsort) whose partitions are sorted in
// parallel with par::join: O(n log n) comparisons in the worst case, O(n) for ranges
// that are sorted, strictly descending or all equal. Works on any random-access range with
// swappable, move-constructible elements (move-only and non-default-constructible ones
// included); allocates nothing. Contiguous ranges of small trivially copyable elements
// get a branchless partition.
//
// - Blocking: returns when the range is sorted. Inside a pool the calling worker takes
//   part (and runs other pool work while it waits for stolen pieces); from any other
//   thread the sort runs on the global pool and the caller blocks. Ranges under 4096
//   elements are sorted on the calling thread.
// - Exceptions: if comp or proj throws, every piece of work still finishes (or stops at
//   its own throw), then the first exception is rethrown; the range then holds a
//   permutation of its input (no element lost or duplicated), in unspecified order; the
//   same holds if a join deep in the sort throws par::stack_exhausted. If a move
//   constructor or move assignment throws, the contents are unspecified.
// - Thread safety: comp and proj are called concurrently from several threads (through
//   one shared reference) and must be safe for that; they must implement a strict weak
//   ordering (otherwise the behaviour is undefined, as for std::sort). Nothing else may
//   access the range during the sort.
template <std::ranges::random_access_range R, class Comp = std::less<>, class Proj = std::identity>
requires std::sortable<std::ranges::iterator_t<R>, Comp, Proj>
void sort(R&& range, Comp comp = {}, Proj proj = {}) {
  detail::sorting::compare_ref<Comp, Proj> cmp{&comp, &proj};
  const auto n = std::ranges::distance(range);
  if constexpr (std::ranges::contiguous_range<R>) {
    auto* first = std::ranges::data(range);
    detail::sorting::unstable_sort(first, first + n, cmp);
  } else {
    auto first = std::ranges::begin(range);
    detail::sorting::unstable_sort(first, first + n, cmp);
  }
}

// The same on [first, last).
template <std::random_access_iterator I,
          std::sentinel_for<I> S,
          class Comp = std::less<>,
          class Proj = std::identity>
requires std::sortable<I, Comp, Proj>
void sort(I first, S last, Comp comp = {}, Proj proj = {}) {
  par::sort(std::ranges::subrange(std::move(first), std::move(last)), std::move(comp), std::move(proj));
}

// Sorts `range` into ascending order of comp(proj(a), proj(b)), keeping equal elements
// in their original order. Merge sort: the halves are sorted in parallel with par::join
// and large merges are split in parallel by binary search. O(n log n) comparisons; one
// buffer of n elements is allocated (std::allocator) for the whole sort. Works with
// move-only and non-default-constructible elements.
//
// - Blocking: as par::sort (ranges of at most 20 elements are sorted on the calling
//   thread without a buffer).
// - Exceptions: std::bad_alloc if the buffer cannot be allocated (the range is then
//   untouched). If comp or proj throws, the pieces of work running at the time finish
//   (or stop at their own throw), then the first exception is rethrown; the range then
//   holds a permutation of its input in unspecified order, and the buffer's objects are
//   destroyed and its storage freed (par::stack_exhausted from a join: the same). If a
//   move constructor or move assignment throws, the contents of the range are
//   unspecified (elements may be left moved-from), but no object is leaked or destroyed
//   twice.
// - Thread safety: as par::sort.
template <std::ranges::random_access_range R, class Comp = std::less<>, class Proj = std::identity>
requires std::sortable<std::ranges::iterator_t<R>, Comp, Proj>
void stable_sort(R&& range, Comp comp = {}, Proj proj = {}) {
  detail::sorting::compare_ref<Comp, Proj> cmp{&comp, &proj};
  const auto n = std::ranges::distance(range);
  if constexpr (std::ranges::contiguous_range<R>) {
    auto* first = std::ranges::data(range);
    detail::sorting::stable_sort(first, first + n, cmp);
  } else {
    auto first = std::ranges::begin(range);
    detail::sorting::stable_sort(first, first + n, cmp);
  }
}

// The same on [first, last).
template <std::random_access_iterator I,
          std::sentinel_for<I> S,
          class Comp = std::less<>,
          class Proj = std::identity>
requires std::sortable<I, Comp, Proj>
void stable_sort(I first, S last, Comp comp = {}, Proj proj = {}) {
  par::stable_sort(std::ranges::subrange(std::move(first), std::move(last)), std::move(comp),
                   std::move(proj));
}

// Cuts the contiguous `range` into consecutive chunks of chunk_size elements (the last
// one may be shorter) and calls f(std::span<T> chunk, std::size_t chunk_index), or
// f(chunk) if f takes only the span, once per chunk, in parallel (rayon's
// par_chunks_mut(n).enumerate().for_each(f)). The chunks are disjoint, so f may write
// its own chunk freely. The range is split in halves with par::join down to single
// chunks; an empty range calls nothing.
//
// - Blocking: returns when every call finished; where it runs is as for par::sort (a
//   single chunk is processed on the calling thread).
// - Exceptions: std::invalid_argument if chunk_size is 0 (before anything runs). If f
//   throws, the other chunks still run (there is no cancellation), then the exception
//   of the lowest-indexed chunk that threw is rethrown (the others are dropped).
// - Thread safety: f is called concurrently from several threads through one shared
//   reference.
template <std::ranges::contiguous_range R, class F>
requires std::ranges::sized_range<R>
void for_each_chunk(R&& range, std::size_t chunk_size, F&& f) {
  using element = std::remove_reference_t<std::ranges::range_reference_t<R>>;
  static_assert(
      std::is_invocable_v<F&, std::span<element>, std::size_t> || std::is_invocable_v<F&, std::span<element>>,
      "par::for_each_chunk: f must be callable as f(std::span<T>, std::size_t) or f(std::span<T>)");
  std::span<element> all(std::ranges::data(range), std::ranges::size(range));
  detail::sorting::for_each_chunk(all, chunk_size, f);
}

}  // namespace tandem::par
