// runtime.hpp: builder, block_on, run, handle, shutdown, misuse errors.
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <tandem/runtime.hpp>

#include "support/runtimes.hpp"
#include "support/waiting.hpp"

namespace {

using tandem::task;

class Runtime : public ::testing::TestWithParam<test_support::runtime_flavor> {};

task<int> answer() {
  co_return 42;
}

TEST_P(Runtime, BlockOnReturnsTheValue) {
  auto rt = test_support::make_runtime(GetParam());
  EXPECT_EQ(rt.block_on(answer()), 42);
  EXPECT_EQ(rt.block_on(answer()), 42);
}

TEST_P(Runtime, BlockOnFromManyThreadsAtOnce) {
  // current_thread: one caller drives the worker at a time, the others' roots run on it.
  auto rt = test_support::make_runtime(GetParam());
  auto handle = rt.get_handle();
  std::atomic<int> total{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        total += t % 2 == 0 ? rt.block_on([]() -> task<int> {
          co_await tandem::yield_now();
          co_return 1;
        }())
                            : handle.block_on([]() -> task<int> {
                                co_await tandem::yield_now();
                                co_return 1;
                              }());
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(total.load(), 800);
}

struct sentinel {
  std::shared_ptr<std::atomic<int>> destroyed;
  explicit sentinel(std::shared_ptr<std::atomic<int>> counter) : destroyed(std::move(counter)) {}
  sentinel(sentinel&&) noexcept = default;  // the moved-from one counts nothing
  ~sentinel() {
    if (destroyed) destroyed->fetch_add(1);
  }
};

task<> hold(sentinel kept_until_destroyed) {
  (void)kept_until_destroyed;
  for (;;) co_await tandem::yield_now();
}

TEST_P(Runtime, ShutdownCancelsPendingTasksAndDestroysTheirFrames) {
  auto destroyed = std::make_shared<std::atomic<int>>(0);
  tandem::join_handle<void> kept;
  {
    auto rt = test_support::make_runtime(GetParam());
    for (int i = 0; i < 100; ++i) rt.spawn(hold(sentinel{destroyed})).detach();
    kept = rt.spawn(hold(sentinel{destroyed}));
    rt.block_on(answer());
  }
  EXPECT_EQ(destroyed->load(), 101);
  EXPECT_TRUE(kept.is_finished());
}

task<int> block_on_inside(tandem::runtime* rt) {
  try {
    rt->block_on(answer());
  } catch (const std::logic_error& e) {
    co_return std::string(e.what()).find("block_on") != std::string::npos ? 1 : 2;
  }
  co_return 0;
}

TEST_P(Runtime, BlockOnInsideAWorkerIsAClearError) {
  auto rt = test_support::make_runtime(GetParam());
  EXPECT_EQ(rt.block_on(block_on_inside(&rt)), 1);
}

task<bool> handle_current_spawns_on_this_runtime() {
  auto handle = tandem::runtime::handle::current();
  co_return co_await handle.spawn(answer()) == 42;
}

TEST_P(Runtime, HandleCurrentInsideATask) {
  auto rt = test_support::make_runtime(GetParam());
  EXPECT_TRUE(rt.block_on(handle_current_spawns_on_this_runtime()));
}

TEST_P(Runtime, HandleOutlivesTheRuntime) {
  std::optional<tandem::runtime::handle> handle;
  {
    auto rt = test_support::make_runtime(GetParam());
    handle = rt.get_handle();
  }
  auto late = handle->spawn(answer());
  EXPECT_TRUE(late.is_finished()) << "a task spawned on a shut-down runtime is cancelled at once";
}

TEST_P(Runtime, AMovedFromHandleThrowsLogicError) {
  auto rt = test_support::make_runtime(GetParam());
  auto handle = rt.get_handle();
  auto taken = std::move(handle);
  // NOLINTBEGIN(bugprone-use-after-move): using the moved-from handle is the point
  EXPECT_THROW((void)handle.spawn(answer()), std::logic_error);
  EXPECT_THROW((void)handle.block_on(answer()), std::logic_error);
  // NOLINTEND(bugprone-use-after-move)
  EXPECT_EQ(taken.block_on(answer()), 42);
}

INSTANTIATE_TEST_SUITE_P(AllFlavors, Runtime, test_support::all_flavors(), test_support::flavor_name);

TEST(RuntimeBuilder, ZeroWorkersIsRejected) {
  EXPECT_THROW(tandem::runtime::builder().worker_threads(0), std::invalid_argument);
}

TEST(RuntimeBuilder, ThreadHooksNamesAndWorkerCount) {
  std::atomic<int> started{0};
  std::atomic<int> stopped{0};
  {
    auto rt = tandem::runtime::builder()
                  .worker_threads(3)
                  .thread_name_prefix("hooked")
                  .thread_stack_size(1 << 20)
                  .on_thread_start([&](std::size_t) { started.fetch_add(1); })
                  .on_thread_stop([&](std::size_t) { stopped.fetch_add(1); })
                  .build();
    EXPECT_EQ(rt.num_workers(), 3u);
    auto name = []() -> task<std::string> { co_return test_support::thread_name(); };
    EXPECT_EQ(rt.block_on(name()).rfind("hooked-", 0), 0u);
  }
  EXPECT_EQ(started.load(), 3);
  EXPECT_EQ(stopped.load(), 3);
}

TEST(RuntimeBuilder, WorkerCountFromTheEnvironment) {
  ::setenv("TANDEM_WORKER_THREADS", "3", 1);
  {
    tandem::runtime rt;
    EXPECT_EQ(rt.num_workers(), 3u);
  }
  ::setenv("TANDEM_WORKER_THREADS", "zero", 1);
  EXPECT_THROW(tandem::runtime{}, std::invalid_argument);
  ::unsetenv("TANDEM_WORKER_THREADS");
}

TEST(Run, RunsTheMainTask) {
  EXPECT_EQ(tandem::run(answer()), 42);
}

TEST(Runtime, CurrentThreadFlavorRunsEverythingOnTheCallingThread) {
  auto rt = tandem::runtime::builder().runtime_flavor(tandem::runtime::flavor::current_thread).build();
  const auto caller = std::this_thread::get_id();
  auto where = []() -> task<std::thread::id> {
    auto inner = []() -> task<std::thread::id> { co_return std::this_thread::get_id(); };
    co_return co_await tandem::spawn(inner());
  };
  EXPECT_EQ(rt.block_on(where()), caller);
}

task<> spin_without_awaiting(std::atomic<bool>* stop) {
  while (!stop->load()) std::this_thread::yield();
  co_return;
}

task<int> count_to(int n) {
  int total = 0;
  for (int i = 0; i < n; ++i) {
    total += 1;
    co_await tandem::yield_now();
  }
  co_return total;
}

TEST(Runtime, ATaskThatNeverAwaitsDoesNotStopTheOtherWorkers) {
  auto rt = tandem::runtime::builder().worker_threads(2).build();
  std::atomic<bool> stop{false};
  auto hog = rt.spawn(spin_without_awaiting(&stop));
  // The other worker runs everything else meanwhile.
  std::vector<tandem::join_handle<int>> others;
  for (int i = 0; i < 50; ++i) others.push_back(rt.spawn(count_to(100)));
  auto total = [](std::vector<tandem::join_handle<int>>* hs) -> task<int> {
    int sum = 0;
    for (auto& h : *hs) sum += co_await h;
    co_return sum;
  };
  EXPECT_EQ(rt.block_on(total(&others)), 5'000);
  stop.store(true);
}

task<> yield_until(std::shared_ptr<std::atomic<bool>> stop) {
  while (!stop->load()) co_await tandem::yield_now();
}

TEST(Runtime, InjectedWorkRunsWhileLocalWorkNeverRunsOut) {
  // One worker whose own queue is never empty (a task that keeps yielding): tasks from
  // outside still run, because the injection queue is looked at every 61 polls.
  auto rt = tandem::runtime::builder().worker_threads(1).build();
  auto stop = std::make_shared<std::atomic<bool>>(false);
  auto busy = rt.spawn(yield_until(stop));
  for (int i = 0; i < 100; ++i) EXPECT_EQ(rt.block_on(answer()), 42);
  stop->store(true);
  auto wait = [](tandem::join_handle<void> h) -> task<int> {
    co_await h;
    co_return 1;
  };
  EXPECT_EQ(rt.block_on(wait(std::move(busy))), 1);
}

TEST(Runtime, ShutdownTimeoutGivesUpOnAPollThatDoesNotReturn) {
  // Static: the detached worker still reads it after this test returns.
  static std::atomic<bool> stop{false};
  auto started = std::make_shared<std::atomic<bool>>(false);
  auto body = [](std::atomic<bool>* flag, std::shared_ptr<std::atomic<bool>> running) -> task<> {
    running->store(true);
    while (!flag->load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    co_return;
  };
  auto rt = tandem::runtime::builder().worker_threads(1).build();
  rt.spawn(body(&stop, started)).detach();
  ASSERT_TRUE(test_support::wait_for([&] { return started->load(); }));
  const auto t0 = std::chrono::steady_clock::now();
  rt.shutdown_timeout(std::chrono::milliseconds(50));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
  stop.store(true);
}

}  // namespace
