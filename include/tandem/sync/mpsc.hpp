// mpsc: multi-producer, single-consumer channels (tokio::sync::mpsc).
//
//   auto [tx, rx] = tandem::mpsc::channel<job>(64);     // bounded: send waits while full
//   tandem::spawn(produce(tx));                          // senders are copyable
//   while (auto j = co_await rx.recv()) run(*j);         // empty once every sender is gone
//
//   auto [utx, urx] = tandem::mpsc::unbounded_channel<event>();
//   utx.send(e);                                         // never waits
//
// Messages arrive in the order each sender sent them. A bounded channel holds at most
// `capacity` messages; `co_await tx.send(v)` waits for room, first come, first served;
// senders that had to wait are let in together once the queue has drained to half its
// capacity (one wake per batch of messages, not per message, when the channel runs full).
// `try_send(v)` sends only if there is room (it moves from v only when it sent);
// `blocking_send(v)` and `blocking_recv()` are for plain threads (std::logic_error on a
// runtime thread). `recv()` gives an empty optional once every sender is gone and the
// queue is drained; `recv_many(out, limit)` appends up to `limit` messages and returns
// how many (0 at the end). `close()` on the receiver refuses further sends while the
// messages already queued can still be received. Messages need a noexcept move.
//
// Errors: sending when the receiver is gone or closed throws tandem::channel_closed (the
// message is dropped); using a moved-from sender or receiver throws std::logic_error; a
// bounded capacity of 0 throws std::invalid_argument.
//
// Cancellation safety:
// - recv / recv_many: cancellation-safe. A receive that loses a select, or whose task is
//   aborted, never loses a message: one already handed to it goes back to the head of
//   the queue.
// - send: the message is either in the channel or was never sent (dropped with the
//   aborted send); it is never duplicated. A cancelled send loses its place in line.
// The cooperative budget applies: a receiver whose channel always has a message still
// yields regularly.
//
// Lifetimes: a sender or receiver must outlive the operations awaited on it.
// Thread safety: senders and the receiver may be used from any thread (each object by
// one thread at a time); copies of a sender may be used concurrently.
#pragma once

#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <utility>
#include <vector>

#include "tandem/detail/runtime/runtime_core.hpp"
#include "tandem/detail/sync/counted_handle.hpp"
#include "tandem/detail/sync/primitive_awaiter.hpp"
#include "tandem/detail/sync/ring_queue.hpp"
#include "tandem/detail/sync/wait_list.hpp"
#include "tandem/errors.hpp"

namespace tandem::mpsc {

// What try_send did.
enum class send_status { sent, full, closed };

namespace detail {

using tandem::detail::wait_list;
using tandem::detail::wait_node;

// A waiter that carries a value: a blocked sender's message, or the slot a waiting
// receiver is handed a message in.
template <class T>
struct value_node : wait_node {
  std::optional<T>* slot = nullptr;
};

// The channel: one lock over the queue, the waiting senders, the waiting receiver and
// the counts. A receiver waits only on an empty queue, so a sender that finds it waiting
// hands the message straight into its slot.
template <class T>
class channel_state {
 public:
  explicit channel_state(std::size_t capacity) noexcept : capacity_(capacity) {}

  // Sender side, lock held. True when the send is complete (sent, or closed: recorded
  // in the node).
  bool try_send_locked(std::optional<T>& value, wait_node& node) {
    if (closed_) {
      node.closed = true;
      return true;
    }
    if (wait_node* receiver = receivers_.pop_front()) {
      *static_cast<value_node<T>*>(receiver)->slot = std::move(value);
      tandem::detail::grant(*receiver);
      return true;
    }
    if (capacity_ != 0 && (queue_.size() >= capacity_ || !senders_waiting_.empty())) return false;
    queue_.push_back(std::move(*value));
    return true;
  }

  // Receiver side, lock held. True when the receive is complete: a message taken into
  // `slot`, or the end (every sender gone, or closed, and nothing queued).
  bool try_receive_locked(std::optional<T>& slot) {
    if (!queue_.empty()) {
      slot = queue_.pop_front();
      admit_waiting_senders_locked();
      return true;
    }
    return senders_ == 0 || closed_;
  }

  // A receive granted a message it will never take: the message goes back to the head
  // (what is left in the slot is moved-from, destroyed with the awaiter, off the lock).
  void give_back_locked(std::optional<T>& slot) {
    if (slot) queue_.push_front(std::move(*slot));
  }

  void add_sender() {
    std::lock_guard guard(mutex_);
    ++senders_;
  }
  void drop_sender() noexcept {
    std::lock_guard guard(mutex_);
    if (--senders_ != 0) return;
    // The end of the stream: a waiting receiver gets its empty result.
    if (wait_node* receiver = receivers_.pop_front()) tandem::detail::grant(*receiver);
  }
  // The receiver closes (or goes away): no more sends; waiting senders learn it.
  void close() noexcept {
    std::lock_guard guard(mutex_);
    closed_ = true;
    while (wait_node* sender = senders_waiting_.pop_front()) tandem::detail::close_node(*sender);
  }
  // The queued messages are destroyed after the lock is released: a message may own a
  // sender of this very channel, whose destructor takes the lock.
  void drop_receiver() noexcept {
    close();
    tandem::detail::ring_queue<T> dropped;
    {
      std::lock_guard guard(mutex_);
      swap(queue_, dropped);
    }
  }
  bool is_closed() {
    std::lock_guard guard(mutex_);
    return closed_;
  }

  tandem::detail::spin_mutex mutex_;
  wait_list senders_waiting_;
  wait_list receivers_;  // at most the one receiver

 private:
  // Slots freed: once the queue has drained to half its capacity, waiting senders'
  // messages take the free slots, first come first served. Admitting in a batch rather
  // than one sender per freed slot means a producer, once woken, finds room for more
  // than one message: a full channel costs a wake per batch, not per message (8
  // producers into one consumer: 4.9 s for 10^7 messages at 4 workers, one wake each).
  void admit_waiting_senders_locked() {
    if (capacity_ == 0 || queue_.size() > capacity_ / 2) return;
    while (queue_.size() < capacity_) {
      wait_node* sender = senders_waiting_.pop_front();
      if (sender == nullptr) return;
      queue_.push_back(std::move(**static_cast<value_node<T>*>(sender)->slot));
      tandem::detail::grant(*sender);
    }
  }

  tandem::detail::ring_queue<T> queue_;
  const std::size_t capacity_;  // 0: unbounded
  std::size_t senders_ = 1;
  bool closed_ = false;
};

template <class T>
class send_awaiter final : public tandem::detail::primitive_awaiter<send_awaiter<T>, value_node<T>> {
  using base = tandem::detail::primitive_awaiter<send_awaiter<T>, value_node<T>>;

 public:
  static constexpr const char* operation_name = "tandem::mpsc::sender::send";
    static constexpr bool usually_ready = true;
    ~send_awaiter() { this->leave(); }
  send_awaiter(channel_state<T>& state, T value) : state_(state), value_(std::move(value)) {}
  send_awaiter(send_awaiter&& other) noexcept
      : base(std::move(other)), state_(other.state_), value_(std::move(other.value_)) {}
  void await_resume() const {
    if (this->woken_by_close()) throw channel_closed("tandem::mpsc: the receiver is closed or gone");
  }

 private:
  friend base;
  tandem::detail::spin_mutex& primitive_mutex() noexcept { return state_.mutex_; }
  bool try_complete_locked() { return state_.try_send_locked(value_, this->node()); }
  void enqueue_locked(value_node<T>& node) noexcept {
    node.slot = &value_;
    state_.senders_waiting_.push_back(node);
  }
  void unlink_locked(value_node<T>& node) noexcept { state_.senders_waiting_.remove(node); }
  void undo_grant_locked() noexcept {}  // granted means sent: nothing to undo

  channel_state<T>& state_;
  std::optional<T> value_;
};

// Receives one message (Many = false) or up to `limit` into `out` (Many = true).
template <class T, bool Many>
class receive_awaiter final : public tandem::detail::primitive_awaiter<receive_awaiter<T, Many>, value_node<T>> {
  using base = tandem::detail::primitive_awaiter<receive_awaiter<T, Many>, value_node<T>>;

 public:
  static constexpr const char* operation_name = "tandem::mpsc::receiver::recv";
    static constexpr bool usually_ready = false;
    ~receive_awaiter() { this->leave(); }
  explicit receive_awaiter(channel_state<T>& state, std::vector<T>* out = nullptr, std::size_t limit = 1) noexcept
      : state_(state), out_(out), limit_(limit) {}
  receive_awaiter(receive_awaiter&& other) noexcept
      : base(std::move(other)), state_(other.state_), out_(other.out_), limit_(other.limit_) {}

  auto await_resume() {
    if constexpr (Many) {
      if (!slot_) return std::size_t{0};
      out_->push_back(std::move(*slot_));
      slot_.reset();
      // More that is already queued, up to the limit, under one lock.
      std::lock_guard guard(state_.mutex_);
      std::size_t taken = 1;
      std::optional<T> next;
      while (taken < limit_ && state_.try_receive_locked(next) && next) {
        out_->push_back(std::move(*next));
        next.reset();
        ++taken;
      }
      return taken;
    } else {
      return std::exchange(slot_, std::nullopt);
    }
  }

 private:
  friend base;
  tandem::detail::spin_mutex& primitive_mutex() noexcept { return state_.mutex_; }
  bool try_complete_locked() { return state_.try_receive_locked(slot_); }
  void enqueue_locked(value_node<T>& node) noexcept {
    node.slot = &slot_;
    state_.receivers_.push_back(node);
  }
  void unlink_locked(value_node<T>& node) noexcept { state_.receivers_.remove(node); }
  // Handed a message it will never take: back to the head of the queue.
  void undo_grant_locked() { state_.give_back_locked(slot_); }

  channel_state<T>& state_;
  std::optional<T> slot_;
  std::vector<T>* out_;
  std::size_t limit_;
};

inline constexpr char sender_name[] = "tandem::mpsc::sender";
inline constexpr char receiver_name[] = "tandem::mpsc::receiver";

template <class T>
using sender_handle = tandem::detail::copyable_counted_handle<channel_state<T>,
                                                     sender_name,
                                                     &channel_state<T>::drop_sender,
                                                     &channel_state<T>::add_sender>;
template <class T>
using receiver_handle =
    tandem::detail::counted_handle<channel_state<T>, receiver_name, &channel_state<T>::drop_receiver>;

template <class T>
class sender_base : protected sender_handle<T> {
 public:
  // True once the receiver is closed or gone.
  bool is_closed() const { return this->require("is_closed").is_closed(); }

 protected:
  explicit sender_base(std::shared_ptr<channel_state<T>> state) noexcept
      : sender_handle<T>(std::move(state)) {}
};

}  // namespace detail

template <class T>
class receiver;
template <class T>
class sender;
template <class T>
class unbounded_sender;
template <class T>
std::pair<sender<T>, receiver<T>> channel(std::size_t capacity);
template <class T>
std::pair<unbounded_sender<T>, receiver<T>> unbounded_channel();

// The sending half of a bounded channel. Copyable: every copy is one more sender.
template <class T>
class sender : public detail::sender_base<T> {
 public:
  // Waits for room, then sends; throws channel_closed if the receiver is gone or closed.
  detail::send_awaiter<T> send(T value) { return detail::send_awaiter<T>(this->require("send"), std::move(value)); }

  // Sends only if there is room now; moves from `value` only when it returns sent.
  send_status try_send(T&& value) {
    auto& state = this->require("try_send");
    std::lock_guard guard(state.mutex_);
    std::optional<T> slot(std::move(value));
    detail::value_node<T> node;
    const bool done = state.try_send_locked(slot, node);
    if (done && !node.closed) return send_status::sent;
    value = std::move(*slot);  // not sent: the caller keeps its value
    return done ? send_status::closed : send_status::full;
  }
  send_status try_send(const T& value) {
    T copy(value);
    return try_send(std::move(copy));
  }

  // For plain threads: blocks while the channel is full.
  void blocking_send(T value) {
    tandem::detail::check_off_runtime_thread("mpsc::sender::blocking_send", "co_await the async form instead");
    auto& state = this->require("blocking_send");
    std::optional<T> slot(std::move(value));
    detail::value_node<T> node;
    tandem::detail::block_until_done(
        state.mutex_, node, [&]() { return state.try_send_locked(slot, node); },
        [&](detail::value_node<T>& n) {
          n.slot = &slot;
          state.senders_waiting_.push_back(n);
        });
    if (node.closed) throw channel_closed("tandem::mpsc: the receiver is closed or gone");
  }

 private:
  friend std::pair<sender<T>, receiver<T>> channel<T>(std::size_t);
  using detail::sender_base<T>::sender_base;
};

// The sending half of an unbounded channel: send never waits. Copyable.
template <class T>
class unbounded_sender : public detail::sender_base<T> {
 public:
  // Throws channel_closed if the receiver is gone or closed.
  void send(T value) {
    auto& state = this->require("send");
    // Declared before the lock: a message refused by a closed channel is destroyed after
    // the lock is released (it may own a sender of this channel).
    std::optional<T> slot(std::move(value));
    detail::value_node<T> node;
    std::lock_guard guard(state.mutex_);
    state.try_send_locked(slot, node);
    if (node.closed) throw channel_closed("tandem::mpsc: the receiver is closed or gone");
  }

 private:
  friend std::pair<unbounded_sender<T>, receiver<T>> unbounded_channel<T>();
  using detail::sender_base<T>::sender_base;
};

// The receiving half. Move-only.
template <class T>
class receiver : private detail::receiver_handle<T> {
 public:
  // The next message, or an empty optional once every sender is gone (or the channel
  // is closed) and the queue is drained.
  detail::receive_awaiter<T, false> recv() { return detail::receive_awaiter<T, false>(require("recv")); }

  // Appends up to `limit` messages to `out` (waiting for the first); 0 at the end.
  detail::receive_awaiter<T, true> recv_many(std::vector<T>& out, std::size_t limit) {
    if (limit == 0) throw std::invalid_argument("tandem::mpsc::receiver::recv_many: the limit must be at least 1");
    return detail::receive_awaiter<T, true>(require("recv_many"), &out, limit);
  }

  // A message if one is queued now.
  std::optional<T> try_recv() {
    auto& state = require("try_recv");
    std::lock_guard guard(state.mutex_);
    std::optional<T> slot;
    state.try_receive_locked(slot);
    return slot;
  }

  // For plain threads: blocks until a message comes or the channel ends.
  std::optional<T> blocking_recv() {
    tandem::detail::check_off_runtime_thread("mpsc::receiver::blocking_recv", "co_await the async form instead");
    auto& state = require("blocking_recv");
    std::optional<T> slot;
    detail::value_node<T> node;
    tandem::detail::block_until_done(
        state.mutex_, node, [&]() { return state.try_receive_locked(slot); },
        [&](detail::value_node<T>& n) {
          n.slot = &slot;
          state.receivers_.push_back(n);
        });
    return slot;
  }

  // Refuses further sends; what is queued can still be received.
  void close() { require("close").close(); }

 private:
  friend std::pair<sender<T>, receiver<T>> channel<T>(std::size_t);
  friend std::pair<unbounded_sender<T>, receiver<T>> unbounded_channel<T>();
  explicit receiver(std::shared_ptr<detail::channel_state<T>> state) noexcept
      : detail::receiver_handle<T>(std::move(state)) {}
  using detail::receiver_handle<T>::require;
};

// A bounded channel holding at most `capacity` messages (at least 1).
template <class T>
std::pair<sender<T>, receiver<T>> channel(std::size_t capacity) {
  static_assert(std::is_nothrow_move_constructible_v<T>, "tandem::mpsc: messages need a noexcept move constructor");
  if (capacity == 0) throw std::invalid_argument("tandem::mpsc::channel: the capacity must be at least 1");
  auto state = std::make_shared<detail::channel_state<T>>(capacity);
  return {sender<T>(state), receiver<T>(state)};
}

// A channel without a bound: send never waits (memory is the limit).
template <class T>
std::pair<unbounded_sender<T>, receiver<T>> unbounded_channel() {
  static_assert(std::is_nothrow_move_constructible_v<T>, "tandem::mpsc: messages need a noexcept move constructor");
  auto state = std::make_shared<detail::channel_state<T>>(0);
  return {unbounded_sender<T>(state), receiver<T>(state)};
}

}  // namespace tandem::mpsc
