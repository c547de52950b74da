// tcp_stream: a TCP connection (tokio::net::TcpStream).
//
//   auto stream = co_await tandem::net::tcp_stream::connect(socket_address::loopback(port));
//   co_await stream.write_all("ping");
//   std::array<char, 4> reply;
//   co_await stream.read_exact(reply);
//
// Blocking: never; reads and writes wait in the runtime's reactor (stream_operations.hpp),
// connect too (wrap it in tandem::timeout to bound it). Sockets are created inside a task
// (they register with that task's runtime); otherwise std::logic_error.
// Exceptions: std::system_error with errno, the operation and the address; a write to a
// peer that went away throws (EPIPE / ECONNRESET) and never raises SIGPIPE.
// Cancellation: dropping a pending operation is safe (stream_operations.hpp); destroying
// the stream closes it (a pending operation must be gone first, as it refers to it).
//
// Thread safety: one task reads and one task writes at a time; into_split() gives a read
// half and a write half that two tasks may use at once.
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string_view>
#include <utility>

#include "tandem/net/socket_address.hpp"
#include "tandem/net/stream_operations.hpp"
#include "tandem/task.hpp"

namespace tandem::net {

enum class shutdown_direction { read, write, both };

class tcp_read_half;
class tcp_write_half;

class tcp_stream {
 public:
  tcp_stream() noexcept = default;

  // Connects to `address`; throws std::system_error naming it (refused, unreachable).
  static task<tcp_stream> connect(socket_address address);
  // Takes a connected non-blocking socket (an accept's result, a socketpair).
  static tcp_stream from_native(int fd) { return tcp_stream(detail::socket_handle(fd, "tandem::net::tcp_stream")); }

  read_operation read(std::span<std::byte> buffer) const {
    return detail::stream_io::read(handle_, buffer, "tandem::net::tcp_stream::read");
  }
  read_operation read(std::span<char> buffer) const { return read(std::as_writable_bytes(buffer)); }
  read_exact_operation read_exact(std::span<std::byte> buffer) const {
    return detail::stream_io::read_exact(handle_, buffer, "tandem::net::tcp_stream::read_exact");
  }
  read_exact_operation read_exact(std::span<char> buffer) const { return read_exact(std::as_writable_bytes(buffer)); }
  write_operation write(std::span<const std::byte> buffer) const {
    return detail::stream_io::write(handle_, buffer, "tandem::net::tcp_stream::write");
  }
  write_operation write(std::string_view text) const { return write(detail::as_bytes(text)); }
  write_all_operation write_all(std::span<const std::byte> buffer) const {
    return detail::stream_io::write_all(handle_, buffer, "tandem::net::tcp_stream::write_all");
  }
  write_all_operation write_all(std::string_view text) const { return write_all(detail::as_bytes(text)); }

  // Ends one or both directions; the peer's reads then see the end of the stream.
  void shutdown(shutdown_direction direction = shutdown_direction::write) const;
  void set_nodelay(bool enabled) const;
  bool nodelay() const;
  socket_address local_addr() const;
  socket_address peer_addr() const;

  // Two halves sharing the connection (closed when both are gone).
  std::pair<tcp_read_half, tcp_write_half> into_split() &&;

  bool is_open() const noexcept { return handle_.is_open(); }
  int native_handle() const noexcept { return handle_.fd(); }

 private:
  explicit tcp_stream(detail::socket_handle handle) noexcept : handle_(std::move(handle)) {}
  friend class tcp_listener;

  detail::socket_handle handle_;
};

// The reading side of a split tcp_stream.
class tcp_read_half {
 public:
  read_operation read(std::span<std::byte> buffer) const {
    return detail::stream_io::read(*handle_, buffer, "tandem::net::tcp_read_half::read");
  }
  read_operation read(std::span<char> buffer) const { return read(std::as_writable_bytes(buffer)); }
  read_exact_operation read_exact(std::span<std::byte> buffer) const {
    return detail::stream_io::read_exact(*handle_, buffer, "tandem::net::tcp_read_half::read_exact");
  }
  read_exact_operation read_exact(std::span<char> buffer) const { return read_exact(std::as_writable_bytes(buffer)); }
  socket_address peer_addr() const;

 private:
  explicit tcp_read_half(std::shared_ptr<detail::socket_handle> handle) noexcept : handle_(std::move(handle)) {}
  friend class tcp_stream;

  std::shared_ptr<detail::socket_handle> handle_;
};

// The writing side of a split tcp_stream.
class tcp_write_half {
 public:
  write_operation write(std::span<const std::byte> buffer) const {
    return detail::stream_io::write(*handle_, buffer, "tandem::net::tcp_write_half::write");
  }
  write_operation write(std::string_view text) const { return write(detail::as_bytes(text)); }
  write_all_operation write_all(std::span<const std::byte> buffer) const {
    return detail::stream_io::write_all(*handle_, buffer, "tandem::net::tcp_write_half::write_all");
  }
  write_all_operation write_all(std::string_view text) const { return write_all(detail::as_bytes(text)); }
  // Ends the writing direction (the peer reads the end of the stream).
  void shutdown() const;
  socket_address peer_addr() const;

 private:
  explicit tcp_write_half(std::shared_ptr<detail::socket_handle> handle) noexcept : handle_(std::move(handle)) {}
  friend class tcp_stream;

  std::shared_ptr<detail::socket_handle> handle_;
};

}  // namespace tandem::net
