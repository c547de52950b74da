// How a parallel iterator's work is cut into pieces and run.
//
// 1. Sequential first. A consumer whose per-item work is known to be tiny (a source
//    with no user function, consumed by sum/count/min/max/collect) runs on the calling
//    thread outright up to `trivial_sequential_limit` items. Otherwise the calling
//    thread processes growing blocks itself, reading the clock between blocks, until
//    `sequential_budget` has passed. The first block is one item (one item may be a
//    whole second of work). Each next block is at most `sequential_growth` times the
//    items done so far, and at most what the last block's time per item says still
//    fits in the budget. Small inputs therefore never touch the pool (rayon#648 is the
//    trap) and pay a plain loop plus a few clock reads: three for 10 cheap items, seven
//    for 10,000. A read costs about 25 ns, so reading after every doubling made a
//    100-item map four times slower than a loop. Inputs whose items cost about the same end the sequential
//    phase within about the budget; items that get much costlier along the input can
//    overshoot it by up to one block.
// 2. Then in parallel. The rest goes to the pool (the caller's own, else the global
//    one; a thread outside the pool blocks meanwhile) and is split in halves with
//    par::join by rayon's adaptive rule: about one piece per thread to start with, and
//    a piece that was stolen is split again (a thief is a sign of hungry workers),
//    within the user's with_min_len / with_max_len bounds.
// Results of pieces are combined in index order, so ordered consumers (collect,
// find_first) see the items in sequence order.
//
// Stopping early: every piece of one call shares a run_state. A short-circuiting
// consumer (any, all, find_*) or a user function that throws sets `stop`; pieces that
// have not started then do nothing, and running ones stop at their next item where the
// consumer checks. A throw is rethrown to the caller after the running pieces finish
// (par::join guarantees that).
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <utility>

#include "tandem/detail/par/registry.hpp"
#include "tandem/par/join.hpp"

namespace tandem::detail::iter {

inline constexpr std::size_t trivial_sequential_limit = 32 * 1024;
inline constexpr std::chrono::nanoseconds sequential_budget = std::chrono::microseconds(25);
inline constexpr std::size_t sequential_growth = 4;

struct split_hints {
  std::size_t min_len = 1;
  std::size_t max_len = std::numeric_limits<std::size_t>::max();
};

struct run_state {
  // Relaxed everywhere: a hint to skip work; results travel through par::join.
  std::atomic<bool> stop{false};
  bool stopped() const noexcept { return stop.load(std::memory_order_relaxed); }
  void request_stop() noexcept { stop.store(true, std::memory_order_relaxed); }
};

// rayon's thief splitting: a budget of splits that halves with each split and is
// refilled when a piece turns out to have been stolen.
class adaptive_splitter {
 public:
  explicit adaptive_splitter(std::size_t threads) : splits_(threads), threads_(threads) {}
  bool try_split(bool stolen) {
    if (stolen) {
      splits_ = std::max(threads_, splits_ / 2);
      return true;
    }
    if (splits_ == 0) return false;
    splits_ /= 2;
    return true;
  }

 private:
  std::size_t splits_;
  std::size_t threads_;
};

template <class Leaf, class Combine>
class piece_runner {
 public:
  using result_type = decltype(std::declval<Leaf&>()(std::size_t{}, std::size_t{}));

  piece_runner(Leaf& leaf, Combine& combine, run_state& state, split_hints hints)
      : leaf_(leaf), combine_(combine), state_(state), hints_(hints) {}

  result_type run(std::size_t n, bool trivial) {
    if (n == 0 || (trivial && n <= trivial_sequential_limit)) return leaf(0, n);
    using clock = std::chrono::steady_clock;
    const auto start = clock::now();
    auto block_start = start;
    std::size_t done = std::min(n, std::max<std::size_t>(1, hints_.min_len));
    std::size_t block = done;
    // emplace, never assignment: a result holding references (an optional pair from
    // enumerate) would assign through them into the user's data.
    std::optional<result_type> acc;
    acc.emplace(leaf(0, done));
    while (done < n && !state_.stopped()) {
      const auto now = clock::now();
      if (now - start >= sequential_budget) break;
      block = next_sequential_block(done, block, now - block_start, sequential_budget - (now - start));
      block_start = now;
      const std::size_t next = std::min(n, done + block);
      result_type combined = combine_(std::move(*acc), leaf(done, next));
      acc.emplace(std::move(combined));
      done = next;
    }
    if (done == n || state_.stopped()) return std::move(*acc);
    return combine_(std::move(*acc), in_parallel(done, n));
  }

 private:
  // The size of the calling thread's next block (see the top of the file), within the
  // user's with_min_len / with_max_len bounds.
  std::size_t next_sequential_block(std::size_t done, std::size_t last_block, std::chrono::nanoseconds last_time,
                                    std::chrono::nanoseconds budget_left) const {
    const auto per_item = std::max<std::int64_t>(1, last_time.count() / static_cast<std::int64_t>(last_block));
    const auto fits = static_cast<std::size_t>(budget_left.count() / per_item);
    const std::size_t wanted = std::clamp<std::size_t>(fits, 1, sequential_growth * done);
    return std::clamp(wanted, std::max<std::size_t>(1, hints_.min_len), hints_.max_len);
  }

  result_type in_parallel(std::size_t lo, std::size_t hi) {
    registry& r = current_registry();
    return r.in_worker(
        [&](worker_thread& w) { return split(lo, hi, adaptive_splitter(w.owner().num_threads()), false); });
  }

  result_type split(std::size_t lo, std::size_t hi, adaptive_splitter splitter, bool stolen) {
    if (state_.stopped()) return leaf(lo, lo);
    const std::size_t len = hi - lo;
    if (len / 2 >= hints_.min_len && (len > hints_.max_len || splitter.try_split(stolen))) {
      const std::size_t mid = lo + len / 2;
      const worker_thread* creator = current_worker;
      auto [left, right] = par::join([&] { return split(lo, mid, splitter, false); },
                                     [&] { return split(mid, hi, splitter, current_worker != creator); });
      return combine_(std::move(left), std::move(right));
    }
    return leaf(lo, hi);
  }

  result_type leaf(std::size_t lo, std::size_t hi) {
    try {
      return leaf_(lo, hi);
    } catch (...) {
      state_.request_stop();
      throw;
    }
  }

  Leaf& leaf_;
  Combine& combine_;
  run_state& state_;
  split_hints hints_;
};

// Runs leaf(lo, hi) over [0, n) as described above and combines the results in order.
// leaf(i, i) must return the identity of combine.
template <class Leaf, class Combine>
auto run_pieces(
    std::size_t n, bool trivial, split_hints hints, run_state& state, Leaf leaf, Combine combine) {
  return piece_runner<Leaf, Combine>(leaf, combine, state, hints).run(n, trivial);
}

}  // namespace tandem::detail::iter
