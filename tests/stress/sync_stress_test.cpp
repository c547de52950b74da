// Stress: the sync primitives and channels under many producers and consumers across
// workers and plain threads, with cancellation racing delivery. Runs under TSan in CI.
// Nothing may be lost or duplicated: every message is counted and checksummed, every
// permit comes back, the mutex excludes.
#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <tandem/combine.hpp>
#include <tandem/runtime.hpp>
#include <tandem/spawn.hpp>
#include <tandem/sync/broadcast.hpp>
#include <tandem/sync/mpsc.hpp>
#include <tandem/sync/mutex.hpp>
#include <tandem/sync/notify.hpp>
#include <tandem/sync/semaphore.hpp>

#include "support/random.hpp"
#include "support/sanitizers.hpp"

namespace {

using tandem::join_handle;
using tandem::task;

#ifdef TANDEM_TEST_SANITIZED
constexpr std::uint64_t scale = 1;
#else
constexpr std::uint64_t scale = 10;
#endif

TEST(SyncStress, MpscFromTasksAndThreadsLosesNothing) {
  auto rt = tandem::runtime::builder().worker_threads(4).build();
  constexpr std::uint64_t task_producers = 8;
  constexpr std::uint64_t thread_producers = 4;
  constexpr std::uint64_t each = 2'000 * scale;
  auto [tx, rx] = tandem::mpsc::channel<std::uint64_t>(16);
  std::vector<std::thread> threads;
  for (std::uint64_t t = 0; t < thread_producers; ++t) {
    threads.emplace_back([tx = tx, t]() mutable {
      for (std::uint64_t i = 0; i < each; ++i) tx.blocking_send((task_producers + t) * each + i);
    });
  }
  const auto [count, sum] = rt.block_on(
      [](tandem::mpsc::sender<std::uint64_t> tx, tandem::mpsc::receiver<std::uint64_t> rx,
         std::uint64_t each) -> task<std::pair<std::uint64_t, std::uint64_t>> {
        std::vector<join_handle<void>> producers;
        for (std::uint64_t p = 0; p < task_producers; ++p) {
          producers.push_back(tandem::spawn([](tandem::mpsc::sender<std::uint64_t> tx, std::uint64_t first,
                                               std::uint64_t n) -> task<void> {
            for (std::uint64_t i = first; i < first + n; ++i) co_await tx.send(i);
          }(tx, p * each, each)));
        }
        { auto last = std::move(tx); }
        std::uint64_t count = 0;
        std::uint64_t sum = 0;
        std::vector<std::uint64_t> batch;
        while (co_await rx.recv_many(batch, 7) > 0) {
          for (std::uint64_t v : batch) sum += v;
          count += batch.size();
          batch.clear();
        }
        for (auto& p : producers) co_await p;
        co_return std::pair{count, sum};
      }(std::move(tx), std::move(rx), each));
  for (auto& t : threads) t.join();
  const std::uint64_t n = (task_producers + thread_producers) * each;
  EXPECT_EQ(count, n);
  EXPECT_EQ(sum, n * (n - 1) / 2);
}

TEST(SyncStress, MutexExcludesUnderContention) {
  auto rt = tandem::runtime::builder().worker_threads(4).build();
  const std::uint64_t rounds = 300 * scale;
  const auto [counter, overlaps] = rt.block_on([](std::uint64_t rounds) -> task<std::pair<std::uint64_t, int>> {
    struct shared_state {
      std::uint64_t counter = 0;  // plain: the mutex is the only thing protecting it
      bool inside = false;
    };
    tandem::mutex<shared_state> state;
    std::atomic<int> overlaps{0};
    std::vector<join_handle<void>> tasks;
    for (int t = 0; t < 32; ++t) {
      tasks.push_back(tandem::spawn([](tandem::mutex<shared_state>& state, std::atomic<int>& overlaps,
                                       std::uint64_t rounds) -> task<void> {
        for (std::uint64_t i = 0; i < rounds; ++i) {
          auto guard = co_await state.lock();
          if (guard->inside) overlaps.fetch_add(1);
          guard->inside = true;
          if (i % 8 == 0) co_await tandem::yield_now();  // held across a suspension
          guard->counter += 1;
          guard->inside = false;
        }
      }(state, overlaps, rounds)));
    }
    for (auto& t : tasks) co_await t;
    co_return std::pair{(co_await state.lock())->counter, overlaps.load()};
  }(rounds));
  EXPECT_EQ(counter, 32 * rounds);
  EXPECT_EQ(overlaps, 0);
}

// A receiver aborted while a message is being delivered to it: the message is either
// received (and counted) or still in the channel; never both, never neither.
TEST(SyncStress, RecvAbortedAsAMessageArrivesLosesNothing) {
  auto rt = tandem::runtime::builder().worker_threads(4).build();
  const int rounds = static_cast<int>(200 * scale);
  int received = 0;
  int left_in_channel = 0;
  for (int round = 0; round < rounds; ++round) {
    auto [tx, rx] = tandem::mpsc::channel<int>(4);
    std::atomic<int> got{0};
    auto receiving = rt.spawn([](tandem::mpsc::receiver<int>& rx, std::atomic<int>& got) -> task<void> {
      if (auto v = co_await rx.recv()) got.fetch_add(*v);
    }(rx, got));
    std::thread sender([&tx] { tx.blocking_send(1); });
    if (round % 2 == 0) std::this_thread::yield();
    receiving.abort();
    sender.join();
    rt.block_on([](join_handle<void> h) -> task<void> {
      try {
        co_await h;
      } catch (const tandem::task_cancelled&) {
      }
    }(std::move(receiving)));
    received += got.load();
    while (auto v = rx.try_recv()) left_in_channel += *v;
  }
  EXPECT_EQ(received + left_in_channel, rounds);
}

// Acquires of random sizes, some losing selects, some aborted: every permit comes back.
TEST(SyncStress, SemaphorePermitsAreConserved) {
  auto rt = tandem::runtime::builder().worker_threads(4).build();
  constexpr std::size_t permits = 10;
  tandem::semaphore gate(permits);
  const std::uint64_t tasks_count = 100 * scale;
  rt.block_on([](tandem::semaphore& gate, std::uint64_t count) -> task<void> {
    std::vector<join_handle<void>> tasks;
    for (std::uint64_t i = 0; i < count; ++i) {
      tasks.push_back(tandem::spawn([](tandem::semaphore& gate, std::uint64_t seed) -> task<void> {
        for (std::uint64_t k = 0; k < 20; ++k) {
          const std::size_t n = 1 + test_support::splitmix64(seed, k) % 4;
          if (k % 3 == 0) {
            // Loses to a yield whenever it would have to wait.
            co_await tandem::select(gate.acquire(n), tandem::yield_now());
          } else {
            auto permit = co_await gate.acquire(n);
            co_await tandem::yield_now();
          }
        }
      }(gate, i)));
    }
    for (std::uint64_t i = 0; i < count; i += 5) tasks[i].abort();
    for (auto& t : tasks) {
      try {
        co_await t;
      } catch (const tandem::task_cancelled&) {
      }
    }
  }(gate, tasks_count));
  EXPECT_EQ(gate.available_permits(), permits);
}

TEST(SyncStress, BroadcastEveryReceiverSeesEverything) {
  auto rt = tandem::runtime::builder().worker_threads(4).build();
  const std::uint64_t n = 2'000 * scale;
  const auto sums = rt.block_on([](std::uint64_t n) -> task<std::vector<std::uint64_t>> {
    auto [tx, rx] = tandem::broadcast::channel<std::uint64_t>(n);  // room for all: nobody lags
    std::vector<join_handle<std::uint64_t>> receivers;
    for (int r = 0; r < 6; ++r) {
      receivers.push_back(tandem::spawn([](tandem::broadcast::receiver<std::uint64_t> rx) -> task<std::uint64_t> {
        std::uint64_t sum = 0;
        for (;;) {
          try {
            sum += co_await rx.recv();
          } catch (const tandem::channel_closed&) {
            co_return sum;
          }
        }
      }(r == 0 ? std::move(rx) : tx.subscribe())));
    }
    auto sending = tandem::spawn([](tandem::broadcast::sender<std::uint64_t> tx, std::uint64_t n) -> task<void> {
      for (std::uint64_t i = 0; i < n; ++i) {
        tx.send(i);
        if (i % 16 == 0) co_await tandem::yield_now();
      }
    }(std::move(tx), n));
    co_await sending;
    std::vector<std::uint64_t> sums;
    for (auto& r : receivers) sums.push_back(co_await r);
    co_return sums;
  }(n));
  for (std::uint64_t s : sums) EXPECT_EQ(s, n * (n - 1) / 2);
}

// notify_one from plain threads racing with notified() across workers: every
// notification is consumed by exactly one wait (one stored permit at most).
TEST(SyncStress, NotifyLosesNoNotification) {
  auto rt = tandem::runtime::builder().worker_threads(4).build();
  const int rounds = static_cast<int>(500 * scale);
  tandem::notify ping;
  tandem::notify pong;
  std::thread notifier([&] {
    for (int i = 0; i < rounds; ++i) {
      ping.notify_one();
      rt.block_on([](tandem::notify& pong) -> task<void> { co_await pong.notified(); }(pong));
    }
  });
  const int seen = rt.block_on([](tandem::notify& ping, tandem::notify& pong, int rounds) -> task<int> {
    int seen = 0;
    for (int i = 0; i < rounds; ++i) {
      co_await ping.notified();
      ++seen;
      pong.notify_one();
    }
    co_return seen;
  }(ping, pong, rounds));
  notifier.join();
  EXPECT_EQ(seen, rounds);
}

}  // namespace
