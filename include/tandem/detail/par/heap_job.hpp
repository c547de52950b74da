// A job that owns its closure and frees itself after running: spawned work that
// outlives the frame that created it (par::spawn, scope::spawn).
#pragma once

#include <memory>
#include <utility>

#include "tandem/detail/par/job.hpp"

namespace tandem::detail {

template <class F>
class heap_job final : public job {
 public:
  template <class G>
  explicit heap_job(G&& f) : job(&run), f_(std::forward<G>(f)) {}

 private:
  static void run(job* self) noexcept {
    // Safety: created by make_heap_job with new and queued exactly once, so this is
    // the single owner; the closure must not throw (callers wrap it).
    std::unique_ptr<heap_job> me(static_cast<heap_job*>(self));
    static_assert(noexcept(me->f_()), "heap_job closures handle their own exceptions");
    me->f_();
  }

  F f_;
};

template <class F>
job* make_heap_job(F&& f) {
  return new heap_job<std::decay_t<F>>(std::forward<F>(f));
}

}  // namespace tandem::detail
