// bounded_run_queue<T>: a worker's FIFO run queue of the async runtime; one owner
// pushes and pops, any thread may steal half of it.
//
// A fixed ring of Capacity slots with tokio's packed head. `tail` is written only by
// the owner. `head` packs two indices: `real`, the next slot to pop, and `steal`, the
// first slot a thief is still copying out (steal == real when no steal is running).
// Slots in [steal, tail) belong to the queue; the owner may reuse a slot only once
// `steal` has moved past it, which is why push() checks tail - steal.
//
// Protocol (all index arithmetic wraps at 2^32):
//   push     (owner)  slot[tail] = item; tail += 1 (release: publishes the slot).
//   pop      (owner)  CAS head: real += 1 (and steal with it when no steal is running).
//   steal    (thief)  1. CAS head: real += n, steal unchanged: claims [steal, steal + n);
//                        fails when another steal is running (steal != real).
//                     2. copy the n slots into the thief's own queue.
//                     3. CAS head: steal = real: hands the slots back to the owner.
//   overflow (owner)  when full: CAS head by Capacity / 2 (no steal running) and move
//                     those items to the injection queue.
// The owner's pop and a thief's claim race only through the CAS on head, so an item is
// taken exactly once. Slots are relaxed atomics: their order comes from tail (release
// by the owner, acquire by thieves) and head (acq_rel CAS everywhere).
//
// Thread safety: push, pop and take_half_for_overflow by the owner thread only;
// steal_into and length from any thread.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>

namespace tandem::detail {

template <class T, std::uint32_t Capacity = 256>
class bounded_run_queue {
  static_assert((Capacity & (Capacity - 1)) == 0, "Capacity must be a power of two");
  static constexpr std::uint32_t mask = Capacity - 1;

 public:
  static constexpr std::uint32_t capacity = Capacity;

  // False when full; the item is not taken.
  bool push(T* item) noexcept {
    const std::uint32_t tail = tail_.load(std::memory_order_relaxed);  // only we write it
    // Acquire: pairs with the release CAS that ends a steal, so the slots it handed
    // back are free before we write them.
    const std::uint64_t head = head_.load(std::memory_order_acquire);
    if (tail - steal_of(head) >= Capacity) return false;
    slots_[tail & mask].store(item, std::memory_order_relaxed);
    // Release: the slot is written before a thief can see the new tail.
    tail_.store(tail + 1, std::memory_order_release);
    return true;
  }

  T* pop() noexcept {
    std::uint64_t head = head_.load(std::memory_order_acquire);
    for (;;) {
      const std::uint32_t steal = steal_of(head);
      const std::uint32_t real = real_of(head);
      if (real == tail_.load(std::memory_order_relaxed)) return nullptr;
      const std::uint32_t next_real = real + 1;
      const std::uint64_t next = steal == real ? pack(next_real, next_real) : pack(steal, next_real);
      if (head_.compare_exchange_weak(head, next, std::memory_order_acq_rel, std::memory_order_acquire))
        return slots_[real & mask].load(std::memory_order_relaxed);
    }
  }

  // Moves Capacity / 2 items into out[] when the queue is full and no steal is
  // running; returns how many (0 otherwise).
  std::uint32_t take_half_for_overflow(T** out) noexcept {
    std::uint64_t head = head_.load(std::memory_order_acquire);
    const std::uint32_t real = real_of(head);
    if (steal_of(head) != real) return 0;
    constexpr std::uint32_t half = Capacity / 2;
    if (tail_.load(std::memory_order_relaxed) - real < half) return 0;
    if (!head_.compare_exchange_strong(head, pack(real + half, real + half), std::memory_order_acq_rel,
                                       std::memory_order_acquire))
      return 0;
    for (std::uint32_t i = 0; i < half; ++i)
      out[i] = slots_[(real + i) & mask].load(std::memory_order_relaxed);
    return half;
  }

  // Moves about half of this queue's items into `into` (whose owner must be the
  // caller) and returns one of them to run, or null.
  T* steal_into(bounded_run_queue& into) noexcept {
    const std::uint32_t into_tail = into.tail_.load(std::memory_order_relaxed);
    const std::uint64_t into_head = into.head_.load(std::memory_order_acquire);
    if (into_tail - steal_of(into_head) > Capacity / 2) return nullptr;  // no room to take half

    std::uint64_t head = head_.load(std::memory_order_acquire);
    std::uint64_t claimed;
    std::uint32_t n;
    for (;;) {
      const std::uint32_t steal = steal_of(head);
      const std::uint32_t real = real_of(head);
      if (steal != real) return nullptr;  // another thief is copying
      // Acquire: pairs with push's release, so the slots below tail are written.
      const std::uint32_t tail = tail_.load(std::memory_order_acquire);
      n = tail - real;
      n -= n / 2;
      if (n == 0) return nullptr;
      claimed = pack(steal, real + n);
      if (head_.compare_exchange_weak(head, claimed, std::memory_order_acq_rel, std::memory_order_acquire))
        break;
    }
    const std::uint32_t first = steal_of(claimed);
    for (std::uint32_t i = 0; i < n; ++i) {
      T* item = slots_[(first + i) & mask].load(std::memory_order_relaxed);
      into.slots_[(into_tail + i) & mask].store(item, std::memory_order_relaxed);
    }
    // Hand the copied slots back: steal catches up with real (the owner may have
    // popped meanwhile, moving real further).
    head = claimed;
    for (;;) {
      const std::uint32_t real = real_of(head);
      // Release: our slot reads happen before the owner may overwrite those slots.
      if (head_.compare_exchange_weak(head, pack(real, real), std::memory_order_acq_rel,
                                      std::memory_order_acquire))
        break;
    }
    --n;
    T* to_run = into.slots_[(into_tail + n) & mask].load(std::memory_order_relaxed);
    if (n > 0) into.tail_.store(into_tail + n, std::memory_order_release);
    return to_run;
  }

  // A snapshot; exact only when no other thread touches the queue.
  std::uint32_t length() const noexcept {
    const std::uint64_t head = head_.load(std::memory_order_acquire);
    return tail_.load(std::memory_order_acquire) - real_of(head);
  }
  bool looks_empty() const noexcept { return length() == 0; }

 private:
  static constexpr std::uint64_t pack(std::uint32_t steal, std::uint32_t real) noexcept {
    return (std::uint64_t{steal} << 32) | real;
  }
  static constexpr std::uint32_t steal_of(std::uint64_t head) noexcept {
    return static_cast<std::uint32_t>(head >> 32);
  }
  static constexpr std::uint32_t real_of(std::uint64_t head) noexcept {
    return static_cast<std::uint32_t>(head);
  }

  alignas(64) std::atomic<std::uint64_t> head_{0};
  alignas(64) std::atomic<std::uint32_t> tail_{0};
  std::array<std::atomic<T*>, Capacity> slots_{};
};

}  // namespace tandem::detail
