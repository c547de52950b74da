// unix_stream: a connected Unix-domain stream socket (tokio::net::UnixStream).
//
//   auto stream = co_await tandem::net::unix_stream::connect("/run/app/control.sock");
//   co_await stream.write_all("status\n");
//   std::array<char, 256> reply;
//   std::size_t n = co_await stream.read(reply);
//
//   auto [parent, child] = tandem::net::unix_stream::pair();   // socketpair(2)
//
// Sockets are created inside a task (they register with that task's runtime); otherwise
// std::logic_error. A path must fit in sockaddr_un's sun_path (at most 107 bytes, no NUL
// byte): a longer one throws std::invalid_argument naming it (use a shorter or relative
// path).
//
// Blocking: reads and writes wait in the runtime's reactor (stream_operations.hpp). A
// Unix connect never waits for a handshake: it succeeds at once or fails, except when the
// listener's backlog is full (EAGAIN). The kernel sends no readiness event when room frees
// up there, so connect retries then, sleeping 1 ms, 2 ms, 4 ms, ... (10 retries, about
// 1 s in all) before it gives up; the task is suspended, never its worker, meanwhile.
// Exceptions: std::system_error with errno, the operation and the path ("... cannot
// connect to /tmp/app.sock: No such file or directory"; ECONNREFUSED when nothing listens
// there; EAGAIN when the backlog stayed full); a write to a peer that went away throws
// (EPIPE / ECONNRESET) and never raises SIGPIPE.
// Cancellation: dropping a pending operation is safe (stream_operations.hpp); a connect
// dropped while it backs off closes its socket. Destroying the stream closes it (a
// pending operation must be gone first, as it refers to it).
//
// Thread safety: one task reads and one task writes at a time; into_split() gives a read
// half and a write half that two tasks may use at once.
#pragma once

#include <cstddef>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "tandem/net/stream_operations.hpp"
#include "tandem/net/tcp_stream.hpp"  // shutdown_direction
#include "tandem/task.hpp"

namespace tandem::net {

class unix_read_half;
class unix_write_half;

class unix_stream {
 public:
  unix_stream() noexcept = default;

  // Connects to the listener bound at `path`.
  static task<unix_stream> connect(std::filesystem::path path);
  // Two connected, unnamed streams (socketpair(2)).
  static std::pair<unix_stream, unix_stream> pair();
  // Takes a connected non-blocking Unix stream socket (an accept's result, an inherited
  // descriptor).
  static unix_stream from_native(int fd) {
    return unix_stream(detail::socket_handle(fd, "tandem::net::unix_stream"));
  }

  read_operation read(std::span<std::byte> buffer) const {
    return detail::stream_io::read(handle_, buffer, "tandem::net::unix_stream::read");
  }
  read_operation read(std::span<char> buffer) const { return read(std::as_writable_bytes(buffer)); }
  read_exact_operation read_exact(std::span<std::byte> buffer) const {
    return detail::stream_io::read_exact(handle_, buffer, "tandem::net::unix_stream::read_exact");
  }
  read_exact_operation read_exact(std::span<char> buffer) const {
    return read_exact(std::as_writable_bytes(buffer));
  }
  write_operation write(std::span<const std::byte> buffer) const {
    return detail::stream_io::write(handle_, buffer, "tandem::net::unix_stream::write");
  }
  write_operation write(std::string_view text) const { return write(detail::as_bytes(text)); }
  write_all_operation write_all(std::span<const std::byte> buffer) const {
    return detail::stream_io::write_all(handle_, buffer, "tandem::net::unix_stream::write_all");
  }
  write_all_operation write_all(std::string_view text) const { return write_all(detail::as_bytes(text)); }

  // Ends one or both directions; the peer's reads then see the end of the stream.
  void shutdown(shutdown_direction direction = shutdown_direction::write) const;
  // The path this end is bound to; "" for an unnamed socket (a connecting client, a
  // socketpair end), "@name" for a Linux abstract address.
  std::string local_path() const;
  // The path the peer is bound to (a listener's path for a client); "" when unnamed.
  std::string peer_path() const;

  // Two halves sharing the connection (closed when both are gone).
  std::pair<unix_read_half, unix_write_half> into_split() &&;

  bool is_open() const noexcept { return handle_.is_open(); }
  int native_handle() const noexcept { return handle_.fd(); }

 private:
  explicit unix_stream(detail::socket_handle handle) noexcept : handle_(std::move(handle)) {}

  detail::socket_handle handle_;
};

// The reading side of a split unix_stream.
class unix_read_half {
 public:
  read_operation read(std::span<std::byte> buffer) const {
    return detail::stream_io::read(*handle_, buffer, "tandem::net::unix_read_half::read");
  }
  read_operation read(std::span<char> buffer) const { return read(std::as_writable_bytes(buffer)); }
  read_exact_operation read_exact(std::span<std::byte> buffer) const {
    return detail::stream_io::read_exact(*handle_, buffer, "tandem::net::unix_read_half::read_exact");
  }
  read_exact_operation read_exact(std::span<char> buffer) const {
    return read_exact(std::as_writable_bytes(buffer));
  }
  std::string peer_path() const;

 private:
  explicit unix_read_half(std::shared_ptr<detail::socket_handle> handle) noexcept
      : handle_(std::move(handle)) {}
  friend class unix_stream;

  std::shared_ptr<detail::socket_handle> handle_;
};

// The writing side of a split unix_stream.
class unix_write_half {
 public:
  write_operation write(std::span<const std::byte> buffer) const {
    return detail::stream_io::write(*handle_, buffer, "tandem::net::unix_write_half::write");
  }
  write_operation write(std::string_view text) const { return write(detail::as_bytes(text)); }
  write_all_operation write_all(std::span<const std::byte> buffer) const {
    return detail::stream_io::write_all(*handle_, buffer, "tandem::net::unix_write_half::write_all");
  }
  write_all_operation write_all(std::string_view text) const { return write_all(detail::as_bytes(text)); }
  // Ends the writing direction (the peer reads the end of the stream).
  void shutdown() const;
  std::string peer_path() const;

 private:
  explicit unix_write_half(std::shared_ptr<detail::socket_handle> handle) noexcept
      : handle_(std::move(handle)) {}
  friend class unix_stream;

  std::shared_ptr<detail::socket_handle> handle_;
};

}  // namespace tandem::net
