// Stress: timers filed on one worker's wheel and cancelled or fired from others, aborts
// racing with expiry, and timeouts racing with wakes from plain threads. Runs under
// TSan in CI. Every task is accounted for and no timer is left on any wheel.
#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <tandem/errors.hpp>
#include <tandem/runtime.hpp>
#include <tandem/spawn.hpp>
#include <tandem/sync/oneshot.hpp>
#include <tandem/time/sleep.hpp>
#include <tandem/time/timeout.hpp>

#include "support/random.hpp"
#include "support/sanitizers.hpp"

namespace {

using namespace std::chrono_literals;
using tandem::join_handle;
using tandem::task;

#ifdef TANDEM_TEST_SANITIZED
constexpr int task_count = 4'000;
#else
constexpr int task_count = 40'000;
#endif

std::size_t pending_timers() {
  return tandem::detail::pending_timer_count(*tandem::detail::current_runtime_core());
}

// Sleeps a few short, random times; yields in between so it migrates between workers
// and its timers land on different wheels.
task<int> restless_sleeper(std::uint64_t seed) {
  for (std::uint64_t i = 0; i < 3; ++i) {
    co_await tandem::sleep(std::chrono::microseconds(test_support::splitmix64(seed, i) % 3000));
    co_await tandem::yield_now();
  }
  co_return 1;
}

TEST(TimerStress, AbortsRaceWithExpiryAcrossWorkers) {
  auto rt = tandem::runtime::builder().worker_threads(4).build();
  const auto [finished, cancelled, left] = rt.block_on([]() -> task<std::tuple<int, int, std::size_t>> {
    std::vector<join_handle<int>> handles;
    handles.reserve(task_count);
    for (int i = 0; i < task_count; ++i) handles.push_back(tandem::spawn(restless_sleeper(i)));
    // Abort every third task from other tasks, at moments spread over the sleeps.
    std::vector<join_handle<void>> aborters;
    for (int i = 0; i < task_count; i += 3) {
      aborters.push_back(tandem::spawn([](join_handle<int>* victim, std::uint64_t seed) -> task<void> {
        co_await tandem::sleep(std::chrono::microseconds(test_support::splitmix64(seed, 7) % 4000));
        victim->abort();
      }(&handles[i], i)));
    }
    for (auto& a : aborters) co_await a;
    int finished = 0;
    int cancelled = 0;
    for (auto& h : handles) {
      try {
        finished += co_await h;
      } catch (const tandem::task_cancelled&) {
        ++cancelled;
      }
    }
    co_return std::tuple{finished, cancelled, pending_timers()};
  }());
  EXPECT_EQ(finished + cancelled, task_count);
  EXPECT_LE(cancelled, (task_count + 2) / 3);
  EXPECT_EQ(left, 0u);
}

TEST(TimerStress, TimeoutsRaceWithWakesFromPlainThreads) {
  auto rt = tandem::runtime::builder().worker_threads(4).build();
  constexpr int count = task_count / 4;
  std::vector<tandem::oneshot_sender<int>> senders;
  std::vector<tandem::oneshot_receiver<int>> receivers;
  for (int i = 0; i < count; ++i) {
    auto [tx, rx] = tandem::oneshot<int>();
    senders.push_back(std::move(tx));
    receivers.push_back(std::move(rx));
  }
  std::atomic<int> got{0};
  std::atomic<int> timed_out{0};
  std::thread sender_thread([&] {
    // Sends spread over about the same 2 ms as the timeouts.
    for (int i = 0; i < count; ++i) {
      if (i % 64 == 0) std::this_thread::sleep_for(50us);
      senders[i].send(i);
    }
  });
  rt.block_on([](auto& receivers, auto& got, auto& timed_out) -> task<void> {
    std::vector<join_handle<void>> handles;
    for (auto& rx : receivers) {
      handles.push_back(tandem::spawn([](tandem::oneshot_receiver<int> rx, std::atomic<int>& got,
                                         std::atomic<int>& timed_out) -> task<void> {
        try {
          co_await tandem::timeout(std::chrono::microseconds(1500), std::move(rx));
          got.fetch_add(1);
        } catch (const tandem::timed_out&) {
          timed_out.fetch_add(1);
        }
      }(std::move(rx), got, timed_out)));
    }
    for (auto& h : handles) co_await h;
    if (pending_timers() != 0) throw std::runtime_error("timers left behind");
  }(receivers, got, timed_out));
  sender_thread.join();
  EXPECT_EQ(got.load() + timed_out.load(), count);
}

}  // namespace
