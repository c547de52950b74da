// par::broadcast: run a closure once on every worker of the current pool.
#pragma once

#include "tandem/detail/par/broadcast_impl.hpp"
#include "tandem/detail/par/join_impl.hpp"

namespace tandem::par {

// Runs f() once on each worker thread of the pool the caller is in (the global pool
// outside any pool) and returns the results in thread index order as a
// std::vector (nothing for a void f). Blocks until every thread ran it; a worker
// caller keeps running pool work meanwhile, its own piece included. If f throws on
// some threads, the others still run, then the first exception is rethrown.
//
// Thread safety: callable from any thread; f runs concurrently on all workers.
template <class F>
auto broadcast(F&& f) {
  return detail::broadcast_on(detail::current_registry(), f);
}

}  // namespace tandem::par
