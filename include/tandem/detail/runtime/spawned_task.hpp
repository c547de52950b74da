// spawned_task<T>: a task_header with the task<T> it runs and the slot for its output.
#pragma once

#include <exception>
#include <memory>
#include <new>
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <utility>

#include "tandem/detail/runtime/frame_allocator.hpp"
#include "tandem/detail/runtime/task_header.hpp"
#include "tandem/errors.hpp"
#include "tandem/task.hpp"

namespace tandem::detail {

template <class T>
class spawned_task final : public task_header {
  // task<T&> yields a pointer; task<void> a flag.
  using stored =
      std::conditional_t<std::is_void_v<T>,
                         bool,
                         std::conditional_t<std::is_reference_v<T>, std::remove_reference_t<T>*, T>>;

 public:
  enum class outcome { pending, value, error, cancelled };

  // References: the queue's and the join handle's.
  static spawned_task* create(task<T> body, task_scheduler* scheduler) {
    void* memory = allocate_frame(sizeof(spawned_task));
    const std::uint64_t initial = notified | join_interest | ref_one * 2;
    // Safety: the block is sizeof(spawned_task) bytes from the frame allocator and is
    // returned to it by deallocate(), the only place that destroys the object.
    return ::new (memory) spawned_task(std::move(body), scheduler, initial);
  }

  // The join handle's one read, after it saw COMPLETE.
  T take_output() {
    switch (outcome_) {
      case outcome::value:
        if constexpr (std::is_void_v<T>) {
          return;
        } else if constexpr (std::is_reference_v<T>) {
          return **value_;
        } else {
          return std::move(*value_);
        }
      case outcome::error:
        std::rethrow_exception(std::exchange(error_, nullptr));
      case outcome::cancelled:
        throw task_cancelled();
      case outcome::pending:
        break;
    }
    throw std::logic_error("tandem::join_handle: the task has not finished");
  }

 private:
  static const task_vtable vtable_for;

  spawned_task(task<T> body, task_scheduler* scheduler, std::uint64_t initial) noexcept
      : task_header(&vtable_for, scheduler, initial), body_(std::move(body)) {
    suspension.coroutine = task_access<T>::handle(body_);
  }

  static bool poll(task_header* header) {
    auto* self = static_cast<spawned_task*>(header);
    suspension_point& where = self->suspension;
    if (where.waiting_on != nullptr && !where.waiting_on->advance()) return false;
    const std::coroutine_handle<> next = std::exchange(where, {}).coroutine;
    next.resume();
    const auto root = task_access<T>::handle(self->body_);
    if (!root.done()) return false;
    self->store_output(root);
    self->body_ = {};
    return true;
  }

  void store_output(std::coroutine_handle<task_promise<T>> root) noexcept {
    try {
      if constexpr (std::is_void_v<T>) {
        root.promise().take_result();
        value_.emplace(true);
      } else if constexpr (std::is_reference_v<T>) {
        value_.emplace(std::addressof(root.promise().take_result()));
      } else {
        value_.emplace(root.promise().take_result());
      }
      outcome_ = outcome::value;
    } catch (...) {
      error_ = std::current_exception();
      outcome_ = outcome::error;
    }
  }

  static void cancel(task_header* header) noexcept {
    auto* self = static_cast<spawned_task*>(header);
    self->body_ = {};
    self->outcome_ = outcome::cancelled;
  }
  static void drop_output(task_header* header) noexcept {
    auto* self = static_cast<spawned_task*>(header);
    self->value_.reset();
    self->error_ = nullptr;
  }
  static void deallocate(task_header* header) noexcept {
    auto* self = static_cast<spawned_task*>(header);
    self->release_join_waker();
    self->~spawned_task();
    deallocate_frame(self, sizeof(spawned_task));
  }

  task<T> body_;
  outcome outcome_ = outcome::pending;
  std::optional<stored> value_;
  std::exception_ptr error_;
};

template <class T>
const task_vtable spawned_task<T>::vtable_for{&spawned_task::poll, &spawned_task::cancel,
                                              &spawned_task::drop_output, &spawned_task::deallocate};

}  // namespace tandem::detail
