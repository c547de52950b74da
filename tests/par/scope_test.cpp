// Tests for par::scope (include/tandem/par/scope.hpp): borrowing spawns, nesting, volume, where a scope may
// be opened from, and exception propagation.
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <numeric>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <pthread.h>

#include <tandem/par/join.hpp>
#include <tandem/par/pool.hpp>
#include <tandem/par/scope.hpp>

#include "support/waiting.hpp"

namespace {

using test_support::thread_name;
using test_support::wait_for;

namespace par = tandem::par;
using namespace std::chrono_literals;

par::pool make_pool(std::size_t n, std::string prefix = "scope-test-") {
  return par::pool::builder().num_threads(n).thread_name_prefix(std::move(prefix)).build();
}

// ---------------------------------------------------------------------------------------------------------------
// Borrowing and volume
// ---------------------------------------------------------------------------------------------------------------

TEST(ParScope, SpawnsBorrowStackDataAndAllFinishBeforeTheScopeCloses) {
  par::pool pool = make_pool(3);
  pool.install([] {
    constexpr int kN = 1000;
    std::vector<std::int64_t> squares(kN, -1);
    std::atomic<std::int64_t> sum{0};
    par::scope([&](par::scope& s) {
      for (int i = 0; i < kN; ++i) {
        s.spawn([&, i] {
          squares[i] = std::int64_t{i} * i;
          sum.fetch_add(i, std::memory_order_relaxed);
        });
      }
    });
    // Plain (non-atomic) reads: the scope's close must publish every spawned write.
    for (int i = 0; i < kN; ++i) ASSERT_EQ(squares[i], std::int64_t{i} * i) << "index " << i;
    EXPECT_EQ(sum.load(), std::int64_t{kN} * (kN - 1) / 2);
  });
}

TEST(ParScope, BodyRunsExactlyOnceAndScopeWithoutSpawnsCloses) {
  par::pool pool = make_pool(2);
  int body_runs = 0;
  pool.install([&] { par::scope([&](par::scope&) { ++body_runs; }); });
  EXPECT_EQ(body_runs, 1);
}

TEST(ParScope, SpawnedClosuresMayTakeTheScopeOrNothing) {
  par::pool pool = make_pool(2);
  pool.install(
      [] {
        std::atomic<int> without_arg{0};
        std::atomic<int> with_arg{0};
        par::scope* seen = nullptr;
        std::atomic<bool> same_scope{true};
        par::scope outer([&](par::scope& s) {
          seen = &s;
          s.spawn([&] { without_arg.fetch_add(1); });
          s.spawn([&](par::scope& inner) {
            with_arg.fetch_add(1);
            if (&inner != seen) same_scope.store(false);
          });
        });
        EXPECT_EQ(without_arg.load(), 1);
        EXPECT_EQ(with_arg.load(), 1);
        EXPECT_TRUE(same_scope.load())
            << "a spawned closure got a different scope than the one it was spawned into";
        EXPECT_EQ(seen, &outer);
      });
}

void spawn_tree(par::scope& s, int depth, std::atomic<int>& nodes) {
  nodes.fetch_add(1, std::memory_order_relaxed);
  if (depth == 0) return;
  s.spawn([depth, &nodes](par::scope& inner) { spawn_tree(inner, depth - 1, nodes); });
  s.spawn([depth, &nodes](par::scope& inner) { spawn_tree(inner, depth - 1, nodes); });
}

TEST(ParScope, NestedSpawnsThroughTheScopeParameterFormATree) {
  for (std::size_t threads : {1u, 4u}) {
    par::pool pool = make_pool(threads);
    std::atomic<int> nodes{0};
    pool.install([&] { par::scope([&](par::scope& s) { spawn_tree(s, 12, nodes); }); });
    EXPECT_EQ(nodes.load(), (1 << 13) - 1) << "threads=" << threads;  // a full binary tree of depth 12
  }
}

TEST(ParScope, TenThousandSpawns) {
  par::pool pool = make_pool(4);
  constexpr int kN = 10'000;
  std::vector<int> runs(kN, 0);
  pool.install([&] {
    par::scope([&](par::scope& s) {
      for (int i = 0; i < kN; ++i) s.spawn([&runs, i] { ++runs[i]; });
    });
  });
  for (int i = 0; i < kN; ++i) ASSERT_EQ(runs[i], 1) << "spawn " << i << " ran " << runs[i] << " times";
}

TEST(ParScope, SpawnedClosuresOwnTheirCaptures) {
  par::pool pool = make_pool(2);
  std::atomic<int> total{0};
  pool.install([&] {
    par::scope([&](par::scope& s) {
      for (int i = 0; i < 100; ++i) {
        auto owned = std::make_unique<int>(i);
        s.spawn([p = std::move(owned), &total] { total.fetch_add(*p); });  // move-only closure
      }
    });
  });
  EXPECT_EQ(total.load(), 99 * 100 / 2);
}

// ---------------------------------------------------------------------------------------------------------------
// Where a scope can be opened
// ---------------------------------------------------------------------------------------------------------------

TEST(ParScope, FromAnExternalThreadRunsOnTheGlobalPool) {
  std::atomic<int> ran{0};
  std::atomic<int> on_worker{0};
  std::vector<std::string> names(16);
  std::thread external([&] {
    par::scope([&](par::scope& s) {
      for (int i = 0; i < 16; ++i) {
        s.spawn([&, i] {
          ran.fetch_add(1);
          if (par::current_thread_index().has_value()) on_worker.fetch_add(1);
          names[i] = thread_name();
        });
      }
    });
  });
  external.join();
  EXPECT_EQ(ran.load(), 16);
  EXPECT_EQ(on_worker.load(), 16);
  for (const auto& name : names) EXPECT_EQ(name.rfind("tandem-par-", 0), 0u) << name;
}

TEST(ParScope, FromTheTestThreadBlocksUntilDone) {
  ASSERT_FALSE(par::current_thread_index().has_value());
  std::atomic<bool> done{false};
  par::scope([&](par::scope& s) {
    s.spawn([&] {
      std::this_thread::sleep_for(30ms);
      done.store(true);
    });
  });
  EXPECT_TRUE(done.load());
}

TEST(ParScope, InsideAPoolRunsOnThatPool) {
  par::pool pool = make_pool(3, "inner-scope-");
  std::vector<std::string> names(64);
  std::vector<int> indices(64, -1);
  pool.install([&] {
    par::scope([&](par::scope& s) {
      for (int i = 0; i < 64; ++i) {
        s.spawn([&, i] {
          names[i] = thread_name();
          indices[i] = static_cast<int>(par::current_thread_index().value_or(99));
        });
      }
    });
  });
  for (int i = 0; i < 64; ++i) {
    EXPECT_EQ(names[i].rfind("inner-scope-", 0), 0u) << names[i];
    EXPECT_LT(indices[i], 3);
  }
}

TEST(ParScope, SpawnFromAThreadStartedByASpawnedClosure) {
  par::pool pool = make_pool(2);
  std::atomic<int> ran{0};
  pool.install([&] {
    par::scope([&](par::scope& s) {
      s.spawn([&](par::scope& inner) {
        std::thread helper([&] {
          for (int i = 0; i < 10; ++i) inner.spawn([&] { ran.fetch_add(1); });
        });
        helper.join();
      });
    });
  });
  EXPECT_EQ(ran.load(), 10);
}

TEST(ParScope, ScopeInsideJoinInsideScope) {
  par::pool pool = make_pool(3);
  std::atomic<int> leaves{0};
  pool.install([&] {
    par::scope([&](par::scope& outer) {
      for (int i = 0; i < 4; ++i) {
        outer.spawn([&] {
          auto [x, y] = par::join(
              [&] {
                par::scope([&](par::scope& inner) {
                  for (int j = 0; j < 25; ++j) inner.spawn([&] { leaves.fetch_add(1); });
                });
                return 1;
              },
              [&] {
                par::scope([&](par::scope& inner) {
                  for (int j = 0; j < 25; ++j) inner.spawn([&] { leaves.fetch_add(1); });
                });
                return 2;
              });
          EXPECT_EQ(x + y, 3);
        });
      }
    });
  });
  EXPECT_EQ(leaves.load(), 4 * 50);
}

TEST(ParScope, ManyExternalThreadsOpenScopesConcurrently) {
  par::pool pool = make_pool(2);
  constexpr int kThreads = 8;
  std::vector<int> counts(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::atomic<int> c{0};
      pool.install([&] {
        par::scope([&](par::scope& s) {
          for (int i = 0; i < 200; ++i) s.spawn([&] { c.fetch_add(1); });
        });
      });
      counts[t] = c.load();
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(counts[t], 200) << "thread " << t;
}

// ---------------------------------------------------------------------------------------------------------------
// Exceptions
// ---------------------------------------------------------------------------------------------------------------

TEST(ParScope, BodyThrowsAfterSpawningAllSpawnsStillFinish) {
  par::pool pool = make_pool(2);
  std::atomic<int> finished{0};
  pool.install([&] {
    try {
      par::scope([&](par::scope& s) {
        for (int i = 0; i < 8; ++i) {
          s.spawn([&] {
            std::this_thread::sleep_for(5ms);
            finished.fetch_add(1);
          });
        }
        throw std::runtime_error("body failed");
      });
      ADD_FAILURE() << "scope did not rethrow";
    } catch (const std::runtime_error& e) {
      EXPECT_STREQ(e.what(), "body failed");
      EXPECT_EQ(finished.load(), 8) << "the scope rethrew before its spawns finished";
    }
  });
}

TEST(ParScope, SpawnThrowsOthersStillRunAndItIsRethrownAfterAll) {
  par::pool pool = make_pool(2);
  std::atomic<int> finished{0};
  pool.install([&] {
    try {
      par::scope([&](par::scope& s) {
        for (int i = 0; i < 20; ++i) {
          s.spawn([&, i] {
            if (i == 3) throw std::logic_error("spawn 3 failed");
            std::this_thread::sleep_for(2ms);
            finished.fetch_add(1);
          });
        }
      });
      ADD_FAILURE() << "scope did not rethrow";
    } catch (const std::logic_error& e) {
      EXPECT_STREQ(e.what(), "spawn 3 failed");
      EXPECT_EQ(finished.load(), 19);
    }
  });
}

TEST(ParScope, NestedSpawnThrowsPropagatesToTheScope) {
  par::pool pool = make_pool(2);
  std::atomic<int> finished{0};
  EXPECT_THROW(pool.install([&] {
    par::scope([&](par::scope& s) {
      s.spawn([&](par::scope& inner) {
        inner.spawn([&](par::scope& innermost) {
          innermost.spawn([] { throw std::out_of_range("deep"); });
          finished.fetch_add(1);
        });
        finished.fetch_add(1);
      });
    });
  }),
               std::out_of_range);
  EXPECT_EQ(finished.load(), 2);
}

TEST(ParScope, TheFirstExceptionWinsBodyFirstOnOneThread) {
  // On a one-thread pool the body runs to its end before any spawn starts, so its exception is the first.
  par::pool pool = make_pool(1);
  std::atomic<int> spawns_ran{0};
  try {
    pool.install([&] {
      par::scope([&](par::scope& s) {
        for (int i = 0; i < 5; ++i) {
          s.spawn([&] {
            spawns_ran.fetch_add(1);
            throw std::logic_error("spawn");
          });
        }
        throw std::runtime_error("body");
      });
    });
    ADD_FAILURE() << "scope did not rethrow";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "body");
  } catch (const std::logic_error&) {
    ADD_FAILURE() << "a later exception replaced the first one";
  }
  EXPECT_EQ(spawns_ran.load(), 5);
}

TEST(ParScope, ManyThrowingSpawnsOneIsRethrown) {
  par::pool pool = make_pool(4);
  std::atomic<int> ran{0};
  try {
    pool.install([&] {
      par::scope([&](par::scope& s) {
        for (int i = 0; i < 100; ++i) {
          s.spawn([&, i] {
            ran.fetch_add(1);
            throw std::runtime_error("spawn " + std::to_string(i));
          });
        }
      });
    });
    ADD_FAILURE() << "scope did not rethrow";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()).rfind("spawn ", 0), 0u) << e.what();
  }
  EXPECT_EQ(ran.load(), 100);
}

TEST(ParScope, ExceptionFromAScopeOpenedOutsideAnyPool) {
  std::atomic<int> ran{0};
  EXPECT_THROW(par::scope([&](par::scope& s) {
                 s.spawn([&] { ran.fetch_add(1); });
                 s.spawn([] { throw std::invalid_argument("outside"); });
               }),
               std::invalid_argument);
  EXPECT_EQ(ran.load(), 1);
}

TEST(ParScope, PoolIsUsableAfterScopeExceptions) {
  par::pool pool = make_pool(2);
  for (int round = 0; round < 20; ++round) {
    EXPECT_THROW(pool.install([] {
      par::scope([](par::scope& s) { s.spawn([] { throw std::runtime_error("x"); }); });
    }),
                 std::runtime_error);
  }
  std::atomic<int> ran{0};
  pool.install([&] {
    par::scope([&](par::scope& s) {
      for (int i = 0; i < 50; ++i) s.spawn([&] { ran.fetch_add(1); });
    });
  });
  EXPECT_EQ(ran.load(), 50);
}

// ---------------------------------------------------------------------------------------------------------------
// A spawned closure's captures are destroyed before the scope's count drops: the scope cannot close - and its
// frame be gone - while a capture's destructor still runs.
// ---------------------------------------------------------------------------------------------------------------

struct SlowDestructorGuard {
  explicit SlowDestructorGuard(std::atomic<int>* c) : counter(c) {}
  SlowDestructorGuard(SlowDestructorGuard&& other) noexcept
      : counter(std::exchange(other.counter, nullptr)) {}
  SlowDestructorGuard(const SlowDestructorGuard&) = delete;
  ~SlowDestructorGuard() {
    if (counter == nullptr) return;
    std::this_thread::sleep_for(100ms);
    counter->fetch_add(1);
  }
  std::atomic<int>* counter;
};

TEST(ParScope, CapturesAreDestroyedBeforeTheScopeCloses) {
  par::pool pool = make_pool(2);
  std::atomic<int> destroyed{0};
  std::atomic<bool> started{false};
  pool.install([&] {
    par::scope([&](par::scope& s) {
      s.spawn([guard = SlowDestructorGuard(&destroyed), &started] {
        started.store(true);
        std::this_thread::sleep_for(20ms);
      });
      // Keep the body busy until the other worker took the spawn, so that it is not run by this thread.
      EXPECT_TRUE(wait_for([&] { return started.load(); }));
    });
  });
  EXPECT_EQ(destroyed.load(), 1) << "the scope closed before its spawned closure's captures were destroyed";
}

}  // namespace
