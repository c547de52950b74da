// What a running task's awaitables need to know: which task is being polled, where
// its suspended coroutine waits, and how much cooperative budget is left.
//
// A task is polled by the scheduler: the worker sets up a poll_context and resumes the
// coroutine the task last suspended in. An awaitable of tandem that has to wait
// (join_handle, yield_now, join/select, later timers, channels and sockets) records in
// `suspension` what it waits on (a `pollable`) and the coroutine to resume, registers
// the task (a counted reference to its header) with whatever will wake it, and
// suspends. A wake makes the scheduler poll the task again, which asks the pollable
// whether it can go on (`advance`) before resuming: a wake may be stale, and a
// combinator (join, select) uses `advance` to move its own branches forward.
//
// Thread safety: a poll_context belongs to the thread running the poll.
#pragma once

#include <coroutine>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace tandem::detail {

class task_header;

// Something a suspended coroutine waits on.
class pollable {
 public:
  // Called on the polling thread. True when the waiting coroutine can be resumed
  // (it will then find its result ready); may move sub-tasks forward first.
  virtual bool advance() = 0;

 protected:
  ~pollable() = default;
};

// Where a task (or one branch of a combinator) is suspended.
struct suspension_point {
  pollable* waiting_on = nullptr;  // null: resume without asking (first poll, yields)
  std::coroutine_handle<> coroutine;
};

// Operations a task may do in one poll before tandem's awaitables make it yield, so a
// task that always finds its channel ready cannot starve the others (tokio's value).
inline constexpr std::uint32_t cooperative_budget = 128;

struct poll_context {
  task_header* task = nullptr;
  suspension_point* suspension = nullptr;  // the task's, or the branch being advanced
  std::uint32_t budget = cooperative_budget;
};

// Null outside a poll. Set and restored by the scheduler and by combinators.
inline thread_local poll_context* current_poll = nullptr;

// The poll the calling awaitable runs in; `what` names it in the error thrown when a
// tandem awaitable is awaited outside a task run by a tandem runtime.
inline poll_context& require_poll(const char* what) {
  poll_context* poll = current_poll;
  if (poll == nullptr)
    throw std::logic_error(std::string(what) + ": awaited outside a task run by a tandem runtime");
  return *poll;
}

// True when the polled task has spent its budget: it must yield before completing
// another ready operation.
inline bool budget_spent() noexcept {
  const poll_context* poll = current_poll;
  return poll != nullptr && poll->budget == 0;
}

// Takes one unit of budget; false (and nothing taken) when it is spent.
inline bool consume_budget() noexcept {
  poll_context* poll = current_poll;
  if (poll == nullptr) return true;
  if (poll->budget == 0) return false;
  --poll->budget;
  return true;
}

}  // namespace tandem::detail
