// sync/cancellation_token.hpp: cancel, waking awaiters, child tokens, select and
// plain threads.
#include <atomic>
#include <chrono>
#include <coroutine>
#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <pthread.h>
#include <unistd.h>

#include <tandem/combine.hpp>
#include <tandem/errors.hpp>
#include <tandem/runtime.hpp>
#include <tandem/spawn.hpp>
#include <tandem/sync/cancellation_token.hpp>
#include <tandem/time/sleep.hpp>
#include <tandem/time/timeout.hpp>

#include "support/runtimes.hpp"
#include "support/sync_waiting.hpp"
#include "support/waiting.hpp"

namespace {

using test_support::announced;
using test_support::eventually;
using test_support::settle;
using test_support::bounded;

using namespace std::chrono_literals;
using tandem::task;

class CancellationToken : public ::testing::TestWithParam<test_support::runtime_flavor> {
 protected:
  tandem::runtime rt = test_support::make_runtime(GetParam());
};

// What the tasks of one test share; owned jointly so a failing test that leaves tasks
// behind cannot make them touch freed memory at runtime shutdown.
struct scene {
  tandem::cancellation_token token;
  std::atomic<int> queued{0};
  std::atomic<int> woken{0};
};

// Waits for `token` (any token of the scene's tree) and counts the wake.
task<> wait_for_cancel(std::shared_ptr<scene> s, tandem::cancellation_token token) {
  co_await announced(token.cancelled(), s->queued);
  EXPECT_TRUE(token.is_cancelled());
  s->woken.fetch_add(1);
}

// True when cancelled() completes within `limit`.
task<bool> cancelled_within(tandem::cancellation_token token, std::chrono::milliseconds limit) {
  try {
    co_await tandem::timeout(limit, token.cancelled());
  } catch (const tandem::timed_out&) {
    co_return false;
  }
  co_return true;
}

// ---------------------------------------------------------------- no runtime needed

TEST(CancellationTokenBasics, CancelMarksItForGood) {
  tandem::cancellation_token token;
  EXPECT_FALSE(token.is_cancelled());
  token.cancel();
  EXPECT_TRUE(token.is_cancelled());
  token.cancel();  // again: no effect
  EXPECT_TRUE(token.is_cancelled());
}

TEST(CancellationTokenBasics, AMovedFromTokenThrowsLogicError) {
  tandem::cancellation_token token;
  tandem::cancellation_token taken = std::move(token);
  // NOLINTBEGIN(bugprone-use-after-move): using the moved-from token is the point
  EXPECT_THROW((void)token.is_cancelled(), std::logic_error);
  EXPECT_THROW(token.cancel(), std::logic_error);
  EXPECT_THROW((void)token.child_token(), std::logic_error);
  EXPECT_THROW((void)token.cancelled(), std::logic_error);
  // NOLINTEND(bugprone-use-after-move)
  EXPECT_FALSE(taken.is_cancelled());
}

TEST(CancellationTokenBasics, CopiesShareOneToken) {
  tandem::cancellation_token token;
  tandem::cancellation_token copy = token;
  tandem::cancellation_token assigned;
  assigned = copy;
  EXPECT_FALSE(token.is_cancelled());
  assigned.cancel();
  EXPECT_TRUE(token.is_cancelled());
  EXPECT_TRUE(copy.is_cancelled());
}

TEST(CancellationTokenBasics, ParentCancelsChildrenAndGrandchildren) {
  tandem::cancellation_token root;
  auto child = root.child_token();
  auto sibling = root.child_token();
  auto grandchild = child.child_token();
  EXPECT_FALSE(child.is_cancelled() || sibling.is_cancelled() || grandchild.is_cancelled());
  root.cancel();
  EXPECT_TRUE(child.is_cancelled());
  EXPECT_TRUE(sibling.is_cancelled());
  EXPECT_TRUE(grandchild.is_cancelled());
}

TEST(CancellationTokenBasics, CancellingAChildLeavesItsParentAndSiblingsAlone) {
  tandem::cancellation_token root;
  auto child = root.child_token();
  auto sibling = root.child_token();
  auto grandchild = child.child_token();
  child.cancel();
  EXPECT_TRUE(child.is_cancelled());
  EXPECT_TRUE(grandchild.is_cancelled());
  EXPECT_FALSE(root.is_cancelled());
  EXPECT_FALSE(sibling.is_cancelled());
  auto later = root.child_token();  // the parent still hands out live children
  EXPECT_FALSE(later.is_cancelled());
}

TEST(CancellationTokenBasics, ChildOfACancelledTokenStartsCancelled) {
  tandem::cancellation_token root;
  root.cancel();
  auto child = root.child_token();
  EXPECT_TRUE(child.is_cancelled());
  EXPECT_TRUE(child.child_token().is_cancelled());
}

TEST(CancellationTokenBasics, CopyOfAChildIsCancelledWithIt) {
  tandem::cancellation_token root;
  tandem::cancellation_token copy;
  {
    auto child = root.child_token();
    copy = child;
  }
  root.cancel();
  EXPECT_TRUE(copy.is_cancelled());
}

// The middle token of root -> child -> grandchild is gone, but the grandchild is still
// a descendant of root: cancelling root reaches it (as with tokio_util's tokens).
TEST(CancellationTokenBasics, GrandchildIsCancelledThoughTheMiddleTokenIsGone) {
  tandem::cancellation_token root;
  auto grandchild = root.child_token().child_token();
  root.cancel();
  EXPECT_TRUE(grandchild.is_cancelled());
}

// select and timeout take awaitables by value, so a cancelled() awaiter is moved before
// it is awaited, and the moved-from one is destroyed. Run in a child process: a crash
// there fails this test instead of ending the whole run.
TEST(CancellationTokenBasics, MovedFromAwaiterGoesAwayCleanly) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        alarm(20);
        tandem::cancellation_token token;
        {
          auto first = token.cancelled();
          auto second = std::move(first);
        }
        std::exit(token.is_cancelled() ? 1 : 0);
      },
      ::testing::ExitedWithCode(0), "");
}

TEST(CancellationTokenBasics, LongChainOfChildrenCancelsAndGoesAwayWithoutRecursing) {
  constexpr int depth = 100'000;
  tandem::cancellation_token root;
  {
    std::vector<tandem::cancellation_token> chain;
    chain.reserve(depth);
    chain.push_back(root.child_token());
    for (int i = 1; i < depth; ++i) chain.push_back(chain.back().child_token());
    EXPECT_FALSE(chain.back().is_cancelled());
    root.cancel();
    EXPECT_TRUE(chain[depth / 2].is_cancelled());
    EXPECT_TRUE(chain.back().is_cancelled());
  }
  // A chain that is never cancelled goes away too (root first, then the rest).
  tandem::cancellation_token other;
  std::vector<tandem::cancellation_token> chain;
  chain.reserve(depth);
  chain.push_back(other.child_token());
  for (int i = 1; i < depth; ++i) chain.push_back(chain.back().child_token());
  other = tandem::cancellation_token();
  chain.clear();
  EXPECT_FALSE(other.is_cancelled());
}

// Only the two ends of the chain are kept: every middle token is gone.
std::pair<tandem::cancellation_token, tandem::cancellation_token> chain_kept_at_its_ends(int depth) {
  tandem::cancellation_token root;
  tandem::cancellation_token leaf = root.child_token();
  for (int i = 1; i < depth; ++i) leaf = leaf.child_token();
  return {std::move(root), std::move(leaf)};
}

TEST(CancellationTokenBasics, LongChainWithItsMiddleTokensGoneIsCancelledThroughout) {
  auto [root, leaf] = chain_kept_at_its_ends(100'000);
  EXPECT_FALSE(leaf.is_cancelled());
  root.cancel();
  EXPECT_TRUE(leaf.is_cancelled());
}

// Runs f on a thread with a small stack, so recursion as deep as the chain overflows
// in every build, not only in those with larger frames.
template <class F>
void on_small_stack(F f) {
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, 512 * 1024);
  pthread_t thread;
  const auto run = [](void* p) -> void* {
    (*static_cast<F*>(p))();
    return nullptr;
  };
  ASSERT_EQ(pthread_create(&thread, &attr, run, &f), 0);
  pthread_join(thread, nullptr);
  pthread_attr_destroy(&attr);
}

// Builds and drops two such chains, root first and leaf first.
void drop_uncancelled_chains() {
  {
    auto ends = chain_kept_at_its_ends(100'000);
    ends.first = tandem::cancellation_token();
  }
  {
    auto ends = chain_kept_at_its_ends(100'000);
    ends.second = tandem::cancellation_token();
  }
}

// Going away must not recurse down the chain either, whichever end goes first. Run in
// a child process (killed by an alarm if a crash handler hangs): a stack overflow there
// fails this test instead of ending the run.
TEST(CancellationTokenBasics, UncancelledLongChainWithItsMiddleTokensGoneGoesAwayWithoutRecursing) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        alarm(20);
        on_small_stack(drop_uncancelled_chains);
        std::exit(0);
      },
      ::testing::ExitedWithCode(0), "");
}

TEST(CancellationTokenBasics, ChildrenMadeWhileCancellingAreAllCancelled) {
  tandem::cancellation_token root;
  std::atomic<bool> go{false};
  std::vector<std::vector<tandem::cancellation_token>> made(3);
  std::vector<std::thread> makers;
  for (auto& mine : made) {
    makers.emplace_back([&root, &go, &mine] {
      test_support::wait_for([&] { return go.load(); });
      for (int i = 0; i < 500; ++i) {
        auto middle = root.child_token();
        mine.push_back(middle.child_token());
        mine.push_back(std::move(middle));
      }
    });
  }
  go = true;
  std::this_thread::yield();
  root.cancel();
  for (auto& t : makers) t.join();
  for (auto& mine : made) {
    for (auto& token : mine) EXPECT_TRUE(token.is_cancelled());
  }
}

// ---------------------------------------------------------------- on every flavor

TEST_P(CancellationToken, CancelWakesEveryAwaiterOfTheTreeAndCopies) {
  auto s = std::make_shared<scene>();
  rt.block_on([](std::shared_ptr<scene> s) -> task<> {
    auto child = s->token.child_token();
    auto grandchild = child.child_token();
    std::vector<tandem::join_handle<void>> waiters;
    waiters.push_back(tandem::spawn(wait_for_cancel(s, s->token)));
    waiters.push_back(tandem::spawn(wait_for_cancel(s, tandem::cancellation_token(s->token))));
    waiters.push_back(tandem::spawn(wait_for_cancel(s, child)));
    waiters.push_back(tandem::spawn(wait_for_cancel(s, grandchild)));
    EXPECT_TRUE(co_await eventually([&] { return s->queued.load() == 4; }));
    co_await settle();
    EXPECT_EQ(s->woken.load(), 0);
    s->token.cancel();
    for (auto& w : waiters) co_await bounded(std::move(w));
    EXPECT_EQ(s->woken.load(), 4);
  }(s));
}

TEST_P(CancellationToken, CancelledCompletesAtOnceWhenAlreadyCancelled) {
  auto s = std::make_shared<scene>();
  const bool done = rt.block_on([](std::shared_ptr<scene> s) -> task<bool> {
    s->token.cancel();
    co_return co_await cancelled_within(s->token, 5000ms) &&
        co_await cancelled_within(s->token.child_token(), 5000ms);
  }(s));
  EXPECT_TRUE(done);
}

TEST_P(CancellationToken, CancellingAChildDoesNotWakeTheParentsAwaiters) {
  auto s = std::make_shared<scene>();
  rt.block_on([](std::shared_ptr<scene> s) -> task<> {
    auto child = s->token.child_token();
    auto parent_waiter = tandem::spawn(wait_for_cancel(s, s->token));
    auto child_waiter = tandem::spawn(wait_for_cancel(s, child));
    EXPECT_TRUE(co_await eventually([&] { return s->queued.load() == 2; }));
    child.cancel();
    co_await bounded(std::move(child_waiter));
    co_await settle();
    EXPECT_EQ(s->woken.load(), 1);
    EXPECT_FALSE(s->token.is_cancelled());
    s->token.cancel();
    co_await bounded(std::move(parent_waiter));
  }(s));
}

TEST_P(CancellationToken, NotCancelledKeepsWaiting) {
  auto s = std::make_shared<scene>();
  const bool done = rt.block_on(
      [](std::shared_ptr<scene> s) -> task<bool> { co_return co_await cancelled_within(s->token, 20ms); }(s));
  EXPECT_FALSE(done);
}

// The awaiter outlives every copy of its (child) token, and the parent then forgets
// children it considers dead: cancelling the parent must still wake it.
TEST_P(CancellationToken, AwaiterOutlivingItsChildTokenIsStillWoken) {
  auto s = std::make_shared<scene>();
  rt.block_on([](std::shared_ptr<scene> s) -> task<> {
    auto waiter = tandem::spawn(
        [](std::shared_ptr<scene> s, tandem::cancellation_token::cancelled_awaiter wait) -> task<> {
          co_await announced(std::move(wait), s->queued);
          s->woken.fetch_add(1);
        }(s, s->token.child_token().cancelled()));
    EXPECT_TRUE(co_await eventually([&] { return s->queued.load() == 1; }));
    for (int i = 0; i < 100; ++i) (void)s->token.child_token();  // short-lived children
    s->token.cancel();
    co_await tandem::timeout(1s, std::move(waiter));  // woken at once, if at all
    EXPECT_EQ(s->woken.load(), 1);
  }(s));
}

TEST_P(CancellationToken, CancelledCanLoseASelectAnyNumberOfTimes) {
  auto s = std::make_shared<scene>();
  rt.block_on([](std::shared_ptr<scene> s) -> task<> {
    auto ready = []() -> task<int> { co_return 1; };
    for (int i = 0; i < 200; ++i) {
      auto which = co_await tandem::select(s->token.cancelled(), ready());
      EXPECT_EQ(which.index(), 1u);
    }
    auto canceller = tandem::spawn([](std::shared_ptr<scene> s) -> task<> {
      co_await tandem::sleep(5ms);
      s->token.cancel();
    }(s));
    auto which = co_await tandem::select(s->token.cancelled(), tandem::sleep(5s));
    EXPECT_EQ(which.index(), 0u);
    co_await bounded(std::move(canceller));
    // Cancelled now: it wins against a branch that is not ready.
    auto again = co_await tandem::select(tandem::sleep(1h), s->token.cancelled());
    EXPECT_EQ(again.index(), 1u);
  }(s));
}

TEST_P(CancellationToken, CancelFromAPlainThreadWakesATask) {
  auto s = std::make_shared<scene>();
  std::thread canceller([s] {
    // Cancels once the task waits (or after the bound, to fail cleanly).
    test_support::wait_for([&] { return s->queued.load() == 1; });
    s->token.child_token();  // touching the token from this thread too
    s->token.cancel();
  });
  rt.block_on([](std::shared_ptr<scene> s) -> task<> {
    co_await tandem::timeout(5s, announced(s->token.cancelled(), s->queued));
    EXPECT_TRUE(s->token.is_cancelled());
  }(s));
  canceller.join();
}

TEST_P(CancellationToken, AbortedAwaiterLeavesTheOthersWaiting) {
  auto s = std::make_shared<scene>();
  rt.block_on([](std::shared_ptr<scene> s) -> task<> {
    auto gone = tandem::spawn(wait_for_cancel(s, s->token));
    auto stays = tandem::spawn(wait_for_cancel(s, s->token));
    EXPECT_TRUE(co_await eventually([&] { return s->queued.load() == 2; }));
    gone.abort();
    try {
      co_await bounded(std::move(gone));
    } catch (const tandem::task_cancelled&) {}
    s->token.cancel();
    co_await bounded(std::move(stays));
    EXPECT_EQ(s->woken.load(), 1);
  }(s));
}

INSTANTIATE_TEST_SUITE_P(AllFlavors,
                         CancellationToken,
                         test_support::all_flavors(),
                         test_support::flavor_name);

}  // namespace
