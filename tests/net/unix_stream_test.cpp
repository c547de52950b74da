#include "tandem/net/unix_stream.hpp"

#include <array>
#include <cerrno>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include <gtest/gtest.h>

#include "tandem/net/unix_listener.hpp"
#include "tandem/runtime.hpp"
#include "tandem/spawn.hpp"

#include "support/loopback.hpp"
#include "support/process_resources.hpp"
#include "support/runtimes.hpp"
#include "support/temporary_directory.hpp"

namespace {

using namespace std::chrono_literals;
using tandem::task;
using tandem::net::unix_listener;
using tandem::net::unix_stream;

using test_support::open_descriptor_count;
using test_support::temporary_directory;

// Echoes one connection until its peer ends it.
task<void> echo_once(std::shared_ptr<unix_listener> listener) {
  unix_stream peer = co_await listener->accept();
  EXPECT_EQ(peer.local_path(), listener->local_path());
  EXPECT_EQ(peer.peer_path(), "");
  co_await test_support::echo_until_end(peer);
}

class unix_stream_test : public test_support::flavored_test {
 protected:
  temporary_directory directory_{"tandem-unix"};
};

TEST_P(unix_stream_test, echoes_through_a_listener) {
  run([](std::filesystem::path path) -> task<void> {
    auto listener = std::make_shared<unix_listener>(unix_listener::bind(path));
    EXPECT_EQ(listener->local_path(), path.string());
    auto server = tandem::spawn(echo_once(listener));

    unix_stream client = co_await unix_stream::connect(path);
    EXPECT_EQ(client.peer_path(), path.string());
    EXPECT_EQ(client.local_path(), "");
    const std::string all = co_await test_support::round_trip_messages(client, 200);
    client.shutdown();
    co_await server;
    EXPECT_EQ(all.substr(0, 20), "message 0;message 1;");
  }(directory_ / "echo.sock"));
}

TEST_P(unix_stream_test, a_socketpair_carries_both_ways) {
  run([]() -> task<void> {
    auto [left, right] = unix_stream::pair();
    EXPECT_EQ(left.local_path(), "");
    EXPECT_EQ(left.peer_path(), "");
    co_await left.write_all("left to right");
    std::array<char, 13> buffer{};
    co_await right.read_exact(buffer);
    EXPECT_EQ(std::string_view(buffer.data(), buffer.size()), "left to right");
    co_await right.write_all("right to left");
    co_await left.read_exact(buffer);
    EXPECT_EQ(std::string_view(buffer.data(), buffer.size()), "right to left");
  }());
}

TEST_P(unix_stream_test, shutting_down_writes_ends_the_peers_reads_only) {
  run([]() -> task<void> {
    auto [left, right] = unix_stream::pair();
    co_await left.write_all("last");
    left.shutdown(tandem::net::shutdown_direction::write);
    std::array<char, 16> buffer{};
    std::size_t n = co_await right.read(buffer);
    EXPECT_EQ(std::string_view(buffer.data(), n), "last");
    n = co_await right.read(buffer);
    EXPECT_EQ(n, 0u);
    // The other direction still works.
    co_await right.write_all("reply");
    n = co_await left.read(buffer);
    EXPECT_EQ(std::string_view(buffer.data(), n), "reply");
  }());
}

// The peer's last bytes and its end of stream come with one readiness event: the read
// that returns those bytes is short, and the end must still be seen after it (no further
// event will come to announce it).
TEST_P(unix_stream_test, a_waiting_reader_sees_the_end_that_follows_the_last_bytes) {
  run([]() -> task<void> {
    auto [left, right] = unix_stream::pair();
    auto reader = tandem::spawn([](unix_stream stream) -> task<std::string> {
      std::string all;
      std::array<char, 64> buffer{};
      for (;;) {
        const std::size_t n = co_await stream.read(buffer);
        if (n == 0) co_return all;
        all.append(buffer.data(), n);
      }
    }(std::move(right)));
    // Lets the reader wait first, so that the bytes and the end arrive as one event.
    co_await tandem::yield_now();
    co_await left.write_all("tail");
    left.shutdown();
    const std::string received = co_await reader;
    EXPECT_EQ(received, "tail");
  }());
}

TEST_P(unix_stream_test, split_halves_work_from_two_tasks) {
  run([]() -> task<void> {
    auto [near, far] = unix_stream::pair();
    auto [reader, writer] = std::move(near).into_split();
    EXPECT_EQ(reader.peer_path(), "");
    constexpr std::size_t total = 1 << 20;
    // Far end: counts what arrives until the end of the stream, then answers.
    auto counter = tandem::spawn([](unix_stream stream) -> task<std::size_t> {
      std::vector<char> buffer(64 * 1024);
      std::size_t counted = 0;
      for (;;) {
        const std::size_t n = co_await stream.read(std::span(buffer));
        if (n == 0) break;
        counted += n;
      }
      co_await stream.write_all("counted");
      co_return counted;
    }(std::move(far)));
    auto sender = tandem::spawn([](tandem::net::unix_write_half half) -> task<void> {
      const std::vector<std::byte> block(total, std::byte{7});
      co_await half.write_all(block);
      half.shutdown();
    }(std::move(writer)));

    std::array<char, 7> answer{};
    co_await reader.read_exact(answer);
    EXPECT_EQ(std::string_view(answer.data(), answer.size()), "counted");
    co_await sender;
    const std::size_t counted = co_await counter;
    EXPECT_EQ(counted, total);
  }());
}

TEST_P(unix_stream_test, connecting_to_a_missing_path_names_it_and_leaks_nothing) {
  run([](std::filesystem::path path) -> task<void> {
    const std::size_t descriptors_before = open_descriptor_count();
    try {
      co_await unix_stream::connect(path);
      ADD_FAILURE() << "connected to a missing path";
    } catch (const std::system_error& error) {
      EXPECT_EQ(error.code().value(), ENOENT);
      EXPECT_NE(std::string(error.what()).find("tandem::net::unix_stream::connect"), std::string::npos)
          << error.what();
      EXPECT_NE(std::string(error.what()).find(path.string()), std::string::npos) << error.what();
    }
    EXPECT_EQ(open_descriptor_count(), descriptors_before);
  }(directory_ / "missing.sock"));
}

TEST_P(unix_stream_test, a_closed_listener_leaves_its_file_and_refuses_connections) {
  run([](std::filesystem::path path) -> task<void> {
    { auto listener = unix_listener::bind(path); }
    EXPECT_TRUE(std::filesystem::exists(path));
    try {
      co_await unix_stream::connect(path);
      ADD_FAILURE() << "connected to a closed listener";
    } catch (const std::system_error& error) {
      EXPECT_EQ(error.code().value(), ECONNREFUSED);
      EXPECT_NE(std::string(error.what()).find(path.string()), std::string::npos) << error.what();
    }
  }(directory_ / "stale.sock"));
}

TEST_P(unix_stream_test, binding_an_existing_path_names_it_and_keeps_the_file) {
  run([](std::filesystem::path live, std::filesystem::path regular) -> task<void> {
    auto listener = unix_listener::bind(live);
    std::ofstream(regular) << "not a socket";
    for (const std::filesystem::path& path : {live, regular}) {
      try {
        unix_listener::bind(path);
        ADD_FAILURE() << "bound over " << path;
      } catch (const std::system_error& error) {
        EXPECT_EQ(error.code().value(), EADDRINUSE);
        EXPECT_NE(std::string(error.what()).find(path.string()), std::string::npos) << error.what();
      }
      EXPECT_TRUE(std::filesystem::exists(path));
    }
    // The first listener still owns its path.
    unix_stream client = co_await unix_stream::connect(live);
    unix_stream accepted = co_await listener.accept();
    co_await client.write_all("x");
    std::array<char, 1> byte{};
    co_await accepted.read_exact(byte);
    EXPECT_EQ(byte[0], 'x');
  }(directory_ / "live.sock", directory_ / "regular-file"));
}

TEST_P(unix_stream_test, a_path_too_long_for_sun_path_is_an_invalid_argument) {
  run([](std::filesystem::path path) -> task<void> {
    try {
      unix_listener::bind(path);
      ADD_FAILURE() << "bound a path of " << path.string().size() << " bytes";
    } catch (const std::invalid_argument& error) {
      EXPECT_NE(std::string(error.what()).find("tandem::net::unix_listener::bind"), std::string::npos)
          << error.what();
      EXPECT_NE(std::string(error.what()).find("at most 107"), std::string::npos) << error.what();
    }
    try {
      co_await unix_stream::connect(path);
      ADD_FAILURE() << "connected to a path of " << path.string().size() << " bytes";
    } catch (const std::invalid_argument& error) {
      EXPECT_NE(std::string(error.what()).find(path.string()), std::string::npos) << error.what();
    }
    EXPECT_THROW(unix_listener::bind(""), std::invalid_argument);
  }(directory_ / std::string(120, 'p')));
}

TEST_P(unix_stream_test, connect_waits_out_a_full_backlog_then_gives_up) {
  run([](std::filesystem::path path) -> task<void> {
    auto listener = unix_listener::bind(path, 1);
    // Fill the queue: connects succeed until the backlog is full.
    std::vector<unix_stream> queued;
    for (int i = 0; i < 2; ++i) queued.push_back(co_await unix_stream::connect(path));

    // Room comes while this connect backs off (or before it tries): it succeeds.
    auto waiting = tandem::spawn(unix_stream::connect(path));
    unix_stream first = co_await listener.accept();
    unix_stream late = co_await waiting;
    EXPECT_TRUE(late.is_open());

    // No room comes: it gives up after about a second, naming the path.
    const auto started = std::chrono::steady_clock::now();
    try {
      co_await unix_stream::connect(path);
      ADD_FAILURE() << "connected past a full backlog";
    } catch (const std::system_error& error) {
      EXPECT_EQ(error.code().value(), EAGAIN);
      EXPECT_NE(std::string(error.what()).find(path.string()), std::string::npos) << error.what();
      EXPECT_NE(std::string(error.what()).find("backlog"), std::string::npos) << error.what();
    }
    EXPECT_GE(std::chrono::steady_clock::now() - started, 900ms);
  }(directory_ / "busy.sock"));
}

INSTANTIATE_TEST_SUITE_P(flavors, unix_stream_test, test_support::io_flavors(), test_support::flavor_name);

TEST(unix_stream_outside_a_runtime, sockets_need_a_runtime) {
  temporary_directory directory("tandem-unix");
  EXPECT_THROW(unix_stream::pair(), std::logic_error);
  EXPECT_THROW(unix_listener::bind(directory / "outside.sock"), std::logic_error);
}

}  // namespace
