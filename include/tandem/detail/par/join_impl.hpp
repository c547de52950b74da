// The fork-join primitive. See src/par/README.md for the protocol.
#pragma once

#include <utility>

#include "tandem/detail/par/job.hpp"
#include "tandem/detail/par/latch.hpp"
#include "tandem/detail/par/registry.hpp"

namespace tandem::detail {

[[noreturn]] void throw_stack_exhausted();

// a threw while b was queued: b must still finish (it may borrow from the frame
// being unwound), and its own outcome is dropped in favour of a's exception.
template <class Job, class B>
[[gnu::noinline]] void settle_after_failure(worker_thread& w, Job& job_b, std::int64_t slot, B& b) noexcept {
  if (w.take_back(&job_b, slot, job_b.latch.core())) {
    try {
      std::invoke(b);
    } catch (...) {  // a's exception is the one the caller gets
    }
  } else {
    job_b.result.discard();
  }
}

// Runs a here and offers b to thieves meanwhile; b runs here too unless stolen.
// Cost when nobody steals: a push and a take-back on the private end of the deque,
// plain stores and loads only (the store-load fence is asymmetric), no allocation,
// and nothing written for b's result, which b returns straight into the pair.
template <class A, class B>
[[gnu::always_inline]] inline std::pair<closure_value_t<A>, closure_value_t<B>> join_on(worker_thread& w,
                                                                                        A& a,
                                                                                        B& b) {
  if (w.stack_nearly_exhausted()) [[unlikely]] {
    throw_stack_exhausted();
  }
  stack_job<spin_latch, B> job_b(b, w);
  const std::int64_t slot = w.push(&job_b);
  closure_value_t<A> value_a = [&]() -> closure_value_t<A> {
    try {
      return invoke_to_value(a);
    } catch (...) {
      settle_after_failure(w, job_b, slot, b);
      throw;
    }
  }();
  if (w.take_back(&job_b, slot, job_b.latch.core())) [[likely]] {
    return {std::forward<closure_value_t<A>>(value_a), invoke_to_value(b)};
  }
  return {std::forward<closure_value_t<A>>(value_a), job_b.result.take()};
}

// par::join called from a thread outside every pool: the whole join moves to the
// global pool and the caller blocks.
template <class A, class B>
[[gnu::noinline]] std::pair<closure_value_t<A>, closure_value_t<B>> join_from_outside(A& a, B& b) {
  return registry::global().in_worker([&](worker_thread& w) { return join_on(w, a, b); });
}

// The registry par calls made on this thread go to: its own pool, or the global one.
inline registry& current_registry() {
  worker_thread* w = current_worker;
  return w != nullptr ? w->owner() : registry::global();
}

// Queue a job on registry r: on the local deque if we are one of r's workers.
inline void push_or_inject(registry& r, job* j) {
  worker_thread* w = current_worker;
  if (w != nullptr && &w->owner() == &r) {
    w->push(j);
  } else {
    r.inject(j);
  }
}

}  // namespace tandem::detail
