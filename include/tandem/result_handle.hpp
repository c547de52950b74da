// result_handle<R>: a result another thread delivers (spawn_blocking, par::compute).
//
//   tandem::result_handle<int> h = tandem::spawn_blocking(work);   // already running
//   int value = co_await h;                                         // or its exception
//
// Awaiting suspends the task until the value (or exception) arrives, then gives it;
// awaiting a second time throws std::logic_error. Dropping the handle discards the
// result; the work runs on. Cancellation-safe: a task aborted while awaiting leaves the
// producer to finish on its own.
//
// Thread safety: the producer delivers from its own thread; a handle is not shared.
#pragma once

#include <coroutine>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>

#include "tandem/sync/oneshot.hpp"

namespace tandem {

template <class R>
class result_handle;

namespace detail {

// A value or an exception, carried from another thread over a oneshot.
template <class R>
struct outcome_of {
  using stored =
      std::conditional_t<std::is_void_v<R>,
                         bool,
                         std::conditional_t<std::is_reference_v<R>, std::remove_reference_t<R>*, R>>;
  std::optional<stored> value;
  std::exception_ptr error;

  template <class F>
  static outcome_of run(F& f) noexcept {
    outcome_of out;
    try {
      if constexpr (std::is_void_v<R>) {
        std::invoke(f);
        out.value.emplace(true);
      } else if constexpr (std::is_reference_v<R>) {
        out.value.emplace(std::addressof(std::invoke(f)));
      } else {
        out.value.emplace(std::invoke(f));
      }
    } catch (...) {
      out.error = std::current_exception();
    }
    return out;
  }

  R unwrap() {
    if (error) std::rethrow_exception(error);
    if constexpr (std::is_void_v<R>) {
      return;
    } else if constexpr (std::is_reference_v<R>) {
      return **value;
    } else {
      return std::move(*value);
    }
  }
};

// The handle for what a producer will send on `receiver`.
template <class R>
result_handle<R> make_result_handle(oneshot_receiver<outcome_of<R>> receiver);

}  // namespace detail

template <class R>
class [[nodiscard]] result_handle {
 public:
  result_handle(result_handle&&) noexcept = default;
  result_handle& operator=(result_handle&&) noexcept = default;

  auto operator co_await() && { return awaiter{std::move(receiver_)}; }
  auto operator co_await() & { return awaiter{std::move(receiver_)}; }

 private:
  friend result_handle detail::make_result_handle<R>(oneshot_receiver<detail::outcome_of<R>>);
  explicit result_handle(oneshot_receiver<detail::outcome_of<R>> receiver) : receiver_(std::move(receiver)) {}

  // Owns the receiver while it is awaited; the receiver's own awaiter refers to it, so
  // this object is never moved once made (it lives in the awaiting coroutine's frame).
  struct awaiter {
    oneshot_receiver<detail::outcome_of<R>> receiver;
    decltype(std::move(receiver).operator co_await()) inner = std::move(receiver).operator co_await();
    bool await_ready() { return inner.await_ready(); }
    bool await_suspend(std::coroutine_handle<> caller) { return inner.await_suspend(caller); }
    R await_resume() { return inner.await_resume().unwrap(); }
  };

  oneshot_receiver<detail::outcome_of<R>> receiver_;
};

template <class R>
result_handle<R> detail::make_result_handle(oneshot_receiver<outcome_of<R>> receiver) {
  return result_handle<R>(std::move(receiver));
}

}  // namespace tandem
