// work_stealing_deque<T>: Chase-Lev, in the C11 formulation of Lê, Pop, Cohen and
// Zappa Nardelli ("Correct and efficient work-stealing for weak memory models",
// PPoPP 2013), with the owner's store-load fence made asymmetric (see
// asymmetric_fence.hpp) so that push and pop cost no locked instruction.
//
// Roles. One owner thread calls push() and pop() at the bottom; any number of
// thieves call steal() at the top. T must be trivially copyable (job pointers).
//
// State. `top` and `bottom` are monotonic-ish indices into a circular array:
// the items are [top, bottom). top only ever increases (by CAS); bottom is written
// by the owner alone. Arrays are replaced when full (grow) and the old ones are
// retired, not freed, until the deque dies: a thief may still read a slot of an
// old array, and that read is harmless because every index below the bottom the
// thief saw was copied into the new array, and the CAS on top decides ownership.
//
// Races it survives.
//  - pop vs steal of the last item: both CAS top from t to t+1; exactly one wins.
//  - pop vs steal of different items: the owner stores bottom-1 then loads top;
//    the thief loads top, fences, loads bottom. The store-load pair on both sides
//    (light_fence / heavy_fence) guarantees that they cannot both believe they own
//    index bottom-1 (proof in asymmetric_fence.hpp and src/sched/README.md).
//  - ABA on top cannot happen: top never decreases.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <type_traits>
#include <vector>

#include "tandem/detail/sched/asymmetric_fence.hpp"

namespace tandem::detail {

inline constexpr std::size_t cache_line_size = 64;

enum class steal_status { success, empty, lost_race };

template <class T>
struct steal_result {
  steal_status status;
  T item;
};

template <class T>
class work_stealing_deque {
  static_assert(std::is_trivially_copyable_v<T>,
                "deque items are copied racily: they must be trivially copyable");

 public:
  explicit work_stealing_deque(std::size_t initial_capacity = 256) {
    std::size_t capacity = 1;
    while (capacity < initial_capacity) capacity <<= 1;
    auto first = std::make_unique<ring>(capacity);
    owner_ring_ = first.get();
    ring_.store(owner_ring_, std::memory_order_relaxed);
    rings_.push_back(std::move(first));
  }

  work_stealing_deque(const work_stealing_deque&) = delete;
  work_stealing_deque& operator=(const work_stealing_deque&) = delete;

  // Owner only. Returns the index the item went to (see pop_at).
  std::int64_t push(T item) {
    const std::int64_t b = bottom_.load(std::memory_order_relaxed);
    ring* r = owner_ring_;
    if (b - owner_top_bound_ >= static_cast<std::int64_t>(r->capacity)) {
      // Looks full with the cached bound: refresh it (top only grows, so the cache
      // is a lower bound and may only make us refresh too early, never too late).
      owner_top_bound_ = top_.load(std::memory_order_acquire);
      if (b - owner_top_bound_ >= static_cast<std::int64_t>(r->capacity)) r = grow(owner_top_bound_, b);
    }
    r->put(b, item);
    // Release: a thief that reads this bottom also sees the item and what it points to.
    bottom_.store(b + 1, std::memory_order_release);
    return b;
  }

  enum class pop_outcome { taken, buried, stolen };

  // Owner only. Takes back the item that push() put at `index`: `taken` if it is
  // the newest item and no thief got it; `buried` (nothing changed) if newer items
  // sit on top of it; `stolen` if a thief took it. The fork-join fast path: unlike
  // pop() it does not even read the slot.
  pop_outcome pop_at(std::int64_t index) {
    const std::int64_t b = bottom_.load(std::memory_order_relaxed) - 1;
    if (b != index) return pop_outcome::buried;
    bottom_.store(b, std::memory_order_release);  // release: see pop()
    light_fence();  // store bottom / load top: pairs with heavy_fence() in steal()
    std::int64_t t = top_.load(std::memory_order_acquire);
    if (t < b) return pop_outcome::taken;
    bool won = false;
    if (t == b) {
      won = top_.compare_exchange_strong(t, t + 1, std::memory_order_seq_cst, std::memory_order_relaxed);
    }
    owner_top_bound_ = b + 1;  // top is b + 1 now, whoever took the item
    bottom_.store(b + 1, std::memory_order_release);
    return won ? pop_outcome::taken : pop_outcome::stolen;
  }

  // Owner only. Returns nullptr-like T{} when empty (T must be a pointer-like type
  // whose value-initialized state means "nothing").
  T pop() {
    const std::int64_t b = bottom_.load(std::memory_order_relaxed) - 1;
    ring* r = owner_ring_;
    // Release keeps the happens-before chain from our pushes to thieves that read
    // this bottom (a relaxed store would end the release sequence).
    bottom_.store(b, std::memory_order_release);
    light_fence();  // store bottom / load top: pairs with heavy_fence() in steal()
    std::int64_t t = top_.load(std::memory_order_acquire);
    owner_top_bound_ = t;
    if (t > b) {
      bottom_.store(b + 1, std::memory_order_release);  // empty: undo
      return T{};
    }
    T item = r->get(b);
    if (t == b) {
      // Last item: race thieves for it on top.
      if (!top_.compare_exchange_strong(t, t + 1, std::memory_order_seq_cst, std::memory_order_relaxed))
        item = T{};
      owner_top_bound_ = b + 1;
      bottom_.store(b + 1, std::memory_order_release);
    }
    return item;
  }

  // Any thread.
  steal_result<T> steal() {
    std::int64_t t = top_.load(std::memory_order_acquire);
    std::int64_t b = bottom_.load(std::memory_order_acquire);
    if (t >= b) return {steal_status::empty, T{}};  // cheap early-out, no fence
    heavy_fence();  // load top / load bottom: pairs with light_fence() in pop()
    b = bottom_.load(std::memory_order_acquire);
    if (t >= b) return {steal_status::empty, T{}};
    // Acquire pairs with the release in grow(): the new ring's contents are visible.
    ring* r = ring_.load(std::memory_order_acquire);
    T item = r->get(t);
    if (!top_.compare_exchange_strong(t, t + 1, std::memory_order_seq_cst, std::memory_order_relaxed)) {
      return {steal_status::lost_race, T{}};
    }
    return {steal_status::success, item};
  }

  // Any thread; a snapshot that may be stale by the time it returns.
  bool looks_empty() const {
    return top_.load(std::memory_order_acquire) >= bottom_.load(std::memory_order_acquire);
  }

  std::size_t size_hint() const {
    const std::int64_t n = bottom_.load(std::memory_order_acquire) - top_.load(std::memory_order_acquire);
    return n > 0 ? static_cast<std::size_t>(n) : 0;
  }

  std::size_t capacity() const { return owner_ring_->capacity; }

 private:
  struct ring {
    explicit ring(std::size_t cap) : capacity(cap), mask(cap - 1), slots(new std::atomic<T>[cap]) {}
    // Relaxed: slots are published by the release/acquire pairs on bottom and ring_.
    T get(std::int64_t i) const {
      return slots[static_cast<std::size_t>(i) & mask].load(std::memory_order_relaxed);
    }
    void put(std::int64_t i, T v) {
      slots[static_cast<std::size_t>(i) & mask].store(v, std::memory_order_relaxed);
    }
    std::size_t capacity;
    std::size_t mask;
    std::unique_ptr<std::atomic<T>[]> slots;
  };

  ring* grow(std::int64_t t, std::int64_t b) {
    auto bigger = std::make_unique<ring>(owner_ring_->capacity * 2);
    for (std::int64_t i = t; i < b; ++i) bigger->put(i, owner_ring_->get(i));
    owner_ring_ = bigger.get();
    // Release pairs with the acquire in steal(): copied slots are visible first.
    ring_.store(owner_ring_, std::memory_order_release);
    rings_.push_back(std::move(bigger));
    return owner_ring_;
  }

  alignas(cache_line_size) std::atomic<std::int64_t> top_{0};
  alignas(cache_line_size) std::atomic<std::int64_t> bottom_{0};
  std::atomic<ring*> ring_{nullptr};
  // Owner-private from here on.
  ring* owner_ring_ = nullptr;
  std::int64_t owner_top_bound_ = 0;
  std::vector<std::unique_ptr<ring>> rings_;
};

}  // namespace tandem::detail
