// sync/broadcast.hpp: every receiver sees every value, subscribing, lagging, the end,
// receiver counts, copies, misuse and cancellation safety, on every runtime flavor.
#include <atomic>
#include <chrono>
#include <functional>
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
#include <tandem/sync/broadcast.hpp>
#include <tandem/time/sleep.hpp>
#include <tandem/time/timeout.hpp>

#include "support/runtimes.hpp"
#include "support/sync_waiting.hpp"
#include "support/waiting.hpp"

namespace {

using test_support::zero_to;
using test_support::returns_within;

using namespace std::chrono_literals;
using tandem::task;
using tandem::broadcast::receiver;
using tandem::broadcast::sender;

class Broadcast : public ::testing::TestWithParam<test_support::runtime_flavor> {
 protected:
  tandem::runtime rt = test_support::make_runtime(GetParam());
};

// Everything `rx` receives until the channel ends.
template <class T>
task<std::vector<T>> collect_until_closed(receiver<T> rx) {
  std::vector<T> got;
  try {
    for (;;) got.push_back(co_await tandem::timeout(5s, rx.recv()));
  } catch (const tandem::channel_closed&) {
  }
  co_return got;
}

// Throws nothing and returns the exception's missed() when `op` throws lagged; -1 when
// it throws nothing.
template <class Op>
task<long long> lag_of(Op op) {
  try {
    co_await std::move(op);
  } catch (const tandem::lagged& e) {
    co_return static_cast<long long>(e.missed());
  }
  co_return -1;
}

// --- Fan-out -------------------------------------------------------------------------

constexpr int fan_values = 50;

TEST_P(Broadcast, EveryReceiverSeesEveryValueInOrder) {
  rt.block_on([]() -> task<void> {
    auto [tx, rx] = tandem::broadcast::channel<int>(64);  // room for all: nobody lags
    auto subscribed = tx.subscribe();
    auto copied = rx;
    std::vector<tandem::join_handle<std::vector<int>>> receivers;
    receivers.push_back(tandem::spawn(collect_until_closed(std::move(rx))));
    receivers.push_back(tandem::spawn(collect_until_closed(std::move(subscribed))));
    receivers.push_back(tandem::spawn(collect_until_closed(std::move(copied))));
    co_await tandem::sleep(5ms);  // the receivers are waiting: values are handed to them
    for (int i = 0; i < fan_values; ++i) {
      EXPECT_EQ(tx.send(i), 3u);
      if (i % 8 == 0) co_await tandem::yield_now();
    }
    { auto gone = std::move(tx); }
    for (auto& r : receivers) EXPECT_EQ(co_await r, zero_to(fan_values));
  }());
}

TEST_P(Broadcast, ValuesFromAPlainThreadReachEveryTask) {
  auto [tx, rx] = tandem::broadcast::channel<std::string>(128);
  auto other = tx.subscribe();
  std::thread producer([tx = std::move(tx)]() mutable {
    try {
      for (int i = 0; i < 100; ++i) tx.send(std::to_string(i));
    } catch (const tandem::channel_closed&) {
      ADD_FAILURE() << "the receivers went away early";
    }
  });  // its sender goes when it ends
  std::pair<std::vector<std::string>, std::vector<std::string>> got;
  EXPECT_NO_THROW(got = rt.block_on([](receiver<std::string> a, receiver<std::string> b)
                                      -> task<std::pair<std::vector<std::string>, std::vector<std::string>>> {
    auto ha = tandem::spawn(collect_until_closed(std::move(a)));
    auto hb = tandem::spawn(collect_until_closed(std::move(b)));
    auto got_a = co_await ha;
    auto got_b = co_await hb;
    co_return std::pair{std::move(got_a), std::move(got_b)};
  }(std::move(rx), std::move(other))));
  producer.join();
  const auto& [a, b] = got;
  std::vector<std::string> expected;
  for (int i = 0; i < 100; ++i) expected.push_back(std::to_string(i));
  EXPECT_EQ(a, expected);
  EXPECT_EQ(b, expected);
}

TEST_P(Broadcast, SubscribeSeesOnlyValuesSentAfterIt) {
  rt.block_on([]() -> task<void> {
    auto [tx, rx] = tandem::broadcast::channel<int>(8);
    tx.send(1);
    auto late = tx.subscribe();
    EXPECT_EQ(late.try_recv(), std::nullopt);
    tx.send(2);
    EXPECT_EQ(co_await tandem::timeout(2s, late.recv()), 2);
    EXPECT_EQ(late.try_recv(), std::nullopt);
    EXPECT_EQ(co_await tandem::timeout(2s, rx.recv()), 1);
    EXPECT_EQ(co_await tandem::timeout(2s, rx.recv()), 2);
  }());
}

// --- Lagging -------------------------------------------------------------------------

TEST_P(Broadcast, AReceiverTooFarBehindGetsLaggedWithTheExactCountThenTheOldestKept) {
  rt.block_on([]() -> task<void> {
    auto [tx, rx] = tandem::broadcast::channel<int>(4);
    auto keeping_up = tx.subscribe();
    for (int i = 0; i < 3; ++i) tx.send(i);
    EXPECT_EQ(co_await tandem::timeout(2s, rx.recv()), 0);
    for (int i = 0; i < 3; ++i) EXPECT_EQ(co_await tandem::timeout(2s, keeping_up.recv()), i);
    for (int i = 3; i < 10; ++i) {
      tx.send(i);
      EXPECT_EQ(co_await tandem::timeout(2s, keeping_up.recv()), i);  // never behind: never lagged
    }
    // rx is at 1; only 6..9 are kept: 1..5 are gone.
    EXPECT_EQ(co_await lag_of(tandem::timeout(2s, rx.recv())), 5);
    for (int i = 6; i < 10; ++i) EXPECT_EQ(co_await tandem::timeout(2s, rx.recv()), i);
    EXPECT_EQ(rx.try_recv(), std::nullopt);
    EXPECT_EQ(keeping_up.try_recv(), std::nullopt);
  }());
}

TEST(BroadcastTryRecv, LagsLikeRecv) {
  auto [tx, rx] = tandem::broadcast::channel<int>(3);
  for (int i = 0; i < 10; ++i) tx.send(i);
  try {
    (void)rx.try_recv();
    ADD_FAILURE() << "no lagged";
  } catch (const tandem::lagged& e) {
    EXPECT_EQ(e.missed(), 7u);
  }
  EXPECT_EQ(rx.try_recv(), 7);
  EXPECT_EQ(rx.try_recv(), 8);
  EXPECT_EQ(rx.try_recv(), 9);
  EXPECT_EQ(rx.try_recv(), std::nullopt);
}

TEST(BroadcastTryRecv, ExactlyCapacityBehindIsNotLagged) {
  auto [tx, rx] = tandem::broadcast::channel<int>(4);
  for (int i = 0; i < 4; ++i) tx.send(i);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(rx.try_recv(), i);
}

// --- The end -------------------------------------------------------------------------

// Sends after a short pause, then, after another, drops its sender (so that a receiver
// is waiting when the sender goes).
task<void> send_then_drop(sender<int> tx, int value) {
  co_await tandem::sleep(2ms);
  tx.send(value);
  co_await tandem::sleep(5ms);
}

TEST_P(Broadcast, RecvThrowsChannelClosedOnceEverySenderIsGoneAndEverythingWasSeen) {
  rt.block_on([]() -> task<void> {
    auto [tx, rx] = tandem::broadcast::channel<int>(8);
    auto copy = tx;
    tx.send(1);
    { auto gone = std::move(tx); }
    copy.send(2);
    // The last sender sends later from another task and goes while rx waits.
    auto last = tandem::spawn(send_then_drop(std::move(copy), 3));
    EXPECT_EQ(co_await tandem::timeout(2s, rx.recv()), 1);
    EXPECT_EQ(co_await tandem::timeout(2s, rx.recv()), 2);
    EXPECT_EQ(co_await tandem::timeout(2s, rx.recv()), 3);
    bool closed = false;
    try {
      co_await tandem::timeout(2s, rx.recv());
    } catch (const tandem::channel_closed&) {
      closed = true;
    }
    EXPECT_TRUE(closed);
    EXPECT_THROW((void)rx.try_recv(), tandem::channel_closed);
    co_await last;
  }());
}

TEST(BroadcastEnd, ValuesLeftWhenTheSendersGoAreStillReceived) {
  auto [tx, rx] = tandem::broadcast::channel<int>(4);
  tx.send(1);
  tx.send(2);
  { auto gone = std::move(tx); }
  EXPECT_EQ(rx.try_recv(), 1);
  EXPECT_EQ(rx.try_recv(), 2);
  EXPECT_THROW((void)rx.try_recv(), tandem::channel_closed);
}

TEST(BroadcastSend, ReturnsTheReceiverCountAndThrowsWithNone) {
  auto [tx, rx] = tandem::broadcast::channel<int>(4);
  EXPECT_EQ(tx.send(1), 1u);
  auto sub = tx.subscribe();
  EXPECT_EQ(tx.send(2), 2u);
  {
    auto copy = sub;
    EXPECT_EQ(tx.receiver_count(), 3u);
    EXPECT_EQ(tx.send(3), 3u);
  }
  EXPECT_EQ(tx.send(4), 2u);
  { auto gone = std::move(rx); }
  { auto gone = std::move(sub); }
  EXPECT_EQ(tx.receiver_count(), 0u);
  EXPECT_THROW(tx.send(5), tandem::channel_closed);
  // The refused value was dropped: a new receiver does not see it.
  auto fresh = tx.subscribe();
  EXPECT_EQ(fresh.try_recv(), std::nullopt);
  EXPECT_EQ(tx.send(6), 1u);
  EXPECT_EQ(fresh.try_recv(), 6);
}

// A value may own a sender of its own channel (a callback that can broadcast again):
// the value the channel lets go of when the ring wraps is dropped like any other.
TEST(BroadcastValues, AValueOwningASenderIsLetGoWhenTheRingWraps) {
  EXPECT_TRUE(returns_within([] {
    auto [tx, rx] = tandem::broadcast::channel<std::function<void()>>(1);
    tx.send([again = tx] {});
    tx.send([] {});  // capacity 1: replaces the first value, and the sender it holds
    EXPECT_THROW((void)rx.try_recv(), tandem::lagged);
    EXPECT_TRUE(static_cast<bool>(rx.try_recv().value_or(nullptr)));
  })) << "letting go of a value holding a sender deadlocked";
}

// --- Copies --------------------------------------------------------------------------

TEST_P(Broadcast, ACopiedReceiverStartsAtTheOriginalsPosition) {
  rt.block_on([]() -> task<void> {
    auto [tx, rx] = tandem::broadcast::channel<int>(8);
    for (int i = 1; i <= 3; ++i) tx.send(i);
    EXPECT_EQ(co_await tandem::timeout(2s, rx.recv()), 1);
    auto copy = rx;
    EXPECT_EQ(co_await tandem::timeout(2s, copy.recv()), 2);
    EXPECT_EQ(co_await tandem::timeout(2s, copy.recv()), 3);
    EXPECT_EQ(co_await tandem::timeout(2s, rx.recv()), 2);  // the copy's progress does not move the original

    auto assigned = tx.subscribe();  // at the end
    assigned = rx;                   // now where rx is
    EXPECT_EQ(co_await tandem::timeout(2s, assigned.recv()), 3);
    EXPECT_EQ(co_await tandem::timeout(2s, rx.recv()), 3);
    EXPECT_EQ(tx.send(4), 3u);
  }());
}

// --- Misuse --------------------------------------------------------------------------

TEST(BroadcastMisuse, ZeroCapacityIsInvalid) {
  EXPECT_THROW((void)tandem::broadcast::channel<int>(0), std::invalid_argument);
}

TEST(BroadcastMisuse, MovedFromSenderAndReceiverThrowLogicError) {
  auto [tx, rx] = tandem::broadcast::channel<int>(2);
  auto tx2 = std::move(tx);
  auto rx2 = std::move(rx);
  EXPECT_THROW(tx.send(1), std::logic_error);
  EXPECT_THROW((void)tx.subscribe(), std::logic_error);
  EXPECT_THROW((void)tx.receiver_count(), std::logic_error);
  EXPECT_THROW((void)rx.recv(), std::logic_error);
  EXPECT_THROW((void)rx.try_recv(), std::logic_error);
  EXPECT_EQ(tx2.send(1), 1u);
  EXPECT_EQ(rx2.try_recv(), 1);
}

// --- Cancellation safety -------------------------------------------------------------

TEST_P(Broadcast, RecvThatLostASelectDoesNotLoseALaterValue) {
  rt.block_on([]() -> task<void> {
    auto [tx, rx] = tandem::broadcast::channel<int>(4);
    for (int round = 0; round < 3; ++round) {
      auto outcome = co_await tandem::select(rx.recv(), tandem::sleep(2ms));
      EXPECT_EQ(outcome.index(), 1u);
    }
    tx.send(5);
    EXPECT_EQ(co_await tandem::timeout(2s, rx.recv()), 5);
    EXPECT_EQ(rx.try_recv(), std::nullopt);
  }());
}

// Runs before the receive in a select: yields so that the receive is waiting, then
// sends `first` (handed straight to the waiting receive) and `second`, and finishes first.
task<void> send_two_then_win(sender<int>& tx, int first, int second) {
  co_await tandem::yield_now();
  tx.send(first);
  tx.send(second);
}

TEST_P(Broadcast, RecvHandedAValueThatThenLostTheSelectLeavesItForTheNextRecv) {
  rt.block_on([]() -> task<void> {
    auto [tx, rx] = tandem::broadcast::channel<int>(4);
    auto bystander = tx.subscribe();
    // Branches run in argument order: the sender finishes before the receive is looked
    // at again, so the receive loses with a value already in hand.
    auto outcome = co_await tandem::select(send_two_then_win(tx, 1, 2), rx.recv());
    EXPECT_EQ(outcome.index(), 0u);
    EXPECT_EQ(rx.try_recv(), 1) << "the handed-over value was lost";
    EXPECT_EQ(rx.try_recv(), 2);
    EXPECT_EQ(rx.try_recv(), std::nullopt);
    // Other receivers are unaffected.
    EXPECT_EQ(bystander.try_recv(), 1);
    EXPECT_EQ(bystander.try_recv(), 2);
    EXPECT_EQ(bystander.try_recv(), std::nullopt);
  }());
}

task<int> receive_one(receiver<int>& rx) {
  co_return co_await rx.recv();
}

TEST_P(Broadcast, AbortedRecvHandedAValueLeavesItForTheNextRecv) {
  rt.block_on([]() -> task<void> {
    auto [tx, rx] = tandem::broadcast::channel<int>(4);
    auto receiving = tandem::spawn(receive_one(rx));
    co_await tandem::sleep(10ms);  // it is waiting now
    tx.send(7);                    // handed straight to it
    receiving.abort();             // on one thread, before it could run
    int deliveries = 0;
    std::optional<int> got;
    try {
      got = co_await receiving;  // a multi-thread runtime may have let it finish
      ++deliveries;
    } catch (const tandem::task_cancelled&) {
    }
    if (auto again = rx.try_recv()) {
      got = again;
      ++deliveries;
    }
    EXPECT_EQ(deliveries, 1);
    EXPECT_EQ(got, 7);
  }());
}

TEST_P(Broadcast, TimeoutOnRecvLosesNothing) {
  rt.block_on([]() -> task<void> {
    auto [tx, rx] = tandem::broadcast::channel<int>(4);
    bool timed_out = false;
    try {
      (void)co_await tandem::timeout(5ms, rx.recv());
    } catch (const tandem::timed_out&) {
      timed_out = true;
    }
    EXPECT_TRUE(timed_out);
    tx.send(3);
    EXPECT_EQ(co_await tandem::timeout(2s, rx.recv()), 3);
  }());
}

INSTANTIATE_TEST_SUITE_P(AllFlavors, Broadcast, test_support::all_flavors(), test_support::flavor_name);

}  // namespace
