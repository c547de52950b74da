// primitive_awaiter: the one shape of every awaitable operation on a sync primitive or
// channel (lock, acquire, notified, send, recv, ...): try now; otherwise enqueue a wait
// node and suspend; when woken, finish. Cancellation safety lives here once: an awaiter
// destroyed before it finished unlinks its node, or undoes a grant it never consumed.
//
// The derived class's destructor calls leave() first. It provides, each called with the
// primitive's lock held:
//   spin_mutex& primitive_mutex();
//   bool try_complete_locked();   // completes now if it can (closed counts)
//   void enqueue_locked(wait_node&);         // files the node to be granted later
//   void unlink_locked(wait_node&);  // takes a still-queued node back out
//   void undo_grant_locked();     // hands back what a grant gave it
// and `static constexpr const char* operation_name`, `static constexpr bool
// usually_ready`.
//
// Thread safety: an awaiter belongs to the task polling it; the node's fields are
// guarded by the primitive's lock (detail/sync/wait_list.hpp).
#pragma once

#include <coroutine>
#include <mutex>

#include "tandem/detail/runtime/poll_context.hpp"
#include "tandem/detail/runtime/task_header.hpp"
#include "tandem/detail/sync/wait_list.hpp"

namespace tandem::detail {

// Node: wait_node, or a type derived from it that carries more (a channel's message slot).
template <class Derived, class Node = wait_node>
class primitive_awaiter : public pollable {
 public:
  primitive_awaiter() = default;
  // Movable only before it is first awaited (select and timeout take awaitables by
  // value): the node is not on any list yet, so a fresh one takes its place.
  // The moved-from awaiter is finished: its destructor touches nothing (its derived
  // members, a pointer to the primitive among them, may be moved-from too).
  primitive_awaiter(primitive_awaiter&& other) noexcept { other.done_ = true; }
  primitive_awaiter& operator=(const primitive_awaiter&) = delete;

  // Operations that usually complete at once (Derived::usually_ready: a send, an
  // acquire) try here, without suspending; the others (a receive) try in await_suspend
  // only, under one lock, since trying here too would take the lock twice whenever they
  // have to wait.
  bool await_ready() {
    if constexpr (Derived::usually_ready) {
      if (budget_spent()) return false;
      std::lock_guard guard(self().primitive_mutex());
      if (!self().try_complete_locked()) return false;
      finish();
      return true;
    } else {
      return false;
    }
  }

  bool await_suspend(std::coroutine_handle<> caller) {
    poll_context& poll = require_poll(Derived::operation_name);
    *poll.suspension = {this, caller};
    if (budget_spent()) {
      // Back of the queue; the next poll's advance() tries again.
      poll.task->wake_by_ref(schedule_kind::yielded);
      return true;
    }
    return !attempt(poll.task);
  }

  bool advance() override { return attempt(current_poll->task); }

 protected:
  ~primitive_awaiter() = default;

  // Every derived destructor calls this first, while the derived members a queued node
  // points into (a message, a slot) are still alive: an awaiter destroyed before it
  // finished takes its node off the list, or hands back a grant it never consumed.
  void leave() noexcept {
    if (done_) return;
    done_ = true;
    std::lock_guard guard(self().primitive_mutex());
    if (node_.queued) {
      self().unlink_locked(node_);
    } else if (node_.granted.load(std::memory_order_relaxed) && !node_.closed) {
      self().undo_grant_locked();
    }
  }

  // For await_resume: true when the primitive closed instead of granting.
  bool woken_by_close() const noexcept { return node_.closed; }
  Node& node() noexcept { return node_; }
  const Node& node() const noexcept { return node_; }

 private:
  Derived& self() noexcept { return static_cast<Derived&>(*this); }

  void finish() noexcept {
    done_ = true;
    consume_budget();
  }

  // True when the operation is complete (granted, closed, or done now).
  bool attempt(task_header* task) {
    // Acquire: pairs with the release in grant / close_node: what the waking side did
    // for us (permits, a message in our slot) is visible, and it is done with the node.
    if (node_.granted.load(std::memory_order_acquire)) {
      finish();
      return true;
    }
    std::lock_guard guard(self().primitive_mutex());
    if (node_.granted.load(std::memory_order_relaxed)) {
      finish();
      return true;
    }
    if (node_.queued) {
      // A stale wake, or the task is polled through another branch: keep waiting,
      // making sure the waker is this task.
      node_.waker = waker_ref::for_task(task);
      return false;
    }
    if (self().try_complete_locked()) {
      finish();
      return true;
    }
    node_.waker = waker_ref::for_task(task);
    self().enqueue_locked(node_);
    return false;
  }

  Node node_;
  bool done_ = false;
};

}  // namespace tandem::detail
