// Several producers and consumers share one injection queue: every item is taken
// exactly once (per-item count and a checksum of ids).
#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "tandem/detail/sched/injection_queue.hpp"

namespace {

TEST(InjectionQueueStress, ManyProducersManyConsumersTakeEachItemOnce) {
  constexpr std::uint32_t producers = 4, consumers = 3, per_producer = 50'000;
  constexpr std::uint32_t total = producers * per_producer;
  tandem::detail::injection_queue<std::uint32_t> queue;
  std::vector<std::atomic<std::uint32_t>> times_taken(total);
  std::atomic<std::uint32_t> taken{0};
  std::atomic<std::uint64_t> id_sum{0};

  std::vector<std::thread> threads;
  for (std::uint32_t p = 0; p < producers; ++p) {
    threads.emplace_back([&, p] {
      for (std::uint32_t i = 0; i < per_producer; ++i) queue.push(p * per_producer + i);
    });
  }
  for (std::uint32_t c = 0; c < consumers; ++c) {
    threads.emplace_back([&] {
      std::uint64_t local_sum = 0;
      while (taken.load(std::memory_order_relaxed) < total) {
        if (auto id = queue.pop()) {
          times_taken[*id].fetch_add(1, std::memory_order_relaxed);
          local_sum += *id;
          taken.fetch_add(1, std::memory_order_relaxed);
        }
      }
      id_sum.fetch_add(local_sum);
    });
  }
  for (auto& t : threads) t.join();

  EXPECT_EQ(taken.load(), total);
  EXPECT_EQ(id_sum.load(), std::uint64_t{total} * (total - 1) / 2);
  EXPECT_TRUE(queue.looks_empty());
  for (std::uint32_t i = 0; i < total; ++i) ASSERT_EQ(times_taken[i].load(), 1u) << "item " << i;
}

}  // namespace
