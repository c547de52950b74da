// sync/oneshot.hpp: one value, sender gone, receiver gone, misuse.
#include <memory>
#include <stdexcept>
#include <thread>

#include <gtest/gtest.h>

#include <tandem/runtime.hpp>
#include <tandem/spawn.hpp>
#include <tandem/sync/oneshot.hpp>

#include "support/runtimes.hpp"

namespace {

using tandem::task;

class Oneshot : public ::testing::TestWithParam<test_support::runtime_flavor> {
 protected:
  tandem::runtime rt = test_support::make_runtime(GetParam());
};

task<> send_later(tandem::oneshot_sender<std::unique_ptr<int>> tx, int value) {
  co_await tandem::yield_now();
  EXPECT_TRUE(tx.send(std::make_unique<int>(value)));
}

task<int> receive_one() {
  auto [tx, rx] = tandem::oneshot<std::unique_ptr<int>>();
  tandem::spawn(send_later(std::move(tx), 42)).detach();
  auto value = co_await rx;
  co_return *value;
}

TEST_P(Oneshot, DeliversOneMoveOnlyValue) {
  EXPECT_EQ(rt.block_on(receive_one()), 42);
}

task<> drop_sender(tandem::oneshot_sender<int> tx) {
  co_await tandem::yield_now();
  (void)tx;
}

task<bool> sender_gone() {
  auto [tx, rx] = tandem::oneshot<int>();
  tandem::spawn(drop_sender(std::move(tx))).detach();
  try {
    co_await rx;
  } catch (const tandem::channel_closed&) {
    co_return true;
  }
  co_return false;
}

TEST_P(Oneshot, ReceiverLearnsTheSenderIsGone) {
  EXPECT_TRUE(rt.block_on(sender_gone()));
}

task<bool> awaited_twice() {
  auto [tx, rx] = tandem::oneshot<int>();
  tx.send(1);
  if (co_await rx != 1) co_return false;
  try {
    co_await rx;
  } catch (const std::logic_error&) {
    co_return true;
  }
  co_return false;
}

TEST_P(Oneshot, ReceivingTwiceIsAClearError) {
  EXPECT_TRUE(rt.block_on(awaited_twice()));
}

task<int> from_plain_thread() {
  auto [tx, rx] = tandem::oneshot<int>();
  std::thread sender([tx = std::move(tx)]() mutable { tx.send(7); });
  int value = co_await rx;
  sender.join();
  co_return value;
}

TEST_P(Oneshot, SendFromAPlainThread) {
  EXPECT_EQ(rt.block_on(from_plain_thread()), 7);
}

TEST(OneshotErrors, SendAfterTheReceiverIsGoneAndSendTwice) {
  auto [tx, rx] = tandem::oneshot<int>();
  { auto gone = std::move(rx); }
  EXPECT_FALSE(tx.send(1));
  EXPECT_THROW(tx.send(2), std::logic_error);
}

INSTANTIATE_TEST_SUITE_P(AllFlavors, Oneshot, test_support::all_flavors(), test_support::flavor_name);

}  // namespace
