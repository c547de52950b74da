// detail/time/timer_wheel.hpp: checked against a sorted multimap on random operations.
#include <tandem/detail/time/timer_wheel.hpp>

#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <memory>
#include <vector>

#include "support/random.hpp"

namespace {

using tandem::detail::timer_entry;
using tandem::detail::timer_wheel;

struct timer : timer_entry {
  int id = 0;
};

TEST(TimerWheel, FiresInDeadlineOrderAtTheRightTick) {
  timer_wheel wheel(1000);
  std::vector<std::unique_ptr<timer>> timers;
  for (std::uint64_t offset : {1, 2, 63, 64, 65, 4095, 4096, 4097, 300000, 17, 5}) {
    auto t = std::make_unique<timer>();
    t->id = static_cast<int>(offset);
    ASSERT_TRUE(wheel.insert(*t, 1000 + offset));
    timers.push_back(std::move(t));
  }
  std::vector<std::uint64_t> fired_at;
  std::uint64_t now = 1000;
  while (!wheel.empty()) {
    const auto next = wheel.next_expiry();
    ASSERT_TRUE(next.has_value());
    ASSERT_GT(*next, now);
    now = *next;
    wheel.advance(now, [&](timer_entry& e) {
      EXPECT_EQ(e.deadline, now) << "fired early or late";
      fired_at.push_back(e.deadline);
    });
  }
  EXPECT_EQ(fired_at, (std::vector<std::uint64_t>{1001, 1002, 1005, 1017, 1063, 1064, 1065, 5095, 5096, 5097, 301000}));
}

TEST(TimerWheel, PastDeadlinesAreRefusedAndCancelledTimersNeverFire) {
  timer_wheel wheel(50);
  timer a;
  timer b;
  EXPECT_FALSE(wheel.insert(a, 50));
  EXPECT_FALSE(wheel.insert(a, 10));
  ASSERT_TRUE(wheel.insert(a, 60));
  ASSERT_TRUE(wheel.insert(b, 70));
  wheel.cancel(a);
  wheel.cancel(a);  // twice is harmless
  int fired = 0;
  wheel.advance(100, [&](timer_entry& e) {
    EXPECT_EQ(&e, static_cast<timer_entry*>(&b));
    ++fired;
  });
  EXPECT_EQ(fired, 1);
  EXPECT_TRUE(wheel.empty());
  EXPECT_EQ(wheel.elapsed(), 100u);
}

TEST(TimerWheel, TimersBeyondTheSpanWaitTheirTurn) {
  timer_wheel wheel(0);
  timer far;
  const std::uint64_t deadline = timer_wheel::max_span * 3 + 12345;
  ASSERT_TRUE(wheel.insert(far, deadline));
  int fired = 0;
  std::uint64_t steps = 0;
  while (!wheel.empty()) {
    const auto next = wheel.next_expiry();
    ASSERT_TRUE(next.has_value());
    ASSERT_LE(*next, deadline);
    wheel.advance(*next, [&](timer_entry& e) {
      EXPECT_EQ(e.deadline, deadline);
      ++fired;
    });
    ASSERT_LT(++steps, 100u) << "no progress";
  }
  EXPECT_EQ(fired, 1);
  EXPECT_EQ(wheel.elapsed(), deadline);
}

// A deadline in the next turn of the top level's current slot (less than the span away,
// but in the same top slot as "now") must not read as due now: that looped forever.
TEST(TimerWheel, DeadlineInTheCurrentTopSlotsNextTurnWaits) {
  for (const std::uint64_t start : {std::uint64_t{5}, timer_wheel::top_slot_span / 2, timer_wheel::top_slot_span - 1}) {
    timer_wheel wheel(start);
    timer far;
    const std::uint64_t deadline = timer_wheel::max_span + 1;
    ASSERT_TRUE(wheel.insert(far, deadline));
    const auto next = wheel.next_expiry();
    ASSERT_TRUE(next.has_value());
    EXPECT_GT(*next, start + 10);
    int fired = 0;
    wheel.advance(start + 10, [&](timer_entry&) { ++fired; });
    EXPECT_EQ(fired, 0);
    std::uint64_t steps = 0;
    while (!wheel.empty()) {
      const auto at = wheel.next_expiry();
      ASSERT_TRUE(at.has_value());
      ASSERT_LE(*at, deadline);
      wheel.advance(*at, [&](timer_entry& e) {
        EXPECT_EQ(e.deadline, deadline);
        ++fired;
      });
      ASSERT_LT(++steps, 100u) << "no progress";
    }
    EXPECT_EQ(fired, 1);
  }
}

// Random inserts, cancels and advances, with a multimap as the reference.
TEST(TimerWheel, MatchesAReferenceOnRandomOperations) {
  constexpr int count = 20'000;
  std::vector<timer> timers(count);
  std::multimap<std::uint64_t, int> reference;
  std::vector<bool> live(count, false);
  timer_wheel wheel(7);
  std::uint64_t now = 7;
  std::uint64_t rng = 12345;
  auto next_random = [&] { return rng = test_support::splitmix64(rng, 1); };
  int fired_total = 0;
  for (int step = 0; step < 200'000; ++step) {
    const std::uint64_t r = next_random();
    const int id = static_cast<int>(r % count);
    switch ((r >> 32) % 4) {
      case 0:
      case 1: {
        if (live[id]) break;
        // Mostly near, sometimes hours or years ahead.
        const std::uint64_t scale = ((r >> 40) % 8 == 0) ? (std::uint64_t{1} << 40) : ((r >> 40) % 2 ? 5000 : 70);
        const std::uint64_t deadline = now + 1 + (next_random() % scale);
        timers[id].id = id;
        ASSERT_TRUE(wheel.insert(timers[id], deadline));
        reference.emplace(deadline, id);
        live[id] = true;
        break;
      }
      case 2: {
        if (!live[id]) break;
        wheel.cancel(timers[id]);
        for (auto it = reference.lower_bound(timers[id].deadline); it != reference.end(); ++it) {
          if (it->second == id) {
            reference.erase(it);
            break;
          }
        }
        live[id] = false;
        break;
      }
      default: {
        const std::uint64_t target = now + (next_random() % 3000);
        if (auto next = wheel.next_expiry(); next && !reference.empty()) {
          ASSERT_LE(*next, reference.begin()->first) << "the wheel would sleep past a deadline";
        }
        std::uint64_t last = 0;
        wheel.advance(target, [&](timer_entry& e) {
          auto& t = static_cast<timer&>(e);
          ASSERT_LE(e.deadline, target);
          ASSERT_GE(e.deadline, last) << "out of order";
          last = e.deadline;
          ASSERT_TRUE(live[t.id]);
          auto it = reference.find(e.deadline);
          while (it != reference.end() && it->second != t.id) ++it;
          ASSERT_NE(it, reference.end());
          reference.erase(it);
          live[t.id] = false;
          ++fired_total;
        });
        now = target;
        ASSERT_TRUE(reference.empty() || reference.begin()->first > now) << "a due timer did not fire";
        ASSERT_EQ(wheel.size(), reference.size());
      }
    }
  }
  EXPECT_GT(fired_total, 1'000);
}

}  // namespace
