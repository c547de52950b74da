// The store-buffering litmus test (Dekker): one side stores x then loads y behind a
// light fence, the other stores y then loads x behind a heavy fence. Without
// fences x86 lets both loads see 0 (the test's WithoutFences case shows the
// harness catches that); with the pair, that outcome must never occur.
#include <atomic>
#include <thread>

#include <gtest/gtest.h>

#include "tandem/detail/sched/asymmetric_fence.hpp"

namespace {

void spin(unsigned iterations) {
  for (unsigned i = 0; i < iterations; ++i) std::atomic_signal_fence(std::memory_order_seq_cst);
}

// Runs `rounds` races and returns how often both loads saw 0.
template <class LightFence, class HeavyFence>
int count_both_zero(int rounds, LightFence light, HeavyFence heavy) {
  std::atomic<int> x{0}, y{0};
  std::atomic<int> go{-1}, heavy_saw{-1};
  int both_zero = 0;
  std::thread other([&] {
    for (int r = 0; r < rounds; ++r) {
      while (go.load(std::memory_order_acquire) != r) {}
      spin(r % 64);
      y.store(1, std::memory_order_relaxed);
      heavy();
      heavy_saw.store(x.load(std::memory_order_relaxed), std::memory_order_release);
    }
  });
  for (int r = 0; r < rounds; ++r) {
    x.store(0, std::memory_order_relaxed);
    y.store(0, std::memory_order_relaxed);
    heavy_saw.store(-1, std::memory_order_relaxed);
    go.store(r, std::memory_order_release);
    spin((r * 7) % 64);
    x.store(1, std::memory_order_relaxed);
    light();
    const int light_saw = y.load(std::memory_order_relaxed);
    int seen;
    while ((seen = heavy_saw.load(std::memory_order_acquire)) == -1) {}
    if (light_saw == 0 && seen == 0) ++both_zero;
  }
  other.join();
  return both_zero;
}

TEST(AsymmetricFenceStress, WithoutFencesTheHarnessSeesTheReordering) {
  if (std::thread::hardware_concurrency() < 2) GTEST_SKIP() << "needs two cores to race";
#if defined(__SANITIZE_THREAD__)
  GTEST_SKIP() << "ThreadSanitizer serializes the race";
#else
  auto compiler_only = [] { std::atomic_signal_fence(std::memory_order_seq_cst); };
  EXPECT_GT(count_both_zero(200'000, compiler_only, compiler_only), 0);
#endif
}

TEST(AsymmetricFenceStress, StoreBufferingNeverSeesBothZero) {
  tandem::detail::enable_asymmetric_fences();
  EXPECT_EQ(count_both_zero(20'000, tandem::detail::light_fence, tandem::detail::heavy_fence), 0);
}

}  // namespace
