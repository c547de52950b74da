// detail/runtime/blocking_pool.hpp: growth on demand, the cap, keep-alive, shutdown.
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <thread>

#include <gtest/gtest.h>

#include <tandem/detail/runtime/blocking_pool.hpp>

#include "support/waiting.hpp"

namespace {

using namespace std::chrono_literals;
namespace detail = tandem::detail;

class function_job final : public detail::blocking_job {
 public:
  explicit function_job(std::function<void()> f) : f_(std::move(f)) {}
  void run() noexcept override { f_(); }

 private:
  std::function<void()> f_;
};

bool submit(detail::blocking_pool& pool, std::function<void()> f) {
  std::unique_ptr<detail::blocking_job> job = std::make_unique<function_job>(std::move(f));
  return pool.submit(job);
}

TEST(BlockingPool, GrowsOnDemandAndNeverPastItsCap) {
  auto pool = std::make_shared<detail::blocking_pool>(4, 10s, "cap-test");
  std::atomic<int> running{0};
  std::atomic<int> most{0};
  std::atomic<int> done{0};
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(submit(*pool, [&] {
      const int now = running.fetch_add(1) + 1;
      for (int seen = most.load(); now > seen && !most.compare_exchange_weak(seen, now);) {}
      std::this_thread::sleep_for(1ms);
      running.fetch_sub(1);
      done.fetch_add(1);
    }));
    EXPECT_LE(pool->thread_count(), 4u);
  }
  ASSERT_TRUE(test_support::wait_for([&] { return done.load() == 100; }, 10'000ms));
  EXPECT_LE(most.load(), 4);
  EXPECT_GE(most.load(), 2) << "the pool did not grow";
  EXPECT_TRUE(pool->shutdown(std::chrono::nanoseconds::max()));
}

TEST(BlockingPool, IdleThreadsAreReusedThenLeaveAfterTheKeepAlive) {
  auto pool = std::make_shared<detail::blocking_pool>(8, 50ms, "keep-alive");
  std::atomic<int> done{0};
  for (int round = 0; round < 5; ++round) {
    ASSERT_TRUE(submit(*pool, [&] { done.fetch_add(1); }));
    ASSERT_TRUE(test_support::wait_for([&] { return done.load() == round + 1; }));
    ASSERT_TRUE(test_support::wait_for([&] { return pool->idle_count() == 1; }));
    EXPECT_EQ(pool->thread_count(), 1u) << "one job at a time needs one thread";
  }
  EXPECT_TRUE(test_support::wait_for([&] { return pool->thread_count() == 0; }, 2'000ms))
      << "the idle thread did not leave";
  EXPECT_TRUE(pool->shutdown(std::chrono::nanoseconds::max()));
}

TEST(BlockingPool, ShutdownRunsQueuedWorkAndRefusesNewWork) {
  auto pool = std::make_shared<detail::blocking_pool>(1, 10s, "shutdown");
  std::atomic<int> done{0};
  for (int i = 0; i < 20; ++i)
    ASSERT_TRUE(submit(*pool, [&] {
      std::this_thread::sleep_for(1ms);
      done.fetch_add(1);
    }));
  EXPECT_TRUE(pool->shutdown(std::chrono::nanoseconds::max()));
  EXPECT_EQ(done.load(), 20) << "queued work was lost";
  EXPECT_FALSE(submit(*pool, [] {}));
}

TEST(BlockingPool, ShutdownTimeoutStopsWaitingForABusyThread) {
  auto pool = std::make_shared<detail::blocking_pool>(1, 10s, "timeout");
  auto release = std::make_shared<std::atomic<bool>>(false);
  ASSERT_TRUE(submit(*pool, [release] {
    while (!release->load()) std::this_thread::sleep_for(1ms);
  }));
  ASSERT_TRUE(test_support::wait_for([&] { return pool->thread_count() == 1; }));
  EXPECT_FALSE(pool->shutdown(20ms));
  release->store(true);
  EXPECT_TRUE(test_support::wait_for([&] { return pool->thread_count() == 0; }));
}

}  // namespace
