// Tests for par::spawn and pool::spawn (include/tandem/par/spawn.hpp): exactly-once execution, the error
// handler, the default (terminating) error behaviour, and the pool destructor waiting for detached work.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <exception>
#include <memory>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <pthread.h>

#include <tandem/par/pool.hpp>
#include <tandem/par/spawn.hpp>

#include "support/waiting.hpp"

namespace {

using test_support::thread_name;
using test_support::wait_for;

namespace par = tandem::par;
using namespace std::chrono_literals;

// Completion record shared (by shared_ptr) between a test and its detached jobs, so that a job that outlives
// a failed test still touches live memory.
struct Record {
  std::mutex mutex;
  std::condition_variable changed;
  int done = 0;
  std::vector<std::string> thread_names;

  void mark(std::string name = {}) {
    std::lock_guard lock(mutex);
    ++done;
    thread_names.push_back(std::move(name));
    changed.notify_all();
  }
  // Waits (bounded) until `count` jobs marked; returns whether they did.
  bool wait_done(int count, std::chrono::milliseconds timeout = 5000ms) {
    std::unique_lock lock(mutex);
    return changed.wait_for(lock, timeout, [&] { return done >= count; });
  }
};

// ---------------------------------------------------------------------------------------------------------------
// Exactly once
// ---------------------------------------------------------------------------------------------------------------

TEST(ParSpawn, PoolSpawnRunsEachJobExactlyOnce) {
  constexpr int kJobs = 1000;
  auto runs = std::make_shared<std::vector<std::atomic<int>>>(kJobs);
  auto total = std::make_shared<std::atomic<int>>(0);
  {
    par::pool pool = par::pool::builder().num_threads(2).build();
    for (int i = 0; i < kJobs; ++i) {
      pool.spawn([runs, total, i] {
        (*runs)[i].fetch_add(1);
        total->fetch_add(1);
      });
    }
    ASSERT_TRUE(wait_for([&] { return total->load() >= kJobs; })) << "only " << total->load() << " jobs ran";
    std::this_thread::sleep_for(20ms);  // would let a duplicate run show up
  }
  EXPECT_EQ(total->load(), kJobs);
  for (int i = 0; i < kJobs; ++i) ASSERT_EQ((*runs)[i].load(), 1) << "job " << i;
}

TEST(ParSpawn, ParSpawnFromOutsideRunsOnceOnTheGlobalPool) {
  ASSERT_FALSE(par::current_thread_index().has_value());
  auto record = std::make_shared<Record>();
  par::spawn([record] { record->mark(thread_name()); });
  ASSERT_TRUE(record->wait_done(1));
  std::this_thread::sleep_for(20ms);
  std::lock_guard lock(record->mutex);
  EXPECT_EQ(record->done, 1);
  ASSERT_EQ(record->thread_names.size(), 1u);
  EXPECT_EQ(record->thread_names[0].rfind("tandem-par-", 0), 0u) << record->thread_names[0];
}

TEST(ParSpawn, ParSpawnInsideAPoolUsesThatPool) {
  auto record = std::make_shared<Record>();
  {
    par::pool pool = par::pool::builder().num_threads(2).thread_name_prefix("spawnpool-").build();
    pool.install([record] {
      for (int i = 0; i < 20; ++i) par::spawn([record] { record->mark(thread_name()); });
    });
  }  // the destructor waits for them
  std::lock_guard lock(record->mutex);
  EXPECT_EQ(record->done, 20);
  for (const auto& name : record->thread_names) EXPECT_EQ(name.rfind("spawnpool-", 0), 0u) << name;
}

TEST(ParSpawn, ReturnsBeforeTheJobRuns) {
  par::pool pool = par::pool::builder().num_threads(1).build();
  auto release = std::make_shared<std::atomic<bool>>(false);
  auto ran = std::make_shared<std::atomic<bool>>(false);
  pool.spawn([release, ran] {
    wait_for([&] { return release->load(); });
    ran->store(true);
  });
  // spawn() returned although the job cannot finish until we release it.
  EXPECT_FALSE(ran->load());
  release->store(true);
  EXPECT_TRUE(wait_for([&] { return ran->load(); }));
}

TEST(ParSpawn, MoveOnlyCapturesAndCapturesAreReleased) {
  auto token = std::make_shared<int>(7);
  auto sum = std::make_shared<std::atomic<int>>(0);
  {
    par::pool pool = par::pool::builder().num_threads(2).build();
    for (int i = 0; i < 100; ++i) {
      pool.spawn([owned = std::make_unique<int>(i), token, sum] { sum->fetch_add(*owned + *token - 7); });
    }
  }
  EXPECT_EQ(sum->load(), 99 * 100 / 2);
  EXPECT_EQ(token.use_count(), 1) << "destroyed pool still holds spawned closures";
}

TEST(ParSpawn, ManyExternalThreadsSpawnConcurrently) {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 500;
  auto total = std::make_shared<std::atomic<int>>(0);
  {
    par::pool pool = par::pool::builder().num_threads(2).build();
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&pool, total] {
        for (int i = 0; i < kPerThread; ++i) pool.spawn([total] { total->fetch_add(1); });
      });
    }
    for (auto& th : threads) th.join();
  }
  EXPECT_EQ(total->load(), kThreads * kPerThread);
}

// ---------------------------------------------------------------------------------------------------------------
// Pool destruction waits for detached work
// ---------------------------------------------------------------------------------------------------------------

void spawn_chain(std::shared_ptr<std::atomic<int>> links, int remaining) {
  links->fetch_add(1);
  if (remaining == 0) return;
  std::this_thread::sleep_for(100us);
  par::spawn([links, remaining] { spawn_chain(links, remaining - 1); });
}

TEST(ParSpawn, PoolDestructionWaitsForQueuedAndRespawnedWork) {
  constexpr int kJobs = 1000;
  auto parents = std::make_shared<std::atomic<int>>(0);
  auto children = std::make_shared<std::atomic<int>>(0);
  auto links = std::make_shared<std::atomic<int>>(0);
  {
    par::pool pool = par::pool::builder().num_threads(2).build();
    pool.spawn([links] { spawn_chain(links, 99); });  // 100 links, each spawned by the previous one
    for (int i = 0; i < kJobs; ++i) {
      pool.spawn([parents, children] {
        // A little work, then a job spawned from this one onto the same pool.
        volatile int x = 0;
        for (int k = 0; k < 500; ++k) x = x + k;
        parents->fetch_add(1);
        par::spawn([children] { children->fetch_add(1); });
      });
    }
    // No waiting here: the destructor must.
  }
  EXPECT_EQ(parents->load(), kJobs);
  EXPECT_EQ(children->load(), kJobs);
  EXPECT_EQ(links->load(), 100);
}

TEST(ParSpawn, PoolDestructionWaitsForASlowJob) {
  auto finished = std::make_shared<std::atomic<bool>>(false);
  const auto start = std::chrono::steady_clock::now();
  {
    par::pool pool = par::pool::builder().num_threads(1).build();
    pool.spawn([finished] {
      std::this_thread::sleep_for(100ms);
      finished->store(true);
    });
  }
  EXPECT_TRUE(finished->load());
  EXPECT_GE(std::chrono::steady_clock::now() - start, 100ms);
}

// ---------------------------------------------------------------------------------------------------------------
// Error handler
// ---------------------------------------------------------------------------------------------------------------

struct Errors {
  std::mutex mutex;
  std::vector<std::exception_ptr> seen;
  std::vector<bool> on_worker;
};

par::pool pool_reporting_to(const std::shared_ptr<Errors>& errors, std::size_t threads = 2) {
  return par::pool::builder()
      .num_threads(threads)
      .error_handler([errors](std::exception_ptr e) {
        std::lock_guard lock(errors->mutex);
        errors->seen.push_back(std::move(e));
        errors->on_worker.push_back(par::current_thread_index().has_value());
      })
      .build();
}

TEST(ParSpawn, ExceptionGoesToTheErrorHandler) {
  auto errors = std::make_shared<Errors>();
  auto ran = std::make_shared<std::atomic<int>>(0);
  {
    par::pool pool = pool_reporting_to(errors);
    pool.spawn([] { throw std::runtime_error("spawned failure"); });
    for (int i = 0; i < 10; ++i) pool.spawn([ran] { ran->fetch_add(1); });  // these report nothing
  }
  EXPECT_EQ(ran->load(), 10);
  ASSERT_EQ(errors->seen.size(), 1u);
  ASSERT_TRUE(errors->seen[0]);
  EXPECT_TRUE(errors->on_worker[0]) << "the handler should run on the worker that ran the job";
  try {
    std::rethrow_exception(errors->seen[0]);
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "spawned failure");
  } catch (...) {
    ADD_FAILURE() << "the handler got a different exception";
  }
}

TEST(ParSpawn, EveryFailingJobReportsOnceAndTheOthersStillRun) {
  auto errors = std::make_shared<Errors>();
  auto ran = std::make_shared<std::atomic<int>>(0);
  {
    par::pool pool = pool_reporting_to(errors, 3);
    for (int i = 0; i < 50; ++i) {
      pool.spawn([i, ran] {
        ran->fetch_add(1);
        if (i % 5 == 0) throw std::runtime_error("job " + std::to_string(i));
      });
    }
  }
  EXPECT_EQ(ran->load(), 50);
  std::set<std::string> messages;
  for (const auto& e : errors->seen) {
    try {
      std::rethrow_exception(e);
    } catch (const std::runtime_error& err) {
      messages.insert(err.what());
    }
  }
  EXPECT_EQ(errors->seen.size(), 10u);
  std::set<std::string> expected;
  for (int i = 0; i < 50; i += 5) expected.insert("job " + std::to_string(i));
  EXPECT_EQ(messages, expected);
}

TEST(ParSpawn, NonStdExceptionGoesToTheErrorHandler) {
  auto errors = std::make_shared<Errors>();
  {
    par::pool pool = pool_reporting_to(errors, 1);
    pool.spawn([] { throw 42; });
  }
  ASSERT_EQ(errors->seen.size(), 1u);
  try {
    std::rethrow_exception(errors->seen[0]);
  } catch (int value) {
    EXPECT_EQ(value, 42);
  } catch (...) {
    ADD_FAILURE() << "the handler got a different exception";
  }
}

TEST(ParSpawn, ParSpawnInsideAPoolReportsToThatPoolsHandler) {
  auto errors = std::make_shared<Errors>();
  {
    par::pool pool = pool_reporting_to(errors);
    pool.install([] { par::spawn([] { throw std::logic_error("inner"); }); });
  }
  ASSERT_EQ(errors->seen.size(), 1u);
  EXPECT_THROW(std::rethrow_exception(errors->seen[0]), std::logic_error);
}

TEST(ParSpawn, PoolKeepsWorkingAfterAFailedJob) {
  auto errors = std::make_shared<Errors>();
  auto after = std::make_shared<std::atomic<int>>(0);
  par::pool pool = pool_reporting_to(errors, 1);
  pool.spawn([] { throw std::runtime_error("first"); });
  pool.spawn([after] { after->fetch_add(1); });
  EXPECT_TRUE(wait_for([&] { return after->load() == 1; }));
  EXPECT_EQ(pool.install([] { return 5; }), 5);
}

// ---------------------------------------------------------------------------------------------------------------
// Without an error handler (and with one that throws) the process terminates.
// ---------------------------------------------------------------------------------------------------------------

TEST(ParSpawnDeathTest, WithoutAnErrorHandlerAnExceptionTerminates) {
  testing::FLAGS_gtest_death_test_style = "threadsafe";
  EXPECT_DEATH(
      {
        par::pool pool = par::pool::builder().num_threads(1).build();
        pool.spawn([] { throw std::runtime_error("unhandled spawn failure"); });
      },
      "detached par job threw.*unhandled spawn failure");
}

TEST(ParSpawnDeathTest, WithoutAnErrorHandlerANonStdExceptionTerminates) {
  testing::FLAGS_gtest_death_test_style = "threadsafe";
  EXPECT_DEATH(
      {
        par::pool pool = par::pool::builder().num_threads(1).build();
        pool.spawn([] { throw 7; });
      },
      "non-std exception");
}

TEST(ParSpawnDeathTest, ParSpawnOnTheGlobalPoolWithoutHandlerTerminates) {
  testing::FLAGS_gtest_death_test_style = "threadsafe";
  EXPECT_DEATH(
      {
        par::spawn([] { throw std::runtime_error("global spawn failure"); });
        std::this_thread::sleep_for(10s);  // the job terminates the process long before this ends
      },
      "global spawn failure");
}

TEST(ParSpawnDeathTest, AnErrorHandlerThatThrowsTerminates) {
  testing::FLAGS_gtest_death_test_style = "threadsafe";
  EXPECT_DEATH(
      {
        par::pool pool = par::pool::builder()
                             .num_threads(1)
                             .error_handler([](std::exception_ptr) { throw std::runtime_error("handler"); })
                             .build();
        pool.spawn([] { throw std::runtime_error("job"); });
      },
      "error handler threw");
}

}  // namespace
