// timer_wheel: a hierarchical timing wheel (6 levels x 64 slots, in ticks of the
// caller's choosing, 1 ms for the runtime), the store behind sleep and timeout.
//
// Level L has 64 slots of 64^L ticks each, so it spans 64^(L+1) ticks; the six levels
// span 2^36 ticks (about 2.2 years of milliseconds), and a timer further out (from 2^36
// - 2^30 ticks on) waits in the top level and is re-filed when its slot comes round. A timer goes to the lowest level
// whose span, counted from the wheel's current tick, still tells its deadline apart
// (the highest bit in which deadline and now differ picks the level), and within it to
// the slot its deadline falls in. Each level keeps a 64-bit occupancy mask, so finding
// the next deadline is a rotate and a count of trailing zeros per level, and insert and
// cancel are O(1) list operations on intrusive entries (no allocation).
//
// advance(now) visits, in deadline order, every occupied slot whose start has come: a
// level-0 slot holds timers of one deadline, which fire; a higher slot is emptied and its
// timers re-filed at lower levels (or fired if already due). Each timer is re-filed at
// most once per level, so advancing is O(timers fired + levels).
//
// Thread safety: none; the owner serializes access (the runtime keeps one wheel per
// worker behind that worker's lock).
#pragma once

#include <array>
#include <bit>
#include <cstdint>
#include <optional>

namespace tandem::detail {

// A timer as the wheel sees it; lives in whatever waits on it (an awaiter in a
// coroutine frame), which must cancel it before going away.
struct timer_entry {
  timer_entry* previous = nullptr;
  timer_entry* next = nullptr;
  std::uint64_t deadline = 0;
  std::uint8_t level = 0;
  std::uint8_t slot = 0;
  bool linked = false;
};

class timer_wheel {
 public:
  static constexpr unsigned level_count = 6;
  static constexpr unsigned slot_count = 64;
  static constexpr unsigned bits_per_level = 6;
  static constexpr std::uint64_t max_span = std::uint64_t{1} << (bits_per_level * level_count);
  static constexpr std::uint64_t top_slot_span = max_span / slot_count;

  explicit timer_wheel(std::uint64_t now = 0) noexcept : elapsed_(now) {}
  timer_wheel(const timer_wheel&) = delete;
  timer_wheel& operator=(const timer_wheel&) = delete;

  std::uint64_t elapsed() const noexcept { return elapsed_; }
  bool empty() const noexcept { return count_ == 0; }
  std::size_t size() const noexcept { return count_; }

  // Files `entry` to fire at `deadline`. False, and nothing filed, when the deadline has
  // already come (deadline <= elapsed()): the caller fires it itself.
  bool insert(timer_entry& entry, std::uint64_t deadline) noexcept {
    if (deadline <= elapsed_) return false;
    entry.deadline = deadline;
    file(entry);
    ++count_;
    return true;
  }

  // Takes a filed entry out; does nothing for one that is not filed.
  void cancel(timer_entry& entry) noexcept {
    if (!entry.linked) return;
    unlink(entry);
    --count_;
  }

  // The tick at which advance() next has something to do, if anything is filed.
  std::optional<std::uint64_t> next_expiry() const noexcept {
    for (unsigned level = 0; level < level_count; ++level) {
      if (auto at = next_in_level(level)) return at->deadline;
    }
    return std::nullopt;
  }

  // Moves the wheel to `now`, calling fire(entry) for every timer due by then, in
  // deadline order. Entries are unlinked before they are fired. fire may insert or
  // cancel other entries.
  template <class Fire>
  void advance(std::uint64_t now, Fire&& fire) {
    for (;;) {
      std::optional<slot_position> due;
      for (unsigned level = 0; level < level_count && !due; ++level) due = next_in_level(level);
      if (!due || due->deadline > now) break;
      elapsed_ = due->deadline > elapsed_ ? due->deadline : elapsed_;
      timer_entry* list = take_slot(due->level, due->slot);
      while (list != nullptr) {
        timer_entry& entry = *list;
        list = entry.next;
        entry.next = entry.previous = nullptr;
        if (entry.deadline <= elapsed_) {
          --count_;
          fire(entry);
        } else {
          file(entry);  // from a higher level down to a lower one
        }
      }
    }
    if (now > elapsed_) elapsed_ = now;
  }

 private:
  struct slot_position {
    unsigned level;
    unsigned slot;
    std::uint64_t deadline;  // when the slot's time starts
  };

  static unsigned level_for(std::uint64_t elapsed, std::uint64_t deadline) noexcept {
    std::uint64_t masked = (elapsed ^ deadline) | (slot_count - 1);
    if (masked >= max_span) masked = max_span - 1;
    const unsigned significant = 63 - static_cast<unsigned>(std::countl_zero(masked));
    return significant / bits_per_level;
  }

  static unsigned slot_for(std::uint64_t deadline, unsigned level) noexcept {
    return static_cast<unsigned>((deadline >> (level * bits_per_level)) & (slot_count - 1));
  }

  void file(timer_entry& entry) noexcept {
    unsigned level = level_for(elapsed_, entry.deadline);
    unsigned slot = slot_for(entry.deadline, level);
    if (entry.deadline - elapsed_ >= max_span - top_slot_span) {
      // Beyond what the top level tells apart from its current slot (a deadline there may
      // fall in the current slot's next turn, which would read as due now, again and
      // again): the slot before the current one, whose next turn comes last and starts
      // no later than any such deadline; re-filed from there.
      level = level_count - 1;
      slot = (slot_for(elapsed_, level) + slot_count - 1) & (slot_count - 1);
    }
    entry.level = static_cast<std::uint8_t>(level);
    entry.slot = static_cast<std::uint8_t>(slot);
    timer_entry*& head = slots_[level][slot];
    entry.previous = nullptr;
    entry.next = head;
    if (head != nullptr) head->previous = &entry;
    head = &entry;
    entry.linked = true;
    occupied_[level] |= std::uint64_t{1} << slot;
  }

  void unlink(timer_entry& entry) noexcept {
    timer_entry*& head = slots_[entry.level][entry.slot];
    if (entry.previous != nullptr) {
      entry.previous->next = entry.next;
    } else {
      head = entry.next;
    }
    if (entry.next != nullptr) entry.next->previous = entry.previous;
    entry.next = entry.previous = nullptr;
    entry.linked = false;
    if (head == nullptr) occupied_[entry.level] &= ~(std::uint64_t{1} << entry.slot);
  }

  timer_entry* take_slot(unsigned level, unsigned slot) noexcept {
    timer_entry* list = slots_[level][slot];
    slots_[level][slot] = nullptr;
    occupied_[level] &= ~(std::uint64_t{1} << slot);
    for (timer_entry* e = list; e != nullptr; e = e->next) e->linked = false;
    return list;
  }

  // The first occupied slot of `level` at or after the wheel's current position.
  std::optional<slot_position> next_in_level(unsigned level) const noexcept {
    const std::uint64_t mask = occupied_[level];
    if (mask == 0) return std::nullopt;
    const unsigned shift = level * bits_per_level;
    const std::uint64_t slot_range = std::uint64_t{1} << shift;
    const std::uint64_t level_range = slot_range << bits_per_level;
    const unsigned now_slot = static_cast<unsigned>((elapsed_ >> shift) & (slot_count - 1));
    const unsigned distance = static_cast<unsigned>(std::countr_zero(std::rotr(mask, static_cast<int>(now_slot))));
    const unsigned slot = (now_slot + distance) & (slot_count - 1);
    const std::uint64_t level_start = elapsed_ & ~(level_range - 1);
    std::uint64_t deadline = level_start + slot * slot_range;
    // A slot behind the current position belongs to the next turn of the level (only
    // the top level can hold those: timers beyond the wheel's span).
    if (deadline < (elapsed_ & ~(slot_range - 1))) deadline += level_range;
    return slot_position{level, slot, deadline};
  }

  std::uint64_t elapsed_;
  std::size_t count_ = 0;
  std::array<std::uint64_t, level_count> occupied_{};
  std::array<std::array<timer_entry*, slot_count>, level_count> slots_{};
};

}  // namespace tandem::detail
