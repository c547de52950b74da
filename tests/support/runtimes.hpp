// Behaviour tests run against every runtime flavor: TEST_P over these.
#pragma once

#include <chrono>
#include <ostream>
#include <string>
#include <utility>

#include <gtest/gtest.h>

#include <tandem/runtime.hpp>
#include <tandem/task.hpp>
#include <tandem/time/timeout.hpp>

namespace test_support {

struct runtime_flavor {
  tandem::runtime::flavor flavor;
  std::size_t workers;
  std::string name;
};

// Failure messages name the flavor rather than dump the struct's bytes.
inline void PrintTo(const runtime_flavor& f, std::ostream* out) {
  *out << f.name;
}

inline tandem::runtime make_runtime(const runtime_flavor& f) {
  auto b = tandem::runtime::builder().runtime_flavor(f.flavor);
  if (f.flavor == tandem::runtime::flavor::multi_thread) b.worker_threads(f.workers);
  return b.build();
}

inline auto all_flavors() {
  return ::testing::Values(runtime_flavor{tandem::runtime::flavor::current_thread, 1, "current_thread"},
                           runtime_flavor{tandem::runtime::flavor::multi_thread, 1, "multi_thread_1"},
                           runtime_flavor{tandem::runtime::flavor::multi_thread, 4, "multi_thread_4"});
}

// The flavors the socket and stream tests run on: two workers, so that a task and the
// readiness it waits for can be on different threads, and the current thread alone.
inline auto io_flavors() {
  return ::testing::Values(runtime_flavor{tandem::runtime::flavor::multi_thread, 2, "multi_thread"},
                           runtime_flavor{tandem::runtime::flavor::current_thread, 1, "current_thread"});
}

inline std::string flavor_name(const ::testing::TestParamInfo<runtime_flavor>& info) {
  return info.param.name;
}

// A TEST_P fixture with a fresh runtime of the parameter's flavor. run() bounds a test body
// in time: a wait for an event that never comes then fails the test instead of hanging it.
class flavored_test : public ::testing::TestWithParam<runtime_flavor> {
 protected:
  void run(tandem::task<void> body, std::chrono::seconds limit = std::chrono::seconds(10)) {
    runtime_.block_on(tandem::timeout(limit, std::move(body)));
  }

  tandem::runtime runtime_ = make_runtime(GetParam());
};

}  // namespace test_support
