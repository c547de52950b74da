// Tests for par::join (include/tandem/par/join.hpp): results, value categories, exceptions, the
// outside-a-pool path, the no-allocation promise and the stack-exhaustion guard.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <latch>
#include <memory>
#include <new>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include <gtest/gtest.h>
#include <pthread.h>

#include <tandem/par/errors.hpp>
#include <tandem/par/join.hpp>
#include <tandem/par/pool.hpp>
#include <tandem/par/spawn.hpp>

#include "support/waiting.hpp"

// ---------------------------------------------------------------------------------------------------------------
// Counting replacements of the global allocation functions. They count only while g_counting is set, so gtest
// and test set-up allocate freely. The array and nothrow forms of the default library call these.
// ---------------------------------------------------------------------------------------------------------------
namespace {

using test_support::thread_name;
using test_support::wait_for;
std::atomic<bool> g_counting{false};
std::atomic<std::int64_t> g_allocations{0};

void* counted_alloc(std::size_t size) {
  if (g_counting.load(std::memory_order_relaxed)) g_allocations.fetch_add(1, std::memory_order_relaxed);
  void* p = std::malloc(size == 0 ? 1 : size);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}

void* counted_aligned_alloc(std::size_t size, std::align_val_t align) {
  if (g_counting.load(std::memory_order_relaxed)) g_allocations.fetch_add(1, std::memory_order_relaxed);
  const auto a = std::max(static_cast<std::size_t>(align), sizeof(void*));
  void* p = nullptr;
  if (posix_memalign(&p, a, size == 0 ? 1 : size) != 0) throw std::bad_alloc();
  return p;
}
}  // namespace

void* operator new(std::size_t size) {
  return counted_alloc(size);
}
void* operator new[](std::size_t size) {
  return counted_alloc(size);
}
void* operator new(std::size_t size, std::align_val_t align) {
  return counted_aligned_alloc(size, align);
}
void* operator new[](std::size_t size, std::align_val_t align) {
  return counted_aligned_alloc(size, align);
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete[](void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::size_t) noexcept {
  std::free(p);
}
void operator delete(void* p, std::align_val_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::align_val_t) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t, std::align_val_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept {
  std::free(p);
}

namespace {

namespace par = tandem::par;
using namespace std::chrono_literals;

#if defined(__SANITIZE_THREAD__)
#define TANDEM_TEST_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define TANDEM_TEST_TSAN 1
#endif
#endif

// TSan records call stacks of at most 65,536 frames (its stack depot CHECK-fails beyond that), so the
// deep-nesting test stays below that there. Everywhere else it nests 100,000 joins.
#ifdef TANDEM_TEST_TSAN
constexpr int kDeepNesting = 20'000;
#else
constexpr int kDeepNesting = 100'000;
#endif

std::uint64_t fib_seq(int n) {
  return n < 2 ? static_cast<std::uint64_t>(n) : fib_seq(n - 1) + fib_seq(n - 2);
}

std::uint64_t fib_par(int n) {
  if (n < 2) return static_cast<std::uint64_t>(n);
  auto [a, b] = par::join([n] { return fib_par(n - 1); }, [n] { return fib_par(n - 2); });
  return a + b;
}

par::pool make_pool(std::size_t n, std::string prefix = "tandem-test-") {
  return par::pool::builder().num_threads(n).thread_name_prefix(std::move(prefix)).build();
}

// Joins a and b on a worker of a pool with at least two threads such that b is stolen: a does not start its
// own work until b has started elsewhere (a deterministic way to drive the thief-side code paths). Reports on
// which worker b ran through *b_index.
template <class A, class B>
auto join_with_b_stolen(A a, B b, std::optional<std::size_t>* b_index = nullptr) {
  std::atomic<bool> b_started{false};
  return par::join(
      [&]() -> decltype(auto) {
        EXPECT_TRUE(wait_for([&] { return b_started.load(); })) << "no idle worker stole b";
        return a();
      },
      [&]() -> decltype(auto) {
        if (b_index != nullptr) *b_index = par::current_thread_index();
        b_started.store(true);
        return b();
      });
}

struct NoDefault {
  explicit NoDefault(int v) : value(v) {}
  NoDefault() = delete;
  int value;
};

struct MoveOnlyNoDefault {
  explicit MoveOnlyNoDefault(int v) : value(std::make_unique<int>(v)) {}
  MoveOnlyNoDefault() = delete;
  MoveOnlyNoDefault(MoveOnlyNoDefault&&) = default;
  MoveOnlyNoDefault& operator=(MoveOnlyNoDefault&&) = default;
  std::unique_ptr<int> value;
};

// ---------------------------------------------------------------------------------------------------------------
// Results
// ---------------------------------------------------------------------------------------------------------------

TEST(ParJoin, FibMatchesSequentialOnPoolsOfOneToFourThreads) {
  for (std::size_t threads = 1; threads <= 4; ++threads) {
    par::pool pool = make_pool(threads);
    ASSERT_EQ(pool.num_threads(), threads);
    for (int n : {0, 1, 2, 3, 10, 17, 22}) {
      EXPECT_EQ(pool.install([n] { return fib_par(n); }), fib_seq(n)) << "n=" << n << " threads=" << threads;
    }
  }
}

TEST(ParJoin, ReturnsBothResultsInOrder) {
  par::pool pool = make_pool(2);
  pool.install([] {
    auto [a, b] = par::join([] { return 1; }, [] { return std::string("two"); });
    EXPECT_EQ(a, 1);
    EXPECT_EQ(b, "two");
  });
}

TEST(ParJoin, RunsAOnTheCallingWorker) {
  par::pool pool = make_pool(2);
  pool.install([] {
    const auto caller = std::this_thread::get_id();
    auto [a_thread, b_ran] = par::join([] { return std::this_thread::get_id(); }, [] { return true; });
    EXPECT_EQ(a_thread, caller);
    EXPECT_TRUE(b_ran);
  });
}

TEST(ParJoin, VoidVoidGivesMonostatePairAndRunsBoth) {
  par::pool pool = make_pool(2);
  pool.install([] {
    int a_ran = 0;
    std::atomic<int> b_ran{0};
    auto result = par::join([&] { ++a_ran; }, [&] { b_ran.fetch_add(1); });
    static_assert(std::is_same_v<decltype(result), std::pair<std::monostate, std::monostate>>);
    EXPECT_EQ(a_ran, 1);
    EXPECT_EQ(b_ran.load(), 1);
  });
}

TEST(ParJoin, VoidAndValueMix) {
  par::pool pool = make_pool(2);
  pool.install([] {
    int side = 0;
    auto r1 = par::join([&] { side += 1; }, [] { return 42; });
    static_assert(std::is_same_v<decltype(r1), std::pair<std::monostate, int>>);
    EXPECT_EQ(r1.second, 42);
    auto r2 = par::join([] { return 7; }, [&] { side += 10; });
    static_assert(std::is_same_v<decltype(r2), std::pair<int, std::monostate>>);
    EXPECT_EQ(r2.first, 7);
    EXPECT_EQ(side, 11);
  });
}

TEST(ParJoin, ReferenceResultsReferToTheSameObjects) {
  par::pool pool = make_pool(2);
  int x = 1;
  const int y = 2;
  pool.install([&] {
    auto r = par::join([&]() -> int& { return x; }, [&]() -> const int& { return y; });
    static_assert(std::is_same_v<decltype(r), std::pair<int&, const int&>>);
    EXPECT_EQ(&r.first, &x);
    EXPECT_EQ(&r.second, &y);
    r.first = 5;  // writes through to x
  });
  EXPECT_EQ(x, 5);
}

TEST(ParJoin, ReferenceResultOfStolenB) {
  par::pool pool = make_pool(2);
  int x = 1;
  int y = 2;
  pool.install([&] {
    std::optional<std::size_t> b_index;
    auto r = join_with_b_stolen([&]() -> int& { return x; }, [&]() -> int& { return y; }, &b_index);
    static_assert(std::is_same_v<decltype(r), std::pair<int&, int&>>);
    EXPECT_EQ(&r.first, &x);
    EXPECT_EQ(&r.second, &y);
    ASSERT_TRUE(b_index.has_value());
    EXPECT_NE(*b_index, par::current_thread_index().value()) << "b was not stolen";
  });
}

TEST(ParJoin, ReferenceResultFromOutsideAnyPool) {
  int x = 1;
  int y = 2;
  auto r = par::join([&]() -> int& { return x; }, [&]() -> int& { return y; });
  static_assert(std::is_same_v<decltype(r), std::pair<int&, int&>>);
  EXPECT_EQ(&r.first, &x);
  EXPECT_EQ(&r.second, &y);
}

TEST(ParJoin, MoveOnlyResults) {
  par::pool pool = make_pool(2);
  pool.install([] {
    auto [a, b] = par::join([] { return std::make_unique<int>(1); }, [] { return std::make_unique<int>(2); });
    ASSERT_TRUE(a && b);
    EXPECT_EQ(*a + *b, 3);
  });
  // Outside any pool (the pair travels back through the injected job's result slot).
  auto [a, b] = par::join([] { return std::make_unique<int>(3); }, [] { return std::make_unique<int>(4); });
  ASSERT_TRUE(a && b);
  EXPECT_EQ(*a + *b, 7);
}

TEST(ParJoin, NoDefaultConstructorResults) {
  static_assert(!std::is_default_constructible_v<NoDefault>);
  static_assert(!std::is_default_constructible_v<MoveOnlyNoDefault>);
  static_assert(!std::is_copy_constructible_v<MoveOnlyNoDefault>);
  par::pool pool = make_pool(1);
  pool.install([] {
    auto [a, b] = par::join([] { return NoDefault(1); }, [] { return MoveOnlyNoDefault(2); });
    EXPECT_EQ(a.value, 1);
    ASSERT_TRUE(b.value);
    EXPECT_EQ(*b.value, 2);
  });
}

TEST(ParJoin, MoveOnlyNoDefaultResultsOfStolenB) {
  par::pool pool = make_pool(2);
  pool.install([] {
    std::optional<std::size_t> b_index;
    auto [a, b] = join_with_b_stolen([] { return MoveOnlyNoDefault(5); }, [] { return MoveOnlyNoDefault(6); },
                                     &b_index);
    ASSERT_TRUE(a.value && b.value);
    EXPECT_EQ(*a.value, 5);
    EXPECT_EQ(*b.value, 6);
    ASSERT_TRUE(b_index.has_value());
    EXPECT_NE(*b_index, par::current_thread_index().value()) << "b was not stolen";
  });
}

TEST(ParJoin, AcceptsNamedMutableAndFunctionPointerClosures) {
  par::pool pool = make_pool(2);
  pool.install([] {
    int counter = 10;
    auto inc = [counter]() mutable { return ++counter; };
    std::function<int()> twice = [] { return 2; };
    auto [a, b] = par::join(inc, twice);
    EXPECT_EQ(a, 11);
    EXPECT_EQ(b, 2);
    EXPECT_EQ(inc(), 12);  // the named lvalue closure itself was called, not a copy

    int (*fp)() = [] { return 3; };
    auto [c, d] = par::join(
        fp, +[] { return 4; });
    EXPECT_EQ(c + d, 7);
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Exceptions: both sides always finish; a's exception wins.
// ---------------------------------------------------------------------------------------------------------------

struct ErrorA : std::runtime_error {
  ErrorA() : std::runtime_error("from a") {}
};
struct ErrorB : std::runtime_error {
  ErrorB() : std::runtime_error("from b") {}
};

// The three exception cases, run by whatever `run_join` does (inline, stolen, from outside).
template <class RunJoin>
void check_exception_cases(RunJoin run_join) {
  {  // a throws: b still runs to completion.
    std::atomic<bool> b_done{false};
    EXPECT_THROW(run_join([]() -> int { throw ErrorA(); },
                          [&] {
                            std::this_thread::sleep_for(20ms);
                            b_done.store(true);
                            return 2;
                          }),
                 ErrorA);
    EXPECT_TRUE(b_done.load()) << "join returned before b finished";
  }
  {  // b throws: a still runs to completion.
    std::atomic<bool> a_done{false};
    EXPECT_THROW(run_join(
                     [&] {
                       std::this_thread::sleep_for(20ms);
                       a_done.store(true);
                       return 1;
                     },
                     []() -> int { throw ErrorB(); }),
                 ErrorB);
    EXPECT_TRUE(a_done.load());
  }
  {  // Both throw: a's wins, and both finished.
    std::atomic<int> finished{0};
    try {
      run_join(
          [&]() -> int {
            finished.fetch_add(1);
            throw ErrorA();
          },
          [&]() -> int {
            std::this_thread::sleep_for(20ms);
            finished.fetch_add(1);
            throw ErrorB();
          });
      ADD_FAILURE() << "join did not throw";
    } catch (const ErrorA& e) {
      EXPECT_STREQ(e.what(), "from a");
    } catch (...) {
      ADD_FAILURE() << "join threw something other than a's exception";
    }
    EXPECT_EQ(finished.load(), 2);
  }
}

TEST(ParJoin, ExceptionsOnASingleThreadPool) {
  par::pool pool = make_pool(1);
  pool.install([] { check_exception_cases([](auto a, auto b) { return par::join(a, b); }); });
}

TEST(ParJoin, ExceptionsWhenBIsStolen) {
  par::pool pool = make_pool(2);
  pool.install([] { check_exception_cases([](auto a, auto b) { return join_with_b_stolen(a, b); }); });
}

TEST(ParJoin, ExceptionsFromOutsideAnyPool) {
  check_exception_cases([](auto a, auto b) { return par::join(a, b); });
}

TEST(ParJoin, BIsTakenBackFromUnderJobsThatAQueued) {
  // a leaves detached jobs on the worker's deque, on top of b: the join must still find b (running the newer
  // jobs first or leaving them to others) and return both results.
  for (std::size_t threads : {1u, 2u}) {
    auto spawned = std::make_shared<std::atomic<int>>(0);
    {
      par::pool pool = make_pool(threads);
      for (int round = 0; round < 100; ++round) {
        auto [a, b] = pool.install([&] {
          return par::join(
              [&] {
                for (int i = 0; i < 3; ++i) par::spawn([spawned] { spawned->fetch_add(1); });
                return 1;
              },
              [] { return 2; });
        });
        ASSERT_EQ(a, 1);
        ASSERT_EQ(b, 2);
      }
    }  // the pool's destructor waits for the detached jobs
    EXPECT_EQ(spawned->load(), 300) << "threads=" << threads;
  }
}

TEST(ParJoin, ExceptionFromAWithJobsQueuedOnTopOfB) {
  par::pool pool = make_pool(2);
  auto spawned = std::make_shared<std::atomic<int>>(0);
  for (int round = 0; round < 50; ++round) {
    std::atomic<bool> b_ran{false};
    EXPECT_THROW(pool.install([&] {
      par::join(
          [&] {
            for (int i = 0; i < 3; ++i) par::spawn([spawned] { spawned->fetch_add(1); });
            throw ErrorA();
          },
          [&] { b_ran.store(true); });
    }),
                 ErrorA);
    EXPECT_TRUE(b_ran.load());
  }
  EXPECT_TRUE(wait_for([&] { return spawned->load() == 150; }));
}

TEST(ParJoin, PoolIsUsableAfterExceptions) {
  par::pool pool = make_pool(2);
  for (int i = 0; i < 50; ++i) {
    EXPECT_THROW(
        pool.install([] { return par::join([] { return fib_par(10); }, []() -> int { throw ErrorB(); }); }),
        ErrorB);
  }
  EXPECT_EQ(pool.install([] { return fib_par(18); }), fib_seq(18));
}

// ---------------------------------------------------------------------------------------------------------------
// Outside any pool
// ---------------------------------------------------------------------------------------------------------------

TEST(ParJoin, FromOutsideRunsOnTheGlobalPool) {
  ASSERT_FALSE(par::current_thread_index().has_value());
  const auto caller = std::this_thread::get_id();
  auto [a, b] =
      par::join([] { return std::make_pair(par::current_thread_index(), thread_name()); },
                [] { return std::make_pair(par::current_thread_index(), std::this_thread::get_id()); });
  ASSERT_TRUE(a.first.has_value());
  ASSERT_TRUE(b.first.has_value());
  EXPECT_LT(*a.first, par::current_num_threads());
  EXPECT_LT(*b.first, par::current_num_threads());
  EXPECT_EQ(a.second.rfind("tandem-par-", 0), 0u) << "a ran on thread '" << a.second << "'";
  EXPECT_NE(b.second, caller);
  // The caller is still outside every pool afterwards.
  EXPECT_FALSE(par::current_thread_index().has_value());
}

TEST(ParJoin, InsideAPoolUsesThatPool) {
  par::pool pool = make_pool(2, "joinpool-");
  pool.install([] {
    std::optional<std::size_t> b_index;
    auto [a, b] = join_with_b_stolen([] { return thread_name(); }, [] { return thread_name(); }, &b_index);
    EXPECT_EQ(a.rfind("joinpool-", 0), 0u) << a;
    EXPECT_EQ(b.rfind("joinpool-", 0), 0u) << b;
  });
}

TEST(ParJoin, ManyExternalThreadsConcurrently) {
  constexpr int kThreads = 10;
  std::latch go(kThreads);
  std::vector<std::uint64_t> results(kThreads, 0);
  std::vector<int> had_index(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      go.arrive_and_wait();
      const int n = 14 + t % 5;
      auto [f, idx] =
          par::join([n] { return fib_par(n); },
                    [] { return par::join([] { return par::current_thread_index(); }, [] {}).first; });
      results[t] = f - fib_seq(n);  // 0 when right
      had_index[t] = idx.has_value() ? 1 : 0;
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(results[t], 0u) << "thread " << t;
    EXPECT_EQ(had_index[t], 1) << "thread " << t;
  }
}

TEST(ParJoin, ExternalThreadsJoinIntoAnExplicitPoolConcurrently) {
  par::pool pool = make_pool(3);
  constexpr int kThreads = 8;
  std::latch go(kThreads);
  std::vector<std::uint64_t> results(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      go.arrive_and_wait();
      results[t] = pool.install([t] { return fib_par(12 + t); });
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(results[t], fib_seq(12 + t)) << "thread " << t;
}

// ---------------------------------------------------------------------------------------------------------------
// No heap allocation inside a pool
// ---------------------------------------------------------------------------------------------------------------

// Runs f on `pool` with the allocation counter on and returns the number of allocations made meanwhile.
template <class F>
std::int64_t allocations_during(par::pool& pool, F f) {
  return pool.install([&] {
    g_allocations.store(0);
    g_counting.store(true);
    f();
    g_counting.store(false);
    return g_allocations.load();
  });
}

TEST(ParJoin, AllocationCounterWorks) {
  // Control for the test below: the counter does see allocations, the library's included.
  par::pool pool = make_pool(1);
  EXPECT_GE(allocations_during(pool,
                               [] {
                                 auto p = std::make_unique<int>(1);
                                 EXPECT_EQ(*p, 1);
                               }),
            1);
  EXPECT_GE(allocations_during(pool, [] { par::join([] {}, [] { return std::vector<int>(3); }); }), 1);
}

TEST(ParJoin, DoesNotAllocateInsideAPool) {
  for (std::size_t threads : {1u, 2u}) {
    par::pool pool = make_pool(threads);
    pool.install([] { return fib_par(20); });  // warm up: threads started, any lazy state created
    for (int round = 0; round < 5; ++round) {
      std::uint64_t result = 0;
      const std::int64_t allocations = allocations_during(pool, [&] { result = fib_par(20); });
      EXPECT_EQ(result, fib_seq(20));
      EXPECT_EQ(allocations, 0) << "threads=" << threads << " round=" << round;
    }
  }
}

TEST(ParJoin, DoesNotAllocateWhenBIsStolen) {
  par::pool pool = make_pool(2);
  pool.install([] { return fib_par(10); });
  for (int round = 0; round < 5; ++round) {
    std::optional<std::size_t> b_index;
    int sum = 0;
    const std::int64_t allocations = allocations_during(pool, [&] {
      auto [a, b] = join_with_b_stolen([] { return 1; }, [] { return 2; }, &b_index);
      sum = a + b;
    });
    EXPECT_EQ(sum, 3);
    ASSERT_TRUE(b_index.has_value());
    EXPECT_EQ(allocations, 0) << "round=" << round;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Deep nesting
// ---------------------------------------------------------------------------------------------------------------

std::atomic<std::int64_t> g_levels_entered{0};
std::atomic<std::int64_t> g_levels_unwound{0};

struct LevelGuard {
  LevelGuard() { g_levels_entered.fetch_add(1, std::memory_order_relaxed); }
  ~LevelGuard() { g_levels_unwound.fetch_add(1, std::memory_order_relaxed); }
  LevelGuard(const LevelGuard&) = delete;
  LevelGuard& operator=(const LevelGuard&) = delete;
};

// Nests n joins; returns n when every level ran both sides.
std::int64_t deep(std::int64_t n) {
  if (n == 0) return 0;
  LevelGuard guard;
  auto [below, one] = par::join([n] { return deep(n - 1); }, [] { return std::int64_t{1}; });
  return below + one;
}

TEST(ParJoin, DeepNestingCompletesOnADefaultStack) {
  par::pool pool = make_pool(2);
  EXPECT_EQ(pool.install([] { return deep(kDeepNesting); }), kDeepNesting);
  // The same from outside any pool: the global pool's workers have the default stack too.
  EXPECT_EQ(deep(kDeepNesting), kDeepNesting);
}

void expect_stack_exhausted_then_usable(std::size_t stack_size, std::int64_t depth) {
  par::pool pool = par::pool::builder().num_threads(2).stack_size(stack_size).build();
  g_levels_entered.store(0);
  g_levels_unwound.store(0);
  try {
    pool.install([depth] { return deep(depth); });
    ADD_FAILURE() << "nesting " << depth << " joins on a " << stack_size << "-byte stack did not throw";
  } catch (const par::stack_exhausted& e) {
    EXPECT_NE(std::string(e.what()).find("stack"), std::string::npos) << e.what();
  }
  // It threw well before the requested depth and unwound every level normally.
  EXPECT_GT(g_levels_entered.load(), 10);
  EXPECT_LT(g_levels_entered.load(), depth);
  EXPECT_EQ(g_levels_unwound.load(), g_levels_entered.load());
  // The pool still works, joins included, and can still nest moderately.
  EXPECT_EQ(pool.install([] { return fib_par(16); }), fib_seq(16));
  EXPECT_EQ(pool.install([] { return deep(50); }), 50);
  static_assert(std::is_base_of_v<std::runtime_error, par::stack_exhausted>);
}

TEST(ParJoin, TooDeepNestingThrowsStackExhaustedOnMinimumStack) {
  expect_stack_exhausted_then_usable(std::size_t{256} << 10, 100'000);
}

TEST(ParJoin, TooDeepNestingThrowsStackExhaustedOnFourMiBStack) {
  // Several thousand levels deep before it throws, with many b's stolen on the way.
  expect_stack_exhausted_then_usable(std::size_t{4} << 20, 1'000'000);
}

}  // namespace
