// spawn_blocking.hpp: blocking work off the async workers.
#include <atomic>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <tandem/runtime.hpp>
#include <tandem/spawn_blocking.hpp>

#include "support/runtimes.hpp"
#include "support/waiting.hpp"

namespace {

using namespace std::chrono_literals;
using tandem::task;

class SpawnBlocking : public ::testing::TestWithParam<test_support::runtime_flavor> {
 protected:
  tandem::runtime rt = test_support::make_runtime(GetParam());
};

task<long> many_blocking_calls(long n) {
  std::vector<tandem::result_handle<long>> handles;
  for (long i = 0; i < n; ++i) handles.push_back(tandem::spawn_blocking([i] { return i * i; }));
  long total = 0;
  for (auto& h : handles) total += co_await h;
  co_return total;
}

TEST_P(SpawnBlocking, ValuesComeBack) {
  long want = 0;
  for (long i = 0; i < 2'000; ++i) want += i * i;
  EXPECT_EQ(rt.block_on(many_blocking_calls(2'000)), want);
}

task<bool> exception_comes_back() {
  try {
    co_await tandem::spawn_blocking([]() -> int { throw std::runtime_error("blocking failed"); });
  } catch (const std::runtime_error& e) {
    co_return std::string(e.what()) == "blocking failed";
  }
  co_return false;
}

TEST_P(SpawnBlocking, ExceptionsComeBack) {
  EXPECT_TRUE(rt.block_on(exception_comes_back()));
}

task<int> worker_keeps_running(std::shared_ptr<std::atomic<bool>> release) {
  // The blocking call waits for a flag that another task on this runtime sets: with
  // the work on a worker thread instead, a current_thread runtime would never get there.
  auto blocked = tandem::spawn_blocking([release] {
    while (!release->load()) std::this_thread::sleep_for(1ms);
    return 5;
  });
  auto setter = [](std::shared_ptr<std::atomic<bool>> flag) -> task<void> {
    co_await tandem::yield_now();
    flag->store(true);
  };
  co_await tandem::spawn(setter(release));
  co_return co_await blocked;
}

TEST_P(SpawnBlocking, TheAwaitingWorkerKeepsRunningOtherTasks) {
  EXPECT_EQ(rt.block_on(worker_keeps_running(std::make_shared<std::atomic<bool>>(false))), 5);
}

TEST_P(SpawnBlocking, FromOutsideThroughTheRuntime) {
  auto handle = rt.spawn_blocking([] { return 11; });
  auto wait = [](tandem::result_handle<int> h) -> task<int> { co_return co_await h; };
  EXPECT_EQ(rt.block_on(wait(std::move(handle))), 11);
}

task<bool> awaited_twice() {
  auto h = tandem::spawn_blocking([] { return 1; });
  co_await h;
  try {
    co_await h;
  } catch (const std::logic_error&) {
    co_return true;
  }
  co_return false;
}

TEST_P(SpawnBlocking, AwaitingTwiceIsAClearError) {
  EXPECT_TRUE(rt.block_on(awaited_twice()));
}

INSTANTIATE_TEST_SUITE_P(AllFlavors, SpawnBlocking, test_support::all_flavors(), test_support::flavor_name);

TEST(SpawnBlockingErrors, OutsideARuntimeThrows) {
  EXPECT_THROW((void)tandem::spawn_blocking([] { return 1; }), std::logic_error);
}

TEST(SpawnBlockingPool, CapQueuesAndShutdownRunsWhatIsQueued) {
  std::atomic<int> running{0};
  std::atomic<int> most{0};
  std::atomic<int> done{0};
  {
    auto rt = tandem::runtime::builder().worker_threads(2).max_blocking_threads(4).build();
    for (int i = 0; i < 100; ++i) {
      (void)rt.spawn_blocking([&] {
        const int now = running.fetch_add(1) + 1;
        for (int seen = most.load(); now > seen && !most.compare_exchange_weak(seen, now);) {}
        std::this_thread::sleep_for(1ms);
        running.fetch_sub(1);
        done.fetch_add(1);
      });
    }
  }  // the runtime's shutdown waits for the blocking work, queued included
  EXPECT_EQ(done.load(), 100);
  EXPECT_LE(most.load(), 4);
}

// Two calls submitted back to back while exactly one pool thread is idle: the second
// must not wait in the queue behind the first, which here waits for the second.
tandem::task<bool> second_call_starts_while_the_first_runs() {
  co_await tandem::spawn_blocking([] { return 0; });  // leaves one idle pool thread
  auto started = std::make_shared<std::atomic<bool>>(false);
  auto waiter = tandem::spawn_blocking([started] {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (!started->load()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::yield();
    }
    return true;
  });
  auto setter = tandem::spawn_blocking([started] { started->store(true); });
  const bool ok = co_await waiter;
  co_await setter;
  co_return ok;
}

TEST(SpawnBlockingPool, ASecondCallStartsAtOnceWhenTheOneIdleThreadTakesTheFirst) {
  auto rt = tandem::runtime::builder().worker_threads(1).build();
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(rt.block_on(second_call_starts_while_the_first_runs())) << "round " << i;
}

TEST(SpawnBlockingPool, BuilderRejectsZeroThreadsAndNoKeepAlive) {
  EXPECT_THROW(tandem::runtime::builder().max_blocking_threads(0), std::invalid_argument);
  EXPECT_THROW(tandem::runtime::builder().thread_keep_alive(0s), std::invalid_argument);
}

}  // namespace
