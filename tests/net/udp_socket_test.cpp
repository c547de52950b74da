#include "tandem/net/udp_socket.hpp"

#include <array>
#include <cerrno>
#include <chrono>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tandem/combine.hpp"
#include "tandem/runtime.hpp"
#include "tandem/spawn.hpp"
#include "tandem/time/sleep.hpp"

#include "support/process_resources.hpp"
#include "support/runtimes.hpp"
#include "support/sync_waiting.hpp"

namespace {

using namespace std::chrono_literals;
using tandem::task;
using tandem::net::received_datagram;
using tandem::net::socket_address;
using tandem::net::udp_socket;

using test_support::open_descriptor_count;

bool ipv6_loopback_available() {
  const int fd = ::socket(AF_INET6, SOCK_DGRAM, 0);
  if (fd < 0) return false;
  sockaddr_in6 address{};
  address.sin6_family = AF_INET6;
  address.sin6_addr = in6addr_loopback;
  const bool bound = ::bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0;
  ::close(fd);
  return bound;
}

// Receives one datagram on a socket shared with other tasks (shared so that a test
// failing early cannot free it under a receiver still waiting).
task<std::string> receive_one(std::shared_ptr<udp_socket> socket) {
  std::array<char, 256> buffer{};
  const received_datagram got = co_await socket->recv_from(buffer);
  co_return std::string(buffer.data(), got.size);
}

class udp_socket_test : public test_support::flavored_test {};

TEST_P(udp_socket_test, send_to_and_recv_from_round_trip_with_the_sender) {
  run([]() -> task<void> {
    auto client = udp_socket::bind(socket_address::loopback(0));
    auto server = udp_socket::bind(socket_address::loopback(0));
    const socket_address server_address = server.local_addr();
    const std::size_t sent = co_await client.send_to("ping", server_address);
    EXPECT_EQ(sent, 4u);

    std::array<char, 64> buffer{};
    const received_datagram request = co_await server.recv_from(buffer);
    EXPECT_EQ(std::string_view(buffer.data(), request.size), "ping");
    EXPECT_EQ(request.from, client.local_addr());

    const std::size_t echoed =
        co_await server.send_to(std::as_bytes(std::span(buffer.data(), request.size)), request.from);
    EXPECT_EQ(echoed, 4u);
    const received_datagram reply = co_await client.recv_from(std::as_writable_bytes(std::span(buffer)));
    EXPECT_EQ(std::string_view(buffer.data(), reply.size), "ping");
    EXPECT_EQ(reply.from, server_address);
  }());
}

TEST_P(udp_socket_test, round_trips_over_ipv6) {
  if (!ipv6_loopback_available()) GTEST_SKIP() << "no IPv6 loopback here";
  run([]() -> task<void> {
    auto first = udp_socket::bind(socket_address("::1", 0));
    auto second = udp_socket::bind(socket_address("::1", 0));
    co_await first.send_to("six", second.local_addr());
    std::array<char, 16> buffer{};
    const received_datagram got = co_await second.recv_from(buffer);
    EXPECT_EQ(std::string_view(buffer.data(), got.size), "six");
    EXPECT_TRUE(got.from.is_ipv6());
    EXPECT_EQ(got.from, first.local_addr());
  }());
}

TEST_P(udp_socket_test, connected_sockets_send_and_recv_and_ignore_strangers) {
  run([]() -> task<void> {
    auto left = udp_socket::bind(socket_address::loopback(0));
    auto right = udp_socket::bind(socket_address::loopback(0));
    auto stranger = udp_socket::bind(socket_address::loopback(0));
    left.connect(right.local_addr());
    right.connect(left.local_addr());
    EXPECT_EQ(left.peer_addr(), right.local_addr());
    EXPECT_EQ(right.peer_addr(), left.local_addr());

    // Dropped at once: a connected socket only takes its peer's datagrams.
    co_await stranger.send_to("stranger", right.local_addr());
    const std::size_t sent = co_await left.send("hello");
    EXPECT_EQ(sent, 5u);
    std::array<char, 64> buffer{};
    std::size_t n = co_await right.recv(buffer);
    EXPECT_EQ(std::string_view(buffer.data(), n), "hello");

    co_await right.send(std::as_bytes(std::span(buffer.data(), n)));
    n = co_await left.recv(std::as_writable_bytes(std::span(buffer)));
    EXPECT_EQ(std::string_view(buffer.data(), n), "hello");
  }());
}

TEST_P(udp_socket_test, send_without_a_peer_names_the_local_address) {
  run([]() -> task<void> {
    auto socket = udp_socket::bind(socket_address::loopback(0));
    const std::string local = socket.local_addr().to_string();
    try {
      co_await socket.send("nowhere");
      ADD_FAILURE() << "sent without a peer";
    } catch (const std::system_error& error) {
      EXPECT_EQ(error.code().value(), EDESTADDRREQ);
      EXPECT_NE(std::string(error.what()).find("tandem::net::udp_socket::send"), std::string::npos)
          << error.what();
      EXPECT_NE(std::string(error.what()).find(local), std::string::npos) << error.what();
    }
    try {
      socket.peer_addr();
      ADD_FAILURE() << "an unconnected socket has a peer";
    } catch (const std::system_error& error) {
      EXPECT_EQ(error.code().value(), ENOTCONN);
    }
  }());
}

TEST_P(udp_socket_test, a_connected_socket_hears_that_the_peer_port_is_closed) {
  run([]() -> task<void> {
    socket_address closed;
    { closed = udp_socket::bind(socket_address::loopback(0)).local_addr(); }
    auto socket = udp_socket::bind(socket_address::loopback(0));
    socket.connect(closed);
    co_await socket.send("anyone?");
    std::array<char, 16> buffer{};
    try {
      // The refusal comes back as an ICMP error, which the next receive reports.
      co_await socket.recv(buffer);
      ADD_FAILURE() << "received from a closed port";
    } catch (const std::system_error& error) {
      EXPECT_EQ(error.code().value(), ECONNREFUSED);
      EXPECT_NE(std::string(error.what()).find("tandem::net::udp_socket::recv"), std::string::npos)
          << error.what();
      EXPECT_NE(std::string(error.what()).find("peer " + closed.to_string()), std::string::npos)
          << error.what();
    }
  }());
}

TEST_P(udp_socket_test, each_datagram_is_received_whole_or_cut_to_the_buffer) {
  run([]() -> task<void> {
    auto sender = udp_socket::bind(socket_address::loopback(0));
    auto receiver = udp_socket::bind(socket_address::loopback(0));
    const std::string long_datagram(100, 'x');
    co_await sender.send_to(long_datagram, receiver.local_addr());
    co_await sender.send_to("next", receiver.local_addr());

    std::array<char, 10> small{};
    const received_datagram cut = co_await receiver.recv_from(small);
    EXPECT_EQ(cut.size, small.size());
    // The rest of the long datagram is gone: the next receive gets the next datagram.
    std::array<char, 64> buffer{};
    const received_datagram next = co_await receiver.recv_from(buffer);
    EXPECT_EQ(std::string_view(buffer.data(), next.size), "next");
  }());
}

// A datagram shorter than the buffer says nothing about the queue: the second datagram,
// which came with the same readiness event as the first, must be received without
// waiting for another event (none would come).
TEST_P(udp_socket_test, a_short_datagram_does_not_hide_the_next_one) {
  run([]() -> task<void> {
    auto sender = udp_socket::bind(socket_address::loopback(0));
    auto receiver = std::make_shared<udp_socket>(udp_socket::bind(socket_address::loopback(0)));
    auto both = tandem::spawn([](std::shared_ptr<udp_socket> socket) -> task<std::string> {
      std::string first = co_await receive_one(socket);
      std::string second = co_await receive_one(socket);
      co_return first + "," + second;
    }(receiver));
    // Lets the receiver wait first, so that both datagrams arrive as one event.
    co_await tandem::yield_now();
    const socket_address destination = receiver->local_addr();
    co_await sender.send_to("one", destination);
    co_await sender.send_to("two", destination);
    const std::string received = co_await both;
    EXPECT_EQ(received, "one,two");
  }());
}

TEST_P(udp_socket_test, a_receive_that_loses_a_select_leaves_the_socket_usable) {
  run([]() -> task<void> {
    const std::size_t descriptors_before = open_descriptor_count();
    {
      auto socket = udp_socket::bind(socket_address::loopback(0));
      std::array<char, 32> buffer{};
      auto race = tandem::select(socket.recv_from(buffer), tandem::sleep(20ms));
      auto outcome = co_await race;
      EXPECT_EQ(outcome.index(), 1u);

      auto sender = udp_socket::bind(socket_address::loopback(0));
      co_await sender.send_to("after", socket.local_addr());
      const received_datagram got = co_await socket.recv_from(buffer);
      EXPECT_EQ(std::string_view(buffer.data(), got.size), "after");
      EXPECT_EQ(got.from, sender.local_addr());
    }
    EXPECT_EQ(open_descriptor_count(), descriptors_before);
  }());
}

TEST_P(udp_socket_test, an_aborted_receiver_takes_nothing_and_leaks_nothing) {
  run([]() -> task<void> {
    const std::size_t descriptors_before = open_descriptor_count();
    {
      auto socket = std::make_shared<udp_socket>(udp_socket::bind(socket_address::loopback(0)));
      auto waiting = tandem::spawn(receive_one(socket));
      co_await tandem::yield_now();
      EXPECT_TRUE(co_await test_support::abort_and_join(std::move(waiting)));

      auto sender = udp_socket::bind(socket_address::loopback(0));
      co_await sender.send_to("kept", socket->local_addr());
      const std::string received = co_await receive_one(socket);
      EXPECT_EQ(received, "kept");
    }
    EXPECT_EQ(open_descriptor_count(), descriptors_before);
  }());
}

TEST_P(udp_socket_test, concurrent_receivers_each_get_one_datagram) {
  run([]() -> task<void> {
    constexpr int receiver_count = 4;
    auto socket = std::make_shared<udp_socket>(udp_socket::bind(socket_address::loopback(0)));
    auto sender = udp_socket::bind(socket_address::loopback(0));
    std::vector<tandem::join_handle<std::string>> receivers;
    for (int i = 0; i < receiver_count; ++i) receivers.push_back(tandem::spawn(receive_one(socket)));
    co_await tandem::yield_now();

    const socket_address destination = socket->local_addr();
    std::set<std::string> sent;
    for (int i = 0; i < receiver_count; ++i) {
      const std::string datagram = "datagram " + std::to_string(i);
      co_await sender.send_to(datagram, destination);
      sent.insert(datagram);
    }
    std::set<std::string> received;
    for (auto& receiver : receivers) {
      std::string datagram = co_await receiver;
      received.insert(std::move(datagram));
    }
    EXPECT_EQ(received, sent);
  }());
}

TEST_P(udp_socket_test, an_oversized_datagram_names_the_destination) {
  run([]() -> task<void> {
    auto socket = udp_socket::bind(socket_address::loopback(0));
    const socket_address destination = socket.local_addr();
    const std::vector<std::byte> too_big(70000);
    try {
      co_await socket.send_to(too_big, destination);
      ADD_FAILURE() << "sent a datagram larger than UDP allows";
    } catch (const std::system_error& error) {
      EXPECT_EQ(error.code().value(), EMSGSIZE);
      EXPECT_NE(std::string(error.what()).find("tandem::net::udp_socket::send_to"), std::string::npos)
          << error.what();
      EXPECT_NE(std::string(error.what()).find(destination.to_string()), std::string::npos) << error.what();
    }
  }());
}

TEST_P(udp_socket_test, binding_a_taken_address_names_it) {
  run([]() -> task<void> {
    auto first = udp_socket::bind(socket_address::loopback(0));
    const socket_address taken = first.local_addr();
    try {
      udp_socket::bind(taken);
      ADD_FAILURE() << "bound a taken address";
    } catch (const std::system_error& error) {
      EXPECT_EQ(error.code().value(), EADDRINUSE);
      EXPECT_NE(std::string(error.what()).find(taken.to_string()), std::string::npos) << error.what();
    }
    co_return;
  }());
}

TEST_P(udp_socket_test, broadcast_can_be_switched) {
  run([]() -> task<void> {
    auto socket = udp_socket::bind(socket_address::any(0));
    EXPECT_FALSE(socket.broadcast());
    socket.set_broadcast(true);
    EXPECT_TRUE(socket.broadcast());
    socket.set_broadcast(false);
    EXPECT_FALSE(socket.broadcast());
    co_return;
  }());
}

TEST_P(udp_socket_test, a_moved_from_socket_refuses_operations) {
  run([]() -> task<void> {
    auto socket = udp_socket::bind(socket_address::loopback(0));
    udp_socket taken = std::move(socket);
    EXPECT_TRUE(taken.is_open());
    EXPECT_FALSE(socket.is_open());
    std::array<char, 8> buffer{};
    EXPECT_THROW(socket.recv_from(buffer), std::logic_error);
    EXPECT_THROW(socket.local_addr(), std::logic_error);
    co_return;
  }());
}

INSTANTIATE_TEST_SUITE_P(flavors, udp_socket_test, test_support::io_flavors(), test_support::flavor_name);

TEST(udp_socket_outside_a_runtime, bind_throws_logic_error) {
  EXPECT_THROW(udp_socket::bind(socket_address::loopback(0)), std::logic_error);
}

}  // namespace
