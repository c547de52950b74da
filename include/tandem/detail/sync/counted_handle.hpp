// counted_handle: the object side of a channel handle (the senders and receivers of
// sync/mpsc.hpp and sync/watch.hpp, broadcast's sender), written once so that copying,
// moving, assigning and destroying keep the state's count of that kind of handle right
// in every channel: a copy adds one (`OnCopy`, e.g. add_sender), a handle that goes away
// or is assigned over drops one (`OnDestroy`, e.g. drop_sender, which may end the stream
// or close the channel). A moved-from handle holds nothing and drops nothing; using it
// throws std::logic_error named after the handle, "tandem::mpsc::sender::send: the
// sender was moved from". counted_handle is move-only; copyable_counted_handle adds the
// copies. The channel counts its first handle of each kind itself, so constructing from
// the state counts nothing.
// (broadcast's receiver is not one: a copy takes its own position from the state.)
//
// Thread safety: one handle object is not shared between threads, but copies of it may
// be used and destroyed on different threads: the state synchronizes its own counts.
#pragma once

#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

namespace tandem::detail {

// The move-only kind. `Name` is the handle's public name, "tandem::mpsc::sender"; its
// last part ("sender") is what the moved-from message calls it.
template <class State, const char* Name, void (State::*OnDestroy)() noexcept>
class counted_handle {
 public:
  counted_handle(counted_handle&&) noexcept = default;
  counted_handle& operator=(counted_handle&& other) noexcept {
    if (this != &other) {
      release();
      state_ = std::move(other.state_);
    }
    return *this;
  }
  ~counted_handle() { release(); }

 protected:
  explicit counted_handle(std::shared_ptr<State> state) noexcept : state_(std::move(state)) {}

  State& require(const char* what) const {
    if (!state_) {
      const std::string_view name(Name);
      const std::string_view role = name.substr(name.rfind(':') + 1);
      throw std::logic_error(std::string(name) + "::" + what + ": the " + std::string(role) +
                             " was moved from");
    }
    return *state_;
  }
  // For making another handle of the same channel.
  const std::shared_ptr<State>& shared_state() const noexcept { return state_; }

 private:
  void release() noexcept {
    if (!state_) return;
    // Safety: the owner that exchange returns keeps the state alive until the drop has
    // returned, and this handle is already empty while the drop runs (it may destroy
    // messages, whose destructors may drop handles of this very channel).
    (std::exchange(state_, nullptr).get()->*OnDestroy)();
  }

  std::shared_ptr<State> state_;
};

// The copyable kind: a copy counts one more handle (`OnCopy`). (A separate template
// rather than a constraint on the copy members: g++ 12 with -fsanitize=undefined does
// not take a comparison of member-function pointers as a constant expression.)
template <class State, const char* Name, void (State::*OnDestroy)() noexcept, void (State::*OnCopy)()>
class copyable_counted_handle : public counted_handle<State, Name, OnDestroy> {
  using base = counted_handle<State, Name, OnDestroy>;

 public:
  copyable_counted_handle(const copyable_counted_handle& other) : base(other.shared_state()) {
    if (this->shared_state()) (this->shared_state().get()->*OnCopy)();
  }
  copyable_counted_handle(copyable_counted_handle&&) noexcept = default;
  // The copy is taken first: assigning a handle of the same channel never lets its count
  // touch zero on the way.
  copyable_counted_handle& operator=(const copyable_counted_handle& other) {
    return *this = copyable_counted_handle(other);
  }
  copyable_counted_handle& operator=(copyable_counted_handle&&) noexcept = default;
  ~copyable_counted_handle() = default;

 protected:
  explicit copyable_counted_handle(std::shared_ptr<State> state) noexcept : base(std::move(state)) {}
};

}  // namespace tandem::detail
