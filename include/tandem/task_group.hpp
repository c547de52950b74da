// task_group<T>: many spawned tasks, awaited in the order they finish (tokio's JoinSet).
//
//   tandem::task_group<int> group;
//   for (auto url : urls) group.spawn(fetch(url));
//   while (auto result = co_await group.next()) use(*result);   // completion order
//
// spawn() spawns onto the current runtime (or the given handle's). next() gives the value
// of the next task to finish, an empty optional once the group is empty, and rethrows a
// task's exception (tandem::task_cancelled for an aborted one). join_all() collects every
// remaining value in completion order. abort_all() cancels every task still running;
// destroying the group does too (their results are dropped).
//
// Thread safety: a group is used by one task at a time; its tasks run anywhere and
// report their completion from any thread.
#pragma once

#include <atomic>
#include <coroutine>
#include <cstddef>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include "tandem/detail/runtime/poll_context.hpp"
#include "tandem/detail/runtime/task_header.hpp"
#include "tandem/runtime.hpp"
#include "tandem/spawn.hpp"
#include "tandem/task.hpp"

namespace tandem {

namespace detail {

// Shared by a task_group and its tasks: each task reports here when it completes.
// Freed when the group is gone and every task has reported (reference counted).
template <class T>
class group_state final : public completion_listener {
 public:
  void task_completed(task_header* member) noexcept override {
    task_header* waiter = nullptr;
    {
      std::lock_guard guard(mutex);
      completed.push_back(member);  // capacity reserved by spawn: cannot throw
      waiter = std::exchange(this->waiter, nullptr);
    }
    if (waiter != nullptr) {
      waiter->wake_by_ref();
      waiter->drop_ref();
    }
    release();
  }

  void retain() noexcept {
    // Relaxed: the caller holds a reference already.
    references.fetch_add(1, std::memory_order_relaxed);
  }
  void release() noexcept {
    // acq_rel: the last one sees every other holder's writes before deleting.
    if (references.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }

  bool has_news() const { return next_completed < completed.size() || members.empty(); }

  std::mutex mutex;
  std::unordered_map<task_header*, join_handle<T>> members;
  std::vector<task_header*> completed;  // completion order; [next_completed, size) not yet taken
  std::size_t next_completed = 0;
  task_header* waiter = nullptr;  // the task awaiting next(), a counted reference
  std::atomic<std::size_t> references{1};
};

}  // namespace detail

template <class T>
class task_group {
  using slot = std::conditional_t<std::is_void_v<T>, std::monostate, T>;

 public:
  task_group() : state_(new detail::group_state<T>()) {}
  task_group(const task_group&) = delete;
  task_group& operator=(const task_group&) = delete;
  ~task_group() {
    abort_all();
    task_header_ptr waiter = nullptr;
    {
      std::lock_guard guard(state_->mutex);
      waiter = std::exchange(state_->waiter, nullptr);
    }
    if (waiter != nullptr) waiter->drop_ref();
    state_->release();
  }

  // Spawns onto the runtime the caller runs in (std::logic_error outside one).
  void spawn(task<T> body) {
    spawn_on(detail::require_current_runtime("task_group::spawn"), std::move(body));
  }
  void spawn(const runtime::handle& on, task<T> body) { spawn_on(on.require_core("spawn"), std::move(body)); }

  // Tasks not yet taken by next() (running or finished).
  std::size_t size() const {
    std::lock_guard guard(state_->mutex);
    return state_->members.size();
  }
  bool empty() const { return size() == 0; }

  // Cancels every task still running; each still comes out of next() (as task_cancelled).
  void abort_all() {
    std::lock_guard guard(state_->mutex);
    for (auto& [header, handle] : state_->members) handle.abort();
  }

  // The next task to finish: its value, or its exception rethrown; empty once the group
  // has no tasks left.
  auto next() { return next_awaiter{state_}; }

  // Every remaining value, in completion order; the first exception is rethrown (the
  // remaining tasks stay in the group).
  task<std::vector<slot>> join_all() {
    std::vector<slot> values;
    while (auto value = co_await next()) values.push_back(std::move(*value));
    co_return values;
  }

 private:
  using task_header_ptr = detail::task_header*;

  // The task is launched only after the lock is let go: on a runtime that has shut down
  // the launch cancels it on this thread, and its report (task_completed) takes the lock.
  // So it is listed in `members` before it can report, and whatever can throw comes
  // before the task exists: an unlaunched task would never be freed. The reservations
  // hold until the insert because the group is used by one task at a time (the header).
  void spawn_on(detail::runtime_core& core, task<T> body) {
    detail::group_state<T>& state = *state_;
    auto entry = member_entry();
    {
      std::lock_guard lock(state.mutex);
      state.completed.reserve(state.completed.size() + state.members.size() + 1);
      state.members.reserve(state.members.size() + 1);
    }
    detail::spawned_task<T>* spawned = detail::make_spawned(core, std::move(body), &state);
    state.retain();  // the task's reference, given back by task_completed
    entry.key() = spawned;
    entry.mapped() = detail_make_join_handle(spawned);
    {
      std::lock_guard lock(state.mutex);
      state.members.insert(std::move(entry));  // buckets reserved above: cannot throw
    }
    detail::launch(core, spawned);
  }

  // A node of `members`, allocated ahead of the task it will hold.
  static auto member_entry() {
    decltype(detail::group_state<T>::members) staging;
    staging.emplace(nullptr, join_handle<T>());
    return staging.extract(staging.begin());
  }

  class next_awaiter final : public detail::pollable {
   public:
    explicit next_awaiter(detail::group_state<T>* state) : state_(state) {}
    bool await_ready() {
      std::lock_guard guard(state_->mutex);
      return state_->has_news();
    }
    bool await_suspend(std::coroutine_handle<> caller) {
      detail::poll_context& poll = detail::require_poll("tandem::task_group::next");
      std::lock_guard guard(state_->mutex);
      if (state_->has_news()) return false;
      detail::replace_waker(state_->waiter, poll.task);
      *poll.suspension = {this, caller};
      return true;
    }
    bool advance() override {
      std::lock_guard guard(state_->mutex);
      return state_->has_news();
    }
    std::optional<slot> await_resume() {
      join_handle<T> finished;
      {
        std::lock_guard guard(state_->mutex);
        if (state_->next_completed == state_->completed.size()) return std::nullopt;
        detail::task_header* header = state_->completed[state_->next_completed++];
        if (state_->next_completed == state_->completed.size()) {
          state_->completed.clear();
          state_->next_completed = 0;
        }
        auto it = state_->members.find(header);
        finished = std::move(it->second);
        state_->members.erase(it);
      }
      if constexpr (std::is_void_v<T>) {
        finished.take();
        return slot{};
      } else {
        return finished.take();
      }
    }

   private:
    detail::group_state<T>* state_;
  };

  detail::group_state<T>* state_;
};

}  // namespace tandem
