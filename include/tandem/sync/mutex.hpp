// mutex<T>: an async mutex guarding a T (tokio::sync::Mutex).
//
//   tandem::mutex<std::vector<int>> shared;
//   {
//     auto guard = co_await shared.lock();   // waits without blocking the worker
//     guard->push_back(1);
//   }                                         // unlocked here
//
// lock() waits for the lock and gives a guard (unlocks when destroyed); the guard may be
// held across co_await, which is what an async mutex is for (a std::mutex held across a
// suspension blocks the worker that resumes). Waiters get the lock first come, first
// served. try_lock() takes it only if it is free; blocking_lock() blocks a plain thread
// (std::logic_error on a runtime thread).
//
// Cancellation-safe: a lock() that loses a select, or whose task is aborted, never
// leaves the mutex locked (a lock handed to it is passed on); its place in line is lost.
//
// Thread safety: every member may be called from any thread; the guarded value may be
// touched only through a guard.
#pragma once

#include <optional>
#include <utility>

#include "tandem/sync/semaphore.hpp"

namespace tandem {

template <class T>
class mutex {
 public:
  template <class... Args>
  explicit mutex(Args&&... args) : value_(std::forward<Args>(args)...) {}
  mutex(const mutex&) = delete;
  mutex& operator=(const mutex&) = delete;

  class guard {
   public:
    guard(guard&&) noexcept = default;
    guard& operator=(guard&&) noexcept = default;
    T& operator*() const noexcept { return *value_; }
    T* operator->() const noexcept { return value_; }
    // Unlocks now (the guard is then empty).
    void unlock() noexcept {
      permit_.release();
      value_ = nullptr;
    }

   private:
    friend class mutex;
    guard(T& value, semaphore_permit permit) noexcept : value_(&value), permit_(std::move(permit)) {}
    T* value_;
    semaphore_permit permit_;  // the lock: given back when the guard goes
  };

  class lock_awaiter {
   public:
    explicit lock_awaiter(mutex& owner) : owner_(owner), inner_(owner.gate_.acquire(1)) {}
    bool await_ready() { return inner_.await_ready(); }
    bool await_suspend(std::coroutine_handle<> caller) { return inner_.await_suspend(caller); }
    guard await_resume() { return guard(owner_.value_, inner_.await_resume()); }

   private:
    mutex& owner_;
    semaphore::acquire_awaiter inner_;
  };

  lock_awaiter lock() { return lock_awaiter(*this); }

  std::optional<guard> try_lock() {
    auto permit = gate_.try_acquire(1);
    if (!permit) return std::nullopt;
    return guard(value_, std::move(*permit));
  }

  guard blocking_lock() { return guard(value_, gate_.blocking_acquire(1)); }

 private:
  semaphore gate_{1};
  T value_;
};

}  // namespace tandem
