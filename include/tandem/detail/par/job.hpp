// Jobs: the unit of work that sits in a deque. A job is an object with a function
// pointer as its first member; the deque holds `job*`, so a join pushes the address
// of an object on its own stack and never allocates.
#pragma once

#include <exception>
#include <functional>
#include <optional>
#include <type_traits>
#include <utility>
#include <variant>

namespace tandem::detail {

struct job {
  // noexcept: a job stores its own exception where its waiter will find it.
  using execute_fn = void (*)(job*) noexcept;
  explicit job(execute_fn fn) noexcept : execute_(fn) {}
  void execute() noexcept { execute_(this); }

 private:
  execute_fn execute_;
};

// What a closure returns, made storable: void becomes std::monostate, so
// join(void_fn, int_fn) is a std::pair<std::monostate, int>; an rvalue reference
// becomes the value it refers to (moved from), since the referent may not outlive
// the closure's thread.
template <class R>
using value_of_t =
    std::conditional_t<std::is_void_v<R>,
                       std::monostate,
                       std::conditional_t<std::is_rvalue_reference_v<R>, std::remove_reference_t<R>, R>>;

template <class F>
using closure_value_t = value_of_t<std::invoke_result_t<F&>>;

// Runs f, mapping a void result to std::monostate.
template <class F>
closure_value_t<F> invoke_to_value(F& f) {
  if constexpr (std::is_void_v<std::invoke_result_t<F&>>) {
    std::invoke(f);
    return std::monostate{};
  } else {
    return std::invoke(f);
  }
}

// A closure's result or exception, written at most once by the thread that ran
// the closure and read by the waiter after the latch says it is there. It is not
// initialized up front: the fork-join fast path never uses it and pays nothing.
// References are kept as pointers so that T& results work too.
template <class R>
class job_result {
  using stored_t = std::conditional_t<std::is_reference_v<R>, std::remove_reference_t<R>*, R>;

 public:
  job_result() noexcept {}
  job_result(const job_result&) = delete;
  job_result& operator=(const job_result&) = delete;
  // The reader empties it (take / discard); an unfilled one holds nothing.
  ~job_result() {}

  template <class F>
  void fill(F& f) noexcept {
    try {
      if constexpr (std::is_reference_v<R>) {
        ::new (static_cast<void*>(&value_)) stored_t(&invoke_to_value(f));
      } else {
        ::new (static_cast<void*>(&value_)) stored_t(invoke_to_value(f));
      }
      failed_ = false;
    } catch (...) {
      ::new (static_cast<void*>(&error_)) std::exception_ptr(std::current_exception());
      failed_ = true;
    }
  }

  // Filled only: returns the value or rethrows the exception, leaving it empty.
  R take() {
    if (failed_) std::rethrow_exception(take_error());
    if constexpr (std::is_reference_v<R>) {
      return static_cast<R>(*value_);
    } else {
      R out = std::move(value_);
      value_.~stored_t();
      return out;
    }
  }

  // Filled only: drops whatever is there.
  void discard() noexcept {
    if (failed_) {
      error_.~exception_ptr();
    } else {
      value_.~stored_t();
    }
  }

 private:
  std::exception_ptr take_error() noexcept {
    std::exception_ptr error = std::move(error_);
    error_.~exception_ptr();
    return error;
  }

  union {
    stored_t value_;
    std::exception_ptr error_;
  };
  bool failed_;
};

// A job that lives in its waiter's stack frame and runs a closure it borrows.
// Safety: the waiter does not leave the frame before `latch` is set (or before it
// took the job back off its deque), so the borrowed closure and the result outlive
// every use by a thief.
template <class Latch, class F>
class stack_job final : public job {
 public:
  using value_type = closure_value_t<F>;

  template <class... LatchArgs>
  explicit stack_job(F& f, LatchArgs&&... latch_args)
      : job(&run_stolen), latch(std::forward<LatchArgs>(latch_args)...), f_(f) {}

  job_result<value_type> result;
  Latch latch;

 private:
  static void run_stolen(job* self) noexcept {
    auto* me = static_cast<stack_job*>(self);
    me->result.fill(me->f_);
    // Last touch of *me: after set() the waiter may destroy the frame.
    me->latch.set();
  }

  F& f_;
};

}  // namespace tandem::detail
