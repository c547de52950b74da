// sync/notify.hpp: the stored permit, notify_one / notify_all, fairness and
// cancellation.
#include <atomic>
#include <chrono>
#include <coroutine>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include <tandem/combine.hpp>
#include <tandem/errors.hpp>
#include <tandem/runtime.hpp>
#include <tandem/spawn.hpp>
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

class Notify : public ::testing::TestWithParam<test_support::runtime_flavor> {
 protected:
  tandem::runtime rt = test_support::make_runtime(GetParam());
};

// What the tasks of one test share; owned jointly so a failing test that leaves tasks
// behind cannot make them touch freed memory at runtime shutdown.
struct scene {
  tandem::notify event;
  tandem::notify other;  // the other branch of a select
  std::atomic<int> queued{0};
  std::atomic<int> finished{0};
  recorder order;
};

// True when notified() completes within `limit`.
task<bool> notified_within(tandem::notify& n, std::chrono::milliseconds limit) {
  try {
    co_await tandem::timeout(limit, n.notified());
  } catch (const tandem::timed_out&) {
    co_return false;
  }
  co_return true;
}

// Waits for `event`, records `id`.
task<> wait_and_record(std::shared_ptr<scene> s, int id) {
  co_await announced(s->event.notified(), s->queued);
  s->order.add(id);
  s->finished.fetch_add(1);
}

// Waits in a select on `other` (first) and on `event` (second).
task<int> select_other_or_event(std::shared_ptr<scene> s) {
  auto which = co_await tandem::select(s->other.notified(), announced(s->event.notified(), s->queued));
  co_return static_cast<int>(which.index());
}

TEST_P(Notify, NotifyOneBeforeTheWaiterArrivesIsKept) {
  auto s = std::make_shared<scene>();
  const bool woke = rt.block_on([](std::shared_ptr<scene> s) -> task<bool> {
    s->event.notify_one();
    co_return co_await notified_within(s->event, 5000ms);
  }(s));
  EXPECT_TRUE(woke);
}

TEST_P(Notify, AtMostOnePermitIsStored) {
  auto s = std::make_shared<scene>();
  rt.block_on([](std::shared_ptr<scene> s) -> task<> {
    s->event.notify_one();
    s->event.notify_one();
    s->event.notify_one();
    EXPECT_TRUE(co_await notified_within(s->event, 5000ms));
    EXPECT_FALSE(co_await notified_within(s->event, 20ms));  // the other two collapsed into it
  }(s));
}

TEST_P(Notify, NotifyAllStoresNothing) {
  auto s = std::make_shared<scene>();
  const bool woke = rt.block_on([](std::shared_ptr<scene> s) -> task<bool> {
    s->event.notify_all();
    co_return co_await notified_within(s->event, 20ms);
  }(s));
  EXPECT_FALSE(woke);
}

// tokio's notify_waiters: a notified() made before notify_all counts as waiting, awaited or not, so "make
// notified(), check the condition, await" cannot miss a notify_all between the check and the await.
task<bool> notified_made_before_notify_all(std::shared_ptr<scene> s) {
  auto made_before = s->event.notified();
  s->event.notify_all();
  try {
    co_await tandem::timeout(5000ms, std::move(made_before));
  } catch (const tandem::timed_out&) {
    co_return false;
  }
  co_return true;
}

TEST_P(Notify, NotifyAllCompletesANotifiedMadeBeforeItNotYetAwaited) {
  auto s = std::make_shared<scene>();
  EXPECT_TRUE(rt.block_on(notified_made_before_notify_all(s)));
}

TEST_P(Notify, NotifyOneThatWakesAWaiterStoresNothing) {
  auto s = std::make_shared<scene>();
  rt.block_on([](std::shared_ptr<scene> s) -> task<> {
    auto waiter = tandem::spawn(wait_and_record(s, 1));
    EXPECT_TRUE(co_await eventually([&] { return s->queued.load() == 1; }));
    s->event.notify_one();
    co_await bounded(std::move(waiter));
    EXPECT_FALSE(co_await notified_within(s->event, 20ms));
  }(s));
}

TEST_P(Notify, NotifyAllWakesEveryCurrentWaiter) {
  auto s = std::make_shared<scene>();
  rt.block_on([](std::shared_ptr<scene> s) -> task<> {
    std::vector<tandem::join_handle<void>> waiters;
    for (int i = 0; i < 5; ++i) waiters.push_back(tandem::spawn(wait_and_record(s, i)));
    EXPECT_TRUE(co_await eventually([&] { return s->queued.load() == 5; }));
    s->event.notify_all();
    for (auto& w : waiters) co_await bounded(std::move(w));
    EXPECT_EQ(s->finished.load(), 5);
    EXPECT_FALSE(co_await notified_within(s->event, 20ms));  // a later waiter is not woken
  }(s));
}

TEST_P(Notify, NotifyOneWakesOneWaiterAtATimeInArrivalOrder) {
  auto s = std::make_shared<scene>();
  const auto order = rt.block_on([](std::shared_ptr<scene> s) -> task<std::vector<int>> {
    std::vector<tandem::join_handle<void>> waiters;
    for (int i = 0; i < 4; ++i) {
      waiters.push_back(tandem::spawn(wait_and_record(s, i)));
      EXPECT_TRUE(co_await eventually([&] { return s->queued.load() == i + 1; }));
    }
    for (int i = 0; i < 4; ++i) {
      s->event.notify_one();
      EXPECT_TRUE(co_await eventually([&] { return s->finished.load() == i + 1; }));
      co_await settle();
      EXPECT_EQ(s->finished.load(), i + 1);  // exactly one per notify_one
    }
    for (auto& w : waiters) co_await bounded(std::move(w));
    co_return s->order.values();
  }(s));
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3}));
}

TEST_P(Notify, PickedNotificationLosingASelectGoesToTheNextWaiter) {
  auto s = std::make_shared<scene>();
  rt.block_on([](std::shared_ptr<scene> s) -> task<> {
    auto loser = tandem::spawn(select_other_or_event(s));
    EXPECT_TRUE(co_await eventually([&] { return s->queued.load() == 1; }));
    auto next = tandem::spawn(wait_and_record(s, 2));
    EXPECT_TRUE(co_await eventually([&] { return s->queued.load() == 2; }));
    // Both of the loser's branches become ready before it runs again (on one thread,
    // for certain): notify_one picks it, and then its select takes the other branch.
    s->other.notify_one();
    s->event.notify_one();
    EXPECT_EQ(co_await bounded(std::move(loser)), 0);
    co_await bounded(std::move(next));
    EXPECT_FALSE(co_await notified_within(s->event, 20ms));  // passed on, not doubled
  }(s));
}

TEST_P(Notify, PickedNotificationLosingASelectWithNobodyBehindIsStored) {
  auto s = std::make_shared<scene>();
  rt.block_on([](std::shared_ptr<scene> s) -> task<> {
    auto loser = tandem::spawn(select_other_or_event(s));
    EXPECT_TRUE(co_await eventually([&] { return s->queued.load() == 1; }));
    s->other.notify_one();
    s->event.notify_one();
    EXPECT_EQ(co_await bounded(std::move(loser)), 0);
    EXPECT_TRUE(co_await notified_within(s->event, 5000ms));
    EXPECT_FALSE(co_await notified_within(s->event, 20ms));
  }(s));
}

TEST_P(Notify, NotifyAllWakeLosingASelectPassesNothingOn) {
  auto s = std::make_shared<scene>();
  rt.block_on([](std::shared_ptr<scene> s) -> task<> {
    auto loser = tandem::spawn(select_other_or_event(s));
    EXPECT_TRUE(co_await eventually([&] { return s->queued.load() == 1; }));
    auto other_waiter = tandem::spawn(wait_and_record(s, 2));
    EXPECT_TRUE(co_await eventually([&] { return s->queued.load() == 2; }));
    s->other.notify_one();
    s->event.notify_all();
    EXPECT_EQ(co_await bounded(std::move(loser)), 0);
    co_await bounded(std::move(other_waiter));
    // notify_all stores nothing, also through a waiter that did not take its wake.
    EXPECT_FALSE(co_await notified_within(s->event, 20ms));
  }(s));
}

TEST_P(Notify, AbortedPickedWaiterPassesTheNotificationOn) {
  auto s = std::make_shared<scene>();
  rt.block_on([](std::shared_ptr<scene> s) -> task<> {
    auto first = tandem::spawn(wait_and_record(s, 1));
    EXPECT_TRUE(co_await eventually([&] { return s->queued.load() == 1; }));
    auto second = tandem::spawn(wait_and_record(s, 2));
    EXPECT_TRUE(co_await eventually([&] { return s->queued.load() == 2; }));
    s->event.notify_one();
    first.abort();
    bool first_cancelled = false;
    try {
      co_await bounded(std::move(first));
    } catch (const tandem::task_cancelled&) {
      first_cancelled = true;
    }
    if (first_cancelled) {
      // It never took the notification: the second waiter gets it.
      co_await bounded(std::move(second));
      EXPECT_EQ(s->order.values(), (std::vector<int>{2}));
    } else {
      // Only with other workers: the first ran and took it before the abort.
      EXPECT_NE(GetParam().workers, 1u);
      second.abort();
    }
  }(s));
}

TEST_P(Notify, AbortedQueuedWaiterLeavesTheLine) {
  auto s = std::make_shared<scene>();
  rt.block_on([](std::shared_ptr<scene> s) -> task<> {
    auto first = tandem::spawn(wait_and_record(s, 1));
    EXPECT_TRUE(co_await eventually([&] { return s->queued.load() == 1; }));
    auto second = tandem::spawn(wait_and_record(s, 2));
    EXPECT_TRUE(co_await eventually([&] { return s->queued.load() == 2; }));
    first.abort();
    try {
      co_await bounded(std::move(first));
    } catch (const tandem::task_cancelled&) {}
    s->event.notify_one();
    co_await bounded(std::move(second));
    EXPECT_EQ(s->order.values(), (std::vector<int>{2}));
  }(s));
}

TEST_P(Notify, NotifyFromPlainThreadsWakesEveryWaiter) {
  auto s = std::make_shared<scene>();
  constexpr int waiters_count = 8;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([s] {
      // Once every waiter is queued, each notify_one wakes a different one.
      test_support::wait_for([&] { return s->queued.load() == waiters_count; });
      s->event.notify_one();
      s->event.notify_one();
    });
  }
  rt.block_on([](std::shared_ptr<scene> s) -> task<> {
    std::vector<tandem::join_handle<void>> waiters;
    for (int i = 0; i < waiters_count; ++i) waiters.push_back(tandem::spawn(wait_and_record(s, i)));
    for (auto& w : waiters) co_await bounded(std::move(w));
    EXPECT_FALSE(co_await notified_within(s->event, 20ms));
  }(s));
  for (auto& t : threads) t.join();
}

INSTANTIATE_TEST_SUITE_P(AllFlavors, Notify, test_support::all_flavors(), test_support::flavor_name);

}  // namespace
