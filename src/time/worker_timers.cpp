// The timer protocol is in src/time/README.md.
#include "tandem/detail/time/worker_timers.hpp"

#include <utility>
#include <vector>

#include "tandem/detail/runtime/task_header.hpp"

namespace tandem::detail {

namespace {

// Tasks whose timers fired, woken once the wheel's lock is released: waking takes queue
// and sleeper locks and may drop a task's last reference (tokio's WakeList). Per thread,
// reused: no allocation once it has grown.
thread_local std::vector<task_header*> fired_tasks;

void wake_fired() noexcept {
  for (task_header* task : fired_tasks) {
    task->wake_by_ref(schedule_kind::yielded);
    task->drop_ref();
  }
  fired_tasks.clear();
}

}  // namespace

std::size_t worker_timers::fire_due(std::uint64_t now_tick) noexcept {
  std::size_t fired = 0;
  {
    std::lock_guard guard(mutex_);
    fired = fire_locked(now_tick);
  }
  wake_fired();
  return fired;
}

std::size_t worker_timers::try_fire_due(std::uint64_t now_tick) noexcept {
  std::size_t fired = 0;
  {
    std::unique_lock lock(mutex_, std::try_to_lock);
    if (!lock.owns_lock()) return 0;
    fired = fire_locked(now_tick);
  }
  wake_fired();
  return fired;
}

std::size_t worker_timers::pending() noexcept {
  std::lock_guard guard(mutex_);
  return wheel_.size();
}

// Called with the lock held; the caller wakes `fired_tasks` after releasing it.
std::size_t worker_timers::fire_locked(std::uint64_t now_tick) noexcept {
  std::size_t fired = 0;
  wheel_.advance(now_tick, [&](timer_entry& entry) {
    // Safety: only timer_registration objects are ever filed on a worker's wheel.
    auto& registration = static_cast<timer_registration&>(entry);
    task_header* task = std::exchange(registration.waker_, nullptr);
    // Release: the last touch of the registration; its owner, reading `fired` with
    // acquire, may then free it without this lock (see disarm).
    registration.fired_.store(true, std::memory_order_release);
    keep_for_waking(task);
    ++fired;
  });
  publish_next_due();
  return fired;
}

// Called with the lock held. If the list cannot grow (out of memory), the task is woken
// here, under the lock, rather than losing the wake. Safety: that is deadlock-free too:
// waking never takes a wheel's lock, and a last reference dropped here only frees the
// task's block (its frames were destroyed when it completed), which takes no lock.
void worker_timers::keep_for_waking(task_header* task) noexcept {
  try {
    fired_tasks.push_back(task);
  } catch (...) {
    task->wake_by_ref(schedule_kind::yielded);
    task->drop_ref();
  }
}

// Called with the lock held.
void worker_timers::publish_next_due() noexcept {
  // Relaxed: a hint (see next_due); the lock orders the wheel itself.
  next_due_.store(wheel_.next_expiry().value_or(no_timer), std::memory_order_relaxed);
}

bool timer_registration::arm(worker_timers& home, std::uint64_t tick, task_header* task) noexcept {
  disarm();
  std::lock_guard guard(home.mutex_);
  if (!home.wheel_.insert(*this, tick)) return false;
  task->add_ref();
  waker_ = task;
  home_ = &home;
  home.publish_next_due();
  return true;
}

void timer_registration::disarm() noexcept {
  if (home_ == nullptr) return;
  worker_timers& home = *std::exchange(home_, nullptr);
  // Acquire: pairs with the release in fire_locked; the firing thread is done with us.
  if (fired_.load(std::memory_order_acquire)) {
    fired_.store(false, std::memory_order_relaxed);
    return;
  }
  task_header* waker = nullptr;
  {
    std::lock_guard guard(home.mutex_);
    if (fired_.load(std::memory_order_relaxed)) {
      fired_.store(false, std::memory_order_relaxed);
      return;
    }
    home.wheel_.cancel(*this);
    waker = std::exchange(waker_, nullptr);
    home.publish_next_due();
  }
  waker->drop_ref();
}

}  // namespace tandem::detail
