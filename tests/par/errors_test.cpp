// par/errors.hpp: the error types the par engine reports.
#include <stdexcept>
#include <string>
#include <type_traits>

#include <gtest/gtest.h>

#include <tandem/par/errors.hpp>
#include <tandem/par/join.hpp>
#include <tandem/par/pool.hpp>

namespace {

namespace par = tandem::par;

TEST(ParErrors, StackExhaustedIsARuntimeErrorWithItsMessage) {
  static_assert(std::is_base_of_v<std::runtime_error, par::stack_exhausted>);
  const par::stack_exhausted error("nested too deep");
  EXPECT_STREQ(error.what(), "nested too deep");
}

void nest(int depth) {
  if (depth == 0) return;
  par::join([depth] { nest(depth - 1); }, [] {});
}

TEST(ParErrors, JoinReportsExhaustionWithAMessageThatSaysWhatToDo) {
  auto pool = par::pool::builder().num_threads(1).stack_size(256 << 10).build();
  try {
    pool.install([] { nest(1'000'000); });
    FAIL() << "a million nested joins fit in a 256 KiB stack";
  } catch (const par::stack_exhausted& e) {
    EXPECT_NE(std::string(e.what()).find("stack_size"), std::string::npos) << e.what();
  }
}

}  // namespace
