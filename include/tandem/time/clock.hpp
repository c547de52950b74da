// The runtime's clock: time::now() and, for tests, a paused clock moved by hand
// (tokio::time::Instant::now, pause, advance).
//
//   auto rt = tandem::runtime::builder().start_paused(true).build();
//   rt.block_on([]() -> tandem::task<void> {
//     auto start = tandem::time::now();
//     co_await tandem::time::advance(std::chrono::hours(1));   // no real time passes
//     assert(tandem::time::now() - start == std::chrono::hours(1));
//   }());
//
// time::now() is the clock of the runtime the caller runs in (steady_clock's now
// outside one). A runtime built with builder::start_paused(true) has a clock that
// stands still: `co_await time::advance(d)` moves it by d, fires every timer then due,
// and yields so the woken tasks run. When every worker is idle and no blocking work is
// in flight, a paused runtime jumps its clock straight to the next timer, so a test that
// sleeps for an hour finishes at once (tokio's auto-advance). Work handed to other
// threads outside the runtime's knowledge (par::compute, plain threads) does not hold
// the jump back: a paused test should not mix them with timers it expects to wait.
//
// Thread safety: now() may be called from any thread; advance is awaited in a task of
// the paused runtime.
#pragma once

#include <chrono>
#include <coroutine>

#include "tandem/detail/runtime/poll_context.hpp"
#include "tandem/detail/runtime/runtime_core.hpp"
#include "tandem/detail/runtime/task_header.hpp"

namespace tandem::time {

using clock = std::chrono::steady_clock;
using time_point = clock::time_point;

inline time_point now() noexcept {
  if (detail::runtime_core* core = detail::current_runtime_core()) return detail::clock_of(*core).now();
  return clock::now();
}

// Moves a paused clock forward by `by`, fires the timers then due and yields. Throws
// std::logic_error on a runtime whose clock is not paused, std::invalid_argument for a
// negative duration.
inline auto advance(std::chrono::nanoseconds by) {
  struct awaiter {
    std::chrono::nanoseconds by;
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> caller) const {
      detail::poll_context& poll = detail::require_poll("tandem::time::advance");
      detail::advance_paused_clock(*detail::current_runtime_core(), by);
      detail::yield_to_back(poll, caller);
    }
    void await_resume() const noexcept {}
  };
  return awaiter{by};
}

}  // namespace tandem::time
