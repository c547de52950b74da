// Tests for par::pool and its builder (include/tandem/par/pool.hpp): configuration and its errors, thread
// names and hooks, install (values, errors, callers from everywhere, across pools), the thread queries,
// TANDEM_NUM_THREADS, the global pool, and idling without burning CPU.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include <dirent.h>
#include <gtest/gtest.h>
#include <pthread.h>
#include <sys/resource.h>
#include <sys/time.h>

#include <tandem/par/join.hpp>
#include <tandem/par/pool.hpp>
#include <tandem/par/spawn.hpp>

#include "support/waiting.hpp"

namespace {

using test_support::thread_name;
using test_support::wait_for;

namespace par = tandem::par;
using namespace std::chrono_literals;

// Names of every thread of this process, from /proc/self/task/*/comm.
std::multiset<std::string> process_thread_names() {
  std::multiset<std::string> names;
  DIR* dir = opendir("/proc/self/task");
  if (dir == nullptr) return names;
  while (const dirent* entry = readdir(dir)) {
    const std::string tid = entry->d_name;
    if (tid == "." || tid == "..") continue;
    std::ifstream comm("/proc/self/task/" + tid + "/comm");
    std::string name;
    if (std::getline(comm, name)) names.insert(name);
  }
  closedir(dir);
  return names;
}

// Runs f on a helper thread and fails the test if it does not return within `limit`. For scenarios whose
// failure mode is a deadlock: a deadlocked pool cannot be destroyed, so the process exits instead of hanging
// until the test runner's timeout.
template <class F>
void finishes_within(std::chrono::milliseconds limit, F f) {
  struct State {
    std::mutex mutex;
    std::condition_variable cv;
    bool done = false;
  };
  auto state = std::make_shared<State>();
  std::thread runner([state, &f] {
    f();
    std::lock_guard lock(state->mutex);
    state->done = true;
    state->cv.notify_all();
  });
  std::unique_lock lock(state->mutex);
  if (!state->cv.wait_for(lock, limit, [&] { return state->done; })) {
    std::fprintf(stderr, "FATAL: scenario did not finish within %lld ms (deadlock?)\n",
                 static_cast<long long>(limit.count()));
    std::fflush(stderr);
    std::_Exit(1);
  }
  lock.unlock();
  runner.join();
}

// Sets (or, with nullptr, unsets) an environment variable for the lifetime of the guard.
class EnvGuard {
 public:
  EnvGuard(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value != nullptr) {
      setenv(name, value, 1);
    } else {
      unsetenv(name);
    }
  }
  ~EnvGuard() {
    if (old_) {
      setenv(name_, old_->c_str(), 1);
    } else {
      unsetenv(name_);
    }
  }
  EnvGuard(const EnvGuard&) = delete;
  EnvGuard& operator=(const EnvGuard&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

template <class F>
std::string invalid_argument_message(F f) {
  try {
    f();
  } catch (const std::invalid_argument& e) {
    return e.what();
  } catch (const std::exception& e) {
    return std::string("wrong exception type: ") + e.what();
  }
  return "no exception";
}

std::size_t hardware_threads() {
  const unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : n;
}

// ---------------------------------------------------------------------------------------------------------------
// Builder
// ---------------------------------------------------------------------------------------------------------------

TEST(ParPool, ZeroThreadsIsRejected) {
  const std::string message = invalid_argument_message([] { par::pool::builder().num_threads(0).build(); });
  EXPECT_NE(message.find("at least 1 thread"), std::string::npos) << message;
}

TEST(ParPool, TooSmallStackIsRejected) {
  for (std::size_t bytes : {std::size_t{1}, std::size_t{4096}, (std::size_t{256} << 10) - 1}) {
    const std::string message =
        invalid_argument_message([bytes] { par::pool::builder().num_threads(1).stack_size(bytes).build(); });
    EXPECT_NE(message.find("stack_size"), std::string::npos) << message;
    EXPECT_NE(message.find(std::to_string(bytes) + " bytes"), std::string::npos) << message;
    EXPECT_NE(message.find("262144"), std::string::npos)
        << "the message should state the minimum: " << message;
  }
}

TEST(ParPool, MinimumStackIsAccepted) {
  par::pool pool = par::pool::builder().num_threads(2).stack_size(std::size_t{256} << 10).build();
  EXPECT_EQ(pool.install([] { return par::join([] { return 1; }, [] { return 2; }).second; }), 2);
}

TEST(ParPool, NumThreads) {
  for (std::size_t n : {1u, 2u, 3u, 5u}) {
    par::pool pool = par::pool::builder().num_threads(n).build();
    EXPECT_EQ(pool.num_threads(), n);
    EXPECT_EQ(pool.install([] { return par::current_num_threads(); }), n);
    EXPECT_EQ(pool.broadcast([] { return 0; }).size(), n);
  }
}

TEST(ParPool, DefaultThreadCountIsTheNumberOfCores) {
  EnvGuard env("TANDEM_NUM_THREADS", nullptr);
  par::pool pool;
  EXPECT_EQ(pool.num_threads(), hardware_threads());
  par::pool built = par::pool::builder().build();
  EXPECT_EQ(built.num_threads(), hardware_threads());
}

TEST(ParPool, MovedPoolKeepsWorking) {
  par::pool first = par::pool::builder().num_threads(2).build();
  par::pool second = std::move(first);
  EXPECT_EQ(second.num_threads(), 2u);
  EXPECT_EQ(second.install([] { return 41 + 1; }), 42);
}

TEST(ParPool, ManyPoolsComeAndGo) {
  for (int i = 0; i < 30; ++i) {
    par::pool pool = par::pool::builder().num_threads(2).build();
    EXPECT_EQ(pool.install([i] { return i; }), i);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Thread names and hooks
// ---------------------------------------------------------------------------------------------------------------

TEST(ParPool, ThreadNamesUseThePrefix) {
  par::pool pool = par::pool::builder().num_threads(3).thread_name_prefix("mypool-").build();
  EXPECT_EQ(pool.broadcast([] { return thread_name(); }),
            (std::vector<std::string>{"mypool-0", "mypool-1", "mypool-2"}));
  const auto names = process_thread_names();
  for (int i = 0; i < 3; ++i) EXPECT_EQ(names.count("mypool-" + std::to_string(i)), 1u) << "mypool-" << i;
}

TEST(ParPool, LongThreadNamesAreCutToFifteenCharacters) {
  const std::string prefix = "a-rather-long-prefix-";
  par::pool pool = par::pool::builder().num_threads(2).thread_name_prefix(prefix).build();
  const auto names = pool.broadcast([] { return thread_name(); });
  ASSERT_EQ(names.size(), 2u);
  for (const auto& name : names) EXPECT_EQ(name, prefix.substr(0, 15));
}

TEST(ParPool, DefaultThreadNames) {
  par::pool pool = par::pool::builder().num_threads(2).build();
  EXPECT_EQ(pool.broadcast([] { return thread_name(); }),
            (std::vector<std::string>{"tandem-par-0", "tandem-par-1"}));
}

struct HookLog {
  std::mutex mutex;
  std::vector<std::size_t> started;
  std::vector<std::size_t> stopped;
  std::vector<std::string> problems;

  void record(std::vector<std::size_t>& into, std::size_t index, const char* what) {
    std::lock_guard lock(mutex);
    into.push_back(index);
    // Hooks run on the worker itself, already (still) a member of the pool.
    if (par::current_thread_index() != std::optional<std::size_t>(index)) {
      problems.push_back(std::string(what) + " hook for " + std::to_string(index) + " ran on another thread");
    }
  }
};

TEST(ParPool, StartAndStopHooksRunOncePerThread) {
  auto log = std::make_shared<HookLog>();
  {
    par::pool pool = par::pool::builder()
                         .num_threads(4)
                         .on_thread_start([log](std::size_t i) { log->record(log->started, i, "start"); })
                         .on_thread_stop([log](std::size_t i) { log->record(log->stopped, i, "stop"); })
                         .build();
    // A broadcast runs on every worker, so every start hook ran before it returns.
    pool.broadcast([] {});
    std::lock_guard lock(log->mutex);
    EXPECT_EQ(std::multiset<std::size_t>(log->started.begin(), log->started.end()),
              (std::multiset<std::size_t>{0, 1, 2, 3}));
    EXPECT_TRUE(log->stopped.empty()) << "a stop hook ran while the pool was alive";
  }
  // The destructor joined the threads, so every stop hook has run.
  std::lock_guard lock(log->mutex);
  EXPECT_EQ(log->started.size(), 4u);
  EXPECT_EQ(std::multiset<std::size_t>(log->stopped.begin(), log->stopped.end()),
            (std::multiset<std::size_t>{0, 1, 2, 3}));
  EXPECT_TRUE(log->problems.empty()) << log->problems.front();
}

TEST(ParPool, StartHookSeesTheThreadName) {
  auto names = std::make_shared<std::vector<std::string>>(2);
  auto mutex = std::make_shared<std::mutex>();
  {
    par::pool pool = par::pool::builder()
                         .num_threads(2)
                         .thread_name_prefix("hooked-")
                         .on_thread_start([names, mutex](std::size_t i) {
                           std::lock_guard lock(*mutex);
                           if (i < names->size()) (*names)[i] = thread_name();
                         })
                         .build();
    pool.broadcast([] {});
  }
  EXPECT_EQ(*names, (std::vector<std::string>{"hooked-0", "hooked-1"}));
}

// ---------------------------------------------------------------------------------------------------------------
// install
// ---------------------------------------------------------------------------------------------------------------

TEST(ParPool, InstallReturnsValues) {
  par::pool pool = par::pool::builder().num_threads(2).build();
  EXPECT_EQ(pool.install([] { return 42; }), 42);
  EXPECT_EQ(pool.install([] { return std::string("hello"); }), "hello");
  auto owned = pool.install([] { return std::make_unique<int>(9); });  // move-only
  static_assert(std::is_same_v<decltype(owned), std::unique_ptr<int>>);
  ASSERT_TRUE(owned);
  EXPECT_EQ(*owned, 9);
  // From a worker of the same pool too.
  EXPECT_EQ(pool.install([&pool] { return pool.install([] { return 7; }); }), 7);
}

TEST(ParPool, InstallVoid) {
  par::pool pool = par::pool::builder().num_threads(2).build();
  int ran = 0;
  pool.install([&] { ++ran; });
  static_assert(std::is_void_v<decltype(pool.install([] {}))>);
  EXPECT_EQ(ran, 1);
}

TEST(ParPool, InstallPassesAMutableLvalueClosure) {
  par::pool pool = par::pool::builder().num_threads(2).build();
  auto counter = [n = 0]() mutable { return ++n; };
  EXPECT_EQ(pool.install(counter), 1);
  EXPECT_EQ(pool.install(counter), 2);  // the same closure object, not a copy
  EXPECT_EQ(counter(), 3);
}

// pool::install declares std::invoke_result_t<F&> as its return type: a closure returning a reference
// gives that very reference back, from outside the pool, from inside it, and nested.
TEST(ParPool, InstallReturnsReferences) {
  par::pool pool = par::pool::builder().num_threads(2).build();
  int x = 1;
  const int y = 2;
  int& rx = pool.install([&]() -> int& { return x; });
  const int& ry = pool.install([&]() -> const int& { return y; });
  EXPECT_EQ(&rx, &x);
  EXPECT_EQ(&ry, &y);
  int& inner = pool.install([&]() -> int& { return pool.install([&]() -> int& { return x; }); });
  EXPECT_EQ(&inner, &x);
}

TEST(ParPool, InstallRethrows) {
  par::pool pool = par::pool::builder().num_threads(2).build();
  try {
    pool.install([]() -> int { throw std::out_of_range("installed failure"); });
    ADD_FAILURE() << "install did not rethrow";
  } catch (const std::out_of_range& e) {
    EXPECT_STREQ(e.what(), "installed failure");
  }
  EXPECT_THROW(pool.install([] { throw 5; }), int);
  EXPECT_THROW(pool.install([&pool] { pool.install([] { throw std::logic_error("inner"); }); }),
               std::logic_error);
  EXPECT_EQ(pool.install([] { return 1; }), 1);  // still fine
}

TEST(ParPool, InstallFromAnExternalThreadBlocksUntilDone) {
  par::pool pool = par::pool::builder().num_threads(2).build();
  const auto caller = std::this_thread::get_id();
  std::atomic<bool> done{false};
  const auto start = std::chrono::steady_clock::now();
  const auto ran_on = pool.install([&] {
    std::this_thread::sleep_for(50ms);
    done.store(true);
    return std::this_thread::get_id();
  });
  EXPECT_TRUE(done.load());
  EXPECT_GE(std::chrono::steady_clock::now() - start, 50ms);
  EXPECT_NE(ran_on, caller);
}

TEST(ParPool, InstallFromAWorkerOfTheSamePoolRunsInline) {
  par::pool pool = par::pool::builder().num_threads(2).build();
  const auto [outer, inner] = pool.install([&pool] {
    return std::make_pair(std::this_thread::get_id(),
                          pool.install([] { return std::this_thread::get_id(); }));
  });
  EXPECT_EQ(outer, inner);
}

TEST(ParPool, ConcurrentInstallsFromManyThreads) {
  par::pool pool = par::pool::builder().num_threads(2).build();
  constexpr int kThreads = 8;
  std::vector<int> results(kThreads, -1);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      int sum = 0;
      for (int i = 0; i < 100; ++i) sum += pool.install([i] { return i; });
      results[t] = sum;
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(results[t], 4950) << "thread " << t;
}

// ---------------------------------------------------------------------------------------------------------------
// install across pools
// ---------------------------------------------------------------------------------------------------------------

TEST(ParPool, InstallIntoAnotherPoolFromAWorker) {
  par::pool a = par::pool::builder().num_threads(2).thread_name_prefix("pool-a-").build();
  par::pool b = par::pool::builder().num_threads(2).thread_name_prefix("pool-b-").build();
  finishes_within(10s, [&] {
    const auto [outer_name, inner_name, inner_threads] = a.install([&] {
      auto [name, threads] =
          b.install([] { return std::make_pair(thread_name(), par::current_num_threads()); });
      return std::make_tuple(thread_name(), name, threads);
    });
    EXPECT_EQ(outer_name.rfind("pool-a-", 0), 0u) << outer_name;
    EXPECT_EQ(inner_name.rfind("pool-b-", 0), 0u) << inner_name;
    EXPECT_EQ(inner_threads, 2u);
  });
}

TEST(ParPool, CrossPoolInstallWithOneThreadEachKeepsTheWaitingPoolRunning) {
  // A's only worker waits in b.install for a job that only A can run (it sits on that worker's own deque).
  par::pool a = par::pool::builder().num_threads(1).build();
  par::pool b = par::pool::builder().num_threads(1).build();
  finishes_within(10s, [&] {
    std::atomic<bool> a_job_ran{false};
    const bool saw = a.install([&] {
      par::spawn([&] { a_job_ran.store(true); });  // queued on A
      return b.install([&] { return wait_for([&] { return a_job_ran.load(); }); });
    });
    EXPECT_TRUE(saw) << "A's worker did not run A's work while waiting for B";
  });
}

TEST(ParPool, CrossPoolInstallCallingBackIntoTheFirstPool) {
  par::pool a = par::pool::builder().num_threads(1).thread_name_prefix("back-a-").build();
  par::pool b = par::pool::builder().num_threads(1).thread_name_prefix("back-b-").build();
  finishes_within(10s, [&] {
    const std::string name =
        a.install([&] { return b.install([&] { return a.install([] { return thread_name(); }); }); });
    EXPECT_EQ(name, "back-a-0");
  });
}

TEST(ParPool, CrossPoolPingPongWithJoins) {
  par::pool a = par::pool::builder().num_threads(2).build();
  par::pool b = par::pool::builder().num_threads(1).build();
  std::function<int(int)> bounce = [&](int depth) -> int {
    if (depth == 0) return 1;
    par::pool& next = depth % 2 == 0 ? a : b;
    auto [x, y] = par::join([&] { return next.install([&] { return bounce(depth - 1); }); },
                            [&] { return next.install([&] { return bounce(depth - 1); }); });
    return x + y;
  };
  finishes_within(20s, [&] { EXPECT_EQ(a.install([&] { return bounce(8); }), 256); });
}

TEST(ParPool, ConcurrentCrossPoolInstallsBothWays) {
  par::pool a = par::pool::builder().num_threads(1).build();
  par::pool b = par::pool::builder().num_threads(1).build();
  finishes_within(20s, [&] {
    std::thread t1([&] {
      for (int i = 0; i < 100; ++i) EXPECT_EQ(a.install([&] { return b.install([i] { return i; }); }), i);
    });
    std::thread t2([&] {
      for (int i = 0; i < 100; ++i) EXPECT_EQ(b.install([&] { return a.install([i] { return i; }); }), i);
    });
    t1.join();
    t2.join();
  });
}

TEST(ParPool, PoolsBuiltAndDestroyedOnAnotherPoolsWorker) {
  par::pool a = par::pool::builder().num_threads(2).build();
  finishes_within(20s, [&] {
    for (int i = 0; i < 20; ++i) {
      const int result = a.install([i] {
        par::pool inner = par::pool::builder().num_threads(1).build();
        return inner.install([i] { return i; });
      });
      EXPECT_EQ(result, i);
    }
  });
}

TEST(ParPool, WaitingPoolDestroyedRightAfterACrossPoolInstall) {
  // The other pool's worker wakes the waiter as its last step; the waiter's pool may be destroyed at once.
  par::pool b = par::pool::builder().num_threads(1).build();
  finishes_within(20s, [&] {
    for (int i = 0; i < 50; ++i) {
      par::pool a = par::pool::builder().num_threads(1).build();
      EXPECT_EQ(a.install([&b, i] { return b.install([i] { return i; }); }), i);
    }
  });
}

// ---------------------------------------------------------------------------------------------------------------
// current_num_threads / current_thread_index
// ---------------------------------------------------------------------------------------------------------------

TEST(ParPool, ThreadQueriesOutsideAnyPool) {
  EXPECT_FALSE(par::current_thread_index().has_value());
  EXPECT_GE(par::current_num_threads(), 1u);
  std::optional<std::size_t> in_thread = 123;
  std::thread([&] { in_thread = par::current_thread_index(); }).join();
  EXPECT_FALSE(in_thread.has_value());
}

TEST(ParPool, ThreadQueriesInsideAPool) {
  par::pool pool = par::pool::builder().num_threads(3).build();
  const auto [count, index] =
      pool.install([] { return std::make_pair(par::current_num_threads(), par::current_thread_index()); });
  EXPECT_EQ(count, 3u);
  ASSERT_TRUE(index.has_value());
  EXPECT_LT(*index, 3u);
  par::pool other = par::pool::builder().num_threads(2).build();
  EXPECT_EQ(pool.install([&] { return other.install([] { return par::current_num_threads(); }); }), 2u);
  EXPECT_FALSE(par::current_thread_index().has_value());  // unchanged on the caller
}

// ---------------------------------------------------------------------------------------------------------------
// TANDEM_NUM_THREADS
// ---------------------------------------------------------------------------------------------------------------

TEST(ParPool, NumThreadsEnvironmentVariableSetsTheDefault) {
  EnvGuard env("TANDEM_NUM_THREADS", "3");
  par::pool built = par::pool::builder().build();
  EXPECT_EQ(built.num_threads(), 3u);
  par::pool defaulted;
  EXPECT_EQ(defaulted.num_threads(), 3u);
  EXPECT_EQ(defaulted.broadcast([] { return 1; }).size(), 3u);
}

TEST(ParPool, MalformedNumThreadsEnvironmentVariableIsRejected) {
  for (const char* value : {"0", "abc", "-1", "3abc", " 3", "1.5", "4097", "99999999999999999999999"}) {
    EnvGuard env("TANDEM_NUM_THREADS", value);
    const std::string message = invalid_argument_message([] { par::pool::builder().build(); });
    EXPECT_NE(message.find("TANDEM_NUM_THREADS"), std::string::npos)
        << "value '" << value << "': " << message;
    EXPECT_NE(invalid_argument_message([] { par::pool pool; }).find("TANDEM_NUM_THREADS"), std::string::npos)
        << "value '" << value << "'";
  }
}

TEST(ParPool, EmptyNumThreadsEnvironmentVariableMeansUnset) {
  EnvGuard env("TANDEM_NUM_THREADS", "");
  par::pool pool = par::pool::builder().build();
  EXPECT_EQ(pool.num_threads(), hardware_threads());
}

TEST(ParPool, ExplicitNumThreadsOverridesTheEnvironment) {
  EnvGuard env("TANDEM_NUM_THREADS", "abc");
  par::pool pool = par::pool::builder().num_threads(2).build();
  EXPECT_EQ(pool.num_threads(), 2u);
}

// ---------------------------------------------------------------------------------------------------------------
// The global pool
// ---------------------------------------------------------------------------------------------------------------

TEST(ParPool, BuildGlobalAfterTheGlobalPoolExistsThrows) {
  ASSERT_GE(par::current_num_threads(), 1u);  // creates the global pool if nothing did yet
  try {
    par::pool::builder().num_threads(1).build_global();
    ADD_FAILURE() << "build_global did not throw";
  } catch (const std::logic_error& e) {
    EXPECT_NE(std::string(e.what()).find("already exists"), std::string::npos) << e.what();
  }
  EXPECT_NE(par::current_num_threads(), 0u);  // the existing global pool is untouched and works
  EXPECT_EQ(par::join([] { return 1; }, [] { return 2; }).second, 2);
}

// A fresh process (death-test child), so that the global pool does not exist yet.
TEST(ParPoolDeathTest, BuildGlobalConfiguresTheGlobalPool) {
  testing::FLAGS_gtest_death_test_style = "threadsafe";
  EXPECT_EXIT(
      {
        par::pool::builder().num_threads(3).thread_name_prefix("myglobal-").build_global();
        const bool threads_ok = par::current_num_threads() == 3;
        const auto names = par::join([] { return thread_name(); }, [] { return 0; }).first;
        const bool name_ok = names.rfind("myglobal-", 0) == 0;
        bool second_throws = false;
        try {
          par::pool::builder().num_threads(2).build_global();
        } catch (const std::logic_error&) {
          second_throws = true;
        }
        std::fprintf(stderr, "threads_ok=%d name_ok=%d second_throws=%d\n", threads_ok, name_ok,
                     second_throws);
        std::fflush(stderr);
        std::_Exit(threads_ok && name_ok && second_throws ? 0 : 1);
      },
      testing::ExitedWithCode(0), "threads_ok=1 name_ok=1 second_throws=1");
}

TEST(ParPoolDeathTest, DestroyingAPoolOnItsOwnWorkerIsFatal) {
  testing::FLAGS_gtest_death_test_style = "threadsafe";
  EXPECT_DEATH(
      {
        auto pool = std::make_unique<par::pool>(par::pool::builder().num_threads(1).build());
        pool->install([&pool] { pool.reset(); });
      },
      "destroyed by one of its own worker threads");
}

// ---------------------------------------------------------------------------------------------------------------
// Idle workers sleep
// ---------------------------------------------------------------------------------------------------------------

double process_cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& tv) { return static_cast<double>(tv.tv_sec) + tv.tv_usec / 1e6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

std::uint64_t fib(int n) {
  if (n < 2) return static_cast<std::uint64_t>(n);
  auto [x, y] = par::join([n] { return fib(n - 1); }, [n] { return fib(n - 2); });
  return x + y;
}

TEST(ParPool, IdlePoolBurnsNoCpu) {
  par::pool pool = par::pool::builder().num_threads(2).build();
  // Wake both workers with real work (joins that get stolen, a broadcast), then let them settle.
  EXPECT_EQ(pool.install([] { return fib(20); }), 6765u);
  EXPECT_EQ(pool.broadcast([] { return 1; }).size(), 2u);
  std::this_thread::sleep_for(200ms);
  const double before = process_cpu_seconds();
  std::this_thread::sleep_for(1s);
  const double used = process_cpu_seconds() - before;
  RecordProperty("idle_cpu_ms", std::to_string(used * 1000));
  EXPECT_LT(used, 0.050) << "the process used " << used * 1000 << " ms of CPU in 1 s while the pool was idle";
  // And the pool still wakes up for new work.
  EXPECT_EQ(pool.install([] { return fib(15); }), 610u);
}

}  // namespace
