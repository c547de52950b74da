// detail/sched/thread_count.hpp: pool sizes from the environment or the core count.
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include <tandem/detail/sched/thread_count.hpp>

namespace {

using tandem::detail::thread_count_from_environment;

constexpr const char* variable = "TANDEM_TEST_THREAD_COUNT";

TEST(ThreadCount, UnsetOrEmptyMeansEveryCore) {
  ::unsetenv(variable);
  const unsigned cores = std::thread::hardware_concurrency();
  EXPECT_EQ(thread_count_from_environment(variable), cores == 0 ? 1u : cores);
  ::setenv(variable, "", 1);
  EXPECT_EQ(thread_count_from_environment(variable), cores == 0 ? 1u : cores);
  ::unsetenv(variable);
}

TEST(ThreadCount, AWholeNumberFromOneTo4096) {
  ::setenv(variable, "1", 1);
  EXPECT_EQ(thread_count_from_environment(variable), 1u);
  ::setenv(variable, "4096", 1);
  EXPECT_EQ(thread_count_from_environment(variable), 4096u);
  ::unsetenv(variable);
}

TEST(ThreadCount, AnythingElseIsAnErrorNamingTheVariable) {
  for (const char* bad : {"0", "4097", "-2", "8 ", "two", "3.5"}) {
    ::setenv(variable, bad, 1);
    try {
      (void)thread_count_from_environment(variable);
      ADD_FAILURE() << "accepted '" << bad << "'";
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find(variable), std::string::npos) << e.what();
    }
  }
  ::unsetenv(variable);
}

}  // namespace
