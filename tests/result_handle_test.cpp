// result_handle.hpp: a result delivered by another thread.
#include <atomic>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include <tandem/result_handle.hpp>
#include <tandem/runtime.hpp>
#include <tandem/spawn_blocking.hpp>

#include "support/waiting.hpp"

namespace {

using namespace std::chrono_literals;
using tandem::task;

TEST(ResultHandle, VoidAndReferenceResults) {
  auto rt = tandem::runtime::builder().worker_threads(2).build();
  static int target = 0;
  auto body = []() -> task<int> {
    co_await tandem::spawn_blocking([] { target = 4; });
    int& ref = co_await tandem::spawn_blocking([]() -> int& { return target; });
    co_return ref + 1;
  };
  EXPECT_EQ(rt.block_on(body()), 5);
}

TEST(ResultHandle, DroppedHandleLetsTheWorkFinish) {
  auto ran = std::make_shared<std::atomic<bool>>(false);
  {
    auto rt = tandem::runtime::builder().worker_threads(1).build();
    {
      auto dropped = rt.spawn_blocking([ran] {
        std::this_thread::sleep_for(5ms);
        ran->store(true);
      });
    }
    EXPECT_TRUE(test_support::wait_for([&] { return ran->load(); }));
  }
  EXPECT_TRUE(ran->load());
}

}  // namespace
