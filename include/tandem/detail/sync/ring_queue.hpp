// ring_queue<T>: a growable FIFO on one power-of-two ring (no allocation once grown,
// unlike std::deque, whose blocks come and go as a queue cycles). push_front puts a value
// back at the head (a receive undone by cancellation keeps its place).
//
// Thread safety: none; the channel's lock guards it.
#pragma once

#include <cstddef>
#include <memory>
#include <new>
#include <utility>

namespace tandem::detail {

template <class T>
class ring_queue {
 public:
  ring_queue() noexcept = default;
  ring_queue(const ring_queue&) = delete;
  ring_queue& operator=(const ring_queue&) = delete;
  friend void swap(ring_queue& a, ring_queue& b) noexcept {
    std::swap(a.slots_, b.slots_);
    std::swap(a.head_, b.head_);
    std::swap(a.size_, b.size_);
    std::swap(a.mask_, b.mask_);
  }
  ~ring_queue() {
    while (!empty()) pop_front();
    if (slots_ != nullptr) ::operator delete(static_cast<void*>(slots_), std::align_val_t{alignof(T)});
  }

  bool empty() const noexcept { return size_ == 0; }
  std::size_t size() const noexcept { return size_; }

  void push_back(T value) {
    reserve_one();
    std::construct_at(&slots_[(head_ + size_) & mask_], std::move(value));
    ++size_;
  }

  void push_front(T value) {
    reserve_one();
    head_ = (head_ - 1) & mask_;
    std::construct_at(&slots_[head_], std::move(value));
    ++size_;
  }

  // Requires !empty().
  T pop_front() {
    T& slot = slots_[head_];
    T value = std::move(slot);
    std::destroy_at(&slot);
    head_ = (head_ + 1) & mask_;
    --size_;
    return value;
  }

 private:
  void reserve_one() {
    if (size_ < capacity()) return;
    const std::size_t grown = capacity() == 0 ? 4 : capacity() * 2;
    T* fresh = static_cast<T*>(::operator new(grown * sizeof(T), std::align_val_t{alignof(T)}));
    for (std::size_t i = 0; i < size_; ++i) {
      T& old = slots_[(head_ + i) & mask_];
      std::construct_at(&fresh[i], std::move(old));
      std::destroy_at(&old);
    }
    if (slots_ != nullptr) ::operator delete(static_cast<void*>(slots_), std::align_val_t{alignof(T)});
    slots_ = fresh;
    head_ = 0;
    mask_ = grown - 1;
  }
  std::size_t capacity() const noexcept { return slots_ == nullptr ? 0 : mask_ + 1; }

  T* slots_ = nullptr;
  std::size_t head_ = 0;
  std::size_t size_ = 0;
  std::size_t mask_ = 0;
};

}  // namespace tandem::detail
