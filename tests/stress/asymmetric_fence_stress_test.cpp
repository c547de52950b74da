// The store-buffering litmus test (Dekker): one side stores x then loads y behind a
// light fence, the other stores y then loads x behind a heavy fence. Without
// fences x86 lets both loads see 0 (the test's WithoutFences case shows the
// harness catches that); with the pair, that outcome must never occur.
#include <atomic>
#include <chrono>
#include <limits>
#include <thread>

#include <gtest/gtest.h>

#include "support/sanitizers.hpp"
#include "tandem/detail/sched/asymmetric_fence.hpp"

namespace {

void spin(unsigned iterations) {
  for (unsigned i = 0; i < iterations; ++i) std::atomic_signal_fence(std::memory_order_seq_cst);
}

struct litmus_result {
  int rounds = 0;
  int both_zero = 0;
};

// Runs up to `rounds` races, for at most `budget`, and counts how often both loads
// saw 0. The budget bounds the test on a busy machine, where the two spinning sides
// may have to wait for each other's time slice.
template <class LightFence, class HeavyFence>
litmus_result count_both_zero(int rounds,
                              std::chrono::milliseconds budget,
                              LightFence light,
                              HeavyFence heavy,
                              bool stop_at_first = false) {
  std::atomic<int> x{0}, y{0};
  std::atomic<int> go{-1}, heavy_saw{-1};
  std::atomic<int> last_round{rounds};
  litmus_result result;
  std::thread other([&] {
    for (int r = 0; r < last_round.load(std::memory_order_acquire); ++r) {
      int seen_go;
      while ((seen_go = go.load(std::memory_order_acquire)) != r && seen_go != -2) {}
      if (seen_go == -2) return;
      spin(r % 64);
      y.store(1, std::memory_order_relaxed);
      heavy();
      heavy_saw.store(x.load(std::memory_order_relaxed), std::memory_order_release);
    }
  });
  const auto deadline = std::chrono::steady_clock::now() + budget;
  for (int r = 0; r < rounds && std::chrono::steady_clock::now() < deadline; ++r) {
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
    if (light_saw == 0 && seen == 0) ++result.both_zero;
    ++result.rounds;
    if (stop_at_first && result.both_zero > 0) break;
  }
  go.store(-2, std::memory_order_release);  // tells the other side to stop early
  other.join();
  return result;
}

TEST(AsymmetricFenceStress, WithoutFencesTheHarnessSeesTheReordering) {
  if (std::thread::hardware_concurrency() < 2) GTEST_SKIP() << "needs two cores to race";
#if defined(TANDEM_TEST_SANITIZED)
  GTEST_SKIP() << "sanitizer instrumentation between the store and the load hides the reordering";
#else
  auto compiler_only = [] { std::atomic_signal_fence(std::memory_order_seq_cst); };
  // Races until the first reordering shows, for up to 3 s (usually well under 1 ms).
  const litmus_result r = count_both_zero(std::numeric_limits<int>::max(), std::chrono::seconds(3),
                                          compiler_only, compiler_only, true);
  if (r.both_zero == 0 && r.rounds < 1'000'000)
    GTEST_SKIP() << "only " << r.rounds << " races ran: machine too busy";
  EXPECT_GT(r.both_zero, 0) << "in " << r.rounds << " races";
#endif
}

TEST(AsymmetricFenceStress, StoreBufferingNeverSeesBothZero) {
  tandem::detail::enable_asymmetric_fences();
  const litmus_result r = count_both_zero(20'000, std::chrono::seconds(3), tandem::detail::light_fence,
                                          tandem::detail::heavy_fence);
  EXPECT_GT(r.rounds, 100);
  EXPECT_EQ(r.both_zero, 0) << "in " << r.rounds << " races";
}

}  // namespace
