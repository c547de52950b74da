// The task state machine; the protocol is in src/runtime/README.md.
#include "tandem/detail/runtime/task_header.hpp"

#include <utility>

namespace tandem::detail {

void task_header::run() noexcept {
  std::uint64_t s = state_.load(std::memory_order_acquire);
  // Acquire: pairs with the acq_rel CAS of the wake that queued us, so what the waker
  // published (an event's result) is visible to the poll.
  while (!state_.compare_exchange_weak(s, (s & ~notified) | running, std::memory_order_acq_rel,
                                       std::memory_order_acquire)) {}
  if ((s & cancelled) != 0) {
    vtable_->cancel(this);
    complete_body();
    return;
  }
  poll_context context{this, &suspension};
  poll_context* const outer = current_poll;
  current_poll = &context;
  const bool finished = vtable_->poll(this);
  current_poll = outer;
  if (finished) {
    complete_body();
    return;
  }
  // Suspended for the first time: from now on only wakers know the task, so it goes on
  // the list shutdown reads. Done while RUNNING, before any other worker can take it.
  if (!listed) scheduler_->keep(this);
  end_poll();
}

void task_header::end_poll() noexcept {
  std::uint64_t s = state_.load(std::memory_order_acquire);
  for (;;) {
    if ((s & notified) != 0) {
      // Woken (or aborted, or yielding) during the poll: our reference goes back to
      // a queue with the task.
      if (state_.compare_exchange_weak(s, s & ~running, std::memory_order_acq_rel,
                                       std::memory_order_acquire)) {
        scheduler_->schedule(this, schedule_kind::yielded);
        return;
      }
    } else {
      // Release: the poll's writes happen before a later poller's acquire; acquire:
      // the last reference frees the task after every other holder is done with it.
      const std::uint64_t next = (s & ~running) - ref_one;
      if (state_.compare_exchange_weak(s, next, std::memory_order_acq_rel, std::memory_order_acquire)) {
        if ((next >> 6) == 0) vtable_->deallocate(this);
        return;
      }
    }
  }
}

void task_header::complete_body() noexcept {
  // The output (value, exception or cancellation) is stored. acq_rel: publishes it to
  // the join handle (which acquires COMPLETE) and acquires the join waker it wrote
  // before setting JOIN_WAKER.
  const std::uint64_t before = state_.fetch_xor(running | complete, std::memory_order_acq_rel);
  if ((before & join_interest) == 0) {
    vtable_->drop_output(this);
  } else if ((before & join_waker_set) != 0) {
    join_waker_->wake_by_ref();
  }
  // The listener may free itself once told: nothing of it is touched afterwards.
  if (completion_listener* listener = listener_) listener->task_completed(this);
  scheduler_->forget(this);
  drop_ref();
}

void task_header::release_join_waker() noexcept {
  if ((state_.load(std::memory_order_acquire) & join_waker_set) != 0 && join_waker_ != nullptr)
    std::exchange(join_waker_, nullptr)->drop_ref();
}

bool task_header::register_join_waker(task_header* waiter) noexcept {
  std::uint64_t s = state_.load(std::memory_order_acquire);
  if ((s & complete) != 0) return true;
  if ((s & join_waker_set) != 0) {
    if (join_waker_ == waiter) return false;
    // Take the slot back to rewrite it; fails only if the task completed meanwhile.
    while (!state_.compare_exchange_weak(s, s & ~join_waker_set, std::memory_order_acq_rel,
                                         std::memory_order_acquire)) {
      if ((s & complete) != 0) return true;
    }
    std::exchange(join_waker_, nullptr)->drop_ref();
  }
  waiter->add_ref();
  join_waker_ = waiter;
  // Release: the completer that sees JOIN_WAKER also sees join_waker_.
  while (!state_.compare_exchange_weak(s, s | join_waker_set, std::memory_order_acq_rel,
                                       std::memory_order_acquire)) {
    if ((s & complete) != 0) {
      std::exchange(join_waker_, nullptr)->drop_ref();
      return true;
    }
  }
  return false;
}

void task_header::drop_join_handle() noexcept {
  std::uint64_t s = state_.load(std::memory_order_acquire);
  for (;;) {
    if ((s & complete) != 0) {
      // The output is the handle's: drop whatever was not taken. The waker slot stays
      // as it is and is released with the task.
      vtable_->drop_output(this);
      break;
    }
    if (state_.compare_exchange_weak(s, s & ~(join_interest | join_waker_set), std::memory_order_acq_rel,
                                     std::memory_order_acquire)) {
      // The completer will see no join interest and drop the output itself; it will
      // not read join_waker_, which is ours to release.
      if ((s & join_waker_set) != 0) std::exchange(join_waker_, nullptr)->drop_ref();
      break;
    }
  }
  drop_ref();
}

void task_header::cancel_at_shutdown() noexcept {
  const std::uint64_t s = state_.load(std::memory_order_acquire);
  if ((s & complete) != 0) {
    drop_ref();
    return;
  }
  vtable_->cancel(this);
  state_.fetch_or(running, std::memory_order_acq_rel);
  complete_body();
}

}  // namespace tandem::detail
