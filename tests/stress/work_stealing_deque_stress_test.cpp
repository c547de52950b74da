// One owner pushes, pops and takes back; several thieves steal. Every pushed item
// must be taken exactly once: counted per item, and the sum of taken ids checked.
// Runs once with textbook fences and once with asymmetric (membarrier) fences.
#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "tandem/detail/sched/asymmetric_fence.hpp"
#include "tandem/detail/sched/work_stealing_deque.hpp"

namespace {

using deque = tandem::detail::work_stealing_deque<std::uint32_t*>;
using tandem::detail::steal_status;

struct outcome {
  std::uint64_t taken = 0;
  std::uint64_t id_sum = 0;
};

void run_owner_and_thieves(int thieves, std::uint32_t items_total) {
  std::vector<std::uint32_t> ids(items_total);
  std::vector<std::atomic<std::uint32_t>> times_taken(items_total);
  for (std::uint32_t i = 0; i < items_total; ++i) ids[i] = i;
  deque d(16);  // small, so growth happens under contention
  std::atomic<bool> done{false};
  std::vector<outcome> per_thief(thieves);
  auto take = [&](std::uint32_t* item, outcome& o) {
    times_taken[*item].fetch_add(1, std::memory_order_relaxed);
    ++o.taken;
    o.id_sum += *item;
  };

  std::vector<std::thread> threads;
  for (int t = 0; t < thieves; ++t) {
    threads.emplace_back([&, t] {
      while (true) {
        const bool finished = done.load(std::memory_order_acquire);
        auto r = d.steal();
        if (r.status == steal_status::success) {
          take(r.item, per_thief[t]);
        } else if (finished && r.status == steal_status::empty) {
          return;
        }
      }
    });
  }

  outcome owner;
  std::uint32_t next = 0;
  std::uint64_t rng = 88172645463325252ull;
  while (next < items_total) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    const unsigned burst = 1 + rng % 8;
    for (unsigned k = 0; k < burst && next < items_total; ++k) {
      const auto slot = d.push(&ids[next++]);
      if (rng & 0x100) {  // the join pattern: take the item just pushed back
        if (d.pop_at(slot) == deque::pop_outcome::taken) take(&ids[next - 1], owner);
      }
    }
    const unsigned pops = rng % 5;
    for (unsigned k = 0; k < pops; ++k) {
      if (auto* item = d.pop()) take(item, owner);
    }
  }
  while (auto* item = d.pop()) take(item, owner);
  done.store(true, std::memory_order_release);
  for (auto& t : threads) t.join();

  std::uint64_t taken = owner.taken, id_sum = owner.id_sum;
  for (const auto& o : per_thief) {
    taken += o.taken;
    id_sum += o.id_sum;
  }
  EXPECT_EQ(taken, items_total);
  EXPECT_EQ(id_sum, std::uint64_t{items_total} * (items_total - 1) / 2);
  for (std::uint32_t i = 0; i < items_total; ++i) {
    ASSERT_EQ(times_taken[i].load(), 1u) << "item " << i;
  }
}

// Declared first: gtest runs tests in order, and the fence mode can only be
// switched on (asymmetric_fence.hpp), never off.
TEST(WorkStealingDequeStress, EveryItemTakenOnceWithTextbookFences) {
  ASSERT_FALSE(tandem::detail::asymmetric_fences_enabled);
  run_owner_and_thieves(3, 200'000);
}

TEST(WorkStealingDequeStress, EveryItemTakenOnceWithAsymmetricFences) {
  if (!tandem::detail::enable_asymmetric_fences()) GTEST_SKIP() << "membarrier is not available here";
  run_owner_and_thieves(3, 200'000);
}

}  // namespace
