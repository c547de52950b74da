// A job that owns its closure and frees itself after running: spawned work that
// outlives the frame that created it (par::spawn, scope::spawn).
#pragma once

#include <memory>
#include <utility>

#include "tandem/detail/par/job.hpp"

namespace tandem::detail {

// F is called once and returns a "finish" callable, which runs after the closure
// (and everything it captured) has been destroyed. Completion signals go there: a
// scope may close, and its frame vanish, the moment its count drops, so no capture
// may still be alive then.
template <class F>
class heap_job final : public job {
 public:
  template <class G>
  explicit heap_job(G&& f) : job(&run), f_(std::forward<G>(f)) {}

 private:
  static void run(job* self) noexcept {
    // Safety: created by make_heap_job with new and queued exactly once, so this is
    // the single owner; the closure must not throw (callers wrap it).
    static_assert(noexcept(std::declval<F&>()()), "heap_job closures handle their own exceptions");
    std::unique_ptr<heap_job> me(static_cast<heap_job*>(self));
    auto finish = me->f_();
    me.reset();
    finish();
  }

  F f_;
};

// Returns the concrete type so that a caller whose queueing failed can delete it.
template <class F>
heap_job<std::decay_t<F>>* make_heap_job(F&& f) {
  return new heap_job<std::decay_t<F>>(std::forward<F>(f));
}

}  // namespace tandem::detail
