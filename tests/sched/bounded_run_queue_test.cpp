// detail/sched/bounded_run_queue.hpp: FIFO order, capacity, overflow, steal half.
#include <array>
#include <atomic>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <tandem/detail/sched/bounded_run_queue.hpp>

namespace {

using queue = tandem::detail::bounded_run_queue<int, 8>;

TEST(BoundedRunQueue, PopsInPushOrder) {
  queue q;
  std::array<int, 8> items{0, 1, 2, 3, 4, 5, 6, 7};
  for (int& x : items) ASSERT_TRUE(q.push(&x));
  for (int i = 0; i < 8; ++i) EXPECT_EQ(q.pop(), &items[i]);
  EXPECT_EQ(q.pop(), nullptr);
}

TEST(BoundedRunQueue, RefusesWhenFullAndHandsHalfToOverflow) {
  queue q;
  std::array<int, 9> items{};
  for (int i = 0; i < 8; ++i) ASSERT_TRUE(q.push(&items[i]));
  EXPECT_FALSE(q.push(&items[8]));
  std::array<int*, 4> moved{};
  ASSERT_EQ(q.take_half_for_overflow(moved.data()), 4u);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(moved[i], &items[i]) << "the oldest half leaves";
  EXPECT_TRUE(q.push(&items[8]));
  EXPECT_EQ(q.length(), 5u);
}

TEST(BoundedRunQueue, StealTakesHalfAndReturnsOneToRun) {
  queue victim;
  queue thief;
  std::array<int, 6> items{};
  for (int& x : items) ASSERT_TRUE(victim.push(&x));
  int* to_run = victim.steal_into(thief);
  ASSERT_NE(to_run, nullptr);
  EXPECT_EQ(to_run, &items[2]);  // the third of the three taken
  EXPECT_EQ(thief.length(), 2u);
  EXPECT_EQ(victim.length(), 3u);
  EXPECT_EQ(thief.pop(), &items[0]);
  EXPECT_EQ(victim.pop(), &items[3]);
}

TEST(BoundedRunQueue, ConcurrentStealsTakeEveryItemExactlyOnce) {
  using big = tandem::detail::bounded_run_queue<int, 256>;
  constexpr int total = 200'000;
  std::vector<int> items(total);
  std::vector<std::atomic<int>> seen(total);
  big owner;
  std::atomic<bool> done{false};
  auto mark = [&](int* p) { seen[static_cast<std::size_t>(p - items.data())].fetch_add(1); };
  std::vector<std::thread> thieves;
  for (int t = 0; t < 3; ++t) {
    thieves.emplace_back([&] {
      big mine;
      while (!done.load()) {
        if (int* p = owner.steal_into(mine)) {
          mark(p);
          while (int* q = mine.pop()) mark(q);
        }
      }
    });
  }
  for (int i = 0; i < total; ++i) {
    while (!owner.push(&items[i])) {
      if (int* p = owner.pop()) mark(p);
    }
    if (i % 3 == 0) {
      if (int* p = owner.pop()) mark(p);
    }
  }
  while (int* p = owner.pop()) mark(p);
  while (owner.length() != 0) std::this_thread::yield();
  done.store(true);
  for (auto& t : thieves) t.join();
  for (int i = 0; i < total; ++i) ASSERT_EQ(seen[i].load(), 1) << "item " << i;
}

}  // namespace
