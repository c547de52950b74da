// par/compute.hpp: the bridge from async code to the par engine.
#include <atomic>
#include <chrono>
#include <memory>
#include <numeric>
#include <stdexcept>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <tandem/par/compute.hpp>
#include <tandem/par/iter.hpp>
#include <tandem/par/join.hpp>
#include <tandem/runtime.hpp>

#include "support/runtimes.hpp"

namespace {

using namespace std::chrono_literals;
using tandem::task;
namespace par = tandem::par;

class Compute : public ::testing::TestWithParam<test_support::runtime_flavor> {
 protected:
  tandem::runtime rt = test_support::make_runtime(GetParam());
};

task<long> parallel_sum(const std::vector<long>* v) {
  co_return co_await par::compute([v] { return par::iter(*v).sum(); });
}

TEST_P(Compute, RunsParallelIteratorsAndReturnsTheValue) {
  std::vector<long> v(1'000'000);
  std::iota(v.begin(), v.end(), 0L);
  EXPECT_EQ(rt.block_on(parallel_sum(&v)), 999'999L * 1'000'000L / 2);
}

task<int> on_a_given_pool(par::pool* pool) {
  co_return co_await par::compute(*pool, [] {
    auto [a, b] = par::join([] { return par::current_thread_index().value_or(99); }, [] { return 1; });
    return a < 2 ? b : -1;
  });
}

TEST_P(Compute, OnAGivenPool) {
  auto pool = par::pool::builder().num_threads(2).build();
  EXPECT_EQ(rt.block_on(on_a_given_pool(&pool)), 1);
}

task<bool> exception_comes_back() {
  try {
    co_await par::compute([]() -> int { throw std::runtime_error("compute failed"); });
  } catch (const std::runtime_error&) {
    co_return true;
  }
  co_return false;
}

TEST_P(Compute, ExceptionsComeBack) {
  EXPECT_TRUE(rt.block_on(exception_comes_back()));
}

task<int> does_not_block_the_worker(std::shared_ptr<std::atomic<bool>> release) {
  // The parallel work waits for a flag that another task of this runtime sets; on a
  // current_thread runtime that task can only run if the compute does not hold the thread.
  auto computing = par::compute([release] {
    while (!release->load()) std::this_thread::sleep_for(1ms);
    return 3;
  });
  auto setter = [](std::shared_ptr<std::atomic<bool>> flag) -> task<void> {
    co_await tandem::yield_now();
    flag->store(true);
  };
  co_await tandem::spawn(setter(release));
  co_return co_await computing;
}

TEST_P(Compute, TheAwaitingWorkerKeepsRunningOtherTasks) {
  EXPECT_EQ(rt.block_on(does_not_block_the_worker(std::make_shared<std::atomic<bool>>(false))), 3);
}

INSTANTIATE_TEST_SUITE_P(AllFlavors, Compute, test_support::all_flavors(), test_support::flavor_name);

TEST(ComputeFromPar, ParCodeRunsAsyncWorkWithBlockOn) {
  auto rt = tandem::runtime::builder().worker_threads(2).build();
  auto pool = par::pool::builder().num_threads(2).build();
  auto answer = []() -> task<int> { co_return 42; };
  // From a par worker (not an async worker), block_on is allowed.
  EXPECT_EQ(pool.install([&] { return rt.block_on(answer()); }), 42);
  // And through a runtime::handle, from every par worker at once.
  auto handle = rt.get_handle();
  std::atomic<int> total{0};
  pool.broadcast([&] { total += handle.block_on(answer()); });
  EXPECT_EQ(total.load(), 42 * 2);
}

}  // namespace
