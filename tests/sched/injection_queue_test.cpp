#include "tandem/detail/sched/injection_queue.hpp"

#include <gtest/gtest.h>

namespace {

using queue = tandem::detail::injection_queue<int>;

TEST(InjectionQueue, FirstInFirstOut) {
  queue q;
  EXPECT_TRUE(q.looks_empty());
  EXPECT_FALSE(q.pop().has_value());
  for (int i = 0; i < 100; ++i) q.push(i);
  EXPECT_FALSE(q.looks_empty());
  for (int i = 0; i < 100; ++i) ASSERT_EQ(q.pop(), i);
  EXPECT_TRUE(q.looks_empty());
  EXPECT_FALSE(q.pop().has_value());
}

}  // namespace
