// Behaviour tests run against every runtime flavor: TEST_P over these.
#pragma once

#include <string>

#include <gtest/gtest.h>

#include <tandem/runtime.hpp>

namespace test_support {

struct runtime_flavor {
  tandem::runtime::flavor flavor;
  std::size_t workers;
  std::string name;
};

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

inline std::string flavor_name(const ::testing::TestParamInfo<runtime_flavor>& info) {
  return info.param.name;
}

}  // namespace test_support
