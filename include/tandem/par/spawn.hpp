// par::spawn: fire-and-forget work on the current pool (rayon::spawn).
#pragma once

#include <utility>

#include "tandem/detail/par/join_impl.hpp"
#include "tandem/detail/par/spawn_impl.hpp"

namespace tandem::par {

// Queues f on the pool the caller is in (the global pool outside any pool) and
// returns at once. f owns its captures and runs exactly once; an exception from it
// goes to the pool's error handler (see pool::builder::error_handler). A pool's
// destructor waits for all its spawned jobs, including those they spawn.
//
// Thread safety: callable from any thread.
template <class F>
void spawn(F&& f) {
  detail::spawn_detached(detail::current_registry(), std::forward<F>(f));
}

}  // namespace tandem::par
