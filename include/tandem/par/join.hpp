// par::join: run two closures, potentially in parallel (rayon::join).
#pragma once

#include <utility>

#include "tandem/detail/par/join_impl.hpp"
#include "tandem/detail/par/registry.hpp"
#include "tandem/par/errors.hpp"

namespace tandem::par {

// Runs a on the calling thread and offers b to idle workers; returns
// std::pair{a(), b()}, with std::monostate standing in for a void result.
//
// - Inside a pool: b sits on the caller's deque as an object on the caller's stack
//   (no allocation). If nobody stole it the caller runs it after a; if a thief did,
//   the caller runs other work until b is done (it does not block the thread).
// - Outside any pool: the whole join runs on the global pool and the caller blocks.
// - Exceptions: both closures always finish; then a's exception is rethrown, else b's.
// - Deep nesting: throws par::stack_exhausted instead of overflowing the stack.
//
// Thread safety: callable from any thread. a and b may run on different threads,
// so anything they share needs the usual synchronization.
template <class A, class B>
auto join(A&& a, B&& b) {
  if (detail::worker_thread* w = detail::current_worker) [[likely]] {
    return detail::join_on(*w, a, b);
  }
  return detail::join_from_outside(a, b);
}

}  // namespace tandem::par
