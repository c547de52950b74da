// signal.hpp: ctrl_c() hears SIGINT, every waiting task hears each delivery, a delivery
// before the first poll is not heard, and a ctrl_c() that is aborted, times out or loses
// a select leaves nothing behind for a later delivery to touch.
//
// The signals are sent so that the handler has run when the sending call returns, and
// none is still on its way when a test ends (it would reach the next test's waiters):
// raise() directs the signal at the calling thread; kill() is called on the main
// thread, which the kernel picks for a signal to the process that it sends itself.
// ThreadSanitizer also runs the handler at once in both cases (elsewhere it may defer it
// until the receiving thread next calls into the C library).
#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <tandem/combine.hpp>
#include <tandem/detail/signal/interrupt_listeners.hpp>
#include <tandem/runtime.hpp>
#include <tandem/signal.hpp>
#include <tandem/spawn.hpp>
#include <tandem/time/sleep.hpp>

#include "support/runtimes.hpp"
#include "support/sync_waiting.hpp"
#include "support/waiting.hpp"

namespace {

using test_support::abort_and_join;
using test_support::announced;
using test_support::bounded;
using test_support::completes_within;
using test_support::eventually;
using test_support::settle;

using namespace std::chrono_literals;
using tandem::task;

class CtrlC : public ::testing::TestWithParam<test_support::runtime_flavor> {
 protected:
  tandem::runtime rt = test_support::make_runtime(GetParam());
};

// What the tasks of one test share; owned jointly so a failing test that leaves tasks
// behind cannot make them touch freed memory at runtime shutdown.
struct scene {
  std::atomic<int> queued{0};
  std::atomic<int> heard{0};
};

// Waits for Ctrl-C, counts it.
task<> listen(std::shared_ptr<scene> s) {
  co_await announced(tandem::signal::ctrl_c(), s->queued);
  s->heard.fetch_add(1);
}

// True when a ctrl_c() first awaited now completes within `limit`.
task<bool> heard_within(std::chrono::milliseconds limit) {
  co_return co_await completes_within(limit, tandem::signal::ctrl_c());
}

TEST_P(CtrlC, CompletesWhenTheProcessIsSentSigint) {
  auto s = std::make_shared<scene>();
  static_cast<void>(tandem::signal::ctrl_c());  // the handler is in place before the first kill
  bool heard_in_time = false;
  std::thread driver([&] { heard_in_time = rt.block_on(completes_within(5s, listen(s))); });
  // Not knowing when the waiter has queued, send again every 2 ms until it hears one.
  const bool heard = test_support::wait_for([&] {
    if (s->heard.load() == 1) return true;
    ::kill(::getpid(), SIGINT);
    std::this_thread::sleep_for(2ms);
    return false;
  });
  driver.join();
  EXPECT_TRUE(heard);
  EXPECT_TRUE(heard_in_time);
}

TEST_P(CtrlC, OneSignalCompletesEveryWaitingTask) {
  auto s = std::make_shared<scene>();
  rt.block_on([](std::shared_ptr<scene> s) -> task<> {
    std::vector<tandem::join_handle<void>> waiters;
    for (int i = 0; i < 3; ++i) waiters.push_back(tandem::spawn(listen(s)));
    EXPECT_TRUE(co_await eventually([&] { return s->queued.load() == 3; }));
    ::raise(SIGINT);
    for (auto& w : waiters) co_await bounded(std::move(w));
    EXPECT_EQ(s->heard.load(), 3);
  }(s));
}

TEST_P(CtrlC, ASignalBeforeTheFirstPollIsNotHeard) {
  rt.block_on([]() -> task<> {
    auto waiting = tandem::signal::ctrl_c();  // made (the handler installed), not yet awaited
    ::raise(SIGINT);
    EXPECT_FALSE(co_await completes_within(50ms, std::move(waiting)));
  }());
}

TEST_P(CtrlC, AWaiterThatStartsAfterASignalWaitsForTheNextOne) {
  auto s = std::make_shared<scene>();
  rt.block_on([](std::shared_ptr<scene> s) -> task<> {
    auto first = tandem::spawn(listen(s));
    EXPECT_TRUE(co_await eventually([&] { return s->queued.load() == 1; }));
    ::raise(SIGINT);
    co_await bounded(std::move(first));

    // The delivery has been heard: one awaited now waits for the next.
    EXPECT_FALSE(co_await heard_within(50ms));
    auto late = tandem::spawn(listen(s));
    EXPECT_TRUE(co_await eventually([&] { return s->queued.load() == 2; }));
    co_await tandem::sleep(50ms);
    EXPECT_EQ(s->heard.load(), 1);
    ::raise(SIGINT);
    co_await bounded(std::move(late));
    EXPECT_EQ(s->heard.load(), 2);
  }(s));
}

TEST_P(CtrlC, ALoopHearsEachSignalOnce) {
  auto s = std::make_shared<scene>();
  rt.block_on([](std::shared_ptr<scene> s) -> task<> {
    auto server = tandem::spawn([](std::shared_ptr<scene> s) -> task<> {
      for (int i = 0; i < 3; ++i) co_await listen(s);
    }(s));
    for (int i = 0; i < 3; ++i) {
      EXPECT_TRUE(co_await eventually([&] { return s->queued.load() == i + 1; }));
      ::raise(SIGINT);
      EXPECT_TRUE(co_await eventually([&] { return s->heard.load() == i + 1; }));
      co_await settle();
      EXPECT_EQ(s->heard.load(), i + 1);  // one delivery, heard once
    }
    co_await bounded(std::move(server));
  }(s));
}

TEST_P(CtrlC, WinsASelect) {
  auto s = std::make_shared<scene>();
  rt.block_on([](std::shared_ptr<scene> s) -> task<> {
    auto waiter = tandem::spawn([](std::shared_ptr<scene> s) -> task<std::size_t> {
      auto which =
          co_await tandem::select(announced(tandem::signal::ctrl_c(), s->queued), tandem::sleep(60s));
      co_return which.index();
    }(s));
    EXPECT_TRUE(co_await eventually([&] { return s->queued.load() == 1; }));
    ::raise(SIGINT);
    EXPECT_EQ(co_await bounded(std::move(waiter)), 0u);
  }(s));
}

// A waiter's node left on the list would be freed with its task, and the next delivery
// would touch it (AddressSanitizer reports it; elsewhere it may crash).
TEST_P(CtrlC, AbortedTimedOutAndLosingWaitersLeaveNothingBehind) {
  auto s = std::make_shared<scene>();
  rt.block_on([](std::shared_ptr<scene> s) -> task<> {
    auto aborted = tandem::spawn(listen(s));
    EXPECT_TRUE(co_await eventually([&] { return s->queued.load() == 1; }));
    EXPECT_TRUE(co_await abort_and_join(std::move(aborted)));

    EXPECT_FALSE(co_await heard_within(10ms));

    auto lost = co_await tandem::select(tandem::sleep(10ms), announced(tandem::signal::ctrl_c(), s->queued));
    EXPECT_EQ(lost.index(), 0u);

    auto survivor = tandem::spawn(listen(s));
    EXPECT_TRUE(co_await eventually([&] { return s->queued.load() == 3; }));
    ::raise(SIGINT);
    co_await bounded(std::move(survivor));
    EXPECT_EQ(s->heard.load(), 1);
  }(s));
}

TEST_P(CtrlC, WaitersCancelledAtRuntimeShutdownLeaveNothingBehind) {
  auto s = std::make_shared<scene>();
  {
    auto doomed = test_support::make_runtime(GetParam());
    doomed.block_on([](std::shared_ptr<scene> s) -> task<> {
      for (int i = 0; i < 3; ++i) tandem::spawn(listen(s)).detach();
      EXPECT_TRUE(co_await eventually([&] { return s->queued.load() == 3; }));
    }(s));
  }  // the runtime cancels the three waiting tasks
  rt.block_on([](std::shared_ptr<scene> s) -> task<> {
    auto survivor = tandem::spawn(listen(s));
    EXPECT_TRUE(co_await eventually([&] { return s->queued.load() == 4; }));
    ::raise(SIGINT);
    co_await bounded(std::move(survivor));
    EXPECT_EQ(s->heard.load(), 1);
  }(s));
}

INSTANTIATE_TEST_SUITE_P(AllFlavors, CtrlC, test_support::all_flavors(), test_support::flavor_name);

// The race ASignalBeforeTheFirstPollIsNotHeard can only sometimes catch, made certain with
// the internal list: a node queued after a delivery, but before the dispatcher's pass for
// it, is left waiting by that pass.
TEST(CtrlCProtocol, ThePassForADeliveryLeavesNodesQueuedAfterIt) {
  static_cast<void>(tandem::signal::ctrl_c());  // the handler is in place
  using tandem::detail::interrupt_listeners;
  tandem::detail::thread_parker before_parker;
  tandem::detail::thread_parker after_parker;
  tandem::detail::interrupt_wait_node before;
  tandem::detail::interrupt_wait_node after;
  before.waker = tandem::detail::waker_ref::for_thread(before_parker);
  after.waker = tandem::detail::waker_ref::for_thread(after_parker);
  {
    std::lock_guard guard(interrupt_listeners::mutex());
    interrupt_listeners::enqueue_locked(before);
    ::raise(SIGINT);  // the dispatcher's pass waits for this lock
    interrupt_listeners::enqueue_locked(after);
  }
  // `before` is granted in the pass that also decides about `after`.
  EXPECT_TRUE(test_support::wait_for([&] { return before.granted.load(); }));
  // Held once that pass is over, unparks included: from then on nothing touches the nodes
  // or the parkers.
  std::lock_guard guard(interrupt_listeners::mutex());
  EXPECT_TRUE(after.queued);
  EXPECT_FALSE(after.granted.load());
  if (before.queued) interrupt_listeners::unlink_locked(before);
  if (after.queued) interrupt_listeners::unlink_locked(after);
}

}  // namespace
