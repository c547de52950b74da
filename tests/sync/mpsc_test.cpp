// sync/mpsc.hpp: order, back-pressure, the end of the stream, close, plain threads,
// misuse, the cooperative budget and cancellation safety, on every runtime flavor.
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
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
#include <tandem/sync/mpsc.hpp>
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
using tandem::mpsc::send_status;

using flag = std::shared_ptr<std::atomic<bool>>;

flag make_flag() {
  return std::make_shared<std::atomic<bool>>(false);
}

class Mpsc : public ::testing::TestWithParam<test_support::runtime_flavor> {
 protected:
  tandem::runtime rt = test_support::make_runtime(GetParam());
};

// Waits (bounded) until `f` is set, then a little longer so that a task that set it
// right before an operation has reached the point where it waits.
task<bool> until_set_and_settled(flag f) {
  for (int i = 0; i < 2000 && !f->load(); ++i) co_await tandem::sleep(1ms);
  co_await tandem::sleep(10ms);
  co_return f->load();
}

// Sets `started`, then sends `value` (waiting for room).
template <class T>
task<void> send_flagged(tandem::mpsc::sender<T> tx, T value, flag started) {
  started->store(true);
  co_await tx.send(std::move(value));
}

// Sends `value` after a short pause, then, after another, drops its sender (so that a
// receiver is waiting on an empty queue when the sender goes).
task<void> send_later(tandem::mpsc::sender<int> tx, int value) {
  co_await tandem::sleep(2ms);
  co_await tx.send(value);
  co_await tandem::sleep(5ms);
}

// Joins `t` once `done` is set; if it is not set in time, detaches it so that a broken
// channel fails the test instead of hanging it (the thread owns what it touches).
bool join_within(std::thread& t, const flag& done, std::chrono::milliseconds limit = 5000ms) {
  if (!test_support::wait_for([&] { return done->load(); }, limit)) {
    t.detach();
    return false;
  }
  t.join();
  return true;
}

// --- Order ---------------------------------------------------------------------------

struct tagged {
  int sender;
  int seq;
};

constexpr int order_senders = 4;
constexpr int order_per_sender = 300;

task<void> produce_tagged(tandem::mpsc::sender<tagged> tx, int id) {
  for (int i = 0; i < order_per_sender; ++i) {
    co_await tx.send(tagged{id, i});
    if (i % 16 == 0) co_await tandem::yield_now();  // interleave with the other senders
  }
}

TEST_P(Mpsc, EachSendersMessagesArriveInTheOrderItSentThem) {
  const int received = rt.block_on([]() -> task<int> {
    // A small capacity, so that senders really wait for room.
    auto [tx, rx] = tandem::mpsc::channel<tagged>(4);
    std::vector<tandem::join_handle<void>> producers;
    for (int id = 0; id < order_senders; ++id) producers.push_back(tandem::spawn(produce_tagged(tx, id)));
    { auto last = std::move(tx); }  // only the producers' copies are left
    std::vector<int> next(order_senders, 0);
    int total = 0;
    while (auto m = co_await tandem::timeout(5s, rx.recv())) {
      EXPECT_EQ(m->seq, next[m->sender]) << "sender " << m->sender;
      next[m->sender] = m->seq + 1;
      ++total;
    }
    for (auto& p : producers) co_await p;
    co_return total;
  }());
  EXPECT_EQ(received, order_senders * order_per_sender);
}

TEST_P(Mpsc, UnboundedSendNeverWaitsAndKeepsOrder) {
  const bool ok = rt.block_on([]() -> task<bool> {
    auto [tx, rx] = tandem::mpsc::unbounded_channel<int>();
    for (int i = 0; i < 10000; ++i) tx.send(i);  // no receive in between: nothing blocks
    bool in_order = true;
    for (int i = 0; i < 10000; ++i) in_order = in_order && rx.try_recv() == i;
    co_return in_order && !rx.try_recv();
  }());
  EXPECT_TRUE(ok);
}

// --- Back-pressure -------------------------------------------------------------------

TEST_P(Mpsc, SendWaitsWhileFullAndResumesWhenTheReceiverTakes) {
  rt.block_on([]() -> task<void> {
    auto [tx, rx] = tandem::mpsc::channel<int>(1);
    co_await tx.send(1);  // the channel is full now
    auto started = make_flag();
    auto second = tandem::spawn(send_flagged(tx, 2, started));
    EXPECT_TRUE(co_await until_set_and_settled(started));
    EXPECT_FALSE(second.is_finished()) << "a send into a full channel completed";
    EXPECT_EQ(tx.try_send(3), send_status::full);

    EXPECT_EQ(co_await tandem::timeout(2s, rx.recv()), 1);
    // Taking one made room: the waiting send completes without another receive.
    co_await tandem::timeout(2s, std::move(second));
    EXPECT_EQ(rx.try_recv(), 2);
    EXPECT_EQ(rx.try_recv(), std::nullopt);
  }());
}

TEST_P(Mpsc, WaitingSendersAreServedFirstComeFirstServed) {
  rt.block_on([]() -> task<void> {
    auto [tx, rx] = tandem::mpsc::channel<int>(1);
    co_await tx.send(0);
    std::vector<tandem::join_handle<void>> senders;
    for (int v = 1; v <= 3; ++v) {
      auto started = make_flag();
      senders.push_back(tandem::spawn(send_flagged(tx, v, started)));
      EXPECT_TRUE(co_await until_set_and_settled(started));  // queued before the next one
    }
    // A try_send does not jump the line either.
    EXPECT_EQ(tx.try_send(99), send_status::full);
    for (int v = 0; v <= 3; ++v) EXPECT_EQ(co_await tandem::timeout(2s, rx.recv()), v);
    for (auto& s : senders) co_await tandem::timeout(2s, std::move(s));
    EXPECT_EQ(rx.try_recv(), std::nullopt);
  }());
}

TEST(MpscTrySend, ReportsSentFullClosedAndKeepsTheValueWhenNotSent) {
  auto [tx, rx] = tandem::mpsc::channel<std::unique_ptr<int>>(1);
  auto a = std::make_unique<int>(1);
  EXPECT_EQ(tx.try_send(std::move(a)), send_status::sent);
  EXPECT_EQ(a, nullptr);  // moved from: it was sent

  auto b = std::make_unique<int>(2);
  int* const b_address = b.get();
  EXPECT_EQ(tx.try_send(std::move(b)), send_status::full);
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b.get(), b_address);  // the very same value is back with the caller

  rx.close();
  EXPECT_EQ(tx.try_send(std::move(b)), send_status::closed);
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b.get(), b_address);

  auto got = rx.try_recv();
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(**got, 1);
  EXPECT_FALSE(rx.try_recv().has_value());
}

TEST(MpscTrySend, ClosedOnceTheReceiverIsGoneAndTheCopyOverloadWorks) {
  auto [tx, rx] = tandem::mpsc::channel<int>(2);
  const int value = 5;
  EXPECT_EQ(tx.try_send(value), send_status::sent);
  EXPECT_FALSE(tx.is_closed());
  { auto gone = std::move(rx); }
  EXPECT_TRUE(tx.is_closed());
  EXPECT_EQ(tx.try_send(value), send_status::closed);
}

// --- The end of the stream -----------------------------------------------------------

TEST_P(Mpsc, RecvIsEmptyOnceEverySenderIncludingCopiesIsGoneAndTheQueueIsDrained) {
  rt.block_on([]() -> task<void> {
    auto [tx, rx] = tandem::mpsc::channel<int>(8);
    auto copy = tx;
    co_await tx.send(1);
    { auto gone = std::move(tx); }
    co_await copy.send(2);
    tandem::mpsc::sender<int> copy_of_copy = copy;
    { auto gone = std::move(copy); }
    // The last sender sends from another task later, then goes: the receiver is
    // waiting on an empty queue when that happens.
    auto last = tandem::spawn(send_later(std::move(copy_of_copy), 3));
    EXPECT_EQ(co_await tandem::timeout(2s, rx.recv()), 1);
    EXPECT_EQ(co_await tandem::timeout(2s, rx.recv()), 2);
    EXPECT_EQ(co_await tandem::timeout(2s, rx.recv()), 3);
    EXPECT_EQ(co_await tandem::timeout(2s, rx.recv()), std::nullopt);
    EXPECT_EQ(co_await tandem::timeout(2s, rx.recv()), std::nullopt);  // and stays ended
    EXPECT_EQ(rx.try_recv(), std::nullopt);
    co_await last;
  }());
}

TEST_P(Mpsc, RecvDoesNotEndWhileACopyOfTheSenderLives) {
  rt.block_on([]() -> task<void> {
    auto [tx, rx] = tandem::mpsc::unbounded_channel<int>();
    auto copy = tx;
    { auto gone = std::move(tx); }
    auto outcome = co_await tandem::select(rx.recv(), tandem::sleep(10ms));
    EXPECT_EQ(outcome.index(), 1u) << "recv ended although a sender is left";
    copy.send(4);
    EXPECT_EQ(co_await tandem::timeout(2s, rx.recv()), 4);
  }());
}

// --- close and a dropped receiver ----------------------------------------------------

TEST_P(Mpsc, CloseRefusesSendsButQueuedMessagesAreStillReceived) {
  rt.block_on([]() -> task<void> {
    auto [tx, rx] = tandem::mpsc::channel<int>(2);
    co_await tx.send(1);
    co_await tx.send(2);  // full
    auto started = make_flag();
    auto waiting = tandem::spawn(send_flagged(tx, 3, started));
    EXPECT_TRUE(co_await until_set_and_settled(started));

    rx.close();
    EXPECT_TRUE(tx.is_closed());
    // The send that was waiting for room is refused.
    bool waiting_refused = false;
    try {
      co_await tandem::timeout(2s, std::move(waiting));
    } catch (const tandem::channel_closed&) {
      waiting_refused = true;
    }
    EXPECT_TRUE(waiting_refused);
    // So are later ones.
    bool later_refused = false;
    try {
      co_await tx.send(4);
    } catch (const tandem::channel_closed&) {
      later_refused = true;
    }
    EXPECT_TRUE(later_refused);
    EXPECT_EQ(tx.try_send(5), send_status::closed);

    // What was queued before the close still comes out, then the end (senders live on).
    EXPECT_EQ(co_await tandem::timeout(2s, rx.recv()), 1);
    EXPECT_EQ(co_await tandem::timeout(2s, rx.recv()), 2);
    EXPECT_EQ(co_await tandem::timeout(2s, rx.recv()), std::nullopt);
  }());
}

TEST(MpscClose, UnboundedSendAfterCloseThrows) {
  auto [tx, rx] = tandem::mpsc::unbounded_channel<int>();
  tx.send(1);
  rx.close();
  EXPECT_THROW(tx.send(2), tandem::channel_closed);
  EXPECT_EQ(rx.try_recv(), 1);
  EXPECT_EQ(rx.try_recv(), std::nullopt);
}

TEST_P(Mpsc, DroppingTheReceiverFailsPendingAndLaterSendsAndDropsTheirMessages) {
  rt.block_on([]() -> task<void> {
    auto [tx, rx] = tandem::mpsc::channel<std::shared_ptr<int>>(1);
    co_await tx.send(std::make_shared<int>(0));  // full
    auto pending_message = std::make_shared<int>(1);
    auto started = make_flag();
    auto pending = tandem::spawn(send_flagged(tx, pending_message, started));
    EXPECT_TRUE(co_await until_set_and_settled(started));

    { auto gone = std::move(rx); }
    bool pending_refused = false;
    try {
      co_await tandem::timeout(2s, std::move(pending));
    } catch (const tandem::channel_closed&) {
      pending_refused = true;
    }
    EXPECT_TRUE(pending_refused);
    EXPECT_EQ(pending_message.use_count(), 1) << "the refused message was kept somewhere";

    auto later_message = std::make_shared<int>(2);
    bool later_refused = false;
    try {
      co_await tx.send(later_message);
    } catch (const tandem::channel_closed&) {
      later_refused = true;
    }
    EXPECT_TRUE(later_refused);
    EXPECT_EQ(later_message.use_count(), 1);
    EXPECT_EQ(tx.try_send(later_message), send_status::closed);
    EXPECT_TRUE(tx.is_closed());
  }());
}

TEST(MpscDroppedReceiver, UnboundedSendThrows) {
  auto [tx, rx] = tandem::mpsc::unbounded_channel<int>();
  { auto gone = std::move(rx); }
  EXPECT_THROW(tx.send(1), tandem::channel_closed);
}

// A message may own a sender of its own channel (a job that can queue a follow-up):
// dropping such a message, which drops that sender, must work wherever it happens.
using job = std::function<void()>;

TEST(MpscDroppedReceiver, QueuedMessagesOwningASenderAreDroppedWithTheReceiver) {
  EXPECT_TRUE(returns_within([] {
    auto [tx, rx] = tandem::mpsc::unbounded_channel<job>();
    tx.send([follow_up = tx] {});
    { auto gone = std::move(rx); }  // drops the queued job, and the sender it holds
  })) << "dropping the receiver deadlocked on a queued message holding a sender";
}

TEST(MpscDroppedReceiver, RefusedMessageOwningASenderIsDroppedAndSendThrows) {
  EXPECT_TRUE(returns_within([] {
    auto [tx, rx] = tandem::mpsc::unbounded_channel<job>();
    { auto gone = std::move(rx); }
    EXPECT_THROW(tx.send([follow_up = tx] {}), tandem::channel_closed);
  })) << "a refused unbounded send deadlocked on a message holding a sender";
}

TEST(MpscDroppedReceiver, BoundedTrySendOfAMessageOwningASenderToAClosedChannel) {
  EXPECT_TRUE(returns_within([] {
    auto [tx, rx] = tandem::mpsc::channel<job>(1);
    rx.close();
    job j = [follow_up = tx] {};
    EXPECT_EQ(tx.try_send(std::move(j)), send_status::closed);
    EXPECT_TRUE(static_cast<bool>(j));  // still the caller's
  }));
}

// --- recv_many and try_recv ----------------------------------------------------------

TEST_P(Mpsc, RecvManyAppendsUpToTheLimitAndZeroAtTheEnd) {
  rt.block_on([]() -> task<void> {
    auto [tx, rx] = tandem::mpsc::unbounded_channel<int>();
    for (int i = 0; i < 5; ++i) tx.send(i);
    std::vector<int> out{-1};  // appended to, not replaced
    EXPECT_EQ(co_await tandem::timeout(2s, rx.recv_many(out, 3)), 3u);
    EXPECT_EQ(out, (std::vector<int>{-1, 0, 1, 2}));
    EXPECT_EQ(co_await tandem::timeout(2s, rx.recv_many(out, 10)), 2u);
    EXPECT_EQ(out, (std::vector<int>{-1, 0, 1, 2, 3, 4}));

    // With nothing queued it waits for the first message.
    auto [btx, brx] = tandem::mpsc::channel<int>(4);
    auto later = tandem::spawn(send_later(btx, 7));
    std::vector<int> more;
    EXPECT_EQ(co_await tandem::timeout(2s, brx.recv_many(more, 10)), 1u);
    EXPECT_EQ(more, std::vector<int>{7});
    co_await later;
    { auto gone = std::move(btx); }
    EXPECT_EQ(co_await tandem::timeout(2s, brx.recv_many(more, 10)), 0u);
    EXPECT_EQ(more, std::vector<int>{7});

    { auto gone = std::move(tx); }
    EXPECT_EQ(co_await tandem::timeout(2s, rx.recv_many(out, 10)), 0u);
  }());
}

TEST(MpscTryRecv, GivesQueuedMessagesInOrderAndNothingOtherwise) {
  auto [tx, rx] = tandem::mpsc::channel<int>(4);
  EXPECT_EQ(rx.try_recv(), std::nullopt);
  EXPECT_EQ(tx.try_send(1), send_status::sent);
  EXPECT_EQ(tx.try_send(2), send_status::sent);
  EXPECT_EQ(rx.try_recv(), 1);
  { auto gone = std::move(tx); }
  EXPECT_EQ(rx.try_recv(), 2);  // still drained after the senders went
  EXPECT_EQ(rx.try_recv(), std::nullopt);
}

TEST(MpscTryRecv, AdmitsAWaitingBlockedSender) {
  auto [tx, rx] = tandem::mpsc::channel<int>(1);
  EXPECT_EQ(tx.try_send(1), send_status::sent);
  auto done = make_flag();
  std::thread producer([tx = tx, done]() mutable {
    try {
      tx.blocking_send(2);  // waits for room
    } catch (const tandem::channel_closed&) {
    }
    done->store(true);
  });
  std::this_thread::sleep_for(10ms);
  EXPECT_FALSE(done->load()) << "blocking_send into a full channel returned";
  EXPECT_EQ(rx.try_recv(), 1);
  EXPECT_TRUE(join_within(producer, done));
  EXPECT_EQ(rx.try_recv(), 2);
}

// --- Plain threads -------------------------------------------------------------------

constexpr int thread_messages = 200;

task<std::vector<int>> receive_all(tandem::mpsc::receiver<int>& rx) {
  std::vector<int> got;
  while (auto v = co_await tandem::timeout(5s, rx.recv())) got.push_back(*v);
  co_return got;
}

TEST_P(Mpsc, BlockingSendFromAPlainThreadToATask) {
  auto [tx, rx] = tandem::mpsc::channel<int>(2);  // small: the thread really blocks
  auto done = make_flag();
  std::thread producer([tx = std::move(tx), done]() mutable {
    try {
      for (int i = 0; i < thread_messages; ++i) tx.blocking_send(i);
    } catch (const tandem::channel_closed&) {
    }
    { auto gone = std::move(tx); }
    done->store(true);
  });
  std::vector<int> got;
  EXPECT_NO_THROW(got = rt.block_on(receive_all(rx)));
  { auto gone = std::move(rx); }  // frees the producer if the receive gave up early
  EXPECT_TRUE(join_within(producer, done));
  EXPECT_EQ(got, zero_to(thread_messages));
}

task<void> send_all(tandem::mpsc::sender<int> tx) {
  for (int i = 0; i < thread_messages; ++i) co_await tandem::timeout(5s, tx.send(i));
}

TEST_P(Mpsc, BlockingRecvOnAPlainThreadFromATask) {
  auto [tx, rx] = tandem::mpsc::channel<int>(2);
  auto done = make_flag();
  auto got = std::make_shared<std::vector<int>>();
  std::thread consumer([rx = std::move(rx), done, got]() mutable {
    while (auto v = rx.blocking_recv()) got->push_back(*v);  // ends when the task's sender goes
    done->store(true);
  });
  EXPECT_NO_THROW(rt.block_on(send_all(std::move(tx))));  // its sender goes with it
  ASSERT_TRUE(join_within(consumer, done));
  EXPECT_EQ(*got, zero_to(thread_messages));
}

constexpr int ping_pong_rounds = 300;

// Each round the task hands a value to the thread waiting in blocking_recv, and takes
// the first of two copies the thread sends back while the second waits in
// blocking_send: both blocking calls are woken by the task over and over.
task<int> ping_pong_task(tandem::mpsc::sender<int> to_thread, tandem::mpsc::receiver<int> from_thread) {
  int rounds = 0;
  for (int i = 0; i < ping_pong_rounds; ++i) {
    co_await tandem::timeout(5s, to_thread.send(i));
    const auto first = co_await tandem::timeout(5s, from_thread.recv());
    const auto second = co_await tandem::timeout(5s, from_thread.recv());
    if (first != i || second != i) break;
    ++rounds;
  }
  co_return rounds;
}

TEST_P(Mpsc, BlockingSendAndRecvPingPongWithATask) {
  auto [to_thread, thread_rx] = tandem::mpsc::channel<int>(1);
  auto [thread_tx, from_thread] = tandem::mpsc::channel<int>(1);
  auto done = make_flag();
  std::thread echo([rx = std::move(thread_rx), tx = std::move(thread_tx), done]() mutable {
    try {
      while (auto v = rx.blocking_recv()) {
        tx.blocking_send(*v);
        tx.blocking_send(*v);  // the channel holds one: this waits for the task
      }
    } catch (const tandem::channel_closed&) {
    }
    { auto gone = std::move(tx); }
    done->store(true);
  });
  int rounds = -1;
  // The task owns the other ends: when it ends, the thread's calls end too.
  EXPECT_NO_THROW(rounds = rt.block_on(ping_pong_task(std::move(to_thread), std::move(from_thread))));
  EXPECT_TRUE(join_within(echo, done));
  EXPECT_EQ(rounds, ping_pong_rounds);
}

TEST_P(Mpsc, BlockingCallsInsideATaskAreRefused) {
  rt.block_on([]() -> task<void> {
    // Neither call would have to wait here (room, and a message queued), so the
    // refusal is about the thread, not about blocking.
    auto [tx, rx] = tandem::mpsc::channel<int>(4);
    EXPECT_EQ(tx.try_send(0), send_status::sent);
    EXPECT_THROW(tx.blocking_send(1), std::logic_error);
    EXPECT_THROW(rx.blocking_recv(), std::logic_error);
    EXPECT_EQ(rx.try_recv(), 0);  // the refused receive took nothing
    EXPECT_EQ(rx.try_recv(), std::nullopt);  // the refused send sent nothing
    co_return;
  }());
}

// --- Misuse --------------------------------------------------------------------------

TEST(MpscMisuse, MovedFromSenderAndReceiverThrowLogicError) {
  auto [tx, rx] = tandem::mpsc::channel<int>(1);
  auto tx2 = std::move(tx);
  auto rx2 = std::move(rx);
  EXPECT_THROW((void)tx.send(1), std::logic_error);
  EXPECT_THROW(tx.try_send(1), std::logic_error);
  EXPECT_THROW(tx.blocking_send(1), std::logic_error);
  EXPECT_THROW((void)tx.is_closed(), std::logic_error);
  std::vector<int> out;
  EXPECT_THROW((void)rx.recv(), std::logic_error);
  EXPECT_THROW((void)rx.recv_many(out, 1), std::logic_error);
  EXPECT_THROW(rx.try_recv(), std::logic_error);
  EXPECT_THROW(rx.blocking_recv(), std::logic_error);
  EXPECT_THROW(rx.close(), std::logic_error);

  auto [utx, urx] = tandem::mpsc::unbounded_channel<int>();
  auto utx2 = std::move(utx);
  EXPECT_THROW(utx.send(1), std::logic_error);

  // The moved-to halves work.
  EXPECT_EQ(tx2.try_send(1), send_status::sent);
  EXPECT_EQ(rx2.try_recv(), 1);
}

TEST(MpscMisuse, ZeroCapacityIsInvalid) {
  EXPECT_THROW((void)tandem::mpsc::channel<int>(0), std::invalid_argument);
}

// --- The cooperative budget ----------------------------------------------------------

task<void> set_flag(flag f) {
  f->store(true);
  co_return;
}

// Receives from a channel that is never empty (each message goes straight back in)
// until the spawned task has run; -1 if it never did.
task<int> receive_from_an_always_full_channel() {
  auto [tx, rx] = tandem::mpsc::channel<int>(1);
  EXPECT_EQ(tx.try_send(0), send_status::sent);
  auto other_ran = make_flag();
  auto other = tandem::spawn(set_flag(other_ran));
  int iterations = -1;
  for (int i = 0; i < 100000; ++i) {
    auto v = co_await rx.recv();
    EXPECT_EQ(tx.try_send(*v), send_status::sent);
    if (other_ran->load()) {
      iterations = i;
      break;
    }
  }
  co_await other;
  co_return iterations;
}

TEST_P(Mpsc, AReceiverThatAlwaysFindsAMessageStillLetsOtherTasksRun) {
  const int iterations = rt.block_on(receive_from_an_always_full_channel());
  EXPECT_GE(iterations, 0) << "the other task never ran while the receiver looped";
}

// --- Cancellation safety -------------------------------------------------------------

TEST_P(Mpsc, RecvThatLostASelectDoesNotLoseALaterMessage) {
  rt.block_on([]() -> task<void> {
    auto [tx, rx] = tandem::mpsc::channel<int>(4);
    for (int round = 0; round < 3; ++round) {
      auto outcome = co_await tandem::select(rx.recv(), tandem::sleep(2ms));
      EXPECT_EQ(outcome.index(), 1u);
    }
    co_await tx.send(5);
    EXPECT_EQ(co_await tandem::timeout(2s, rx.recv()), 5);
    EXPECT_EQ(rx.try_recv(), std::nullopt);
  }());
}

// Runs before the receive in a select: yields so that the receive is waiting, then
// hands it `first` (straight into its slot) and queues `second`, and finishes first.
task<void> hand_over_then_win(tandem::mpsc::sender<int>& tx, int first, int second) {
  co_await tandem::yield_now();
  EXPECT_EQ(tx.try_send(first), send_status::sent);
  EXPECT_EQ(tx.try_send(second), send_status::sent);
}

TEST_P(Mpsc, RecvHandedAMessageThatThenLostTheSelectPutsItBackAtTheHead) {
  rt.block_on([]() -> task<void> {
    auto [tx, rx] = tandem::mpsc::channel<int>(4);
    // Branches are run in argument order: the first finishes before the receive is
    // looked at again, so the receive loses with a message already in hand.
    auto outcome = co_await tandem::select(hand_over_then_win(tx, 1, 2), rx.recv());
    EXPECT_EQ(outcome.index(), 0u);
    EXPECT_EQ(rx.try_recv(), 1) << "the handed-over message was lost or reordered";
    EXPECT_EQ(rx.try_recv(), 2);
    EXPECT_EQ(rx.try_recv(), std::nullopt);
  }());
}

TEST_P(Mpsc, RecvManyHandedAMessageThatThenLostTheSelectPutsItBack) {
  rt.block_on([]() -> task<void> {
    auto [tx, rx] = tandem::mpsc::channel<int>(4);
    std::vector<int> out;
    auto outcome = co_await tandem::select(hand_over_then_win(tx, 1, 2), rx.recv_many(out, 10));
    EXPECT_EQ(outcome.index(), 0u);
    EXPECT_TRUE(out.empty());
    EXPECT_EQ(co_await tandem::timeout(2s, rx.recv_many(out, 10)), 2u);
    EXPECT_EQ(out, (std::vector<int>{1, 2}));
  }());
}

task<int> ready_now() {
  co_return 0;
}

TEST_P(Mpsc, SelectTriesItsBranchesInArgumentOrder) {
  rt.block_on([]() -> task<void> {
    auto [tx, rx] = tandem::mpsc::channel<int>(4);
    co_await tx.send(1);
    co_await tx.send(2);
    // The receive comes first and a message is queued: it wins, with that message.
    auto first = co_await tandem::select(rx.recv(), ready_now());
    EXPECT_EQ(first.index(), 0u);
    if (first.index() == 0) {
      EXPECT_EQ(std::get<0>(first), 1);
    }
    // Something ready comes first: the receive loses and takes nothing.
    auto second = co_await tandem::select(ready_now(), rx.recv());
    EXPECT_EQ(second.index(), 0u);
    EXPECT_EQ(rx.try_recv(), 2);
  }());
}

task<std::optional<int>> receive_one(tandem::mpsc::receiver<int>& rx) {
  co_return co_await rx.recv();
}

TEST_P(Mpsc, AbortedReceiveHandedAMessageGivesItBack) {
  rt.block_on([]() -> task<void> {
    auto [tx, rx] = tandem::mpsc::unbounded_channel<int>();
    auto receiving = tandem::spawn(receive_one(rx));
    co_await tandem::sleep(10ms);  // it is waiting on the empty channel now
    tx.send(7);                    // handed straight to it
    receiving.abort();             // on one thread, before it could run
    std::optional<int> got;
    int deliveries = 0;
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

TEST_P(Mpsc, AbortedSendDeliversNothingAndFreesItsPlaceInLine) {
  rt.block_on([]() -> task<void> {
    auto [tx, rx] = tandem::mpsc::channel<std::shared_ptr<int>>(1);
    co_await tx.send(std::make_shared<int>(0));  // full
    auto aborted_message = std::make_shared<int>(1);
    auto started1 = make_flag();
    auto first = tandem::spawn(send_flagged(tx, aborted_message, started1));
    EXPECT_TRUE(co_await until_set_and_settled(started1));
    auto started2 = make_flag();
    auto second = tandem::spawn(send_flagged(tx, std::make_shared<int>(2), started2));
    EXPECT_TRUE(co_await until_set_and_settled(started2));

    first.abort();
    bool cancelled = false;
    try {
      co_await first;
    } catch (const tandem::task_cancelled&) {
      cancelled = true;
    }
    EXPECT_TRUE(cancelled);
    EXPECT_EQ(aborted_message.use_count(), 1) << "the aborted send's message was kept";

    // The slot freed by this receive goes to the send behind the aborted one.
    auto m0 = co_await tandem::timeout(2s, rx.recv());
    EXPECT_EQ(m0 ? **m0 : -1, 0);
    co_await tandem::timeout(2s, std::move(second));
    auto m2 = co_await tandem::timeout(2s, rx.recv());
    EXPECT_EQ(m2 ? **m2 : -1, 2);
    EXPECT_FALSE(rx.try_recv().has_value()) << "the aborted send delivered its message";
  }());
}

TEST_P(Mpsc, SendThatLostASelectIsNeitherDeliveredNorDuplicated) {
  rt.block_on([]() -> task<void> {
    auto [tx, rx] = tandem::mpsc::channel<int>(1);
    co_await tx.send(0);  // full
    auto outcome = co_await tandem::select(tx.send(9), tandem::sleep(5ms));
    EXPECT_EQ(outcome.index(), 1u);
    EXPECT_EQ(co_await tandem::timeout(2s, rx.recv()), 0);
    EXPECT_EQ(rx.try_recv(), std::nullopt) << "the cancelled send delivered its message";
    // The slot is usable as usual afterwards.
    co_await tx.send(10);
    EXPECT_EQ(rx.try_recv(), 10);
  }());
}

TEST_P(Mpsc, TimeoutOnRecv) {
  rt.block_on([]() -> task<void> {
    auto [tx, rx] = tandem::mpsc::channel<int>(4);
    bool timed_out = false;
    try {
      co_await tandem::timeout(5ms, rx.recv());
    } catch (const tandem::timed_out&) {
      timed_out = true;
    }
    EXPECT_TRUE(timed_out);
    // The timed-out receive took nothing: a message sent afterwards arrives.
    auto later = tandem::spawn(send_later(tx, 3));
    EXPECT_EQ(co_await tandem::timeout(2s, rx.recv()), 3);
    co_await later;
    co_await tx.send(4);
    EXPECT_EQ(co_await tandem::timeout(0ms, rx.recv()), 4);  // ready at once wins
  }());
}

INSTANTIATE_TEST_SUITE_P(AllFlavors, Mpsc, test_support::all_flavors(), test_support::flavor_name);

}  // namespace
