// task_header: the scheduled unit of the async runtime, one per spawned task.
//
// The protocol (states, transitions, who owns what) is written down in
// src/runtime/README.md; the short form:
//
// One atomic word holds the flags and the reference count:
//   RUNNING        a worker is polling the task (only one can: the one that took it
//                  off a queue)
//   NOTIFIED       woken since its last poll started; it is in a queue, or the poller
//                  will put it back in one when its poll ends
//   COMPLETE       its body finished (value, exception or cancellation is stored)
//   CANCELLED      abort() was called; the next poll cancels instead of resuming
//   JOIN_INTEREST  a join_handle exists
//   JOIN_WAKER     the join_handle registered the task awaiting it (join_waker)
//   refs           bits 6..63: the queue / poller, the join handle, the list of
//                  suspended tasks (while listed), each waker held by an event source
// The header (and with it the task's frame) is freed when refs reaches zero.
//
// Thread safety: every member function may be called from any thread unless it says
// otherwise; the state word serializes them.
#pragma once

#include <atomic>
#include <cstdint>

#include "tandem/detail/runtime/poll_context.hpp"

namespace tandem::detail {

class task_header;

enum class schedule_kind {
  woken,    // spawned or woken: the LIFO slot when that happens on a worker (tokio's rule)
  yielded,  // asked to let others run: back of the queue, never the LIFO slot
};

// What a task is scheduled on. Implemented by the runtime's schedulers.
class task_scheduler {
 public:
  // Takes over one reference to `task`, which has NOTIFIED set.
  virtual void schedule(task_header* task, schedule_kind kind) = 0;
  // Lists a task whose poll ended without finishing it (called by its poller while
  // RUNNING), taking a reference: shutdown finds suspended tasks there.
  virtual void keep(task_header* task) noexcept = 0;
  // Takes a completing task off that list (dropping the list's reference), if listed.
  virtual void forget(task_header* task) noexcept = 0;

 protected:
  ~task_scheduler() = default;
};

// Told when a task completes (block_on's waiter, task_group).
class completion_listener {
 public:
  virtual void task_completed(task_header* task) noexcept = 0;

 protected:
  ~completion_listener() = default;
};

struct task_vtable {
  // Resumes the task's body where it waits; true when the body has finished.
  bool (*poll)(task_header*);
  // Destroys the body (cancelled, or runtime shutting down) and records the cancellation.
  void (*cancel)(task_header*) noexcept;
  // Destroys the stored value (no join handle wants it).
  void (*drop_output)(task_header*) noexcept;
  // Frees the header and whatever it still owns.
  void (*deallocate)(task_header*) noexcept;
};

class task_header {
 public:
  static constexpr std::uint64_t running = 1;
  static constexpr std::uint64_t notified = 2;
  static constexpr std::uint64_t complete = 4;
  static constexpr std::uint64_t cancelled = 8;
  static constexpr std::uint64_t join_interest = 16;
  static constexpr std::uint64_t join_waker_set = 32;
  static constexpr std::uint64_t ref_one = 64;

  task_header(const task_vtable* vtable, task_scheduler* scheduler, std::uint64_t initial_state) noexcept
      : state_(initial_state), vtable_(vtable), scheduler_(scheduler) {}
  task_header(const task_header&) = delete;
  task_header& operator=(const task_header&) = delete;

  std::uint64_t load_state(std::memory_order order = std::memory_order_acquire) const noexcept {
    return state_.load(order);
  }
  bool is_complete() const noexcept { return (load_state() & complete) != 0; }

  // References.
  void add_ref() noexcept {
    // Relaxed: the caller already holds a reference, so the count cannot reach zero.
    state_.fetch_add(ref_one, std::memory_order_relaxed);
  }
  void drop_ref() noexcept {
    // acq_rel: the last dropper acquires every other holder's writes before freeing.
    if ((state_.fetch_sub(ref_one, std::memory_order_acq_rel) >> 6) == 1) vtable_->deallocate(this);
  }

  // Wakes without consuming the caller's reference (the caller may wake again later).
  void wake_by_ref(schedule_kind kind = schedule_kind::woken) noexcept {
    std::uint64_t s = state_.load(std::memory_order_acquire);
    for (;;) {
      if ((s & (complete | notified)) != 0) return;
      std::uint64_t next = s | notified;
      if ((s & running) == 0) next += ref_one;  // the queue's reference
      // acq_rel: publishes what the waker did before waking (the event's result) to
      // the poll that follows; pairs with start_poll's acquire.
      if (state_.compare_exchange_weak(s, next, std::memory_order_acq_rel, std::memory_order_acquire)) {
        if ((s & running) == 0) scheduler_->schedule(this, kind);
        return;
      }
    }
  }

  // abort(): the next poll cancels. Safe at any moment, any number of times.
  void request_cancel() noexcept {
    std::uint64_t s = state_.load(std::memory_order_acquire);
    for (;;) {
      if ((s & (complete | cancelled)) != 0) return;
      std::uint64_t next = s | cancelled | notified;
      const bool enqueue = (s & (running | notified)) == 0;
      if (enqueue) next += ref_one;
      if (state_.compare_exchange_weak(s, next, std::memory_order_acq_rel, std::memory_order_acquire)) {
        if (enqueue) scheduler_->schedule(this, schedule_kind::woken);
        return;
      }
    }
  }

  // The poller's side; see src/runtime/README.md. Called only by the thread that took
  // the task off a queue (holding the queue's reference).
  void run() noexcept;

  // Join-handle side.
  // True when the result is ready; otherwise registers `waiter` (a counted reference
  // is taken) to be woken at completion.
  bool register_join_waker(task_header* waiter) noexcept;
  // The join handle goes away: drops the output if it is there, the waker, the reference.
  void drop_join_handle() noexcept;

  // Shutdown: cancels and completes a task no worker polls. The caller's reference (a
  // queue's, or the suspended list's once unlisted) stands in for the poller's and is
  // dropped; a task that is already complete just loses that reference.
  void cancel_at_shutdown() noexcept;
  // For deallocate: drops the join waker the task may still hold.
  void release_join_waker() noexcept;

  void set_listener(completion_listener* listener) noexcept { listener_ = listener; }

  // Intrusive links owned by the scheduler (run queues, the list of suspended tasks).
  // `listed` is written under the list's lock, or by the poller while RUNNING.
  task_header* queue_next = nullptr;
  task_header* owned_prev = nullptr;
  task_header* owned_next = nullptr;
  std::uint32_t owned_shard = 0;
  bool listed = false;

  // Where the body is suspended; written and read only by the poller.
  suspension_point suspension;

 private:
  void complete_body() noexcept;
  void end_poll() noexcept;

  std::atomic<std::uint64_t> state_;
  const task_vtable* vtable_;
  task_scheduler* scheduler_;
  completion_listener* listener_ = nullptr;
  // Guarded by JOIN_WAKER: written by the join handle while clear, read by the
  // completer once COMPLETE is set with it.
  task_header* join_waker_ = nullptr;
};

// Suspends the polled task's current coroutine to the back of the queue: it resumes
// without asking anything (a yield, or a ready result when the budget is spent).
inline void yield_to_back(poll_context& poll, std::coroutine_handle<> caller) noexcept {
  *poll.suspension = {nullptr, caller};
  poll.task->wake_by_ref(schedule_kind::yielded);
}

// Makes `task` the one waker in `slot` (a counted reference), releasing a previous one.
// The caller guards the slot.
inline void replace_waker(task_header*& slot, task_header* task) noexcept {
  if (slot == task) return;
  task->add_ref();
  if (slot != nullptr) slot->drop_ref();
  slot = task;
}

}  // namespace tandem::detail
