// errors.hpp: the async runtime's error types.
#include <stdexcept>
#include <string>
#include <type_traits>

#include <gtest/gtest.h>

#include <tandem/errors.hpp>

namespace {

TEST(Errors, TaskCancelledSaysWhatHappened) {
  static_assert(std::is_base_of_v<std::runtime_error, tandem::task_cancelled>);
  const tandem::task_cancelled error;
  EXPECT_NE(std::string(error.what()).find("cancelled"), std::string::npos) << error.what();
}

TEST(Errors, ChannelClosedCarriesItsMessage) {
  static_assert(std::is_base_of_v<std::runtime_error, tandem::channel_closed>);
  const tandem::channel_closed error("the sender is gone");
  EXPECT_STREQ(error.what(), "the sender is gone");
}

}  // namespace
