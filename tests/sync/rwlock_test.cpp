// sync/rwlock.hpp: shared readers, exclusive writers, write preference, try/blocking
// forms and cancellation.
#include <atomic>
#include <chrono>
#include <coroutine>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include <tandem/combine.hpp>
#include <tandem/errors.hpp>
#include <tandem/runtime.hpp>
#include <tandem/spawn.hpp>
#include <tandem/sync/notify.hpp>
#include <tandem/sync/rwlock.hpp>
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

class RwLock : public ::testing::TestWithParam<test_support::runtime_flavor> {
 protected:
  tandem::runtime rt = test_support::make_runtime(GetParam());
};

// Read guards give const access, write guards mutable access.
static_assert(std::is_same_v<decltype(*std::declval<tandem::rwlock<int>::read_guard&>()), const int&>);
static_assert(std::is_same_v<decltype(*std::declval<tandem::rwlock<int>::write_guard&>()), int&>);

// What the tasks of one test share; owned jointly so a failing test that leaves tasks
// behind cannot make them touch freed memory at runtime shutdown.
struct scene {
  tandem::rwlock<long> lock{0L};
  tandem::notify gate;  // the other branch of a select
  std::atomic<int> queued{0};
  std::atomic<int> finished{0};
  std::atomic<int> readers_inside{0};
  recorder order;
};

// Reads, records `id`, unlocks.
task<> read_and_record(std::shared_ptr<scene> s, int id) {
  auto guard = co_await announced(s->lock.read(), s->queued);
  s->order.add(id);
  s->finished.fetch_add(1);
}

// Writes, records `id` on entry and `id + 1` on leaving, after letting others run.
task<> write_and_record(std::shared_ptr<scene> s, int id) {
  auto guard = co_await announced(s->lock.write(), s->queued);
  s->order.add(id);
  ++*guard;
  co_await settle();  // a reader let in now would record before id + 1
  s->order.add(id + 1);
  s->finished.fetch_add(1);
}

// ---------------------------------------------------------------- no runtime needed

TEST(RwLockBasics, TryReadAndTryWrite) {
  tandem::rwlock<int> lock(1);
  auto r1 = lock.try_read();
  auto r2 = lock.try_read();
  ASSERT_TRUE(r1.has_value() && r2.has_value());  // two readers at once
  EXPECT_EQ(**r1, 1);
  EXPECT_FALSE(lock.try_write().has_value());
  r1.reset();
  EXPECT_FALSE(lock.try_write().has_value());  // one reader is still in
  r2->unlock();
  auto w = lock.try_write();
  ASSERT_TRUE(w.has_value());
  **w = 2;
  EXPECT_FALSE(lock.try_read().has_value());
  EXPECT_FALSE(lock.try_write().has_value());
  w.reset();
  auto r = lock.try_read();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(**r, 2);
}

TEST(RwLockBasics, ValueBuiltInPlace) {
  tandem::rwlock<std::vector<int>> lock(2u, 9);
  {
    auto w = lock.try_write();
    ASSERT_TRUE(w.has_value());
    (*w)->push_back(1);
  }
  auto r = lock.try_read();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(**r, (std::vector<int>{9, 9, 1}));
}

// Plain threads sharing a lock; shared so threads left stuck by a failure can be
// detached safely.
struct threads_scene {
  tandem::rwlock<long> lock{0L};
  std::atomic<int> reading{0};
  std::atomic<bool> readers_may_leave{false};
  std::atomic<bool> wrote{false};
};

TEST(RwLockBlocking, ReadersShareAndTheWriterWaitsForThem) {
  auto s = std::make_shared<threads_scene>();
  std::vector<std::thread> readers;
  for (int i = 0; i < 2; ++i) {
    readers.emplace_back([s] {
      auto guard = s->lock.blocking_read();
      s->reading.fetch_add(1);
      test_support::wait_for([&] { return s->readers_may_leave.load(); });
    });
  }
  // Both readers get in while the other still holds its read guard.
  EXPECT_TRUE(test_support::wait_for([&] { return s->reading.load() == 2; }));
  std::thread writer([s] {
    auto guard = s->lock.blocking_write();
    *guard = 5;
    s->wrote = true;
  });
  std::this_thread::sleep_for(20ms);
  EXPECT_FALSE(s->wrote.load());
  s->readers_may_leave = true;
  const bool done = test_support::wait_for([&] { return s->wrote.load(); });
  for (auto& t : readers) t.join();
  if (!done) {
    ADD_FAILURE() << "blocking_write was not woken when the readers left";
    writer.detach();
    return;
  }
  writer.join();
  auto r = s->lock.try_read();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(**r, 5);
}

// ---------------------------------------------------------------- on every flavor

TEST_P(RwLock, BlockingFormsOnARuntimeThreadThrowLogicError) {
  auto s = std::make_shared<scene>();
  const int threw = rt.block_on([](std::shared_ptr<scene> s) -> task<int> {
    int count = 0;
    try {
      (void)s->lock.blocking_read();  // free: would succeed at once on a plain thread
    } catch (const std::logic_error&) {
      ++count;
    }
    try {
      (void)s->lock.blocking_write();
    } catch (const std::logic_error&) {
      ++count;
    }
    if (!s->lock.try_write().has_value()) co_return -1;  // nothing left taken
    co_return count;
  }(s));
  EXPECT_EQ(threw, 2);
}

TEST_P(RwLock, ManyReadersHoldItAtOnce) {
  auto s = std::make_shared<scene>();
  rt.block_on([](std::shared_ptr<scene> s) -> task<> {
    auto r1 = co_await s->lock.read();
    auto r2 = co_await tandem::timeout(5s, s->lock.read());  // while r1 is held
    auto other = tandem::spawn(read_and_record(s, 1));
    co_await bounded(std::move(other));  // a reader on another task too
    EXPECT_EQ(*r1 + *r2, 0);
    EXPECT_FALSE(s->lock.try_write().has_value());
  }(s));
}

TEST_P(RwLock, ReadersQueuedBehindAWriterAllGetInTogether) {
  auto s = std::make_shared<scene>();
  rt.block_on([](std::shared_ptr<scene> s) -> task<> {
    auto w = co_await s->lock.write();
    std::vector<tandem::join_handle<void>> readers;
    for (int i = 0; i < 3; ++i) {
      readers.push_back(tandem::spawn([](std::shared_ptr<scene> s) -> task<> {
        auto guard = co_await announced(s->lock.read(), s->queued);
        s->readers_inside.fetch_add(1);
        // Each waits here for all three to be inside at the same time.
        EXPECT_TRUE(co_await eventually([&] { return s->readers_inside.load() == 3; }));
      }(s)));
    }
    EXPECT_TRUE(co_await eventually([&] { return s->queued.load() == 3; }));
    co_await settle();
    EXPECT_EQ(s->readers_inside.load(), 0);  // a writer holds it
    w.unlock();
    for (auto& r : readers) co_await bounded(std::move(r));
  }(s));
}

TEST_P(RwLock, WriterIsExclusive) {
  struct shared {
    tandem::rwlock<long> lock{0L};
    std::atomic<int> readers{0};
    std::atomic<int> writers{0};
    std::atomic<bool> broken{false};
  };
  auto s = std::make_shared<shared>();
  rt.block_on([](std::shared_ptr<shared> s) -> task<> {
    std::vector<tandem::join_handle<void>> tasks;
    for (int i = 0; i < 12; ++i) {
      const bool writer = i % 3 == 0;
      tasks.push_back(tandem::spawn([](std::shared_ptr<shared> s, bool writer) -> task<> {
        for (int round = 0; round < 20; ++round) {
          if (writer) {
            auto guard = co_await s->lock.write();
            if (s->writers.fetch_add(1) != 0 || s->readers.load() != 0) s->broken = true;
            const long seen = *guard;
            co_await tandem::yield_now();
            *guard = seen + 1;
            if (s->readers.load() != 0) s->broken = true;
            s->writers.fetch_sub(1);
          } else {
            auto guard = co_await s->lock.read();
            s->readers.fetch_add(1);
            if (s->writers.load() != 0) s->broken = true;
            co_await tandem::yield_now();
            if (s->writers.load() != 0) s->broken = true;
            s->readers.fetch_sub(1);
          }
        }
      }(s, writer)));
    }
    for (auto& t : tasks) co_await bounded(std::move(t));
  }(s));
  EXPECT_FALSE(s->broken.load());
  auto guard = s->lock.try_read();
  ASSERT_TRUE(guard.has_value());
  EXPECT_EQ(**guard, 4 * 20);  // every write counted: no two writers overlapped
}

TEST_P(RwLock, WaitingWriterHoldsBackLaterReaders) {
  auto s = std::make_shared<scene>();
  const auto order = rt.block_on([](std::shared_ptr<scene> s) -> task<std::vector<int>> {
    auto r1 = co_await s->lock.read();
    auto writer = tandem::spawn(write_and_record(s, 10));
    EXPECT_TRUE(co_await eventually([&] { return s->queued.load() == 1; }));
    auto reader = tandem::spawn(read_and_record(s, 20));
    EXPECT_TRUE(co_await eventually([&] { return s->queued.load() == 2; }));
    co_await settle();
    // Only a reader holds it, yet the new reader waits behind the writer.
    EXPECT_EQ(s->finished.load(), 0);
    EXPECT_FALSE(s->lock.try_read().has_value());
    r1.unlock();
    co_await bounded(std::move(writer));
    co_await bounded(std::move(reader));
    co_return s->order.values();
  }(s));
  EXPECT_EQ(order, (std::vector<int>{10, 11, 20}));
}

TEST_P(RwLock, WritersAreServedInArrivalOrder) {
  auto s = std::make_shared<scene>();
  const auto order = rt.block_on([](std::shared_ptr<scene> s) -> task<std::vector<int>> {
    auto w = co_await s->lock.write();
    std::vector<tandem::join_handle<void>> writers;
    for (int i = 0; i < 3; ++i) {
      writers.push_back(tandem::spawn(write_and_record(s, 10 * i)));
      EXPECT_TRUE(co_await eventually([&] { return s->queued.load() == i + 1; }));
    }
    w.unlock();
    for (auto& t : writers) co_await bounded(std::move(t));
    co_return s->order.values();
  }(s));
  EXPECT_EQ(order, (std::vector<int>{0, 1, 10, 11, 20, 21}));
}

// Waits in a select on `gate` (first) and on the lock (second).
template <bool Write>
task<int> select_gate_or_lock(std::shared_ptr<scene> s) {
  if constexpr (Write) {
    auto which = co_await tandem::select(s->gate.notified(), announced(s->lock.write(), s->queued));
    co_return static_cast<int>(which.index());
  } else {
    auto which = co_await tandem::select(s->gate.notified(), announced(s->lock.read(), s->queued));
    co_return static_cast<int>(which.index());
  }
}

TEST_P(RwLock, WriterLeavingTheHeadOfTheLineLetsReadersIn) {
  auto s = std::make_shared<scene>();
  rt.block_on([](std::shared_ptr<scene> s) -> task<> {
    auto r1 = co_await s->lock.read();
    auto writer = tandem::spawn(select_gate_or_lock<true>(s));
    EXPECT_TRUE(co_await eventually([&] { return s->queued.load() == 1; }));
    auto reader = tandem::spawn(read_and_record(s, 1));
    EXPECT_TRUE(co_await eventually([&] { return s->queued.load() == 2; }));
    co_await settle();
    EXPECT_EQ(s->finished.load(), 0);
    s->gate.notify_one();  // the writer gives up
    EXPECT_EQ(co_await bounded(std::move(writer)), 0);
    co_await bounded(std::move(reader));  // let in beside r1, still held
    EXPECT_FALSE(s->lock.try_write().has_value());
    r1.unlock();
    EXPECT_TRUE(s->lock.try_write().has_value());
  }(s));
}

TEST_P(RwLock, WriteLosingASelectAfterTheHandOverPassesItOn) {
  auto s = std::make_shared<scene>();
  rt.block_on([](std::shared_ptr<scene> s) -> task<> {
    auto r1 = co_await s->lock.read();
    auto loser = tandem::spawn(select_gate_or_lock<true>(s));
    EXPECT_TRUE(co_await eventually([&] { return s->queued.load() == 1; }));
    auto reader = tandem::spawn(read_and_record(s, 1));
    EXPECT_TRUE(co_await eventually([&] { return s->queued.load() == 2; }));
    // Both of the loser's branches become ready before it runs again (on one thread,
    // for certain): the lock is handed to it, and then its select picks the gate.
    s->gate.notify_one();
    r1.unlock();
    EXPECT_EQ(co_await bounded(std::move(loser)), 0);
    co_await bounded(std::move(reader));
    EXPECT_TRUE(s->lock.try_write().has_value());
  }(s));
}

TEST_P(RwLock, ReadLosingASelectAfterTheHandOverPassesItOn) {
  auto s = std::make_shared<scene>();
  rt.block_on([](std::shared_ptr<scene> s) -> task<> {
    auto w = co_await s->lock.write();
    auto loser = tandem::spawn(select_gate_or_lock<false>(s));
    EXPECT_TRUE(co_await eventually([&] { return s->queued.load() == 1; }));
    auto writer = tandem::spawn(write_and_record(s, 1));
    EXPECT_TRUE(co_await eventually([&] { return s->queued.load() == 2; }));
    s->gate.notify_one();
    w.unlock();
    EXPECT_EQ(co_await bounded(std::move(loser)), 0);
    co_await bounded(std::move(writer));  // the read share given back lets it in
    EXPECT_TRUE(s->lock.try_write().has_value());
  }(s));
}

TEST_P(RwLock, AbortedWriterNeverLeavesItLocked) {
  auto s = std::make_shared<scene>();
  rt.block_on([](std::shared_ptr<scene> s) -> task<> {
    auto r1 = co_await s->lock.read();
    auto writer = tandem::spawn(write_and_record(s, 10));
    EXPECT_TRUE(co_await eventually([&] { return s->queued.load() == 1; }));
    auto reader = tandem::spawn(read_and_record(s, 20));
    EXPECT_TRUE(co_await eventually([&] { return s->queued.load() == 2; }));
    // Handed to the writer, which is aborted before it can run (on one thread, for
    // certain; elsewhere it may have got in first, and lost it with its frame).
    r1.unlock();
    writer.abort();
    try {
      co_await bounded(std::move(writer));
    } catch (const tandem::task_cancelled&) {}
    co_await bounded(std::move(reader));
    EXPECT_TRUE(s->lock.try_write().has_value());
  }(s));
}

TEST_P(RwLock, TimedOutRequestsLeaveItFree) {
  auto s = std::make_shared<scene>();
  rt.block_on([](std::shared_ptr<scene> s) -> task<> {
    int timed_out = 0;
    {
      auto w = co_await s->lock.write();
      try {
        auto r = co_await tandem::timeout(10ms, s->lock.read());
      } catch (const tandem::timed_out&) {
        ++timed_out;
      }
    }
    {
      auto r = co_await s->lock.read();
      try {
        auto w = co_await tandem::timeout(10ms, s->lock.write());
      } catch (const tandem::timed_out&) {
        ++timed_out;
      }
    }
    EXPECT_EQ(timed_out, 2);
    EXPECT_TRUE(s->lock.try_write().has_value());
  }(s));
}

TEST_P(RwLock, PlainThreadWriterWakesATaskReader) {
  auto s = std::make_shared<threads_scene>();
  auto held = s->lock.try_write();
  ASSERT_TRUE(held.has_value());
  std::atomic<int> queued{0};
  std::thread plain([&held, &queued] {
    // Unlocks once the task's read waits (or after the bound, to fail cleanly).
    test_support::wait_for([&] { return queued.load() == 1; });
    **held = 7;
    held.reset();
  });
  const long seen = rt.block_on([](std::shared_ptr<threads_scene> s, std::atomic<int>& queued) -> task<long> {
    auto r = co_await tandem::timeout(5s, announced(s->lock.read(), queued));
    co_return *r;
  }(s, queued));
  plain.join();
  EXPECT_EQ(seen, 7);
}

INSTANTIATE_TEST_SUITE_P(AllFlavors, RwLock, test_support::all_flavors(), test_support::flavor_name);

}  // namespace
