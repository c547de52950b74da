// The waiting machinery shared by the async synchronization primitives and channels
// (include/tandem/sync/): who to wake (a task or a blocked plain thread), the wait node
// an awaiter keeps in its coroutine frame, and an intrusive FIFO of nodes. The protocol
// is written down in src/sync/README.md; the short form:
//
// - Every primitive has one lock (a spin_mutex) guarding its state, its wait list and
//   the nodes on it (`queued`, `closed`, `waker`, what the node carries).
// - A waiter enqueues its node under the lock, naming its task (not a counted
//   reference) or its thread's parker, and suspends.
// - The waking side, under the lock, unlinks the node, completes the operation for it
//   (hands it permits, a message, a notification), wakes the task, and only then sets
//   `granted` (release): its last touch of the node. (A blocked thread is the other
//   way round: `granted`, then the unpark, which it waits for.)
// - The waiter's task cannot be freed while its node is queued: the node lives in the
//   task's frame, and a frame is destroyed only through the awaiter's destructor, which
//   takes the lock to unlink the node. Nor between grant and wake: the waiter can learn
//   of the grant (`granted`, acquire) only after the wake. So the task pointer needs no
//   reference count, which saves two atomic operations per wait.
// - A waiter that goes away (its task aborted, its operation lost a select) takes the
//   lock: a node still queued is unlinked; a node already granted hands back what it
//   was given (permits, a message, a notification), so nothing is lost or duplicated.
//
// The price: wakes happen under the primitive's lock (a wake may push the task to a
// queue and, rarely, wake a sleeping worker). No wake path takes a primitive's lock.
//
// Thread safety: as above; a thread_parker may be unparked from any thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <utility>
#include <thread>

#include "tandem/detail/runtime/poll_context.hpp"
#include "tandem/detail/runtime/task_header.hpp"

namespace tandem::detail {

inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

// The lock of every primitive: held for a few pointer moves, so a test-and-set lock
// with a short spin, then yielding, beats a futex mutex (one atomic exchange to lock, a
// plain release store to unlock). Meets Lockable, for std::lock_guard.
class spin_mutex {
 public:
  void lock() noexcept {
    // Acquire: pairs with unlock's release; the previous holder's writes are visible.
    while (locked_.exchange(true, std::memory_order_acquire)) {
      for (unsigned spins = 0; locked_.load(std::memory_order_relaxed); ++spins) {
        if (spins < 64) {
          cpu_relax();
        } else {
          std::this_thread::yield();
        }
      }
    }
  }
  bool try_lock() noexcept {
    return !locked_.load(std::memory_order_relaxed) && !locked_.exchange(true, std::memory_order_acquire);
  }
  void unlock() noexcept { locked_.store(false, std::memory_order_release); }

 private:
  std::atomic<bool> locked_{false};
};

// Blocks a plain thread (blocking_send, blocking_recv, blocking_lock) until unparked.
// Safety: unpark notifies while holding the parker's mutex and park returns only after
// re-taking it, so a parker on the blocked thread's stack outlives every unpark.
class thread_parker {
 public:
  void park() {
    std::unique_lock lock(mutex_);
    condition_.wait(lock, [this] { return set_; });
    set_ = false;
  }
  void unpark() noexcept {
    std::lock_guard guard(mutex_);
    set_ = true;
    condition_.notify_one();
  }

 private:
  std::mutex mutex_;
  std::condition_variable condition_;
  bool set_ = false;
};

// Who a node wakes: a task or a parked thread (see the top of the file for why the
// task needs no reference).
class waker_ref {
 public:
  waker_ref() noexcept = default;
  static waker_ref for_task(task_header* task) noexcept {
    waker_ref w;
    w.task_ = task;
    return w;
  }
  static waker_ref for_thread(thread_parker& parker) noexcept {
    waker_ref w;
    w.thread_ = &parker;
    return w;
  }

  bool is_thread() const noexcept { return thread_ != nullptr; }

  // Called with the primitive's lock held.
  void wake() const noexcept {
    if (task_ != nullptr) {
      task_->wake_by_ref();
    } else if (thread_ != nullptr) {
      thread_->unpark();
    }
  }

 private:
  task_header* task_ = nullptr;
  thread_parker* thread_ = nullptr;
};

// A waiter, kept in an awaiter (a coroutine frame) or on a blocked thread's stack.
// Every field is guarded by the lock of the primitive it waits on.
struct wait_node {
  wait_node* previous = nullptr;
  wait_node* next = nullptr;
  waker_ref waker;
  std::size_t amount = 1;  // what it waits for (permits), where that matters
  bool queued = false;  // on the primitive's wait list
  bool closed = false;  // woken because the primitive closed
  // The waking side completed the operation for it. Written under the lock as the
  // waking side's last touch of the node (release), so the owner may read it without
  // the lock (acquire) and then go away.
  std::atomic<bool> granted{false};
};

// An intrusive FIFO of wait nodes (no allocation).
class wait_list {
 public:
  bool empty() const noexcept { return head_ == nullptr; }
  wait_node* front() const noexcept { return head_; }

  void push_back(wait_node& node) noexcept {
    node.previous = tail_;
    node.next = nullptr;
    if (tail_ != nullptr) {
      tail_->next = &node;
    } else {
      head_ = &node;
    }
    tail_ = &node;
    node.queued = true;
  }

  void remove(wait_node& node) noexcept {
    if (node.previous != nullptr) {
      node.previous->next = node.next;
    } else {
      head_ = node.next;
    }
    if (node.next != nullptr) {
      node.next->previous = node.previous;
    } else {
      tail_ = node.previous;
    }
    node.previous = node.next = nullptr;
    node.queued = false;
  }

  wait_node* pop_front() noexcept {
    wait_node* node = head_;
    if (node != nullptr) remove(*node);
    return node;
  }

 private:
  wait_node* head_ = nullptr;
  wait_node* tail_ = nullptr;
};

// Grants `node` (already unlinked): wakes it, then publishes the grant. Called with the
// lock held.
inline void grant(wait_node& node) noexcept {
  const waker_ref waker = node.waker;
  if (waker.is_thread()) {
    // A blocked thread leaves (and its node with it) as soon as it is unparked, and it
    // waits for that unpark, not for `granted`: the unpark is the last touch.
    node.granted.store(true, std::memory_order_release);
    waker.wake();
  } else {
    // A task must be woken before it can learn of the grant (see the top of the file).
    waker.wake();
    // Release: the last touch; pairs with the owner's acquire in primitive_awaiter.
    node.granted.store(true, std::memory_order_release);
  }
}

// As grant, but the primitive closed instead. Called with the lock held.
inline void close_node(wait_node& node) noexcept {
  node.closed = true;
  grant(node);
}

// Blocks the calling plain thread on a primitive (the blocking_* forms): `complete()`,
// called under `mutex`, finishes the operation now if it can; otherwise `enqueue(node)`
// files the node, naming this thread's parker. A queued thread node is woken exactly
// once (granted or closed) and must wait for that unpark, not just for the grant, before
// its parker and node may go away (see grant).
template <class Node, class Complete, class Enqueue>
void block_until_done(spin_mutex& mutex, Node& node, Complete complete, Enqueue enqueue) {
  thread_parker parker;
  bool queued = false;
  {
    std::lock_guard guard(mutex);
    if (!complete()) {
      node.waker = waker_ref::for_thread(parker);
      enqueue(node);
      queued = true;
    }
  }
  if (queued) parker.park();
}


}  // namespace tandem::detail
