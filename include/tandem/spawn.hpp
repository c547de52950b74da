// spawn, join_handle<T>, yield_now: tasks that run on their own (tokio::spawn).
//
//   tandem::join_handle<int> h = tandem::spawn(compute());   // starts running now
//   int x = co_await h;                                        // its result, or its exception
//
// spawn() puts the task on the runtime the caller runs in (tandem::runtime::handle
// spawns onto a given one from any thread). The task runs concurrently with its
// spawner, possibly on another worker. Awaiting the join_handle gives the task's value
// or rethrows its exception; abort() cancels it at its next suspension point (its frame
// is destroyed: destructors run, no more user code); awaiting an aborted task throws
// tandem::task_cancelled. Destroying the handle detaches the task, which runs on.
//
// Thread safety: a join_handle is not shared, but is_finished() and abort() may be
// called while the task runs on another thread.
#pragma once

#include <coroutine>
#include <stdexcept>
#include <utility>

#include "tandem/detail/runtime/poll_context.hpp"
#include "tandem/detail/runtime/runtime_core.hpp"
#include "tandem/detail/runtime/spawned_task.hpp"
#include "tandem/errors.hpp"
#include "tandem/task.hpp"

namespace tandem {

namespace detail {
template <class T>
T block_on_core(runtime_core& core, task<T> body);
}  // namespace detail

template <class T>
class [[nodiscard]] join_handle {
 public:
  join_handle() noexcept = default;
  join_handle(join_handle&& other) noexcept
      : task_(std::exchange(other.task_, nullptr)), awaited_(std::exchange(other.awaited_, false)) {}
  join_handle& operator=(join_handle&& other) noexcept {
    if (this != &other) {
      release();
      task_ = std::exchange(other.task_, nullptr);
      awaited_ = std::exchange(other.awaited_, false);
    }
    return *this;
  }
  join_handle(const join_handle&) = delete;
  join_handle& operator=(const join_handle&) = delete;
  ~join_handle() { release(); }

  // False for a default-constructed, moved-from, detached or awaited handle.
  bool valid() const noexcept { return task_ != nullptr; }

  // True once the task has finished (value, exception or cancellation).
  bool is_finished() const { return awaited_ || require("is_finished").is_complete(); }

  // Cancels the task at its next suspension point (now, if it is suspended). No
  // effect on a finished task.
  void abort() const {
    if (!awaited_) require("abort").request_cancel();
  }

  // Lets the task run on with nobody waiting for it.
  void detach() noexcept { release(); }

  auto operator co_await() & { return awaiter{this}; }
  auto operator co_await() && { return awaiter{this}; }

 private:
  template <class U>
  friend join_handle<U> detail_make_join_handle(detail::spawned_task<U>*) noexcept;
  friend class runtime;
  template <class U>
  friend U detail::block_on_core(detail::runtime_core&, task<U>);
  template <class>
  friend class task_group;

  explicit join_handle(detail::spawned_task<T>* task) noexcept : task_(task) {}

  detail::spawned_task<T>& require(const char* what) const {
    if (task_ == nullptr)
      throw std::logic_error(std::string("tandem::join_handle::") + what +
                             ": the handle is empty (moved from or detached)");
    return *task_;
  }

  void release() noexcept {
    if (task_ != nullptr) std::exchange(task_, nullptr)->drop_join_handle();
  }

  // Takes the finished task's outcome and lets the task go at once, while its header
  // is still in cache (a loop over a million handles would otherwise touch each twice).
  T take() {
    struct release_after {
      join_handle* handle;
      ~release_after() { handle->release(); }
    } releasing{this};
    awaited_ = true;
    return task_->take_output();
  }

  class awaiter final : public detail::pollable {
   public:
    explicit awaiter(join_handle* handle) : handle_(handle) {
      if (handle->awaited_)
        throw std::logic_error("tandem::join_handle: awaited twice (the result was already taken)");
      handle->require("co_await");
    }
    bool await_ready() noexcept {
      // A finished task costs budget: a loop over ready handles still yields now and then.
      return handle_->task_->is_complete() && detail::consume_budget();
    }
    bool await_suspend(std::coroutine_handle<> caller) {
      detail::poll_context& poll = detail::require_poll("tandem::join_handle");
      if (handle_->task_->is_complete()) {
        // Out of budget: go to the back of the queue, then take the result.
        detail::yield_to_back(poll, caller);
        return true;
      }
      *poll.suspension = {this, caller};
      if (handle_->task_->register_join_waker(poll.task)) {
        *poll.suspension = {};
        return false;
      }
      return true;
    }
    T await_resume() { return handle_->take(); }
    bool advance() override { return handle_->task_->is_complete(); }

   private:
    join_handle* handle_;
  };

  detail::spawned_task<T>* task_ = nullptr;
  bool awaited_ = false;  // the outcome was taken; the task is let go
};

template <class U>
join_handle<U> detail_make_join_handle(detail::spawned_task<U>* task) noexcept {
  return join_handle<U>(task);
}

namespace detail {

inline runtime_core& require_current_runtime(const char* what) {
  runtime_core* core = current_runtime_core();
  if (core == nullptr)
    throw std::logic_error(std::string("tandem::") + what +
                           ": called outside any runtime; use runtime::spawn or a runtime::handle");
  return *core;
}

// The task made, not launched yet. The caller must launch it (launch(core, task)) and
// nothing may throw in between: the reference the launch hands to the scheduler is
// taken here, so an unlaunched task is never freed. `listener`, if any, is told when the
// task completes.
template <class T>
spawned_task<T>* make_spawned(runtime_core& core, task<T> body, completion_listener* listener) {
  if (!body.valid()) throw std::invalid_argument("tandem::spawn: the task is empty (moved from or default)");
  auto* spawned = spawned_task<T>::create(std::move(body), scheduler_of(core));
  spawned->set_listener(listener);
  return spawned;
}

template <class T>
join_handle<T> spawn_on(runtime_core& core, task<T> body, completion_listener* listener = nullptr) {
  spawned_task<T>* spawned = make_spawned(core, std::move(body), listener);
  join_handle<T> handle = detail_make_join_handle(spawned);
  launch(core, spawned);
  return handle;
}

}  // namespace detail

// Spawns onto the runtime the caller runs in; throws std::logic_error outside one.
template <class T>
join_handle<T> spawn(task<T> body) {
  return detail::spawn_on(detail::require_current_runtime("spawn"), std::move(body));
}

// Lets the other tasks run: the caller goes to the back of its worker's queue.
inline auto yield_now() {
  struct awaiter {
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> caller) const {
      detail::yield_to_back(detail::require_poll("tandem::yield_now"), caller);
    }
    void await_resume() const noexcept {}
  };
  return awaiter{};
}

}  // namespace tandem
