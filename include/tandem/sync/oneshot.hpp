// oneshot<T>: one value from one sender to one receiver (tokio::sync::oneshot).
//
//   auto [tx, rx] = tandem::oneshot<int>();
//   tandem::spawn(produce(std::move(tx)));       // ... tx.send(42);
//   int value = co_await rx;                      // 42
//
// send(value) delivers the value and wakes the receiver; it returns false (dropping the
// value) when the receiver is already gone, and throws std::logic_error when called a
// second time. Awaiting the receiver gives the value, or throws tandem::channel_closed
// when the sender was destroyed without sending; awaiting it again throws
// std::logic_error. Cancellation-safe: a receive that loses a select, or whose task is
// aborted, leaves the value in the channel for a later await.
//
// Thread safety: the sender and the receiver may each be used from any thread (one
// thread at a time each); send may race with the receiver's await or destruction.
#pragma once

#include <coroutine>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <utility>

#include "tandem/detail/runtime/poll_context.hpp"
#include "tandem/detail/runtime/task_header.hpp"
#include "tandem/errors.hpp"

namespace tandem {

namespace detail {

template <class T>
struct oneshot_state {
  std::mutex mutex;
  std::optional<T> value;
  bool sender_gone = false;
  bool receiver_gone = false;
  task_header* waiter = nullptr;  // the receiving task, a counted reference

  // Called with the lock held; the caller wakes what it returns, outside the lock.
  task_header* take_waiter() noexcept { return std::exchange(waiter, nullptr); }
};

inline void wake_and_release(task_header* waiter) noexcept {
  if (waiter == nullptr) return;
  waiter->wake_by_ref();
  waiter->drop_ref();
}

}  // namespace detail

template <class T>
class oneshot_receiver;

template <class T>
class oneshot_sender {
 public:
  oneshot_sender(oneshot_sender&&) noexcept = default;
  oneshot_sender& operator=(oneshot_sender&& other) noexcept {
    if (this != &other) {
      close();
      state_ = std::move(other.state_);
    }
    return *this;
  }
  ~oneshot_sender() { close(); }

  // Delivers `value`; false when the receiver is gone (the value is dropped).
  bool send(T value) {
    if (!state_) throw std::logic_error("tandem::oneshot_sender::send: already sent (or moved from)");
    auto state = std::move(state_);
    detail::task_header* waiter = nullptr;
    {
      std::lock_guard guard(state->mutex);
      if (state->receiver_gone) return false;
      state->value.emplace(std::move(value));
      waiter = state->take_waiter();
    }
    detail::wake_and_release(waiter);
    return true;
  }

 private:
  template <class U>
  friend std::pair<oneshot_sender<U>, oneshot_receiver<U>> oneshot();
  explicit oneshot_sender(std::shared_ptr<detail::oneshot_state<T>> state) : state_(std::move(state)) {}

  void close() noexcept {
    if (!state_) return;
    detail::task_header* waiter = nullptr;
    {
      std::lock_guard guard(state_->mutex);
      state_->sender_gone = true;
      waiter = state_->take_waiter();
    }
    detail::wake_and_release(waiter);
    state_.reset();
  }

  std::shared_ptr<detail::oneshot_state<T>> state_;
};

template <class T>
class oneshot_receiver {
 public:
  oneshot_receiver(oneshot_receiver&&) noexcept = default;
  oneshot_receiver& operator=(oneshot_receiver&& other) noexcept {
    if (this != &other) {
      close();
      state_ = std::move(other.state_);
    }
    return *this;
  }
  ~oneshot_receiver() { close(); }

  auto operator co_await() & { return awaiter{require()}; }
  auto operator co_await() && { return awaiter{require()}; }

 private:
  template <class U>
  friend std::pair<oneshot_sender<U>, oneshot_receiver<U>> oneshot();
  explicit oneshot_receiver(std::shared_ptr<detail::oneshot_state<T>> state) : state_(std::move(state)) {}

  oneshot_receiver& require() {
    if (!state_)
      throw std::logic_error("tandem::oneshot_receiver: awaited after the value was taken (or moved from)");
    return *this;
  }

  void close() noexcept {
    if (!state_) return;
    detail::task_header* waiter = nullptr;
    {
      std::lock_guard guard(state_->mutex);
      state_->receiver_gone = true;
      waiter = state_->take_waiter();
    }
    if (waiter != nullptr) waiter->drop_ref();
    state_.reset();
  }

  class awaiter final : public detail::pollable {
   public:
    explicit awaiter(oneshot_receiver& receiver) : receiver_(receiver) {}
    bool await_ready() { return ready() && detail::consume_budget(); }
    bool await_suspend(std::coroutine_handle<> caller) {
      detail::poll_context& poll = detail::require_poll("tandem::oneshot_receiver");
      auto& state = *receiver_.state_;
      std::lock_guard guard(state.mutex);
      if (state.value || state.sender_gone) {
        // Ready but out of budget: to the back of the queue first.
        detail::yield_to_back(poll, caller);
        return true;
      }
      detail::replace_waker(state.waiter, poll.task);
      *poll.suspension = {this, caller};
      return true;
    }
    bool advance() override { return ready(); }
    T await_resume() {
      auto& state = *receiver_.state_;
      std::optional<T> value;
      {
        std::lock_guard guard(state.mutex);
        if (!state.value) throw channel_closed("tandem::oneshot: the sender was destroyed without sending");
        value = std::move(state.value);
      }
      receiver_.close();
      return std::move(*value);
    }

   private:
    bool ready() {
      auto& state = *receiver_.state_;
      std::lock_guard guard(state.mutex);
      return state.value.has_value() || state.sender_gone;
    }
    oneshot_receiver& receiver_;
  };

  std::shared_ptr<detail::oneshot_state<T>> state_;
};

// A connected sender and receiver.
template <class T>
std::pair<oneshot_sender<T>, oneshot_receiver<T>> oneshot() {
  auto state = std::make_shared<detail::oneshot_state<T>>();
  return {oneshot_sender<T>(state), oneshot_receiver<T>(state)};
}

}  // namespace tandem
