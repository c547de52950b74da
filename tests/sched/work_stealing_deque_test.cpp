#include "tandem/detail/sched/work_stealing_deque.hpp"

#include <vector>

#include <gtest/gtest.h>

namespace {

using tandem::detail::steal_status;
using deque = tandem::detail::work_stealing_deque<int*>;
using pop_outcome = deque::pop_outcome;

TEST(WorkStealingDeque, EmptyDequeGivesNothing) {
  deque d;
  EXPECT_EQ(d.pop(), nullptr);
  EXPECT_EQ(d.steal().status, steal_status::empty);
  EXPECT_TRUE(d.looks_empty());
  EXPECT_EQ(d.size_hint(), 0u);
}

TEST(WorkStealingDeque, OwnerPopsNewestFirst) {
  int items[3] = {};
  deque d;
  for (int& i : items) d.push(&i);
  EXPECT_EQ(d.pop(), &items[2]);
  EXPECT_EQ(d.pop(), &items[1]);
  EXPECT_EQ(d.pop(), &items[0]);
  EXPECT_EQ(d.pop(), nullptr);
}

TEST(WorkStealingDeque, ThievesStealOldestFirst) {
  int items[3] = {};
  deque d;
  for (int& i : items) d.push(&i);
  EXPECT_EQ(d.steal().item, &items[0]);
  EXPECT_EQ(d.steal().item, &items[1]);
  EXPECT_EQ(d.pop(), &items[2]);
  EXPECT_EQ(d.steal().status, steal_status::empty);
}

TEST(WorkStealingDeque, GrowsPastItsInitialCapacityKeepingOrder) {
  deque d(4);
  std::vector<int> items(1000);
  for (int& i : items) d.push(&i);
  EXPECT_GE(d.capacity(), 1000u);
  EXPECT_EQ(d.size_hint(), 1000u);
  EXPECT_EQ(d.steal().item, &items[0]);
  for (std::size_t k = items.size(); k-- > 1;) ASSERT_EQ(d.pop(), &items[k]);
  EXPECT_EQ(d.pop(), nullptr);
}

TEST(WorkStealingDeque, WrapsAroundWithoutGrowing) {
  deque d(8);
  int x = 0;
  for (int round = 0; round < 100; ++round) {
    for (int k = 0; k < 6; ++k) d.push(&x);
    for (int k = 0; k < 3; ++k) ASSERT_EQ(d.steal().item, &x);
    for (int k = 0; k < 3; ++k) ASSERT_EQ(d.pop(), &x);
  }
  EXPECT_EQ(d.capacity(), 8u);
}

TEST(WorkStealingDeque, PopAtTakesTheNewestItemBack) {
  int a = 0;
  deque d;
  const auto slot = d.push(&a);
  EXPECT_EQ(d.pop_at(slot), pop_outcome::taken);
  EXPECT_TRUE(d.looks_empty());
}

TEST(WorkStealingDeque, PopAtReportsNewerItemsOnTop) {
  int a = 0, b = 0;
  deque d;
  const auto slot = d.push(&a);
  d.push(&b);
  EXPECT_EQ(d.pop_at(slot), pop_outcome::buried);
  EXPECT_EQ(d.size_hint(), 2u);  // nothing changed
  EXPECT_EQ(d.pop(), &b);
  EXPECT_EQ(d.pop_at(slot), pop_outcome::taken);
}

TEST(WorkStealingDeque, PopAtReportsAStolenItem) {
  int a = 0, b = 0;
  deque d;
  const auto slot_a = d.push(&a);
  const auto slot_b = d.push(&b);
  EXPECT_EQ(d.steal().item, &a);
  EXPECT_EQ(d.pop_at(slot_b), pop_outcome::taken);  // b stayed ours
  EXPECT_EQ(d.steal().status, steal_status::empty);
  const auto slot_c = d.push(&b);
  EXPECT_EQ(d.steal().item, &b);
  EXPECT_EQ(d.pop_at(slot_c), pop_outcome::stolen);
  EXPECT_NE(slot_a, slot_b);
  EXPECT_TRUE(d.looks_empty());
  d.push(&a);  // still usable after a stolen take-back
  EXPECT_EQ(d.pop(), &a);
}

}  // namespace
