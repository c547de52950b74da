// Detached jobs: par::spawn and pool::spawn.
#pragma once

#include <exception>
#include <functional>
#include <utility>

#include "tandem/detail/par/heap_job.hpp"
#include "tandem/detail/par/join_impl.hpp"
#include "tandem/detail/par/registry.hpp"

namespace tandem::detail {

template <class F>
void spawn_detached(registry& r, F&& f) {
  auto* j = make_heap_job([&r, f = std::forward<F>(f)]() mutable noexcept {
    try {
      std::invoke(f);
    } catch (...) {
      r.handle_error(std::current_exception());
    }
    // Safety: r outlives this call: its destructor waits for every detached job.
    return [&r]() noexcept { r.detached_finished(); };
  });
  r.detached_started();
  try {
    push_or_inject(r, j);
  } catch (...) {  // out of memory in the queue: the job never existed
    delete j;
    r.detached_finished();
    throw;
  }
}

}  // namespace tandem::detail
