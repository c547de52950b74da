// par::compute: the bridge. Async code hands CPU-heavy work to the parallel engine and
// awaits it without blocking its worker.
//
//   auto hashes = co_await tandem::par::compute([&] {
//     return tandem::par::iter(images).map(hash).collect<std::vector>();   // all cores
//   });
//
// `f` runs on a par pool (the global one, or the one given), where it may use par::join,
// par::scope and par iterators; the awaiting task is suspended meanwhile (its worker
// runs other tasks) and resumes on its runtime with f's value, or f's exception
// rethrown. The work starts at once; dropping the handle lets it finish unobserved.
// In the other direction, par code (a par worker or any plain thread) runs async work
// with runtime::block_on or runtime::handle::block_on.
//
// Thread safety: `f` runs on a par worker, not on the caller's thread.
#pragma once

#include <memory>
#include <type_traits>
#include <utility>

#include "tandem/par/pool.hpp"
#include "tandem/par/spawn.hpp"
#include "tandem/result_handle.hpp"
#include "tandem/sync/oneshot.hpp"

namespace tandem::par {

namespace detail_bridge {

template <class F>
struct compute_job {
  using result = std::invoke_result_t<F&>;
  F f;
  oneshot_sender<tandem::detail::outcome_of<result>> done;
  void operator()() { done.send(tandem::detail::outcome_of<result>::run(f)); }
};

}  // namespace detail_bridge

// Runs `f` on `pool`; await the returned handle for its result.
template <class F>
auto compute(pool& on, F f) {
  using result = std::invoke_result_t<F&>;
  auto [tx, rx] = oneshot<tandem::detail::outcome_of<result>>();
  // par::spawn takes copyable or move-only closures; the job owns the sender.
  on.spawn(detail_bridge::compute_job<F>{std::move(f), std::move(tx)});
  return tandem::detail::make_result_handle<result>(std::move(rx));
}

// Runs `f` on the current par pool (the global one outside any pool).
template <class F>
auto compute(F f) {
  using result = std::invoke_result_t<F&>;
  auto [tx, rx] = oneshot<tandem::detail::outcome_of<result>>();
  par::spawn(detail_bridge::compute_job<F>{std::move(f), std::move(tx)});
  return tandem::detail::make_result_handle<result>(std::move(rx));
}

}  // namespace tandem::par
