// par::scope: spawn any number of closures that may borrow from the enclosing
// stack frame, and wait for all of them (rayon::scope).
//
//   std::vector<int> v = ...;
//   par::scope([&](par::scope& s) {
//     s.spawn([&] { left(v); });
//     s.spawn([&](par::scope& s) { s.spawn([&] { right(v); }); });
//   });  // every spawned closure, nested ones included, has finished here
#pragma once

#include <cstddef>
#include <exception>
#include <functional>
#include <mutex>
#include <optional>
#include <type_traits>
#include <utility>

#include "tandem/detail/par/heap_job.hpp"
#include "tandem/detail/par/join_impl.hpp"
#include "tandem/detail/par/latch.hpp"
#include "tandem/detail/par/registry.hpp"

namespace tandem::par {

// Constructing a scope runs `body(scope&)` on a worker of the current pool (the
// global pool outside any pool), then waits until every closure spawned into the
// scope has finished, running pool work meanwhile. If the body or any spawned
// closure threw, the constructor rethrows the first exception, after all finished.
//
// Thread safety: spawn() may be called from any thread while the scope is open
// (from the body, from spawned closures, or from threads they started).
class scope {
 public:
  template <class Body>
  requires std::is_invocable_v<Body&, scope&>
  explicit scope(Body&& body) {
    detail::current_registry().in_worker([&](detail::worker_thread& w) {
      registry_ = &w.owner();
      pending_.emplace(w);
      try {
        std::invoke(body, *this);
      } catch (...) {
        record_error(std::current_exception());
      }
      pending_->decrement();  // the body's own count
      w.wait_until(pending_->latch());
    });
    if (error_) std::rethrow_exception(error_);
  }

  scope(const scope&) = delete;
  scope& operator=(const scope&) = delete;

  // Queues f to run on the pool before the scope closes. f is called as f(scope&)
  // if it accepts that, else as f(). It owns its captures and may borrow, by
  // reference, anything that outlives the scope.
  template <class F>
  void spawn(F&& f) {
    auto* j = detail::make_heap_job([this, f = std::forward<F>(f)]() mutable noexcept {
      run_spawned(f);
      // Runs after the closure and its captures are destroyed: then the count may drop.
      return [this]() noexcept { pending_->decrement(); };
    });
    pending_->increment();
    try {
      detail::push_or_inject(*registry_, j);
    } catch (...) {  // out of memory in the queue: the spawn never happened
      delete j;
      pending_->decrement();
      throw;
    }
  }

 private:
  template <class F>
  void run_spawned(F& f) noexcept {
    try {
      if constexpr (std::is_invocable_v<F&, scope&>) {
        std::invoke(f, *this);
      } else {
        std::invoke(f);
      }
    } catch (...) {
      record_error(std::current_exception());
    }
  }

  void record_error(std::exception_ptr error) noexcept {
    std::lock_guard lock(error_mutex_);
    if (!error_) error_ = std::move(error);
  }

  detail::registry* registry_ = nullptr;
  std::optional<detail::count_latch<detail::spin_latch>> pending_;
  std::mutex error_mutex_;
  std::exception_ptr error_;
};

}  // namespace tandem::par
