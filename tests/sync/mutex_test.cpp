// sync/mutex.hpp: exclusion, guards across awaits, fairness, try/blocking forms and
// cancellation.
#include <atomic>
#include <chrono>
#include <coroutine>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include <tandem/combine.hpp>
#include <tandem/errors.hpp>
#include <tandem/runtime.hpp>
#include <tandem/spawn.hpp>
#include <tandem/sync/mutex.hpp>
#include <tandem/sync/notify.hpp>
#include <tandem/time/sleep.hpp>
#include <tandem/time/timeout.hpp>

#include "support/runtimes.hpp"
#include "support/sync_waiting.hpp"
#include "support/waiting.hpp"

namespace {

using test_support::announced;
using test_support::recorder;
using test_support::eventually;
using test_support::settle;
using test_support::bounded;

using namespace std::chrono_literals;
using tandem::task;

class Mutex : public ::testing::TestWithParam<test_support::runtime_flavor> {
 protected:
  tandem::runtime rt = test_support::make_runtime(GetParam());
};

// What the tasks of one test share; owned jointly so a failing test that leaves tasks
// behind cannot make them touch freed memory at runtime shutdown.
struct scene {
  tandem::mutex<long> lock{0L};
  tandem::notify gate;  // the other branch of a select
  std::atomic<int> queued{0};
  std::atomic<int> finished{0};
  recorder order;
};

// Locks, records `id`, unlocks.
task<> lock_and_record(std::shared_ptr<scene> s, int id) {
  auto guard = co_await announced(s->lock.lock(), s->queued);
  ++*guard;
  s->order.add(id);
  s->finished.fetch_add(1);
}

// ---------------------------------------------------------------- no runtime needed

TEST(MutexBasics, TryLockTakesItOnlyWhenFree) {
  tandem::mutex<int> m(5);
  auto first = m.try_lock();
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(**first, 5);
  EXPECT_FALSE(m.try_lock().has_value());
  first.reset();
  auto again = m.try_lock();
  ASSERT_TRUE(again.has_value());
  again->unlock();  // unlocks now, before the guard goes
  EXPECT_TRUE(m.try_lock().has_value());
}

TEST(MutexBasics, MovedGuardUnlocksOnce) {
  tandem::mutex<int> m(0);
  auto taken = m.try_lock();
  ASSERT_TRUE(taken.has_value());
  auto moved = std::move(*taken);
  taken.reset();  // the moved-from guard holds nothing
  EXPECT_FALSE(m.try_lock().has_value());
  { auto gone = std::move(moved); }
  EXPECT_TRUE(m.try_lock().has_value());
}

TEST(MutexBasics, GuardGivesAccessToTheValueBuiltInPlace) {
  tandem::mutex<std::vector<int>> m(3u, 7);
  {
    auto guard = m.try_lock();
    ASSERT_TRUE(guard.has_value());
    EXPECT_EQ((*guard)->size(), 3u);
    (*guard)->push_back(8);
  }
  auto guard = m.try_lock();
  ASSERT_TRUE(guard.has_value());
  EXPECT_EQ(**guard, (std::vector<int>{7, 7, 7, 8}));
}

// Plain threads sharing a mutex; shared so threads left stuck by a failure can be
// detached safely.
struct threads_scene {
  tandem::mutex<long> lock{0L};
  std::atomic<int> done{0};
};

TEST(MutexBlocking, BlockingLockExcludesPlainThreads) {
  auto s = std::make_shared<threads_scene>();
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([s] {
      for (int i = 0; i < 2000; ++i) {
        auto guard = s->lock.blocking_lock();
        *guard = *guard + 1;  // not atomic: only the lock keeps it exact
      }
      s->done.fetch_add(1);
    });
  }
  if (!test_support::wait_for([&] { return s->done.load() == 4; })) {
    ADD_FAILURE() << "blocking_lock never returned";
    for (auto& t : threads) t.detach();
    return;
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(*s->lock.blocking_lock(), 8000);
}

TEST(MutexBlocking, BlockingLockWaitsForTheHolder) {
  auto s = std::make_shared<threads_scene>();
  auto held = s->lock.try_lock();
  ASSERT_TRUE(held.has_value());
  std::thread plain([s] {
    auto guard = s->lock.blocking_lock();
    *guard = 1;
    s->done = 1;
  });
  std::this_thread::sleep_for(20ms);
  EXPECT_EQ(s->done.load(), 0);
  held.reset();
  if (!test_support::wait_for([&] { return s->done.load() == 1; })) {
    ADD_FAILURE() << "blocking_lock was not woken by the unlock";
    plain.detach();
    return;
  }
  plain.join();
  auto guard = s->lock.try_lock();
  ASSERT_TRUE(guard.has_value());
  EXPECT_EQ(**guard, 1);
}

// ---------------------------------------------------------------- on every flavor

TEST_P(Mutex, BlockingLockOnARuntimeThreadThrowsLogicError) {
  auto s = std::make_shared<scene>();
  const bool threw = rt.block_on([](std::shared_ptr<scene> s) -> task<bool> {
    try {
      (void)s->lock.blocking_lock();  // free: would succeed at once on a plain thread
    } catch (const std::logic_error&) {
      co_return s->lock.try_lock().has_value();
    }
    co_return false;
  }(s));
  EXPECT_TRUE(threw);
}

TEST_P(Mutex, ExactCountUnderContention) {
  struct shared {
    tandem::mutex<long> counter{0L};
    std::atomic<int> inside{0};
    std::atomic<bool> overlap{false};
  };
  auto s = std::make_shared<shared>();
  constexpr int tasks = 16;
  constexpr int rounds = 100;
  rt.block_on([](std::shared_ptr<shared> s) -> task<> {
    std::vector<tandem::join_handle<void>> workers;
    for (int i = 0; i < tasks; ++i) {
      workers.push_back(tandem::spawn([](std::shared_ptr<shared> s) -> task<> {
        for (int round = 0; round < rounds; ++round) {
          auto guard = co_await s->counter.lock();
          if (s->inside.fetch_add(1) != 0) s->overlap = true;
          const long seen = *guard;
          co_await tandem::yield_now();  // others run (and must wait) meanwhile
          *guard = seen + 1;
          s->inside.fetch_sub(1);
        }
      }(s)));
    }
    for (auto& w : workers) co_await bounded(std::move(w));
  }(s));
  EXPECT_FALSE(s->overlap.load());
  auto guard = s->counter.try_lock();
  ASSERT_TRUE(guard.has_value());
  EXPECT_EQ(**guard, long{tasks} * rounds);
}

TEST_P(Mutex, GuardHeldAcrossAwaitsKeepsOthersOut) {
  auto s = std::make_shared<scene>();
  rt.block_on([](std::shared_ptr<scene> s) -> task<> {
    auto guard = co_await s->lock.lock();
    auto waiter = tandem::spawn(lock_and_record(s, 1));
    EXPECT_TRUE(co_await eventually([&] { return s->queued.load() == 1; }));
    co_await tandem::sleep(10ms);  // still held across this suspension
    co_await settle();
    EXPECT_EQ(s->finished.load(), 0);
    EXPECT_FALSE(s->lock.try_lock().has_value());
    *guard = 100;
    { auto gone = std::move(guard); }
    co_await bounded(std::move(waiter));
    auto after = s->lock.try_lock();
    EXPECT_TRUE(after.has_value());
    if (after) {
      EXPECT_EQ(**after, 101);  // the waiter saw the holder's write
    }
  }(s));
}

TEST_P(Mutex, WaitersGetTheLockInArrivalOrder) {
  auto s = std::make_shared<scene>();
  const auto order = rt.block_on([](std::shared_ptr<scene> s) -> task<std::vector<int>> {
    auto guard = co_await s->lock.lock();
    std::vector<tandem::join_handle<void>> waiters;
    for (int i = 0; i < 6; ++i) {
      waiters.push_back(tandem::spawn(lock_and_record(s, i)));
      EXPECT_TRUE(co_await eventually([&] { return s->queued.load() == i + 1; }));
    }
    guard.unlock();
    for (auto& w : waiters) co_await bounded(std::move(w));
    co_return s->order.values();
  }(s));
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4, 5}));
}

TEST_P(Mutex, TryLockFailsWhileALockIsHandedToAWaiter) {
  auto s = std::make_shared<scene>();
  rt.block_on([](std::shared_ptr<scene> s) -> task<> {
    auto guard = co_await s->lock.lock();
    auto waiter = tandem::spawn(lock_and_record(s, 1));
    EXPECT_TRUE(co_await eventually([&] { return s->queued.load() == 1; }));
    guard.unlock();  // handed straight to the waiter, not left free for a try
    EXPECT_FALSE(s->lock.try_lock().has_value());
    co_await bounded(std::move(waiter));
    EXPECT_TRUE(s->lock.try_lock().has_value());
  }(s));
}

TEST_P(Mutex, TasksAndPlainThreadsHandTheLockOver) {
  auto s = std::make_shared<threads_scene>();
  std::atomic<bool> thread_holds{false};
  std::atomic<bool> thread_may_unlock{false};
  std::thread holder([s, &thread_holds, &thread_may_unlock] {
    auto guard = s->lock.blocking_lock();
    *guard += 1;
    thread_holds = true;
    test_support::wait_for([&] { return thread_may_unlock.load(); });
  });
  rt.block_on([](std::shared_ptr<threads_scene> s, std::atomic<bool>& thread_holds,
                 std::atomic<bool>& thread_may_unlock) -> task<> {
    // A thread holds it: the task waits, and is woken by the thread's unlock.
    EXPECT_TRUE(co_await eventually([&] { return thread_holds.load(); }));
    EXPECT_FALSE(s->lock.try_lock().has_value());
    thread_may_unlock = true;
    auto guard = co_await tandem::timeout(5s, s->lock.lock());
    *guard += 1;
    // The task holds it: a thread blocks, and is woken by the task's unlock.
    std::thread waiter([s] {
      auto g = s->lock.blocking_lock();
      *g += 1;
      s->done = 1;
    });
    co_await settle();
    EXPECT_EQ(s->done.load(), 0);
    guard.unlock();
    if (co_await eventually([&] { return s->done.load() == 1; })) {
      waiter.join();
    } else {
      ADD_FAILURE() << "blocking_lock was not woken by the task's unlock";
      waiter.detach();
    }
  }(s, thread_holds, thread_may_unlock));
  holder.join();
  auto guard = s->lock.try_lock();
  ASSERT_TRUE(guard.has_value());
  EXPECT_EQ(**guard, 3);
}

// Waits in a select on `gate` (first) and on the lock (second).
task<int> select_gate_or_lock(std::shared_ptr<scene> s) {
  auto which = co_await tandem::select(s->gate.notified(), announced(s->lock.lock(), s->queued));
  co_return static_cast<int>(which.index());
}

TEST_P(Mutex, LockLosingASelectAfterTheHandOverPassesItOn) {
  auto s = std::make_shared<scene>();
  rt.block_on([](std::shared_ptr<scene> s) -> task<> {
    auto guard = co_await s->lock.lock();
    auto loser = tandem::spawn(select_gate_or_lock(s));
    EXPECT_TRUE(co_await eventually([&] { return s->queued.load() == 1; }));
    auto next = tandem::spawn(lock_and_record(s, 2));
    EXPECT_TRUE(co_await eventually([&] { return s->queued.load() == 2; }));
    // Both of the loser's branches become ready before it runs again (on one thread,
    // for certain): the lock is handed to it, and then its select picks the gate.
    s->gate.notify_one();
    guard.unlock();
    EXPECT_EQ(co_await bounded(std::move(loser)), 0);
    co_await bounded(std::move(next));
    EXPECT_EQ(s->order.values(), (std::vector<int>{2}));
    EXPECT_TRUE(s->lock.try_lock().has_value());
  }(s));
}

TEST_P(Mutex, TimedOutLockLeavesItFree) {
  auto s = std::make_shared<scene>();
  rt.block_on([](std::shared_ptr<scene> s) -> task<> {
    auto guard = co_await s->lock.lock();
    auto other = tandem::spawn([](std::shared_ptr<scene> s) -> task<bool> {
      try {
        auto g = co_await tandem::timeout(10ms, s->lock.lock());
      } catch (const tandem::timed_out&) {
        co_return true;
      }
      co_return false;
    }(s));
    EXPECT_TRUE(co_await bounded(std::move(other)));
    guard.unlock();
    EXPECT_TRUE(s->lock.try_lock().has_value());  // nobody left in line took it
    auto again = co_await tandem::timeout(5s, s->lock.lock());
    ++*again;
  }(s));
}

TEST_P(Mutex, AbortedWaiterNeverLeavesItLocked) {
  auto s = std::make_shared<scene>();
  rt.block_on([](std::shared_ptr<scene> s) -> task<> {
    auto guard = co_await s->lock.lock();
    auto first = tandem::spawn(lock_and_record(s, 1));
    EXPECT_TRUE(co_await eventually([&] { return s->queued.load() == 1; }));
    auto second = tandem::spawn(lock_and_record(s, 2));
    EXPECT_TRUE(co_await eventually([&] { return s->queued.load() == 2; }));
    // Handed to the first, which is aborted before it can run (on one thread, for
    // certain; elsewhere it may have run and unlocked already).
    guard.unlock();
    first.abort();
    try {
      co_await bounded(std::move(first));
    } catch (const tandem::task_cancelled&) {}
    co_await bounded(std::move(second));
    EXPECT_EQ(s->order.values().back(), 2);
    EXPECT_TRUE(s->lock.try_lock().has_value());
  }(s));
}

TEST_P(Mutex, AbortedHolderUnlocks) {
  auto s = std::make_shared<scene>();
  rt.block_on([](std::shared_ptr<scene> s) -> task<> {
    auto holder = tandem::spawn([](std::shared_ptr<scene> s) -> task<> {
      auto guard = co_await s->lock.lock();
      s->finished = 1;
      co_await s->gate.notified();  // never notified: holds the lock until aborted
    }(s));
    EXPECT_TRUE(co_await eventually([&] { return s->finished.load() == 1; }));
    EXPECT_FALSE(s->lock.try_lock().has_value());
    holder.abort();
    auto guard = co_await tandem::timeout(5s, s->lock.lock());
    ++*guard;
  }(s));
}

INSTANTIATE_TEST_SUITE_P(AllFlavors, Mutex, test_support::all_flavors(), test_support::flavor_name);

}  // namespace
