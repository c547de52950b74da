// Latches: one-shot "done" signals that a waiter blocks on.
//
// core_latch states:  unset --announce_sleep--> sleeping --set--> set
//                     unset ---------------------set---------------> set
// Only the waiting worker announces sleep; any thread sets. set() reports whether
// the waiter had announced sleep, in which case the setter must wake that worker
// (spin_latch does). A waiter that wakes for another reason may announce again:
// sleeping -> sleeping is allowed, set is final.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>

namespace tandem::detail {

class worker_thread;

class core_latch {
 public:
  // Acquire pairs with the release half of set(): the job's results are visible.
  bool probe() const noexcept { return state_.load(std::memory_order_acquire) == set_state; }

  // False when the latch is already set: the waiter must not sleep.
  bool announce_sleep() noexcept {
    std::uint32_t seen = state_.load(std::memory_order_relaxed);
    while (seen != set_state) {
      // acq_rel: the release orders the waiter's sleep_state store before it (the
      // setter reads sleep_state after seeing `sleeping`); the acquire side
      // matters only on the failure path, which loops or returns false.
      if (state_.compare_exchange_weak(seen, sleeping_state, std::memory_order_acq_rel,
                                       std::memory_order_relaxed)) {
        return true;
      }
    }
    return false;
  }

  // Returns true when the waiter announced sleep and so needs waking.
  bool set() noexcept { return state_.exchange(set_state, std::memory_order_acq_rel) == sleeping_state; }

 private:
  static constexpr std::uint32_t unset_state = 0;
  static constexpr std::uint32_t sleeping_state = 1;
  static constexpr std::uint32_t set_state = 2;
  std::atomic<std::uint32_t> state_{unset_state};
};

// A latch waited on by a worker; set() wakes it if asleep. The setter must be a
// thread of the same pool, which therefore outlives the call.
class spin_latch {
 public:
  explicit spin_latch(worker_thread& owner) noexcept : owner_(&owner) {}

  bool probe() const noexcept { return core_.probe(); }
  core_latch& core() noexcept { return core_; }
  void set() noexcept;  // registry.cpp

 private:
  core_latch core_;
  worker_thread* owner_;
};

// Like spin_latch, for a setter from another pool (install across pools): set()
// keeps the waiter's registry alive across the wake-up, because the moment the
// latch is set the waiter may return and its pool may be destroyed.
class cross_latch {
 public:
  explicit cross_latch(worker_thread& owner) noexcept : owner_(&owner) {}

  bool probe() const noexcept { return core_.probe(); }
  core_latch& core() noexcept { return core_; }
  void set() noexcept;  // registry.cpp

 private:
  core_latch core_;
  worker_thread* owner_;
};

// A latch for a thread that belongs to no pool: it blocks on a condition variable.
class blocking_latch {
 public:
  void set() noexcept {
    // Notify while holding the lock: the waiter cannot return (and destroy *this)
    // before we release it, and we touch nothing after the release.
    std::lock_guard lock(mutex_);
    done_ = true;
    ready_.notify_all();
  }
  void wait() {
    std::unique_lock lock(mutex_);
    ready_.wait(lock, [this] { return done_; });
  }
  bool probe() {
    std::lock_guard lock(mutex_);
    return done_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable ready_;
  bool done_ = false;
};

// Counts outstanding work; the inner latch is set when the count drops to zero.
// Starts at one, held by whoever creates it (the scope body, the broadcaster).
template <class Latch>
class count_latch {
 public:
  template <class... Args>
  explicit count_latch(Args&&... args) : latch_(std::forward<Args>(args)...) {}

  // Relaxed: the caller already holds a count, so the total cannot reach zero
  // concurrently; the decrement's acq_rel publishes everything to the waiter.
  void increment() noexcept { pending_.fetch_add(1, std::memory_order_relaxed); }

  void decrement() noexcept {
    // acq_rel: each finisher releases its writes; the last one acquires them all
    // before setting the latch, which the waiter acquires in turn.
    if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) latch_.set();
  }

  Latch& latch() noexcept { return latch_; }

 private:
  std::atomic<std::size_t> pending_{1};
  Latch latch_;
};

}  // namespace tandem::detail
