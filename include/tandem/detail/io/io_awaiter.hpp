// io_awaiter: the one shape of every socket operation (read, write, accept, connect,
// send_to, ...): try the syscall; if it would block, wait for the driver to say the
// direction is ready, and try again. The waiting protocol is io_registration's.
//
// An Operation provides:
//   static constexpr io_direction direction;
//   static constexpr const char* name;      // for errors
//   io_progress attempt(int fd);            // one try of the syscall (no throwing)
//   R result();                             // await_resume: the result, or throws the error
//
// Cancellation: an awaiter destroyed while waiting (task aborted, a lost select, a
// timeout) unlinks its node under the registration's lock; what the syscall did before
// stays done (a read that returned bytes returned them), as with tokio.
//
// Thread safety: an awaiter belongs to the task polling it.
#pragma once

#include <coroutine>
#include <cstdint>
#include <mutex>
#include <utility>

#include "tandem/detail/io/io_registration.hpp"
#include "tandem/detail/runtime/poll_context.hpp"
#include "tandem/detail/runtime/task_header.hpp"

namespace tandem::detail {

enum class io_progress {
  done,         // finished (with a result or an error)
  drained,      // finished, and it showed the direction is empty now (a short read)
  short_wait,   // not finished; a short transfer showed the direction is empty now
  would_block,  // EAGAIN: wait for the direction to become ready
};

template <class Operation>
class io_awaiter : public pollable {
 public:
  io_awaiter(io_registration& registration, Operation operation) noexcept
      : registration_(&registration), operation_(std::move(operation)) {}
  // Movable only before it is awaited (timeout and select take awaitables by value):
  // no node is filed yet.
  io_awaiter(io_awaiter&& other) noexcept
      : registration_(other.registration_), operation_(std::move(other.operation_)) {}
  io_awaiter& operator=(const io_awaiter&) = delete;

  ~io_awaiter() {
    if (!filed_once_) return;
    std::lock_guard guard(registration_->mutex());
    if (node_.queued) registration_->waiters(Operation::direction).remove(node_);
  }

  bool await_ready() {
    if (budget_spent()) return false;
    return try_now();
  }

  bool await_suspend(std::coroutine_handle<> caller) {
    poll_context& poll = require_poll(Operation::name);
    *poll.suspension = {this, caller};
    if (budget_spent()) {
      // Back of the queue; the next poll's advance() tries again.
      poll.task->wake_by_ref(schedule_kind::yielded);
      return true;
    }
    return !wait_or_finish(poll.task);
  }

  bool advance() override { return wait_or_finish(current_poll->task); }

  decltype(auto) await_resume() { return operation_.result(); }

 private:
  static constexpr io_direction direction = Operation::direction;

  // One try if the direction may be ready; true when the operation finished.
  bool try_now() {
    const std::uint64_t seen = registration_->load_readiness();
    if ((seen & io_registration::bit_of(direction)) == 0) return false;
    switch (operation_.attempt(registration_->fd())) {
      case io_progress::done:
        consume_budget();
        return true;
      case io_progress::drained:
        registration_->clear_readiness_after_short(direction, seen);
        consume_budget();
        return true;
      case io_progress::short_wait:
        registration_->clear_readiness_after_short(direction, seen);
        return false;
      case io_progress::would_block:
        registration_->clear_readiness(direction, seen);
        return false;
    }
    return false;
  }

  // True when finished; otherwise the node is filed (or stays filed) to wake `task`.
  bool wait_or_finish(task_header* task) {
    for (;;) {
      if (try_now()) return true;
      std::lock_guard guard(registration_->mutex());
      // An event since the try: try again rather than wait for one that already came.
      if ((registration_->readiness_locked() & io_registration::bit_of(direction)) != 0) continue;
      node_.waker = waker_ref::for_task(task);
      if (!node_.queued) registration_->waiters(direction).push_back(node_);
      filed_once_ = true;
      return false;
    }
  }

  io_registration* registration_;
  Operation operation_;
  wait_node node_;
  bool filed_once_ = false;
};

}  // namespace tandem::detail
