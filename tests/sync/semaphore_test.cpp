// sync/semaphore.hpp: permits, fairness, close, limits, blocking use and cancellation.
#include <algorithm>
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
#include <tandem/sync/notify.hpp>
#include <tandem/sync/semaphore.hpp>
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

class Semaphore : public ::testing::TestWithParam<test_support::runtime_flavor> {
 protected:
  tandem::runtime rt = test_support::make_runtime(GetParam());
};

// What the tasks of one test share; owned jointly so a failing test that leaves tasks
// behind cannot make them touch freed memory at runtime shutdown.
struct scene {
  explicit scene(std::size_t permits) : sem(permits) {}
  tandem::semaphore sem;
  tandem::notify gate;               // the other branch of a select
  std::atomic<bool> release{false};  // lets holding tasks end
  std::atomic<int> queued{0};
  std::atomic<int> finished{0};
  recorder order;
};

// Acquires n, records `id`, then (if `hold`) keeps the permits until `release` is set.
task<> acquire_and_record(std::shared_ptr<scene> s, std::size_t n, int id, bool hold) {
  auto permit = co_await announced(s->sem.acquire(n), s->queued);
  EXPECT_EQ(permit.count(), n);
  s->order.add(id);
  s->finished.fetch_add(1);
  if (hold) {
    EXPECT_TRUE(co_await eventually([&] { return s->release.load(); }));
  }
}

// ---------------------------------------------------------------- no runtime needed

TEST(SemaphoreBasics, TryAcquireTakesOnlyWhatIsFree) {
  tandem::semaphore sem(5);
  EXPECT_EQ(sem.available_permits(), 5u);
  auto two = sem.try_acquire(2);
  ASSERT_TRUE(two.has_value());
  EXPECT_EQ(two->count(), 2u);
  EXPECT_EQ(sem.available_permits(), 3u);
  EXPECT_FALSE(sem.try_acquire(4).has_value());
  EXPECT_EQ(sem.available_permits(), 3u);  // a failed try takes nothing
  auto three = sem.try_acquire(3);
  ASSERT_TRUE(three.has_value());
  EXPECT_EQ(sem.available_permits(), 0u);
  EXPECT_FALSE(sem.try_acquire().has_value());
}

TEST(SemaphoreBasics, PermitsReturnWhenThePermitIsDestroyed) {
  tandem::semaphore sem(4);
  {
    auto permit = sem.try_acquire(3);
    ASSERT_TRUE(permit.has_value());
    EXPECT_EQ(sem.available_permits(), 1u);
  }
  EXPECT_EQ(sem.available_permits(), 4u);
}

TEST(SemaphoreBasics, ForgetKeepsThePermitsTaken) {
  tandem::semaphore sem(4);
  {
    auto permit = sem.try_acquire(3);
    ASSERT_TRUE(permit.has_value());
    permit->forget();
    EXPECT_EQ(permit->count(), 0u);
  }
  EXPECT_EQ(sem.available_permits(), 1u);
}

TEST(SemaphoreBasics, ReleaseAndMovesGiveBackExactlyOnce) {
  tandem::semaphore sem(6);
  auto a = sem.try_acquire(2);
  ASSERT_TRUE(a.has_value());
  a->release();
  EXPECT_EQ(sem.available_permits(), 6u);
  a->release();  // already given back: nothing more
  a.reset();
  EXPECT_EQ(sem.available_permits(), 6u);

  auto b = sem.try_acquire(2);
  auto c = sem.try_acquire(3);
  ASSERT_TRUE(b.has_value() && c.has_value());
  EXPECT_EQ(sem.available_permits(), 1u);
  tandem::semaphore_permit moved(std::move(*b));
  EXPECT_EQ(moved.count(), 2u);
  b.reset();  // the moved-from permit holds nothing
  EXPECT_EQ(sem.available_permits(), 1u);
  moved = std::move(*c);  // the 2 it held go back, the 3 move in
  EXPECT_EQ(sem.available_permits(), 3u);
  EXPECT_EQ(moved.count(), 3u);
  c.reset();
  EXPECT_EQ(sem.available_permits(), 3u);
  moved = tandem::semaphore_permit();
  EXPECT_EQ(sem.available_permits(), 6u);
}

TEST(SemaphoreBasics, AddPermits) {
  tandem::semaphore sem(0);
  EXPECT_FALSE(sem.try_acquire().has_value());
  sem.add_permits(3);
  EXPECT_EQ(sem.available_permits(), 3u);
  auto permit = sem.try_acquire(3);
  EXPECT_TRUE(permit.has_value());
}

TEST(SemaphoreBasics, AddingPastMaxPermitsThrowsOverflowError) {
  tandem::semaphore full(tandem::semaphore::max_permits);
  EXPECT_THROW(full.add_permits(1), std::overflow_error);
  EXPECT_EQ(full.available_permits(), tandem::semaphore::max_permits);

  tandem::semaphore one(1);
  EXPECT_THROW(one.add_permits(tandem::semaphore::max_permits), std::overflow_error);
  EXPECT_EQ(one.available_permits(), 1u);               // unchanged by the failed add
  one.add_permits(tandem::semaphore::max_permits - 1);  // exactly up to the limit is fine
  EXPECT_EQ(one.available_permits(), tandem::semaphore::max_permits);
}

TEST(SemaphoreBasics, AskingForMoreThanMaxPermitsThrowsInvalidArgument) {
  tandem::semaphore sem(1);
  EXPECT_THROW((void)sem.acquire(tandem::semaphore::max_permits + 1), std::invalid_argument);
  EXPECT_THROW((void)sem.try_acquire(tandem::semaphore::max_permits + 1), std::invalid_argument);
  std::atomic<bool> threw{false};
  std::thread plain([&] {
    try {
      (void)sem.blocking_acquire(tandem::semaphore::max_permits + 1);
    } catch (const std::invalid_argument&) {
      threw = true;
    }
  });
  plain.join();
  EXPECT_TRUE(threw.load());
  EXPECT_EQ(sem.available_permits(), 1u);
}

TEST(SemaphoreBasics, ClosedSemaphoreRefusesEvenWithPermitsFree) {
  tandem::semaphore sem(5);
  EXPECT_FALSE(sem.is_closed());
  sem.close();
  EXPECT_TRUE(sem.is_closed());
  EXPECT_THROW((void)sem.try_acquire(), tandem::semaphore_closed);
  std::atomic<bool> threw{false};
  std::thread plain([&] {
    try {
      (void)sem.blocking_acquire();
    } catch (const tandem::semaphore_closed&) {
      threw = true;
    }
  });
  plain.join();
  EXPECT_TRUE(threw.load());
}

// A plain thread blocked in blocking_acquire. Shared with the thread, so one left stuck
// by a failure can be detached safely.
struct blocked_thread {
  explicit blocked_thread(std::size_t permits) : sem(permits) {}
  tandem::semaphore sem;
  std::atomic<int> state{0};  // 0 waiting, 1 acquired, 2 woken by close
};

std::thread start_blocked(std::shared_ptr<blocked_thread> b, std::size_t n) {
  return std::thread([b, n] {
    try {
      auto permit = b->sem.blocking_acquire(n);
      EXPECT_EQ(permit.count(), n);
      b->state = 1;
    } catch (const tandem::semaphore_closed&) {
      b->state = 2;
    }
  });
}

// Joins; a thread never woken is freed by closing, or detached if even that fails.
void finish_blocked(std::thread& thread, blocked_thread& b) {
  b.sem.close();
  if (test_support::wait_for([&] { return b.state.load() != 0; })) {
    thread.join();
  } else {
    ADD_FAILURE() << "the blocked thread never woke";
    thread.detach();
  }
}

TEST(SemaphoreBlocking, BlockingAcquireWaitsForEnoughPermits) {
  auto b = std::make_shared<blocked_thread>(1);
  std::thread plain = start_blocked(b, 2);
  std::this_thread::sleep_for(20ms);
  EXPECT_EQ(b->state.load(), 0);  // only 1 of 2 free
  b->sem.add_permits(1);
  EXPECT_TRUE(test_support::wait_for([&] { return b->state.load() == 1; }));
  EXPECT_TRUE(test_support::wait_for([&] { return b->sem.available_permits() == 2; }));
  finish_blocked(plain, *b);
}

TEST(SemaphoreBlocking, CloseWakesABlockedThread) {
  auto b = std::make_shared<blocked_thread>(0);
  std::thread plain = start_blocked(b, 1);
  std::this_thread::sleep_for(10ms);
  EXPECT_EQ(b->state.load(), 0);
  b->sem.close();
  EXPECT_TRUE(test_support::wait_for([&] { return b->state.load() == 2; }));
  finish_blocked(plain, *b);
}

// ---------------------------------------------------------------- on every flavor

TEST_P(Semaphore, BlockingAcquireOnARuntimeThreadThrowsLogicError) {
  auto s = std::make_shared<scene>(3);
  const bool threw = rt.block_on([](std::shared_ptr<scene> s) -> task<bool> {
    try {
      (void)s->sem.blocking_acquire();  // would succeed at once on a plain thread
    } catch (const std::logic_error&) {
      co_return s->sem.available_permits() == 3;
    }
    co_return false;
  }(s));
  EXPECT_TRUE(threw);
}

TEST_P(Semaphore, BlockingAcquireOnAPlainThreadIsWokenByATask) {
  auto b = std::make_shared<blocked_thread>(0);
  std::thread plain = start_blocked(b, 2);
  rt.block_on([](std::shared_ptr<blocked_thread> b) -> task<> {
    co_await tandem::sleep(5ms);
    b->sem.add_permits(1);
    co_await settle();
    EXPECT_EQ(b->state.load(), 0);  // 1 of 2 is not enough
    b->sem.add_permits(1);
    EXPECT_TRUE(co_await eventually([&] { return b->state.load() == 1; }));
  }(b));
  EXPECT_TRUE(test_support::wait_for([&] { return b->sem.available_permits() == 2; }));
  finish_blocked(plain, *b);
}

TEST_P(Semaphore, AcquireWaitsUntilEnoughPermitsAreAdded) {
  auto s = std::make_shared<scene>(0);
  rt.block_on([](std::shared_ptr<scene> s) -> task<> {
    auto waiter = tandem::spawn(acquire_and_record(s, 2, 1, false));
    EXPECT_TRUE(co_await eventually([&] { return s->queued.load() == 1; }));
    s->sem.add_permits(1);
    co_await settle();
    EXPECT_EQ(s->finished.load(), 0);  // 1 of 2 is not enough
    s->sem.add_permits(1);
    co_await bounded(std::move(waiter));
    EXPECT_EQ(s->finished.load(), 1);
    EXPECT_EQ(s->sem.available_permits(), 2u);  // its permit went back when it ended
  }(s));
}

TEST_P(Semaphore, ReadyAcquireCompletesAtOnce) {
  auto s = std::make_shared<scene>(3);
  const std::size_t left = rt.block_on([](std::shared_ptr<scene> s) -> task<std::size_t> {
    auto permit = co_await s->sem.acquire(2);
    EXPECT_EQ(permit.count(), 2u);
    co_return s->sem.available_permits();
  }(s));
  EXPECT_EQ(left, 1u);
  EXPECT_EQ(s->sem.available_permits(), 3u);
}

TEST_P(Semaphore, DestroyedPermitWakesTheWaiter) {
  auto s = std::make_shared<scene>(1);
  rt.block_on([](std::shared_ptr<scene> s) -> task<> {
    auto mine = co_await s->sem.acquire();
    auto waiter = tandem::spawn(acquire_and_record(s, 1, 1, false));
    EXPECT_TRUE(co_await eventually([&] { return s->queued.load() == 1; }));
    co_await settle();
    EXPECT_EQ(s->finished.load(), 0);
    { auto gone = std::move(mine); }
    co_await bounded(std::move(waiter));
    EXPECT_EQ(s->sem.available_permits(), 1u);
  }(s));
}

TEST_P(Semaphore, ForgottenPermitsNeverComeBack) {
  auto s = std::make_shared<scene>(3);
  rt.block_on([](std::shared_ptr<scene> s) -> task<> {
    {
      auto permit = co_await s->sem.acquire(2);
      permit.forget();
    }
    EXPECT_EQ(s->sem.available_permits(), 1u);
    auto waiter = tandem::spawn(acquire_and_record(s, 2, 1, false));
    co_await settle();
    EXPECT_EQ(s->finished.load(), 0);  // the forgotten 2 were not given back
    s->sem.add_permits(1);
    co_await bounded(std::move(waiter));
  }(s));
}

TEST_P(Semaphore, LargeRequestAtTheHeadIsNotOvertaken) {
  auto s = std::make_shared<scene>(0);
  const auto order = rt.block_on([](std::shared_ptr<scene> s) -> task<std::vector<int>> {
    auto big = tandem::spawn(acquire_and_record(s, 3, 3, false));
    EXPECT_TRUE(co_await eventually([&] { return s->queued.load() == 1; }));
    auto small = tandem::spawn(acquire_and_record(s, 1, 1, false));
    EXPECT_TRUE(co_await eventually([&] { return s->queued.load() == 2; }));
    s->sem.add_permits(1);  // enough for the small request behind only
    co_await settle();
    EXPECT_EQ(s->finished.load(), 0);
    // Arriving while 1 is free, a small request still queues behind the big one...
    auto later = tandem::spawn(acquire_and_record(s, 1, 2, false));
    EXPECT_TRUE(co_await eventually([&] { return s->queued.load() == 3; }));
    co_await settle();
    EXPECT_EQ(s->finished.load(), 0);
    EXPECT_FALSE(s->sem.try_acquire(1).has_value());  // ...and a try does not jump the line
    EXPECT_EQ(s->sem.available_permits(), 1u);
    s->sem.add_permits(2);
    co_await bounded(std::move(big));
    co_await bounded(std::move(small));
    co_await bounded(std::move(later));
    co_return s->order.values();
  }(s));
  // The two small ones are served together once the big one gives its 3 back.
  ASSERT_EQ(order.size(), 3u);
  EXPECT_EQ(order[0], 3);
  std::vector<int> rest(order.begin() + 1, order.end());
  std::sort(rest.begin(), rest.end());
  EXPECT_EQ(rest, (std::vector<int>{1, 2}));
  EXPECT_EQ(s->sem.available_permits(), 3u);
}

TEST_P(Semaphore, WaitersAreServedInArrivalOrder) {
  auto s = std::make_shared<scene>(0);
  const auto order = rt.block_on([](std::shared_ptr<scene> s) -> task<std::vector<int>> {
    std::vector<tandem::join_handle<void>> waiters;
    for (int i = 0; i < 6; ++i) {
      waiters.push_back(tandem::spawn(acquire_and_record(s, 1, i, false)));
      EXPECT_TRUE(co_await eventually([&] { return s->queued.load() == i + 1; }));
    }
    // One permit, passed down the line as each waiter ends.
    s->sem.add_permits(1);
    for (auto& w : waiters) co_await bounded(std::move(w));
    co_return s->order.values();
  }(s));
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4, 5}));
}

TEST_P(Semaphore, AddPermitsWakesTheWaitersItSatisfiesInOrder) {
  auto s = std::make_shared<scene>(0);
  rt.block_on([](std::shared_ptr<scene> s) -> task<> {
    std::vector<tandem::join_handle<void>> waiters;
    const std::size_t wants[] = {1, 1, 2};
    for (int i = 0; i < 3; ++i) {
      waiters.push_back(tandem::spawn(acquire_and_record(s, wants[i], i, true)));
      EXPECT_TRUE(co_await eventually([&] { return s->queued.load() == i + 1; }));
    }
    s->sem.add_permits(3);  // 1 + 1 served; the 2 at the head then waits, with 1 left
    EXPECT_TRUE(co_await eventually([&] { return s->finished.load() == 2; }));
    co_await settle();
    EXPECT_EQ(s->finished.load(), 2);
    EXPECT_EQ(s->sem.available_permits(), 1u);
    s->sem.add_permits(1);
    EXPECT_TRUE(co_await eventually([&] { return s->finished.load() == 3; }));
    // 0 and 1 were granted together (they may run in either order); 2 came last.
    auto order = s->order.values();
    if (order.size() == 3) std::sort(order.begin(), order.begin() + 2);
    EXPECT_EQ(order, (std::vector<int>{0, 1, 2}));
    EXPECT_EQ(s->sem.available_permits(), 0u);
    s->release = true;
    for (auto& w : waiters) co_await bounded(std::move(w));
    EXPECT_EQ(s->sem.available_permits(), 4u);
  }(s));
}

task<int> acquire_expecting_close(std::shared_ptr<scene> s) {
  try {
    auto permit = co_await announced(s->sem.acquire(), s->queued);
  } catch (const tandem::semaphore_closed&) {
    co_return 1;
  }
  co_return 0;
}

TEST_P(Semaphore, CloseWakesEveryWaiterAndLaterAcquiresThrow) {
  auto s = std::make_shared<scene>(0);
  rt.block_on([](std::shared_ptr<scene> s) -> task<> {
    std::vector<tandem::join_handle<int>> waiters;
    for (int i = 0; i < 3; ++i) waiters.push_back(tandem::spawn(acquire_expecting_close(s)));
    EXPECT_TRUE(co_await eventually([&] { return s->queued.load() == 3; }));
    s->sem.close();
    int closed = 0;
    for (auto& w : waiters) closed += co_await bounded(std::move(w));
    EXPECT_EQ(closed, 3);

    s->sem.add_permits(2);  // permits do not reopen it
    bool threw = false;
    try {
      auto permit = co_await s->sem.acquire();
    } catch (const tandem::semaphore_closed&) {
      threw = true;
    }
    EXPECT_TRUE(threw);
    EXPECT_THROW((void)s->sem.try_acquire(), tandem::semaphore_closed);
  }(s));
}

// Waits in a select on `gate` (first) and on 3 permits (second).
task<int> select_gate_or_permits(std::shared_ptr<scene> s) {
  auto which = co_await tandem::select(s->gate.notified(), announced(s->sem.acquire(3), s->queued));
  co_return static_cast<int>(which.index());
}

TEST_P(Semaphore, HeadWaiterLosingASelectUnblocksThoseBehindIt) {
  auto s = std::make_shared<scene>(1);
  rt.block_on([](std::shared_ptr<scene> s) -> task<> {
    auto big = tandem::spawn(select_gate_or_permits(s));
    EXPECT_TRUE(co_await eventually([&] { return s->queued.load() == 1; }));
    auto small = tandem::spawn(acquire_and_record(s, 1, 1, false));
    EXPECT_TRUE(co_await eventually([&] { return s->queued.load() == 2; }));
    co_await settle();
    EXPECT_EQ(s->finished.load(), 0);  // behind the head, though 1 is free
    s->gate.notify_one();
    EXPECT_EQ(co_await bounded(std::move(big)), 0);
    // The head left the line: the waiter behind it fits in the one free permit.
    co_await bounded(std::move(small));
    EXPECT_EQ(s->order.values(), (std::vector<int>{1}));
    EXPECT_EQ(s->sem.available_permits(), 1u);
  }(s));
}

TEST_P(Semaphore, TimedOutAcquireLeavesNoTrace) {
  auto s = std::make_shared<scene>(1);
  rt.block_on([](std::shared_ptr<scene> s) -> task<> {
    bool timed_out = false;
    try {
      auto permit = co_await tandem::timeout(10ms, s->sem.acquire(2));
    } catch (const tandem::timed_out&) {
      timed_out = true;
    }
    EXPECT_TRUE(timed_out);
    EXPECT_EQ(s->sem.available_permits(), 1u);
    // Nobody is left in line: a try succeeds, and so does a wait once permits come.
    EXPECT_TRUE(s->sem.try_acquire(1).has_value());
    s->sem.add_permits(1);
    auto permit = co_await tandem::timeout(5s, s->sem.acquire(2));
    EXPECT_EQ(permit.count(), 2u);
  }(s));
}

TEST_P(Semaphore, AcquireLosingASelectGivesGrantedPermitsBack) {
  auto s = std::make_shared<scene>(0);
  rt.block_on([](std::shared_ptr<scene> s) -> task<> {
    auto loser = tandem::spawn(select_gate_or_permits(s));
    EXPECT_TRUE(co_await eventually([&] { return s->queued.load() == 1; }));
    auto next = tandem::spawn(acquire_and_record(s, 3, 2, false));
    EXPECT_TRUE(co_await eventually([&] { return s->queued.load() == 2; }));
    // Both of the loser's branches become ready before it runs again (on one thread,
    // for certain): the permits are granted to it, and then its select picks the gate.
    s->gate.notify_one();
    s->sem.add_permits(3);
    EXPECT_EQ(co_await bounded(std::move(loser)), 0);
    co_await bounded(std::move(next));  // the 3 permits went on to the next waiter
    EXPECT_EQ(s->order.values(), (std::vector<int>{2}));
    EXPECT_EQ(s->sem.available_permits(), 3u);
  }(s));
}

TEST_P(Semaphore, AbortedWaiterPassesGrantedPermitsOn) {
  auto s = std::make_shared<scene>(0);
  rt.block_on([](std::shared_ptr<scene> s) -> task<> {
    auto first = tandem::spawn(acquire_and_record(s, 3, 1, true));
    EXPECT_TRUE(co_await eventually([&] { return s->queued.load() == 1; }));
    auto second = tandem::spawn(acquire_and_record(s, 3, 2, true));
    EXPECT_TRUE(co_await eventually([&] { return s->queued.load() == 2; }));
    // Granted to the first, which is aborted before it can run (on one thread, for
    // certain; elsewhere it may take them first and lose them with its frame).
    s->sem.add_permits(3);
    first.abort();
    bool cancelled = false;
    try {
      co_await bounded(std::move(first));
    } catch (const tandem::task_cancelled&) {
      cancelled = true;
    }
    EXPECT_TRUE(cancelled);
    EXPECT_TRUE(
        co_await eventually([&] { return s->finished.load() >= 1 && s->order.values().back() == 2; }));
    s->release = true;
    co_await bounded(std::move(second));
    EXPECT_EQ(s->sem.available_permits(), 3u);
  }(s));
}

TEST_P(Semaphore, AbortedQueuedWaiterLeavesTheLine) {
  auto s = std::make_shared<scene>(1);
  rt.block_on([](std::shared_ptr<scene> s) -> task<> {
    auto big = tandem::spawn(acquire_and_record(s, 2, 2, false));
    EXPECT_TRUE(co_await eventually([&] { return s->queued.load() == 1; }));
    auto small = tandem::spawn(acquire_and_record(s, 1, 1, false));
    EXPECT_TRUE(co_await eventually([&] { return s->queued.load() == 2; }));
    co_await settle();
    EXPECT_EQ(s->finished.load(), 0);
    big.abort();
    co_await bounded(std::move(small));
    EXPECT_EQ(s->order.values(), (std::vector<int>{1}));
    EXPECT_EQ(s->sem.available_permits(), 1u);
  }(s));
}

TEST_P(Semaphore, NeverMoreHoldersThanPermitsUnderContention) {
  struct shared {
    tandem::semaphore sem{3};
    std::atomic<int> inside{0};
    std::atomic<int> most{0};
  };
  auto s = std::make_shared<shared>();
  rt.block_on([](std::shared_ptr<shared> s) -> task<> {
    std::vector<tandem::join_handle<void>> workers;
    for (int i = 0; i < 32; ++i) {
      workers.push_back(tandem::spawn([](std::shared_ptr<shared> s) -> task<> {
        for (int round = 0; round < 20; ++round) {
          auto permit = co_await s->sem.acquire();
          const int now = s->inside.fetch_add(1) + 1;
          int seen = s->most.load();
          while (now > seen && !s->most.compare_exchange_weak(seen, now)) {}
          co_await tandem::yield_now();
          s->inside.fetch_sub(1);
        }
      }(s)));
    }
    for (auto& w : workers) co_await bounded(std::move(w));
  }(s));
  EXPECT_LE(s->most.load(), 3);
  EXPECT_GE(s->most.load(), 1);
  EXPECT_EQ(s->sem.available_permits(), 3u);
}

INSTANTIATE_TEST_SUITE_P(AllFlavors, Semaphore, test_support::all_flavors(), test_support::flavor_name);

}  // namespace
