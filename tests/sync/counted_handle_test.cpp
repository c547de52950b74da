// detail/sync/counted_handle.hpp through the channel handles built on it (sync/mpsc.hpp, sync/broadcast.hpp,
// sync/watch.hpp): which are copyable, the exact message a moved-from handle throws, and the
// channel's counts across copy, assignment and destruction (the end of the stream, or
// no receiver left, is what makes a count visible). On plain threads: no runtime needed.
#include <concepts>
#include <optional>
#include <stdexcept>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include <tandem/errors.hpp>
#include <tandem/sync/broadcast.hpp>
#include <tandem/sync/mpsc.hpp>
#include <tandem/sync/watch.hpp>

namespace {

// The message of the std::logic_error `use` throws, or "" when it throws none.
template <class F>
std::string logic_error_message(F&& use) {
  try {
    use();
  } catch (const std::logic_error& error) {
    return error.what();
  }
  return "";
}

// `handle = std::move(handle)`, past the compilers' self-move warning.
template <class Handle>
void assign_to_itself(Handle& handle) {
  Handle& same = handle;
  handle = std::move(same);
}

template <class T>
concept nothrow_movable = std::is_nothrow_move_constructible_v<T> && std::is_nothrow_move_assignable_v<T>;
template <class T>
concept copyable_handle = std::copyable<T> && nothrow_movable<T>;
template <class T>
concept move_only_handle =
    !std::is_copy_constructible_v<T> && !std::is_copy_assignable_v<T> && nothrow_movable<T>;

static_assert(copyable_handle<tandem::mpsc::sender<int>>);
static_assert(copyable_handle<tandem::mpsc::unbounded_sender<int>>);
static_assert(move_only_handle<tandem::mpsc::receiver<int>>);
static_assert(copyable_handle<tandem::broadcast::sender<int>>);
static_assert(copyable_handle<tandem::broadcast::receiver<int>>);
static_assert(move_only_handle<tandem::watch::sender<int>>);
static_assert(copyable_handle<tandem::watch::receiver<int>>);

// --- Messages ------------------------------------------------------------------------

TEST(CountedHandle, MpscMovedFromMessages) {
  auto [tx, rx] = tandem::mpsc::channel<int>(1);
  auto [utx, urx] = tandem::mpsc::unbounded_channel<int>();
  auto kept = std::make_tuple(std::move(tx), std::move(rx), std::move(utx), std::move(urx));
  EXPECT_EQ(logic_error_message([&] { (void)tx.send(1); }),
            "tandem::mpsc::sender::send: the sender was moved from");
  EXPECT_EQ(logic_error_message([&] { tx.try_send(1); }),
            "tandem::mpsc::sender::try_send: the sender was moved from");
  EXPECT_EQ(logic_error_message([&] { tx.blocking_send(1); }),
            "tandem::mpsc::sender::blocking_send: the sender was moved from");
  EXPECT_EQ(logic_error_message([&] { (void)tx.is_closed(); }),
            "tandem::mpsc::sender::is_closed: the sender was moved from");
  EXPECT_EQ(logic_error_message([&] { utx.send(1); }),
            "tandem::mpsc::sender::send: the sender was moved from");
  EXPECT_EQ(logic_error_message([&] { (void)utx.is_closed(); }),
            "tandem::mpsc::sender::is_closed: the sender was moved from");
  std::vector<int> out;
  EXPECT_EQ(logic_error_message([&] { (void)rx.recv(); }),
            "tandem::mpsc::receiver::recv: the receiver was moved from");
  EXPECT_EQ(logic_error_message([&] { (void)rx.recv_many(out, 1); }),
            "tandem::mpsc::receiver::recv_many: the receiver was moved from");
  EXPECT_EQ(logic_error_message([&] { rx.try_recv(); }),
            "tandem::mpsc::receiver::try_recv: the receiver was moved from");
  EXPECT_EQ(logic_error_message([&] { rx.blocking_recv(); }),
            "tandem::mpsc::receiver::blocking_recv: the receiver was moved from");
  EXPECT_EQ(logic_error_message([&] { rx.close(); }),
            "tandem::mpsc::receiver::close: the receiver was moved from");
}

TEST(CountedHandle, BroadcastMovedFromMessages) {
  auto [tx, rx] = tandem::broadcast::channel<int>(1);
  auto kept = std::make_pair(std::move(tx), std::move(rx));
  EXPECT_EQ(logic_error_message([&] { tx.send(1); }),
            "tandem::broadcast::sender::send: the sender was moved from");
  EXPECT_EQ(logic_error_message([&] { (void)tx.subscribe(); }),
            "tandem::broadcast::sender::subscribe: the sender was moved from");
  EXPECT_EQ(logic_error_message([&] { (void)tx.receiver_count(); }),
            "tandem::broadcast::sender::receiver_count: the sender was moved from");
  EXPECT_EQ(logic_error_message([&] { (void)rx.recv(); }),
            "tandem::broadcast::receiver::recv: the receiver was moved from");
  EXPECT_EQ(logic_error_message([&] { (void)rx.try_recv(); }),
            "tandem::broadcast::receiver::try_recv: the receiver was moved from");
}

TEST(CountedHandle, WatchMovedFromMessages) {
  auto [tx, rx] = tandem::watch::channel<int>(0);
  auto kept = std::make_pair(std::move(tx), std::move(rx));
  EXPECT_EQ(logic_error_message([&] { tx.send(1); }),
            "tandem::watch::sender::send: the sender was moved from");
  EXPECT_EQ(logic_error_message([&] { (void)tx.send_replace(1); }),
            "tandem::watch::sender::send_replace: the sender was moved from");
  EXPECT_EQ(logic_error_message([&] { tx.send_modify([](int&) {}); }),
            "tandem::watch::sender::send_modify: the sender was moved from");
  EXPECT_EQ(logic_error_message([&] { (void)tx.borrow(); }),
            "tandem::watch::sender::borrow: the sender was moved from");
  EXPECT_EQ(logic_error_message([&] { (void)tx.subscribe(); }),
            "tandem::watch::sender::subscribe: the sender was moved from");
  EXPECT_EQ(logic_error_message([&] { (void)rx.changed(); }),
            "tandem::watch::receiver::changed: the receiver was moved from");
  EXPECT_EQ(logic_error_message([&] { (void)rx.borrow(); }),
            "tandem::watch::receiver::borrow: the receiver was moved from");
  EXPECT_EQ(logic_error_message([&] { (void)rx.borrow_and_update(); }),
            "tandem::watch::receiver::borrow_and_update: the receiver was moved from");
  EXPECT_EQ(logic_error_message([&] { (void)rx.has_changed(); }),
            "tandem::watch::receiver::has_changed: the receiver was moved from");
}

// --- Counts --------------------------------------------------------------------------

TEST(CountedHandle, MpscSenderCopiesCountUntilTheLastGoes) {
  auto [tx, rx] = tandem::mpsc::unbounded_channel<int>();
  std::optional<tandem::mpsc::unbounded_sender<int>> copy(tx);
  { auto gone = std::move(tx); }
  copy->send(1);
  std::optional<tandem::mpsc::unbounded_sender<int>> assigned;
  assigned.emplace(*copy);
  *assigned = *copy;  // the same channel: one added, one dropped
  copy.reset();
  assigned->send(2);
  EXPECT_EQ(rx.blocking_recv(), 1);
  EXPECT_EQ(rx.blocking_recv(), 2);
  assigned.reset();
  EXPECT_EQ(rx.blocking_recv(), std::nullopt);  // the last sender went: the end
}

TEST(CountedHandle, MpscSenderAssignmentDropsTheOldChannel) {
  auto [first_tx, first_rx] = tandem::mpsc::channel<int>(1);
  auto [second_tx, second_rx] = tandem::mpsc::channel<int>(1);
  first_tx = second_tx;  // copy assignment
  EXPECT_EQ(first_rx.blocking_recv(), std::nullopt);
  auto [third_tx, third_rx] = tandem::mpsc::channel<int>(1);
  second_tx = std::move(third_tx);  // move assignment
  EXPECT_EQ(first_tx.try_send(7), tandem::mpsc::send_status::sent);
  EXPECT_EQ(second_rx.try_recv(), 7);
  first_tx = second_tx;  // second's last sender goes; third now has two
  EXPECT_EQ(second_rx.blocking_recv(), std::nullopt);
  EXPECT_EQ(first_tx.try_send(8), tandem::mpsc::send_status::sent);
  EXPECT_EQ(third_rx.try_recv(), 8);
  assign_to_itself(first_tx);  // self-assignment keeps the sender
  EXPECT_EQ(first_tx.try_send(9), tandem::mpsc::send_status::sent);
  EXPECT_EQ(third_rx.try_recv(), 9);
}

TEST(CountedHandle, MpscReceiverAssignmentClosesTheOldChannel) {
  auto [first_tx, first_rx] = tandem::mpsc::channel<int>(1);
  auto [second_tx, second_rx] = tandem::mpsc::channel<int>(1);
  EXPECT_EQ(first_tx.try_send(1), tandem::mpsc::send_status::sent);
  first_rx = std::move(second_rx);
  EXPECT_TRUE(first_tx.is_closed());
  EXPECT_EQ(first_tx.try_send(2), tandem::mpsc::send_status::closed);
  EXPECT_EQ(second_tx.try_send(3), tandem::mpsc::send_status::sent);
  EXPECT_EQ(first_rx.try_recv(), 3);
  assign_to_itself(first_rx);  // self-assignment keeps the receiver
  EXPECT_FALSE(second_tx.is_closed());
  { auto gone = std::move(first_rx); }
  EXPECT_TRUE(second_tx.is_closed());
}

TEST(CountedHandle, BroadcastSenderCopiesCountUntilTheLastGoes) {
  auto [tx, rx] = tandem::broadcast::channel<int>(4);
  std::optional<tandem::broadcast::sender<int>> copy(tx);
  { auto gone = std::move(tx); }
  EXPECT_EQ(copy->send(1), 1u);
  auto [other_tx, other_rx] = tandem::broadcast::channel<int>(4);
  std::optional<tandem::broadcast::sender<int>> assigned(other_tx);
  *assigned = *copy;  // other keeps other_tx; this channel has two senders
  copy.reset();
  EXPECT_EQ(assigned->send(2), 1u);
  EXPECT_EQ(rx.try_recv(), 1);
  EXPECT_EQ(rx.try_recv(), 2);
  EXPECT_EQ(rx.try_recv(), std::nullopt);
  assigned.reset();
  EXPECT_THROW(rx.try_recv(), tandem::channel_closed);
  EXPECT_EQ(other_tx.send(3), 1u);
  EXPECT_EQ(other_rx.try_recv(), 3);
  { auto gone = std::move(other_tx); }
  EXPECT_THROW(other_rx.try_recv(), tandem::channel_closed);
}

TEST(CountedHandle, WatchReceiverCopiesCountAndCarryWhatTheyHaveSeen) {
  auto [tx, rx] = tandem::watch::channel<int>(0);
  tx.send(1);
  auto copy = rx;  // has not seen 1 either
  EXPECT_TRUE(copy.has_changed());
  EXPECT_EQ(*copy.borrow_and_update(), 1);
  auto seen_copy = copy;
  EXPECT_FALSE(seen_copy.has_changed());
  rx = seen_copy;  // copy assignment carries what was seen
  EXPECT_FALSE(rx.has_changed());
  { auto gone = std::move(seen_copy); }
  { auto gone = std::move(copy); }
  tx.send(2);  // rx is still there
  EXPECT_TRUE(rx.has_changed());
  auto [other_tx, other_rx] = tandem::watch::channel<int>(0);
  other_rx = std::move(rx);  // the other channel's only receiver goes
  EXPECT_THROW(other_tx.send(1), tandem::channel_closed);
  EXPECT_TRUE(other_rx.has_changed());
  { auto gone = std::move(other_rx); }
  EXPECT_THROW(tx.send(3), tandem::channel_closed);
  EXPECT_EQ(tx.send_replace(4), 2);  // stored even with no receiver
}

TEST(CountedHandle, WatchSenderAssignmentEndsTheOldChannel) {
  auto [first_tx, first_rx] = tandem::watch::channel<int>(0);
  auto [second_tx, second_rx] = tandem::watch::channel<int>(0);
  first_tx = std::move(second_tx);
  EXPECT_THROW((void)first_rx.has_changed(), tandem::channel_closed);
  first_tx.send(5);
  EXPECT_TRUE(second_rx.has_changed());
  assign_to_itself(first_tx);  // self-assignment keeps the sender
  first_tx.send(6);
  EXPECT_EQ(*second_rx.borrow_and_update(), 6);
  { auto gone = std::move(first_tx); }
  EXPECT_THROW((void)second_rx.has_changed(), tandem::channel_closed);
}

}  // namespace
