// sync/watch.hpp: changed(), borrowing, the send family, the sender going away, many
// waiters, copies, plain threads, misuse and cancellation safety, on every runtime flavor.
#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include <tandem/combine.hpp>
#include <tandem/errors.hpp>
#include <tandem/runtime.hpp>
#include <tandem/spawn.hpp>
#include <tandem/sync/watch.hpp>
#include <tandem/time/sleep.hpp>
#include <tandem/time/timeout.hpp>

#include "support/runtimes.hpp"
#include "support/waiting.hpp"

namespace {

using namespace std::chrono_literals;
using tandem::task;
using tandem::watch::receiver;
using tandem::watch::sender;

class Watch : public ::testing::TestWithParam<test_support::runtime_flavor> {
 protected:
  tandem::runtime rt = test_support::make_runtime(GetParam());
};

// True when `rx.changed()` completes before a short pause does. It marks the change
// seen when it does.
template <class T>
task<bool> changes_soon(receiver<T>& rx, std::chrono::milliseconds pause = 5ms) {
  auto outcome = co_await tandem::select(rx.changed(), tandem::sleep(pause));
  co_return outcome.index() == 0;
}

task<void> send_later(sender<int>& tx, int value) {
  co_await tandem::sleep(2ms);
  tx.send(value);
}

// --- changed() -----------------------------------------------------------------------

TEST_P(Watch, ChangedCompletesAtOnceForAnUnseenChangeAndOtherwiseWaits) {
  rt.block_on([]() -> task<void> {
    auto [tx, rx] = tandem::watch::channel<int>(0);
    EXPECT_FALSE(co_await changes_soon(rx)) << "the initial value counts as seen";

    tx.send(1);
    tx.send(2);  // two changes before a look: one changed() for both
    EXPECT_TRUE(co_await changes_soon(rx, 1000ms));
    EXPECT_EQ(*rx.borrow(), 2);
    EXPECT_FALSE(co_await changes_soon(rx)) << "a change was reported twice";

    // A waiting changed() wakes on a send from another task.
    auto later = tandem::spawn(send_later(tx, 3));
    co_await tandem::timeout(2s, rx.changed());
    EXPECT_EQ(*rx.borrow(), 3);
    co_await later;
    EXPECT_FALSE(rx.has_changed());
  }());
}

TEST(WatchBorrow, BorrowReadsWithoutMarkingSeenAndBorrowAndUpdateMarksSeen) {
  auto [tx, rx] = tandem::watch::channel<std::string>("a");
  EXPECT_EQ(*rx.borrow(), "a");
  EXPECT_FALSE(rx.has_changed());
  tx.send("b");
  EXPECT_TRUE(rx.has_changed());
  EXPECT_EQ(*rx.borrow(), "b");
  EXPECT_EQ(rx.borrow()->size(), 1u);
  EXPECT_TRUE(rx.has_changed()) << "borrow() marked the change seen";
  EXPECT_EQ(*rx.borrow_and_update(), "b");
  EXPECT_FALSE(rx.has_changed());
  EXPECT_EQ(*tx.borrow(), "b");
}

using flag = std::shared_ptr<std::atomic<bool>>;

flag make_flag() {
  return std::make_shared<std::atomic<bool>>(false);
}

// A borrow blocks senders, and only senders: the thread holding it may still ask
// whether the value changed while a send on another thread waits for the borrow to end.
TEST(WatchBorrow, HoldingABorrowDoesNotBlockHasChangedWhileASendWaits) {
  auto [tx, rx] = tandem::watch::channel<int>(0);
  auto borrowed = make_flag();
  auto sending = make_flag();
  auto reader_done = make_flag();
  auto writer_done = make_flag();
  std::thread reader([rx = std::move(rx), borrowed, sending, reader_done]() mutable {
    {
      auto view = rx.borrow();
      borrowed->store(true);
      test_support::wait_for([&] { return sending->load(); });
      std::this_thread::sleep_for(20ms);  // the send is waiting for the borrow now
      (void)rx.has_changed();
      EXPECT_EQ(*view, 0);  // the send cannot have replaced it under the borrow
    }
    reader_done->store(true);
  });
  std::thread writer([tx = std::move(tx), borrowed, sending, writer_done]() mutable {
    test_support::wait_for([&] { return borrowed->load(); });
    sending->store(true);
    (void)tx.send_replace(1);
    writer_done->store(true);
  });
  const bool finished = test_support::wait_for([&] { return reader_done->load() && writer_done->load(); }, 500ms);
  EXPECT_TRUE(finished) << "has_changed() under a borrow deadlocked with a waiting send";
  if (finished) {
    reader.join();
    writer.join();
  } else {
    // Stuck for good: leave them (each owns its end of the channel) rather than hang.
    reader.detach();
    writer.detach();
  }
}

TEST_P(Watch, BorrowAndUpdateMakesChangedWait) {
  rt.block_on([]() -> task<void> {
    auto [tx, rx] = tandem::watch::channel<int>(0);
    tx.send(1);
    EXPECT_EQ(*rx.borrow_and_update(), 1);
    EXPECT_FALSE(co_await changes_soon(rx));
  }());
}

// --- The send family -----------------------------------------------------------------

TEST(WatchSend, SendWithNoReceiverThrowsAndDoesNotStore) {
  auto [tx, rx] = tandem::watch::channel<int>(1);
  { auto gone = std::move(rx); }
  EXPECT_THROW(tx.send(2), tandem::channel_closed);
  EXPECT_EQ(*tx.borrow(), 1);
  // A new receiver makes send work again.
  auto fresh = tx.subscribe();
  EXPECT_NO_THROW(tx.send(3));
  EXPECT_TRUE(fresh.has_changed());
  EXPECT_EQ(*fresh.borrow(), 3);
}

TEST(WatchSend, SendReplaceReturnsTheOldValueAndWorksWithoutReceivers) {
  auto [tx, rx] = tandem::watch::channel<std::string>("first");
  EXPECT_EQ(tx.send_replace("second"), "first");
  EXPECT_TRUE(rx.has_changed());
  EXPECT_EQ(*rx.borrow_and_update(), "second");
  { auto gone = std::move(rx); }
  EXPECT_EQ(tx.send_replace("third"), "second");
  EXPECT_EQ(*tx.borrow(), "third");
}

TEST(WatchSend, SendModifyChangesInPlaceAndCountsAsAChange) {
  auto [tx, rx] = tandem::watch::channel<std::vector<int>>({1});
  tx.send_modify([](std::vector<int>& v) { v.push_back(2); });
  EXPECT_TRUE(rx.has_changed());
  EXPECT_EQ(*rx.borrow_and_update(), (std::vector<int>{1, 2}));
  { auto gone = std::move(rx); }
  tx.send_modify([](std::vector<int>& v) { v.push_back(3); });  // no receiver needed
  EXPECT_EQ(*tx.borrow(), (std::vector<int>{1, 2, 3}));
}

task<void> replace_later(sender<int>& tx, int value) {
  co_await tandem::sleep(2ms);
  EXPECT_EQ(tx.send_replace(value), 0);
}

task<void> modify_later(sender<int>& tx, int add) {
  co_await tandem::sleep(2ms);
  tx.send_modify([add](int& v) { v += add; });
}

TEST_P(Watch, SendReplaceAndSendModifyWakeAWaitingChanged) {
  rt.block_on([]() -> task<void> {
    auto [tx, rx] = tandem::watch::channel<int>(0);
    auto replacing = tandem::spawn(replace_later(tx, 5));
    co_await tandem::timeout(2s, rx.changed());
    EXPECT_EQ(*rx.borrow(), 5);
    co_await replacing;
    auto modifying = tandem::spawn(modify_later(tx, 10));
    co_await tandem::timeout(2s, rx.changed());
    EXPECT_EQ(*rx.borrow(), 15);
    co_await modifying;
  }());
}

// --- The sender going away -----------------------------------------------------------

task<void> drop_later([[maybe_unused]] sender<int> tx) {
  co_await tandem::sleep(2ms);
}

TEST_P(Watch, DroppingTheSenderMakesAWaitingChangedThrow) {
  rt.block_on([]() -> task<void> {
    auto [tx, rx] = tandem::watch::channel<int>(0);
    auto dropping = tandem::spawn(drop_later(std::move(tx)));
    bool closed = false;
    try {
      co_await tandem::timeout(2s, rx.changed());
    } catch (const tandem::channel_closed&) {
      closed = true;
    }
    EXPECT_TRUE(closed);
    EXPECT_THROW((void)rx.has_changed(), tandem::channel_closed);
    EXPECT_EQ(*rx.borrow(), 0);  // the last value can still be read
    co_await dropping;
  }());
}

TEST_P(Watch, AChangeUnseenWhenTheSenderGoesIsStillReportedThenClosed) {
  rt.block_on([]() -> task<void> {
    auto [tx, rx] = tandem::watch::channel<int>(0);
    tx.send(1);
    { auto gone = std::move(tx); }
    EXPECT_TRUE(co_await changes_soon(rx, 1000ms));
    EXPECT_EQ(*rx.borrow(), 1);
    bool closed = false;
    try {
      co_await tandem::timeout(2s, rx.changed());
    } catch (const tandem::channel_closed&) {
      closed = true;
    }
    EXPECT_TRUE(closed);
  }());
}

// --- Many waiters --------------------------------------------------------------------

constexpr int waiters = 8;

task<int> wait_for_change(receiver<int> rx, std::shared_ptr<std::atomic<int>> waiting) {
  waiting->fetch_add(1);
  co_await tandem::timeout(2s, rx.changed());
  co_return *rx.borrow();
}

TEST_P(Watch, EveryWaitingReceiverWakesOnOneSend) {
  rt.block_on([]() -> task<void> {
    auto [tx, rx] = tandem::watch::channel<int>(0);
    auto waiting = std::make_shared<std::atomic<int>>(0);
    std::vector<tandem::join_handle<int>> handles;
    for (int i = 0; i < waiters; ++i) {
      auto copy = rx;
      handles.push_back(tandem::spawn(wait_for_change(std::move(copy), waiting)));
    }
    for (int i = 0; i < 2000 && waiting->load() < waiters; ++i) co_await tandem::sleep(1ms);
    co_await tandem::sleep(10ms);  // all of them are in changed() now
    tx.send(42);
    for (auto& h : handles) EXPECT_EQ(co_await h, 42);
  }());
}

// --- Copies and subscribe ------------------------------------------------------------

TEST(WatchCopies, ACopyHasSeenWhatTheOriginalHasAndThenGoesItsOwnWay) {
  auto [tx, rx] = tandem::watch::channel<int>(0);
  tx.send(1);
  auto unseen_copy = rx;
  EXPECT_TRUE(unseen_copy.has_changed());
  (void)rx.borrow_and_update();
  auto seen_copy = rx;
  EXPECT_FALSE(seen_copy.has_changed());
  tx.send(2);
  EXPECT_TRUE(seen_copy.has_changed());
  (void)seen_copy.borrow_and_update();
  EXPECT_FALSE(seen_copy.has_changed());
  EXPECT_TRUE(rx.has_changed());  // the copy's progress does not move the original

  auto assigned = tx.subscribe();
  EXPECT_FALSE(assigned.has_changed());
  assigned = unseen_copy;
  EXPECT_TRUE(assigned.has_changed());
}

TEST(WatchCopies, SubscribeGivesAReceiverThatHasSeenTheCurrentValue) {
  auto [tx, rx] = tandem::watch::channel<int>(0);
  tx.send(1);
  auto sub = tx.subscribe();
  EXPECT_FALSE(sub.has_changed());
  EXPECT_EQ(*sub.borrow(), 1);
  tx.send(2);
  EXPECT_TRUE(sub.has_changed());
}

// --- Plain threads -------------------------------------------------------------------

constexpr int thread_updates = 200;

task<std::vector<int>> follow(receiver<int> rx) {
  std::vector<int> seen;
  try {
    for (;;) {
      co_await tandem::timeout(5s, rx.changed());
      seen.push_back(*rx.borrow_and_update());
    }
  } catch (const tandem::channel_closed&) {
  }
  co_return seen;
}

TEST_P(Watch, ChangesFromAPlainThreadAreSeenInOrderEndingWithTheLast) {
  auto [tx, rx] = tandem::watch::channel<int>(0);
  std::thread updater([tx = std::move(tx)]() mutable {
    for (int i = 1; i <= thread_updates; ++i) {
      tx.send_replace(i);  // never throws: the receiver may finish early on a failure
      if (i % 20 == 0) std::this_thread::sleep_for(100us);
    }
  });  // its sender goes when it ends
  std::vector<int> seen;
  EXPECT_NO_THROW(seen = rt.block_on(follow(std::move(rx))));
  updater.join();
  ASSERT_FALSE(seen.empty());
  for (std::size_t i = 1; i < seen.size(); ++i) EXPECT_LT(seen[i - 1], seen[i]);
  EXPECT_EQ(seen.back(), thread_updates);
}

// --- Misuse --------------------------------------------------------------------------

TEST(WatchMisuse, MovedFromSenderAndReceiverThrowLogicError) {
  auto [tx, rx] = tandem::watch::channel<int>(0);
  auto tx2 = std::move(tx);
  auto rx2 = std::move(rx);
  EXPECT_THROW(tx.send(1), std::logic_error);
  EXPECT_THROW((void)tx.send_replace(1), std::logic_error);
  EXPECT_THROW(tx.send_modify([](int&) {}), std::logic_error);
  EXPECT_THROW((void)tx.borrow(), std::logic_error);
  EXPECT_THROW((void)tx.subscribe(), std::logic_error);
  EXPECT_THROW((void)rx.changed(), std::logic_error);
  EXPECT_THROW((void)rx.borrow(), std::logic_error);
  EXPECT_THROW((void)rx.borrow_and_update(), std::logic_error);
  EXPECT_THROW((void)rx.has_changed(), std::logic_error);
  tx2.send(1);
  EXPECT_TRUE(rx2.has_changed());
}

// --- Cancellation safety -------------------------------------------------------------

TEST_P(Watch, ChangedThatLostASelectWhileWaitingMissesNoLaterChange) {
  rt.block_on([]() -> task<void> {
    auto [tx, rx] = tandem::watch::channel<int>(0);
    for (int round = 0; round < 3; ++round) EXPECT_FALSE(co_await changes_soon(rx, 2ms));
    tx.send(1);
    EXPECT_TRUE(rx.has_changed());
    co_await tandem::timeout(2s, rx.changed());
    EXPECT_FALSE(rx.has_changed());
  }());
}

// Runs before changed() in a select: yields so that changed() is waiting, then sends
// (which wakes it and marks the change seen for it) and finishes first.
task<void> send_then_win(sender<int>& tx, int value) {
  co_await tandem::yield_now();
  tx.send(value);
}

TEST_P(Watch, ChangedWokenButLosingTheSelectLeavesTheChangeUnseen) {
  rt.block_on([]() -> task<void> {
    auto [tx, rx] = tandem::watch::channel<int>(0);
    // Branches run in argument order: the sender finishes before changed() is looked at
    // again, so changed() loses after being woken.
    auto outcome = co_await tandem::select(send_then_win(tx, 1), rx.changed());
    EXPECT_EQ(outcome.index(), 0u);
    EXPECT_TRUE(rx.has_changed()) << "a changed() that lost marked the change seen";
    EXPECT_TRUE(co_await changes_soon(rx, 1000ms));
    EXPECT_FALSE(rx.has_changed());
  }());
}

TEST_P(Watch, ChangedLosingToAReadyBranchLeavesTheChangeUnseen) {
  rt.block_on([]() -> task<void> {
    auto [tx, rx] = tandem::watch::channel<int>(0);
    tx.send(1);
    auto outcome = co_await tandem::select([]() -> task<void> { co_return; }(), rx.changed());
    EXPECT_EQ(outcome.index(), 0u);
    EXPECT_TRUE(rx.has_changed());
  }());
}

task<void> wait_changed(receiver<int>& rx) {
  co_await rx.changed();
}

TEST_P(Watch, AbortedChangedThatWasWokenLeavesTheChangeUnseen) {
  rt.block_on([]() -> task<void> {
    auto [tx, rx] = tandem::watch::channel<int>(0);
    auto waiting = tandem::spawn(wait_changed(rx));
    co_await tandem::sleep(10ms);  // it is waiting now
    tx.send(1);                    // wakes it, marking the change seen for it
    waiting.abort();               // on one thread, before it could run
    bool completed = false;
    try {
      co_await waiting;  // a multi-thread runtime may have let it finish
      completed = true;
    } catch (const tandem::task_cancelled&) {
    }
    // Exactly one of the two saw the change.
    EXPECT_NE(completed, rx.has_changed());
  }());
}

INSTANTIATE_TEST_SUITE_P(AllFlavors, Watch, test_support::all_flavors(), test_support::flavor_name);

}  // namespace
