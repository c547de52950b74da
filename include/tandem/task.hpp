// task<T>: a lazy coroutine, the unit of async work.
//
//   tandem::task<int> answer() { co_return 42; }
//   tandem::task<> caller() { int x = co_await answer(); ... }
//
// A task does nothing until it is awaited (or spawned, or handed to run / block_on).
// Awaiting one transfers control straight into it and, when it finishes, straight back
// to the awaiter (symmetric transfer), so chains of any depth of immediately-finishing
// awaits use no stack. An exception escaping the task is stored and rethrown by the
// co_await. Destroying a task that never ran, or that is suspended, destroys its frame
// (and through it any tasks it owns). Frames come from per-thread free lists
// (detail/runtime/frame_allocator.hpp), so a steady stream of tasks does not call malloc.
//
// task<T>, task<T&> and task<void> (task<>). Move-only; awaited at most once, as an
// rvalue: `co_await std::move(t)` or `co_await make()`.
//
// Thread safety: a task object is not shared; its coroutine runs wherever the task that
// awaits it runs.
#pragma once

#include <coroutine>
#include <cstddef>
#include <exception>
#include <memory>
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <utility>

#include "tandem/detail/runtime/frame_allocator.hpp"

namespace tandem {

template <class T = void>
class task;

namespace detail {

class task_promise_base {
 public:
  static void* operator new(std::size_t bytes) { return allocate_frame(bytes); }
  static void operator delete(void* frame, std::size_t bytes) noexcept { deallocate_frame(frame, bytes); }

  std::suspend_always initial_suspend() const noexcept { return {}; }

  struct final_awaiter {
    bool await_ready() const noexcept { return false; }
    template <class Promise>
    std::coroutine_handle<> await_suspend(std::coroutine_handle<Promise> self) const noexcept {
      // No continuation: the task is the root of a spawned task; returning to the
      // scheduler's resume() lets it see done().
      std::coroutine_handle<> next = self.promise().continuation_;
      return next ? next : std::noop_coroutine();
    }
    void await_resume() const noexcept {}
  };
  final_awaiter final_suspend() const noexcept { return {}; }

  void unhandled_exception() noexcept { exception_ = std::current_exception(); }
  // True when the body ended with an exception (not yet taken).
  bool failed() const noexcept { return static_cast<bool>(exception_); }
  void set_continuation(std::coroutine_handle<> c) noexcept { continuation_ = c; }

 protected:
  void rethrow_if_failed() const {
    if (exception_) std::rethrow_exception(exception_);
  }
  std::exception_ptr take_exception() noexcept { return std::exchange(exception_, nullptr); }

 private:
  std::coroutine_handle<> continuation_;
  std::exception_ptr exception_;
};

template <class T>
class task_promise final : public task_promise_base {
 public:
  task<T> get_return_object() noexcept;
  template <class U = T>
  requires std::is_convertible_v<U&&, T>
  void return_value(U&& value) noexcept(std::is_nothrow_constructible_v<T, U&&>) {
    value_.emplace(std::forward<U>(value));
  }
  T take_result() {
    rethrow_if_failed();
    return std::move(*value_);
  }
  std::exception_ptr exception() noexcept { return take_exception(); }

 private:
  std::optional<T> value_;
};

template <class T>
class task_promise<T&> final : public task_promise_base {
 public:
  task<T&> get_return_object() noexcept;
  void return_value(T& value) noexcept { value_ = std::addressof(value); }
  T& take_result() {
    rethrow_if_failed();
    return *value_;
  }
  std::exception_ptr exception() noexcept { return take_exception(); }

 private:
  T* value_ = nullptr;
};

template <>
class task_promise<void> final : public task_promise_base {
 public:
  task<void> get_return_object() noexcept;
  void return_void() const noexcept {}
  void take_result() { rethrow_if_failed(); }
  std::exception_ptr exception() noexcept { return take_exception(); }
};

template <class T>
struct task_access;

}  // namespace detail

template <class T>
class [[nodiscard]] task {
 public:
  using promise_type = detail::task_promise<T>;
  using value_type = T;

  task() noexcept = default;
  task(task&& other) noexcept : coroutine_(std::exchange(other.coroutine_, {})) {}
  task& operator=(task&& other) noexcept {
    if (this != &other) {
      reset();
      coroutine_ = std::exchange(other.coroutine_, {});
    }
    return *this;
  }
  task(const task&) = delete;
  task& operator=(const task&) = delete;
  ~task() { reset(); }

  // False for a default-constructed or moved-from task.
  bool valid() const noexcept { return static_cast<bool>(coroutine_); }

  auto operator co_await() && noexcept { return awaiter{coroutine_}; }

 private:
  friend promise_type;
  template <class>
  friend struct detail::task_access;
  using handle_type = std::coroutine_handle<promise_type>;

  explicit task(handle_type coroutine) noexcept : coroutine_(coroutine) {}

  void reset() noexcept {
    if (coroutine_) std::exchange(coroutine_, {}).destroy();
  }

  struct awaiter {
    handle_type coroutine;
    bool await_ready() const noexcept { return false; }
    std::coroutine_handle<> await_suspend(std::coroutine_handle<> caller) const {
      if (!coroutine) throw std::logic_error("tandem::task: awaiting an empty (moved-from or default) task");
      // A finished task waits at its final suspend point until destroyed: resuming it
      // again would be undefined, and its result may have been taken.
      if (coroutine.done()) throw std::logic_error("tandem::task: awaiting a task that already finished (await it once)");
      coroutine.promise().set_continuation(caller);
      return coroutine;
    }
    decltype(auto) await_resume() const { return coroutine.promise().take_result(); }
  };

  handle_type coroutine_;
};

namespace detail {

template <class T>
task<T> task_promise<T>::get_return_object() noexcept {
  return task<T>(std::coroutine_handle<task_promise>::from_promise(*this));
}
template <class T>
task<T&> task_promise<T&>::get_return_object() noexcept {
  return task<T&>(std::coroutine_handle<task_promise>::from_promise(*this));
}
inline task<void> task_promise<void>::get_return_object() noexcept {
  return task<void>(std::coroutine_handle<task_promise>::from_promise(*this));
}

// The runtime's access to a task's coroutine (to start it as the root of a spawned task).
template <class T>
struct task_access {
  static std::coroutine_handle<task_promise<T>> handle(const task<T>& t) noexcept { return t.coroutine_; }
};

}  // namespace detail
}  // namespace tandem
