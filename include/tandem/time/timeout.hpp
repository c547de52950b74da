// timeout, timeout_at: give an operation a time limit (tokio::time::timeout).
//
//   try {
//     std::string reply = co_await tandem::timeout(std::chrono::seconds(2), fetch(url));
//   } catch (const tandem::timed_out&) { ... }
//
// Runs the awaitable (a task, a join_handle, a channel receive, ...) and gives its
// result, or its exception. If the deadline comes first, the operation is cancelled (its
// frame destroyed, with everything it was waiting on) and tandem::timed_out is thrown.
// The operation is started before the deadline is looked at, so an operation that is
// ready at once wins even with a zero duration. A timed-out join_handle is dropped,
// which detaches its task (as in tokio): abort() it yourself to stop it.
//
// Cancellation-safe when the operation is.
// Thread safety: runs inside the awaiting task.
#pragma once

#include <chrono>
#include <utility>
#include <variant>

#include "tandem/combine.hpp"
#include "tandem/errors.hpp"
#include "tandem/task.hpp"
#include "tandem/time/clock.hpp"
#include "tandem/time/sleep.hpp"

namespace tandem {

// The awaitable's result, or timed_out once `deadline` has come.
template <class A>
task<detail::branch_value_t<A>> timeout_at(time::time_point deadline, A operation) {
  auto outcome = co_await select(std::move(operation), sleep_until(deadline));
  if (outcome.index() == 1) throw timed_out();
  if constexpr (!std::is_void_v<detail::branch_value_t<A>>) co_return std::get<0>(std::move(outcome));
}

// The awaitable's result, or timed_out after `limit`.
template <class A>
task<detail::branch_value_t<A>> timeout(std::chrono::nanoseconds limit, A operation) {
  return timeout_at(sleep(limit).deadline(), std::move(operation));
}

}  // namespace tandem
