// broadcast: every receiver sees every value (tokio::sync::broadcast).
//
//   auto [tx, rx] = tandem::broadcast::channel<event>(128);
//   auto rx2 = tx.subscribe();                        // sees what is sent from now on
//   tx.send(e);                                       // to every receiver
//   event got = co_await rx.recv();
//
// The channel keeps the last `capacity` values. A receiver that falls further behind
// than that loses the oldest: its next recv() throws tandem::lagged (missed() says how
// many it lost) and the one after continues from the oldest value still kept. recv()
// throws tandem::channel_closed once every sender is gone and the receiver has seen
// everything. send() returns how many receivers there are, and throws channel_closed
// when there are none (the value is dropped). Copying a receiver gives one at the same
// position; copying a sender adds a sender. Values are copied to each receiver.
//
// Cancellation-safe: a recv that loses a select or is aborted loses nothing (a value
// handed to it stays in the channel for its receiver's next recv).
// Thread safety: senders and receivers may be used from any thread (each object by one
// thread at a time). A sender or receiver must outlive the operations awaited on it.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "tandem/detail/sync/counted_handle.hpp"
#include "tandem/detail/sync/primitive_awaiter.hpp"
#include "tandem/detail/sync/wait_list.hpp"
#include "tandem/errors.hpp"

namespace tandem::broadcast {

namespace detail {

using tandem::detail::wait_node;

// Values are kept as shared_ptr<const T>: under the channel's lock only pointers are
// copied and dropped, never a T (whose copy or destructor is user code that may use a
// sender of this very channel); each receiver copies its T out after the lock.
template <class T>
using shared_value = std::shared_ptr<const T>;

template <class T>
struct receive_node : wait_node {
  shared_value<T>* slot = nullptr;
  std::uint64_t* next = nullptr;  // the receiver's position
};

template <class T>
class channel_state {
 public:
  explicit channel_state(std::size_t capacity) : ring_(capacity) {}

  std::size_t send(const T& value) {
    shared_value<T> fresh = std::make_shared<const T>(value);
    // The value pushed out of the ring is released after the lock (see shared_value).
    shared_value<T> evicted;
    std::lock_guard guard(mutex_);
    if (receivers_ == 0) throw channel_closed("tandem::broadcast::send: there are no receivers");
    evicted = std::exchange(ring_[tail_ % ring_.size()], fresh);
    ++tail_;
    // Waiting receivers are all at the tail: each gets its copy now.
    while (wait_node* waiter = waiters_.pop_front()) {
      auto& node = *static_cast<receive_node<T>*>(waiter);
      *node.slot = fresh;
      *node.next = tail_;
      tandem::detail::grant(node);
    }
    return receivers_;
  }

  // Lock held. True when the receive is complete: a value in `slot`, a lag recorded in
  // `missed`, or the end (closed recorded in `node`).
  bool try_receive_locked(std::uint64_t& next, shared_value<T>& slot, std::uint64_t& missed, wait_node& node) {
    if (next < tail_) {
      const std::uint64_t oldest = tail_ > ring_.size() ? tail_ - ring_.size() : 0;
      if (next < oldest) {
        missed = oldest - next;
        next = oldest;
        return true;
      }
      slot = ring_[next % ring_.size()];
      ++next;
      return true;
    }
    if (senders_ == 0) {
      node.closed = true;
      return true;
    }
    return false;
  }

  // A receive handed a value it will never take: its receiver's position goes back (the
  // copy in the slot is destroyed with the awaiter, off the lock).
  void give_back_locked(std::uint64_t& next, const shared_value<T>& slot) noexcept {
    if (slot) --next;
  }

  void add_sender() {
    std::lock_guard guard(mutex_);
    ++senders_;
  }
  void drop_sender() noexcept {
    std::lock_guard guard(mutex_);
    if (--senders_ != 0) return;
    while (wait_node* waiter = waiters_.pop_front()) tandem::detail::close_node(*waiter);
  }
  std::uint64_t add_receiver(std::optional<std::uint64_t> at) {
    std::lock_guard guard(mutex_);
    ++receivers_;
    return at ? *at : tail_;
  }
  void drop_receiver() noexcept {
    std::lock_guard guard(mutex_);
    --receivers_;
  }
  std::size_t receiver_count() {
    std::lock_guard guard(mutex_);
    return receivers_;
  }

  tandem::detail::spin_mutex mutex_;
  tandem::detail::wait_list waiters_;

 private:
  std::vector<shared_value<T>> ring_;
  std::uint64_t tail_ = 0;  // sequence number of the next value
  std::size_t senders_ = 1;
  std::size_t receivers_ = 0;
};

template <class T>
class receive_awaiter final : public tandem::detail::primitive_awaiter<receive_awaiter<T>, receive_node<T>> {
  using base = tandem::detail::primitive_awaiter<receive_awaiter<T>, receive_node<T>>;

 public:
  static constexpr const char* operation_name = "tandem::broadcast::receiver::recv";
  static constexpr bool usually_ready = false;
  receive_awaiter(channel_state<T>& state, std::uint64_t& next) noexcept : state_(state), next_(next) {}
  receive_awaiter(receive_awaiter&& other) noexcept : base(std::move(other)), state_(other.state_), next_(other.next_) {}
  ~receive_awaiter() { this->leave(); }

  T await_resume() {
    if (missed_ != 0) throw lagged(missed_);
    if (this->woken_by_close()) throw channel_closed("tandem::broadcast::recv: every sender is gone");
    T value = *slot_;  // the copy, off the lock
    slot_.reset();
    return value;
  }

 private:
  friend base;
  tandem::detail::spin_mutex& primitive_mutex() noexcept { return state_.mutex_; }
  bool try_complete_locked() { return state_.try_receive_locked(next_, slot_, missed_, this->node()); }
  void enqueue_locked(receive_node<T>& node) noexcept {
    node.slot = &slot_;
    node.next = &next_;
    state_.waiters_.push_back(node);
  }
  void unlink_locked(receive_node<T>& node) noexcept { state_.waiters_.remove(node); }
  void undo_grant_locked() noexcept { state_.give_back_locked(next_, slot_); }

  channel_state<T>& state_;
  std::uint64_t& next_;
  shared_value<T> slot_;
  std::uint64_t missed_ = 0;
};

inline constexpr char sender_name[] = "tandem::broadcast::sender";

template <class T>
using sender_handle = tandem::detail::copyable_counted_handle<channel_state<T>,
                                                     sender_name,
                                                     &channel_state<T>::drop_sender,
                                                     &channel_state<T>::add_sender>;

}  // namespace detail

template <class T>
class receiver;

template <class T>
class sender : private detail::sender_handle<T> {
 public:
  // Sends to every receiver; returns how many there are. Throws channel_closed when
  // there are none.
  std::size_t send(const T& value) { return require("send").send(value); }
  // A new receiver that sees the values sent from now on.
  receiver<T> subscribe() {
    require("subscribe");
    return receiver<T>(this->shared_state(), std::nullopt);
  }
  std::size_t receiver_count() { return require("receiver_count").receiver_count(); }

 private:
  template <class U>
  friend std::pair<sender<U>, receiver<U>> channel(std::size_t);
  explicit sender(std::shared_ptr<detail::channel_state<T>> state) noexcept
      : detail::sender_handle<T>(std::move(state)) {}
  using detail::sender_handle<T>::require;
};

template <class T>
class receiver {
 public:
  receiver(const receiver& other) : state_(other.state_) {
    if (state_) next_ = state_->add_receiver(other.next_);
  }
  receiver(receiver&& other) noexcept : state_(std::move(other.state_)), next_(other.next_) {}
  receiver& operator=(receiver other) noexcept {
    std::swap(state_, other.state_);
    std::swap(next_, other.next_);
    return *this;
  }
  ~receiver() {
    if (state_) state_->drop_receiver();
  }

  // The next value (see the top of the file for lagged and channel_closed).
  detail::receive_awaiter<T> recv() { return detail::receive_awaiter<T>(require("recv"), next_); }

  // A value if one is there now; lagged and channel_closed as for recv.
  std::optional<T> try_recv() {
    auto& state = require("try_recv");
    detail::shared_value<T> slot;
    std::uint64_t missed = 0;
    tandem::detail::wait_node node;
    {
      std::lock_guard guard(state.mutex_);
      state.try_receive_locked(next_, slot, missed, node);
    }
    if (missed != 0) throw lagged(missed);
    if (node.closed) throw channel_closed("tandem::broadcast::try_recv: every sender is gone");
    if (!slot) return std::nullopt;
    return std::optional<T>(*slot);
  }

 private:
  friend class sender<T>;
  template <class U>
  friend std::pair<sender<U>, receiver<U>> channel(std::size_t);
  receiver(std::shared_ptr<detail::channel_state<T>> state, std::optional<std::uint64_t> at)
      : state_(std::move(state)), next_(state_->add_receiver(at)) {}
  detail::channel_state<T>& require(const char* what) {
    if (!state_)
      throw std::logic_error(std::string("tandem::broadcast::receiver::") + what + ": the receiver was moved from");
    return *state_;
  }
  std::shared_ptr<detail::channel_state<T>> state_;
  std::uint64_t next_ = 0;
};

// A channel keeping the last `capacity` values (at least 1).
template <class T>
std::pair<sender<T>, receiver<T>> channel(std::size_t capacity) {
  if (capacity == 0) throw std::invalid_argument("tandem::broadcast::channel: the capacity must be at least 1");
  auto state = std::make_shared<detail::channel_state<T>>(capacity);
  receiver<T> first(state, std::nullopt);
  return {sender<T>(std::move(state)), std::move(first)};
}

}  // namespace tandem::broadcast
