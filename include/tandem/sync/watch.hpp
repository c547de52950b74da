// watch: the latest value, and notice when it changes (tokio::sync::watch).
//
//   auto [tx, rx] = tandem::watch::channel<config>(load());
//   tx.send(reload());                               // replaces the value
//   co_await rx.changed();                            // wakes on a value not yet seen
//   config now = *rx.borrow_and_update();             // read it, mark it seen
//
// A receiver remembers the version it last saw: changed() completes at once if the
// value changed since, else when it next does, and marks it seen; it throws
// tandem::channel_closed once the sender is gone with nothing new to see. borrow() gives
// a read-locked view of the current value (do not hold it across a co_await: it blocks
// senders); borrow_and_update() also marks it seen. send() replaces the value and throws
// channel_closed when no receiver is left (the value is not stored); send_replace()
// stores it anyway and returns the old one; send_modify(f) changes it in place.
// Copying a receiver gives one that has seen what the original has.
//
// Cancellation-safe: changed() may lose a select any number of times; a change is
// only marked seen by the changed() that completes.
// Thread safety: senders and receivers may be used from any thread (each object by one
// thread at a time). A receiver must outlive the changed() awaited on it.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <utility>

#include "tandem/detail/sync/counted_handle.hpp"
#include "tandem/detail/sync/primitive_awaiter.hpp"
#include "tandem/detail/sync/wait_list.hpp"
#include "tandem/errors.hpp"

namespace tandem::watch {

namespace detail {

using tandem::detail::wait_node;

struct changed_node : wait_node {
  std::uint64_t* seen = nullptr;  // the receiver's version
};

template <class T>
class channel_state {
 public:
  explicit channel_state(T initial) : value_(std::move(initial)) {}

  // Replaces or changes the value under its write lock, then wakes every receiver
  // waiting for a change. `require_receiver`: refuse (throw) when none is left.
  // The value's write lock is taken first and held over the version bump, so a reader
  // holding the read lock sees a value and version that belong together; the spin lock
  // is never held while waiting for readers (a reader holding a borrow may take it).
  template <class F>
  void update(F&& change, bool require_receiver) {
    std::unique_lock write(value_mutex_);
    if (require_receiver) {
      std::lock_guard guard(mutex_);
      if (receivers_ == 0) throw channel_closed("tandem::watch::send: there are no receivers");
    }
    change(value_);
    std::lock_guard guard(mutex_);
    ++version_;
    while (wait_node* waiter = waiters_.pop_front()) {
      auto& node = *static_cast<changed_node*>(waiter);
      *node.seen = version_;
      tandem::detail::grant(node);
    }
  }

  // Lock held. True when changed() completes: a version not seen (now seen), or the
  // sender gone (recorded in `node`).
  bool try_changed_locked(std::uint64_t& seen, wait_node& node) noexcept {
    if (seen != version_) {
      seen = version_;
      return true;
    }
    if (!sender_alive_) {
      node.closed = true;
      return true;
    }
    return false;
  }

  std::uint64_t version() {
    std::lock_guard guard(mutex_);
    return version_;
  }
  bool sender_alive() {
    std::lock_guard guard(mutex_);
    return sender_alive_;
  }
  void drop_sender() noexcept {
    std::lock_guard guard(mutex_);
    sender_alive_ = false;
    while (wait_node* waiter = waiters_.pop_front()) tandem::detail::close_node(*waiter);
  }
  void add_receiver() {
    std::lock_guard guard(mutex_);
    ++receivers_;
  }
  void drop_receiver() noexcept {
    std::lock_guard guard(mutex_);
    --receivers_;
  }

  tandem::detail::spin_mutex mutex_;  // version, counts, waiters
  tandem::detail::wait_list waiters_;
  std::shared_mutex value_mutex_;  // the value: readers through borrow()
  T value_;

 private:
  std::uint64_t version_ = 0;
  std::size_t receivers_ = 1;
  bool sender_alive_ = true;
};


template <class T>
class changed_awaiter final : public tandem::detail::primitive_awaiter<changed_awaiter<T>, changed_node> {
  using base = tandem::detail::primitive_awaiter<changed_awaiter<T>, changed_node>;

 public:
  static constexpr const char* operation_name = "tandem::watch::receiver::changed";
  static constexpr bool usually_ready = false;
  changed_awaiter(channel_state<T>& state, std::uint64_t& seen) noexcept : state_(state), seen_(seen) {}
  changed_awaiter(changed_awaiter&& other) noexcept : base(std::move(other)), state_(other.state_), seen_(other.seen_) {}
  ~changed_awaiter() { this->leave(); }
  void await_resume() const {
    if (this->woken_by_close()) throw channel_closed("tandem::watch::changed: the sender is gone");
  }

 private:
  friend base;
  tandem::detail::spin_mutex& primitive_mutex() noexcept { return state_.mutex_; }
  bool try_complete_locked() noexcept { return state_.try_changed_locked(seen_, this->node()); }
  void enqueue_locked(changed_node& node) noexcept {
    node.seen = &seen_;
    state_.waiters_.push_back(node);
  }
  void unlink_locked(changed_node& node) noexcept { state_.waiters_.remove(node); }
  // The grant marked the change seen; the change stays unseen instead.
  void undo_grant_locked() noexcept { --seen_; }

  channel_state<T>& state_;
  std::uint64_t& seen_;
};

inline constexpr char sender_name[] = "tandem::watch::sender";
inline constexpr char receiver_name[] = "tandem::watch::receiver";

template <class T>
using sender_handle =
    tandem::detail::counted_handle<channel_state<T>, sender_name, &channel_state<T>::drop_sender>;
template <class T>
using receiver_handle = tandem::detail::copyable_counted_handle<channel_state<T>,
                                                       receiver_name,
                                                       &channel_state<T>::drop_receiver,
                                                       &channel_state<T>::add_receiver>;

}  // namespace detail

// A read-locked view of the current value.
template <class T>
class ref {
 public:
  const T& operator*() const noexcept { return *value_; }
  const T* operator->() const noexcept { return value_; }

 private:
  template <class U>
  friend class receiver;
  template <class U>
  friend class sender;
  ref(std::shared_mutex& mutex, const T& value) : lock_(mutex), value_(&value) {}
  std::shared_lock<std::shared_mutex> lock_;
  const T* value_;
};

template <class T>
class receiver;

template <class T>
class sender : private detail::sender_handle<T> {
 public:
  // Replaces the value and wakes the receivers; throws channel_closed when none is left.
  void send(T value) {
    require("send").update([&](T& current) { current = std::move(value); }, true);
  }
  // Replaces the value even with no receiver; returns the old one.
  T send_replace(T value) {
    T old = std::move(value);
    require("send_replace").update([&](T& current) { std::swap(current, old); }, false);
    return old;
  }
  // Changes the value in place (under its write lock) and wakes the receivers.
  template <class F>
  void send_modify(F&& modify) {
    require("send_modify").update([&](T& current) { modify(current); }, false);
  }
  ref<T> borrow() {
    auto& state = require("borrow");
    return ref<T>(state.value_mutex_, state.value_);
  }
  // A new receiver that has seen the current value.
  receiver<T> subscribe() { return receiver<T>(this->shared_state(), require("subscribe").version()); }

 private:
  template <class U>
  friend std::pair<sender<U>, receiver<U>> channel(U);
  explicit sender(std::shared_ptr<detail::channel_state<T>> state) noexcept
      : detail::sender_handle<T>(std::move(state)) {}
  using detail::sender_handle<T>::require;
};

template <class T>
class receiver : private detail::receiver_handle<T> {
 public:
  // Completes when the value changed since this receiver last saw it (see the top).
  detail::changed_awaiter<T> changed() { return detail::changed_awaiter<T>(require("changed"), seen_); }

  ref<T> borrow() {
    auto& state = require("borrow");
    return ref<T>(state.value_mutex_, state.value_);
  }
  ref<T> borrow_and_update() {
    auto& state = require("borrow_and_update");
    ref<T> view(state.value_mutex_, state.value_);
    seen_ = state.version();  // under the read lock: the version of the value in view
    return view;
  }
  // True when the value changed since this receiver last saw it; throws channel_closed
  // once the sender is gone.
  bool has_changed() {
    auto& state = require("has_changed");
    if (!state.sender_alive()) throw channel_closed("tandem::watch::has_changed: the sender is gone");
    return state.version() != seen_;
  }

 private:
  friend class sender<T>;
  template <class U>
  friend std::pair<sender<U>, receiver<U>> channel(U);
  receiver(std::shared_ptr<detail::channel_state<T>> state, std::uint64_t seen, bool first = false)
      : detail::receiver_handle<T>(std::move(state)), seen_(seen) {
    if (!first) this->shared_state()->add_receiver();
  }
  using detail::receiver_handle<T>::require;

  std::uint64_t seen_ = 0;
};

// A channel holding `initial`, already seen by the receiver returned.
template <class T>
std::pair<sender<T>, receiver<T>> channel(T initial) {
  auto state = std::make_shared<detail::channel_state<T>>(std::move(initial));
  receiver<T> first(state, 0, true);
  return {sender<T>(std::move(state)), std::move(first)};
}

}  // namespace tandem::watch
