// Helpers for the tests that talk to themselves over loopback sockets: connecting to a
// listener, both ends of one TCP connection, a peer that echoes, round trips through it,
// and the reactor's count of registered sockets (which must come back after a test).
#pragma once

#include <array>
#include <cstddef>
#include <span>
#include <string>

#include <tandem/detail/runtime/runtime_core.hpp>
#include <tandem/net/socket_address.hpp>
#include <tandem/net/tcp_listener.hpp>
#include <tandem/net/tcp_stream.hpp>
#include <tandem/task.hpp>

namespace test_support {

inline tandem::task<tandem::net::tcp_stream> connect_to(const tandem::net::tcp_listener& listener) {
  co_return co_await tandem::net::tcp_stream::connect(
      tandem::net::socket_address::loopback(listener.local_addr().port()));
}

// Both ends of one loopback TCP connection: `client` connected, `server` accepted.
struct tcp_pair {
  tandem::net::tcp_stream client;
  tandem::net::tcp_stream server;
};

// The loopback handshake completes in the kernel, so connect returns before accept runs.
// On one listener, pairs come in the order they are asked for.
inline tandem::task<tcp_pair> connect_pair(const tandem::net::tcp_listener& listener) {
  tcp_pair pair;
  pair.client = co_await connect_to(listener);
  pair.server = co_await listener.accept();
  co_return pair;
}

// A pair whose listener is gone once it is made.
inline tandem::task<tcp_pair> connect_pair() {
  auto listener = tandem::net::tcp_listener::bind(tandem::net::socket_address::loopback(0));
  co_return co_await connect_pair(listener);
}

// Writes back what `stream` reads, until its peer ends the stream.
template <class Stream>
tandem::task<void> echo_until_end(Stream& stream) {
  std::array<std::byte, 4096> buffer;
  for (;;) {
    const std::size_t n = co_await stream.read(buffer);
    if (n == 0) co_return;
    co_await stream.write_all(std::span(buffer.data(), n));
  }
}

// Sends "message 0;", "message 1;", ... `count` of them, each once the echo of the one
// before is back whole, and returns the echoes joined: a lost, repeated or reordered byte
// shows in the result.
template <class Stream>
tandem::task<std::string> round_trip_messages(Stream& stream, int count) {
  std::string all;
  for (int i = 0; i < count; ++i) {
    const std::string message = "message " + std::to_string(i) + ";";
    co_await stream.write_all(message);
    std::string reply(message.size(), '\0');
    co_await stream.read_exact(std::span<char>(reply));
    all += reply;
  }
  co_return all;
}

// Sockets registered with the calling task's runtime's reactor.
inline std::size_t registered_sockets() {
  return tandem::detail::io_driver_of(*tandem::detail::current_runtime_core())->registered();
}

}  // namespace test_support
