// injection_queue<T>: a multi-producer, multi-consumer FIFO for work submitted
// from outside a pool (external threads, other pools, broadcast targets).
//
// It is off the fork-join hot path: workers look at it only after their own deque
// and a round of stealing came up empty, and they first read the atomic length,
// so an empty queue costs an idle worker one load and never the lock.
//
// Thread safety: every member may be called from any thread.
#pragma once

#include <atomic>
#include <cstddef>
#include <deque>
#include <mutex>
#include <optional>

namespace tandem::detail {

template <class T>
class injection_queue {
 public:
  void push(T item) {
    std::lock_guard lock(mutex_);
    items_.push_back(item);
    // Release pairs with the acquire in looks_empty(): a reader that sees the new
    // length and then locks will find the item.
    length_.store(items_.size(), std::memory_order_release);
  }

  std::optional<T> pop() {
    if (looks_empty()) return std::nullopt;
    std::lock_guard lock(mutex_);
    if (items_.empty()) return std::nullopt;
    T item = items_.front();
    items_.pop_front();
    length_.store(items_.size(), std::memory_order_release);
    return item;
  }

  bool looks_empty() const { return length_.load(std::memory_order_acquire) == 0; }

 private:
  std::mutex mutex_;
  std::deque<T> items_;
  std::atomic<std::size_t> length_{0};
};

}  // namespace tandem::detail
