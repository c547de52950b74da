#include "tandem/net/tcp_stream.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include "support/loopback.hpp"
#include "support/process_resources.hpp"
#include "support/runtimes.hpp"
#include "support/sync_waiting.hpp"
#include "tandem/combine.hpp"
#include "tandem/errors.hpp"
#include "tandem/net/tcp_listener.hpp"
#include "tandem/runtime.hpp"
#include "tandem/spawn.hpp"
#include "tandem/sync/notify.hpp"
#include "tandem/time/sleep.hpp"
#include "tandem/time/timeout.hpp"

namespace {

using namespace std::chrono_literals;
using tandem::task;
using tandem::net::shutdown_direction;
using tandem::net::socket_address;
using tandem::net::tcp_listener;
using tandem::net::tcp_read_half;
using tandem::net::tcp_stream;
using tandem::net::tcp_write_half;
using test_support::connect_to;

// Bounds every wait that only a broken reactor would make long: the test fails with
// tandem::timed_out instead of hanging.
constexpr auto generous = 30s;

class tcp_stream_test : public test_support::flavored_test {};

task<void> echo_once(tcp_listener& listener) {
  tcp_stream peer = co_await listener.accept();
  co_await test_support::echo_until_end(peer);
}

TEST_P(tcp_stream_test, round_trips_many_messages) {
  const std::string result = runtime_.block_on([]() -> task<std::string> {
    auto listener = tcp_listener::bind(socket_address::loopback(0));
    auto server = tandem::spawn(echo_once(listener));
    tcp_stream client = co_await connect_to(listener);
    const std::string all = co_await test_support::round_trip_messages(client, 1000);
    client.shutdown();
    co_await server;
    co_return all.substr(0, 20);
  }());
  EXPECT_EQ(result, "message 0;message 1;");
}

TEST_P(tcp_stream_test, connecting_to_a_closed_port_names_the_address) {
  runtime_.block_on([]() -> task<void> {
    std::uint16_t port = 0;
    {
      auto listener = tcp_listener::bind(socket_address::loopback(0));
      port = listener.local_addr().port();
    }
    try {
      co_await tcp_stream::connect(socket_address::loopback(port));
      ADD_FAILURE() << "connected to a closed port";
    } catch (const std::system_error& error) {
      EXPECT_EQ(error.code().value(), ECONNREFUSED);
      EXPECT_NE(std::string(error.what()).find("127.0.0.1:" + std::to_string(port)), std::string::npos) << error.what();
    }
  }());
}

// The byte at `index` of a test stream: a pattern that shows misplaced bytes.
std::byte pattern_byte(std::size_t index) {
  return static_cast<std::byte>((index * 131 + index / 251) & 0xff);
}

std::vector<std::byte> pattern(std::size_t size) {
  std::vector<std::byte> bytes(size);
  for (std::size_t i = 0; i < size; ++i) bytes[i] = pattern_byte(i);
  return bytes;
}

// A peer that resets the connection (SO_LINGER {1, 0}: close sends RST) while we write a
// lot: the write throws std::system_error (EPIPE or ECONNRESET). SIGPIPE keeps its default
// action, which would kill the process if a send raised it.
TEST_P(tcp_stream_test, a_peer_resetting_mid_write_throws_and_never_raises_sigpipe) {
  struct sigaction current{};
  ASSERT_EQ(sigaction(SIGPIPE, nullptr, &current), 0);
  ASSERT_TRUE(current.sa_handler == SIG_DFL) << "SIGPIPE must keep its default action for this test to mean anything";

  const int error = runtime_.block_on([]() -> task<int> {
    auto listener = tcp_listener::bind(socket_address::loopback(0));
    auto resetter = tandem::spawn([](const tcp_listener& listener) -> task<void> {
      tcp_stream peer = co_await listener.accept();
      // The first byte says the client is writing; reset the connection under it.
      std::array<char, 1> first;
      co_await peer.read_exact(first);
      const linger reset{1, 0};
      if (setsockopt(peer.native_handle(), SOL_SOCKET, SO_LINGER, &reset, sizeof reset) != 0)
        throw std::system_error(errno, std::generic_category(), "setsockopt(SO_LINGER)");
    }(listener));
    tcp_stream client = co_await connect_to(listener);
    const std::vector<std::byte> chunk(4 << 20, std::byte{0x5a});
    int code = 0;
    try {
      // 256 MiB at most: far more than loopback's buffers hold, so the reset comes first.
      for (int i = 0; i < 64; ++i) co_await tandem::timeout(generous, client.write_all(chunk));
    } catch (const std::system_error& e) {
      code = e.code().value();
    }
    // The first failing send usually says ECONNRESET, which raises no SIGPIPE; a send on
    // the connection now reset says EPIPE, which does unless the write suppresses it.
    int again = 0;
    try {
      co_await client.write_all(std::string_view("again"));
    } catch (const std::system_error& e) {
      again = e.code().value();
    }
    EXPECT_TRUE(again == EPIPE || again == ECONNRESET) << "a write after the reset: errno " << again;
    co_await resetter;
    co_return code;
  }());
  EXPECT_TRUE(error == EPIPE || error == ECONNRESET) << "got errno " << error << " (0: every write succeeded)";
}

// Half-close: the client ends its writing side; the server reads the end (0) and can still
// write its reply, which the client reads before its own end of stream.
TEST_P(tcp_stream_test, half_close_lets_the_peer_reply_after_reading_the_end) {
  const auto [request, reply, write_after_shutdown] = runtime_.block_on([]() -> task<std::tuple<std::string, std::string, int>> {
    auto listener = tcp_listener::bind(socket_address::loopback(0));
    auto server = tandem::spawn([](const tcp_listener& listener) -> task<std::string> {
      tcp_stream peer = co_await listener.accept();
      std::string request;
      std::array<char, 64> buffer;
      for (;;) {
        const std::size_t n = co_await peer.read(buffer);
        if (n == 0) break;
        request.append(buffer.data(), n);
      }
      co_await peer.write_all("reply to " + request);
      co_return request;  // closes: the client then reads its end of stream
    }(listener));
    tcp_stream client = co_await connect_to(listener);
    co_await client.write_all(std::string_view("question"));
    client.shutdown(shutdown_direction::write);
    int write_error = 0;
    try {
      co_await client.write_all(std::string_view("more"));
    } catch (const std::system_error& e) {
      write_error = e.code().value();
    }
    std::string reply;
    std::array<char, 64> buffer;
    for (;;) {
      const std::size_t n = co_await tandem::timeout(generous, client.read(buffer));
      if (n == 0) break;
      reply.append(buffer.data(), n);
    }
    std::string request = co_await server;
    co_return std::tuple{request, reply, write_error};
  }());
  EXPECT_EQ(request, "question");
  EXPECT_EQ(reply, "reply to question");
  EXPECT_EQ(write_after_shutdown, EPIPE) << "a write after shutdown(write) must fail with EPIPE (and no SIGPIPE)";
}

// The end of the stream arriving together with the last bytes (one epoll edge for both,
// while the reader waits): the read that takes the bytes is short, and the next read must
// still see the end rather than wait for an event that will not come. Likewise read_exact:
// end_of_stream, not a hang. (On current_thread the client's write and shutdown always
// make one edge: nothing polls the reactor between them.)
TEST_P(tcp_stream_test, the_end_that_came_with_the_last_bytes_is_not_lost) {
  const auto [first, second, exact_error] = runtime_.block_on([]() -> task<std::tuple<std::size_t, std::size_t, std::string>> {
    auto listener = tcp_listener::bind(socket_address::loopback(0));
    tandem::notify reading;
    auto server = tandem::spawn([](const tcp_listener& listener, tandem::notify& reading) -> task<std::pair<std::size_t, std::size_t>> {
      tcp_stream a = co_await listener.accept();
      std::array<char, 64> buffer;
      reading.notify_one();
      const std::size_t first = co_await a.read(buffer);  // waits: nothing sent yet
      const std::size_t second = co_await tandem::timeout(generous, a.read(buffer));
      co_return std::pair{first, second};
    }(listener, reading));
    tcp_stream client = co_await connect_to(listener);
    co_await reading.notified();
    co_await client.write_all(std::string_view("data"));
    client.shutdown(shutdown_direction::write);
    const auto [first, second] = co_await server;

    auto exact_server = tandem::spawn([](const tcp_listener& listener, tandem::notify& reading) -> task<std::string> {
      tcp_stream b = co_await listener.accept();
      std::array<char, 16> buffer;
      reading.notify_one();
      try {
        co_await tandem::timeout(generous, b.read_exact(buffer));
      } catch (const tandem::end_of_stream& e) {
        co_return e.what();
      }
      co_return "read_exact finished";
    }(listener, reading));
    tcp_stream other = co_await connect_to(listener);
    co_await reading.notified();
    co_await other.write_all(std::string_view("data"));
    other.shutdown(shutdown_direction::write);
    co_return std::tuple{first, second, co_await exact_server};
  }());
  EXPECT_EQ(first, 4u);
  EXPECT_EQ(second, 0u);
  EXPECT_NE(exact_error.find("after 4 of 16 bytes"), std::string::npos) << exact_error;
}

// The two halves of a split stream in two tasks at once: one writes 1 MiB while the other
// reads the echo. The echo server only reads on while its replies are read, so this
// finishes only if the halves really work concurrently.
TEST_P(tcp_stream_test, split_halves_write_and_read_concurrently_from_two_tasks) {
  constexpr std::size_t total = 1 << 20;
  const std::vector<std::byte> sent = pattern(total);
  const std::vector<std::byte> received = runtime_.block_on([](const std::vector<std::byte>& sent) -> task<std::vector<std::byte>> {
    auto listener = tcp_listener::bind(socket_address::loopback(0));
    auto server = tandem::spawn(echo_once(listener));
    tcp_stream client = co_await connect_to(listener);
    auto [reader, writer] = std::move(client).into_split();
    EXPECT_FALSE(client.is_open());
    auto writing = tandem::spawn([](tcp_write_half writer, const std::vector<std::byte>& data) -> task<void> {
      // Uneven chunks, so writes and reads never line up.
      std::size_t at = 0;
      for (std::size_t step = 1; at < data.size(); step = step * 3 % 65'521 + 1) {
        const std::size_t n = std::min(step, data.size() - at);
        co_await writer.write_all(std::span(data).subspan(at, n));
        at += n;
      }
      writer.shutdown();
    }(std::move(writer), sent));
    std::vector<std::byte> received;
    received.reserve(total);
    std::array<std::byte, 7'000> buffer;
    for (;;) {
      const std::size_t n = co_await tandem::timeout(generous, reader.read(buffer));
      if (n == 0) break;
      received.insert(received.end(), buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(n));
    }
    co_await writing;
    co_await server;
    co_return received;
  }(sent));
  ASSERT_EQ(received.size(), total);
  EXPECT_TRUE(received == sent) << "the echo came back with different bytes";
}

// Echoes one connection; when `blocked` is given, signals it once the socket's send
// buffer is full (poll says not writable), i.e. the next write_all waits for the peer.
task<void> echo_connection(tcp_stream stream, tandem::notify* blocked) {
  std::array<std::byte, 16'384> buffer;
  bool signalled = false;
  try {
    for (;;) {
      const std::size_t n = co_await stream.read(buffer);
      if (n == 0) co_return;
      if (blocked != nullptr && !signalled) {
        pollfd probe{stream.native_handle(), POLLOUT, 0};
        if (::poll(&probe, 1, 0) == 0) {
          signalled = true;
          blocked->notify_one();
        }
      }
      co_await stream.write_all(std::span(buffer.data(), n));
    }
  } catch (const std::system_error&) {
    // The peer went away: this connection's task ends, nobody else's.
  }
}

// A client that writes a lot and never reads: its server task fills the socket's send
// buffer and waits in write_all. Another client's round trips must go on meanwhile
// (a write that blocked the worker would stop them; on current_thread, everything).
TEST_P(tcp_stream_test, a_client_that_never_reads_does_not_block_other_clients) {
  const auto [round_trips, slow_task_still_blocked, elapsed] = runtime_.block_on([]() -> task<std::tuple<int, bool, std::chrono::nanoseconds>> {
    auto listener = tcp_listener::bind(socket_address::loopback(0));
    tandem::notify slow_server_blocked;

    // The slow client: writes 256 MiB, never reads.
    tcp_stream slow = co_await connect_to(listener);
    auto slow_server = tandem::spawn(echo_connection(co_await listener.accept(), &slow_server_blocked));
    auto slow_writer = tandem::spawn([](const tcp_stream& slow) -> task<void> {
      const std::vector<std::byte> chunk(1 << 20, std::byte{0x33});
      for (int i = 0; i < 256; ++i) co_await slow.write_all(chunk);
    }(slow));
    co_await tandem::timeout(generous, slow_server_blocked.notified());

    // A normal client, served by its own task.
    tcp_stream fast = co_await connect_to(listener);
    auto fast_server = tandem::spawn(echo_connection(co_await listener.accept(), nullptr));
    const auto start = std::chrono::steady_clock::now();
    const int done = co_await tandem::timeout(generous, [](const tcp_stream& fast) -> task<int> {
      int count = 0;
      for (; count < 200; ++count) {
        const std::string message = "ping " + std::to_string(count);
        co_await fast.write_all(message);
        std::string reply(message.size(), '\0');
        co_await fast.read_exact(std::span<char>(reply));
        if (reply != message) break;
      }
      co_return count;
    }(fast));
    const auto elapsed = std::chrono::steady_clock::now() - start;
    // The slow pair is still stuck: neither its writer nor its server task could finish.
    const bool still_blocked = !slow_writer.is_finished() && !slow_server.is_finished();

    fast.shutdown();
    co_await tandem::timeout(generous, std::move(fast_server));
    co_await test_support::abort_and_join(std::move(slow_writer), generous);
    // Unread data in the slow client's queue: closing it resets the connection, and its
    // server task's write_all fails and ends the task.
    { tcp_stream closing = std::move(slow); }
    co_await tandem::timeout(generous, std::move(slow_server));
    co_return std::tuple{done, still_blocked, std::chrono::duration_cast<std::chrono::nanoseconds>(elapsed)};
  }());
  EXPECT_EQ(round_trips, 200);
  EXPECT_TRUE(slow_task_still_blocked);
  std::printf("200 round trips beside a blocked connection: %.1f ms\n", std::chrono::duration<double, std::milli>(elapsed).count());
}

// A read bounded by tandem::timeout on a peer that says nothing throws tandem::timed_out;
// the stream stays usable both ways afterwards.
TEST_P(tcp_stream_test, a_read_that_times_out_leaves_the_stream_usable) {
  const std::string answer = runtime_.block_on([]() -> task<std::string> {
    auto listener = tcp_listener::bind(socket_address::loopback(0));
    tandem::notify speak;
    auto server = tandem::spawn([](const tcp_listener& listener, tandem::notify& speak) -> task<std::string> {
      tcp_stream peer = co_await listener.accept();
      co_await speak.notified();
      co_await peer.write_all(std::string_view("late"));
      std::array<char, 4> back;
      co_await peer.read_exact(back);
      co_return std::string(back.data(), back.size());
    }(listener, speak));
    tcp_stream client = co_await connect_to(listener);
    std::array<char, 16> buffer;
    EXPECT_FALSE(co_await test_support::completes_within(50ms, client.read(buffer)))
        << "a read on a silent peer finished";
    // And once more: a second timed-out read must not have broken the registration.
    EXPECT_FALSE(co_await test_support::completes_within(10ms, client.read(buffer)));
    speak.notify_one();
    std::array<char, 4> late;
    co_await tandem::timeout(generous, client.read_exact(late));
    EXPECT_EQ(std::string(late.data(), late.size()), "late");
    co_await client.write_all(std::string_view("back"));
    co_return co_await tandem::timeout(generous, std::move(server));
  }());
  EXPECT_EQ(answer, "back");
}

TEST_P(tcp_stream_test, local_and_peer_addresses_match_across_the_connection) {
  runtime_.block_on([]() -> task<void> {
    auto listener = tcp_listener::bind(socket_address::loopback(0));
    const socket_address listening = listener.local_addr();
    EXPECT_EQ(listening.ip(), "127.0.0.1");
    EXPECT_NE(listening.port(), 0);
    tcp_stream client = co_await connect_to(listener);
    tcp_stream server = co_await listener.accept();
    EXPECT_EQ(client.peer_addr(), listening);
    EXPECT_EQ(server.local_addr(), listening);
    EXPECT_EQ(client.local_addr(), server.peer_addr());
    EXPECT_EQ(client.local_addr().ip(), "127.0.0.1");
    EXPECT_NE(client.local_addr().port(), listening.port());
    EXPECT_EQ(server.peer_addr().to_string(), "127.0.0.1:" + std::to_string(client.local_addr().port()));
    const socket_address client_address = client.local_addr();
    auto [reader, writer] = std::move(server).into_split();
    EXPECT_EQ(reader.peer_addr(), client_address);
    EXPECT_EQ(writer.peer_addr(), client_address);
  }());
}

TEST_P(tcp_stream_test, set_nodelay_round_trips) {
  runtime_.block_on([]() -> task<void> {
    auto listener = tcp_listener::bind(socket_address::loopback(0));
    tcp_stream client = co_await connect_to(listener);
    tcp_stream server = co_await listener.accept();
    EXPECT_FALSE(client.nodelay());
    client.set_nodelay(true);
    EXPECT_TRUE(client.nodelay());
    client.set_nodelay(false);
    EXPECT_FALSE(client.nodelay());
    server.set_nodelay(true);
    EXPECT_TRUE(server.nodelay());
    EXPECT_FALSE(client.nodelay());
    // Still a working connection.
    co_await client.write_all(std::string_view("x"));
    std::array<char, 1> x;
    co_await server.read_exact(x);
    EXPECT_EQ(x[0], 'x');
  }());
}

template <class F>
void expect_logic_error_naming(F&& operation, const std::string& name) {
  try {
    operation();
    ADD_FAILURE() << name << " on a moved-from stream did not throw";
  } catch (const std::logic_error& error) {
    EXPECT_NE(std::string(error.what()).find(name), std::string::npos) << error.what();
  }
}

// Every operation on a moved-from (or default-constructed) socket throws std::logic_error
// naming it, rather than using a closed descriptor.
TEST_P(tcp_stream_test, operations_on_a_moved_from_stream_throw_logic_error) {
  runtime_.block_on([]() -> task<void> {
    auto listener = tcp_listener::bind(socket_address::loopback(0));
    tcp_stream client = co_await connect_to(listener);
    tcp_stream server = co_await listener.accept();
    tcp_stream moved = std::move(client);
    EXPECT_FALSE(client.is_open());
    EXPECT_TRUE(moved.is_open());
    std::array<char, 4> buffer;
    expect_logic_error_naming([&] { (void)client.read(buffer); }, "tcp_stream::read");
    expect_logic_error_naming([&] { (void)client.read_exact(buffer); }, "tcp_stream::read_exact");
    expect_logic_error_naming([&] { (void)client.write(std::string_view("x")); }, "tcp_stream::write");
    expect_logic_error_naming([&] { (void)client.write_all(std::string_view("x")); }, "tcp_stream::write_all");
    expect_logic_error_naming([&] { client.shutdown(); }, "tcp_stream::shutdown");
    expect_logic_error_naming([&] { client.set_nodelay(true); }, "tcp_stream::set_nodelay");
    expect_logic_error_naming([&] { (void)client.nodelay(); }, "tcp_stream::nodelay");
    expect_logic_error_naming([&] { (void)client.local_addr(); }, "tcp_stream::local_addr");
    expect_logic_error_naming([&] { (void)client.peer_addr(); }, "tcp_stream::peer_addr");
    expect_logic_error_naming([&] { (void)std::move(client).into_split(); }, "tcp_stream::into_split");
    tcp_stream never_opened;
    expect_logic_error_naming([&] { (void)never_opened.read(buffer); }, "tcp_stream::read");
    // Awaiting through the moved-to stream still works.
    co_await moved.write_all(std::string_view("ok"));
    std::array<char, 2> ok;
    co_await server.read_exact(ok);
    EXPECT_EQ(std::string(ok.data(), 2), "ok");
    tcp_listener moved_listener = std::move(listener);
    expect_logic_error_naming([&] { (void)listener.accept(); }, "tcp_listener::accept");
    expect_logic_error_naming([&] { (void)listener.local_addr(); }, "tcp_listener::local_addr");
    EXPECT_TRUE(moved_listener.is_open());
  }());
}

// A listener with the smallest backlog that never accepts: once its queue is full the
// kernel drops further SYNs, so a connect stays pending until the timeout cancels it.
task<int> connects_that_time_out(std::uint16_t port) {
  std::vector<tcp_stream> kept;
  int timed_out = 0;
  for (int i = 0; i < 8 && timed_out == 0; ++i) {
    try {
      kept.push_back(co_await tandem::timeout(std::chrono::milliseconds(300),
                                              tcp_stream::connect(socket_address::loopback(port))));
    } catch (const tandem::timed_out&) {
      ++timed_out;
    }
  }
  co_return timed_out;
}

TEST_P(tcp_stream_test, a_connect_bounded_by_timeout_times_out_and_leaks_nothing) {
  const std::size_t descriptors_before = test_support::open_descriptor_count();
  const int timed_out = runtime_.block_on([]() -> task<int> {
    auto listener = tcp_listener::bind(socket_address::loopback(0), 0);
    const int count = co_await connects_that_time_out(listener.local_addr().port());
    co_return count;
  }());
  EXPECT_EQ(timed_out, 1) << "no connect stayed pending behind a full backlog";
  EXPECT_EQ(test_support::open_descriptor_count(), descriptors_before);
}

INSTANTIATE_TEST_SUITE_P(flavors, tcp_stream_test, test_support::io_flavors(), test_support::flavor_name);

// tokio#4730: sockets must stay watched while one worker is stuck in a long poll (the
// worker that last waited in epoll included). Two workers: one spins without an await
// point until told to stop; the other must still carry 100 round trips.
struct long_poll_outcome {
  int echoed_messages = 0;
  bool hog_was_still_spinning = false;
};

task<long_poll_outcome> round_trips_beside_a_spinning_task() {
  auto listener = tcp_listener::bind(socket_address::loopback(0));
  auto pair = co_await test_support::connect_pair(listener);
  auto echo = tandem::spawn(test_support::echo_until_end(pair.server));
  auto started = std::make_shared<std::atomic<bool>>(false);
  auto stop = std::make_shared<std::atomic<bool>>(false);
  auto hog = tandem::spawn([](std::shared_ptr<std::atomic<bool>> started,
                              std::shared_ptr<std::atomic<bool>> stop) -> task<bool> {
    started->store(true);
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (!stop->load()) {
      if (std::chrono::steady_clock::now() > give_up) co_return false;
    }
    co_return true;
  }(started, stop));
  // Sleeping, not a wake from the spinning task: that wake would land in its worker's
  // LIFO slot, behind it.
  while (!started->load()) co_await tandem::sleep(std::chrono::milliseconds(1));
  long_poll_outcome outcome;
  const std::string echoes = co_await test_support::round_trip_messages(pair.client, 100);
  outcome.echoed_messages = static_cast<int>(std::count(echoes.begin(), echoes.end(), ';'));
  stop->store(true);
  outcome.hog_was_still_spinning = co_await hog;
  pair.client.shutdown();
  co_await echo;
  co_return outcome;
}

TEST(tcp_stream_long_poll, sockets_stay_watched_while_a_worker_is_stuck_in_a_long_poll) {
  auto runtime = tandem::runtime::builder().worker_threads(2).build();
  const long_poll_outcome outcome = runtime.block_on(round_trips_beside_a_spinning_task());
  EXPECT_EQ(outcome.echoed_messages, 100);
  EXPECT_TRUE(outcome.hog_was_still_spinning) << "the round trips only finished once the spinning task gave up";
}

// Sockets register with the calling task's runtime: outside one, creating them throws
// std::logic_error, and the descriptor handed over is closed rather than leaked.
TEST(tcp_socket_outside_a_runtime, creating_one_throws_logic_error_and_leaks_nothing) {
  const std::size_t before = test_support::open_descriptor_count();
  try {
    (void)tcp_listener::bind(socket_address::loopback(0));
    ADD_FAILURE() << "bind outside a runtime did not throw";
  } catch (const std::logic_error& error) {
    EXPECT_NE(std::string(error.what()).find("outside a tandem runtime"), std::string::npos) << error.what();
  }
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  EXPECT_THROW((void)tcp_stream::from_native(fd), std::logic_error);
  errno = 0;
  EXPECT_EQ(::fcntl(fd, F_GETFD), -1) << "from_native must close the descriptor it refused";
  EXPECT_EQ(errno, EBADF);
  EXPECT_EQ(test_support::open_descriptor_count(), before);
}

}  // namespace
