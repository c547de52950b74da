// task.hpp: lazy coroutines, symmetric transfer, exceptions, frame recycling.
#include <memory>
#include <stdexcept>
#include <string>

#include <gtest/gtest.h>

#include <tandem/runtime.hpp>
#include <tandem/task.hpp>

#include "support/sanitizers.hpp"

namespace {

using tandem::task;

task<int> value(int x) {
  co_return x;
}
task<> nothing() {
  co_return;
}
task<int&> reference_to(int& x) {
  co_return x;
}
task<std::unique_ptr<int>> move_only(int x) {
  co_return std::make_unique<int>(x);
}
task<int> throws() {
  throw std::runtime_error("boom");
  co_return 0;
}

int run_on_current_thread(task<int> t) {
  auto rt = tandem::runtime::builder().runtime_flavor(tandem::runtime::flavor::current_thread).build();
  return rt.block_on(std::move(t));
}

task<int> sum_of_values() {
  int total = co_await value(1) + co_await value(2);
  co_await nothing();
  int x = 5;
  int& r = co_await reference_to(x);
  r = 7;
  auto p = co_await move_only(total);
  co_return *p + x;
}

TEST(Task, ValuesReferencesVoidAndMoveOnlyResults) {
  EXPECT_EQ(run_on_current_thread(sum_of_values()), 10);
}

TEST(Task, IsLazy) {
  bool started = false;
  auto body = [](bool& flag) -> task<int> {
    flag = true;
    co_return 1;
  };
  {
    task<int> t = body(started);
    EXPECT_FALSE(started);
  }
  EXPECT_FALSE(started) << "destroying a task that never ran must not run it";
}

task<int> catches() {
  try {
    co_await throws();
  } catch (const std::runtime_error& e) {
    co_return std::string(e.what()) == "boom" ? 1 : 2;
  }
  co_return 3;
}

TEST(Task, ExceptionReachesTheAwaiter) {
  EXPECT_EQ(run_on_current_thread(catches()), 1);
}

// Sanitizer instrumentation turns symmetric transfer's tail call into a real call (a
// stack frame per transfer), so those builds check a count that fits an ordinary stack.
#ifdef TANDEM_TEST_SANITIZED
constexpr int checked_depth = 1'000;
#else
constexpr int checked_depth = 1'000'000;
#endif

task<int> deep(int n) {
  if (n == 0) co_return 0;
  co_return co_await deep(n - 1) + 1;
}

TEST(Task, MillionNestedAwaitsDoNotGrowTheStack) {
  // Each level is a frame on the heap; symmetric transfer keeps the thread's stack flat.
  EXPECT_EQ(run_on_current_thread(deep(checked_depth)), checked_depth);
}

task<int> million_ready_awaits() {
  int total = 0;
  for (int i = 0; i < checked_depth; ++i) total += co_await value(1);
  co_return total;
}

TEST(Task, MillionSequentialReadyAwaits) {
  EXPECT_EQ(run_on_current_thread(million_ready_awaits()), checked_depth);
}

struct destruction_counter {
  int* count;
  explicit destruction_counter(int* c) : count(c) {}
  destruction_counter(destruction_counter&& o) noexcept : count(std::exchange(o.count, nullptr)) {}
  ~destruction_counter() {
    if (count != nullptr) ++*count;
  }
};

TEST(Task, DestroyingAnUnstartedTaskFreesItsFrameAndArguments) {
  int destroyed = 0;
  auto body = [](destruction_counter) -> task<> { co_return; };
  { task<> t = body(destruction_counter(&destroyed)); }
  EXPECT_EQ(destroyed, 1);
}

TEST(Task, AwaitingAnEmptyTaskThrows) {
  auto body = []() -> task<int> {
    task<int> empty;
    co_return co_await std::move(empty);
  };
  EXPECT_THROW(run_on_current_thread(body()), std::logic_error);
}

TEST(Task, AwaitingAFinishedTaskAgainThrows) {
  auto body = []() -> task<int> {
    task<int> once = value(7);
    const int first = co_await std::move(once);
    bool second_threw = false;
    try {
      (void)co_await std::move(once);  // NOLINT(bugprone-use-after-move): awaiting twice is the point
    } catch (const std::logic_error&) {
      second_threw = true;
    }
    co_return second_threw ? first : -1;
  };
  EXPECT_EQ(run_on_current_thread(body()), 7);
}

TEST(Task, MoveLeavesTheSourceEmpty) {
  task<int> a = value(1);
  task<int> b = std::move(a);
  EXPECT_FALSE(a.valid());  // NOLINT(bugprone-use-after-move): checking the moved-from state
  EXPECT_TRUE(b.valid());
}

}  // namespace
