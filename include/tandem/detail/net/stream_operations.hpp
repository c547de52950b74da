// The syscalls behind stream sockets' awaitables (TCP and Unix): each `attempt` makes one
// try (retrying EINTR) and says whether to wait; `result` gives the outcome or throws
// std::system_error naming the operation and the peer. See detail/io/io_awaiter.hpp.
#pragma once

#include <sys/socket.h>

#include <cstddef>
#include <span>
#include <string>

#include "tandem/detail/io/io_awaiter.hpp"
#include "tandem/detail/io/transfer_state.hpp"
#include "tandem/net/socket_address.hpp"

namespace tandem::detail {

// Throws std::system_error(error) for `operation` on socket `fd`, naming its peer when
// it has one ("tandem::net::tcp_stream::read from 127.0.0.1:4000").
[[noreturn]] void throw_socket_error(int error, const char* operation, int fd);

struct stream_read : transfer_state<std::byte> {
  static constexpr io_direction direction = io_direction::read;
  static constexpr const char* name = "tandem::net read";

  io_progress attempt(int socket) noexcept;
  std::size_t result() const {
    if (error != 0) throw_socket_error(error, what, fd);
    return transferred;
  }
};

// Reads until the buffer is full; the end of the stream before that is an error.
struct stream_read_exact : transfer_state<std::byte> {
  static constexpr io_direction direction = io_direction::read;
  static constexpr const char* name = "tandem::net read_exact";

  io_progress attempt(int socket) noexcept;
  void result() const;
};

struct stream_write : transfer_state<const std::byte> {
  static constexpr io_direction direction = io_direction::write;
  static constexpr const char* name = "tandem::net write";

  io_progress attempt(int socket) noexcept;
  std::size_t result() const {
    if (error != 0) throw_socket_error(error, what, fd);
    return transferred;
  }
};

// Writes the whole buffer (several sends when the socket's buffer fills).
struct stream_write_all : transfer_state<const std::byte> {
  static constexpr io_direction direction = io_direction::write;
  static constexpr const char* name = "tandem::net write_all";

  io_progress attempt(int socket) noexcept;
  void result() const {
    if (error != 0) throw_socket_error(error, what, fd);
  }
};

// Takes one connection off a listening socket.
struct accept_connection {
  static constexpr io_direction direction = io_direction::read;
  static constexpr const char* name = "tandem::net accept";
  const char* what;
  int accepted = -1;
  int fd = -1;
  int error = 0;

  io_progress attempt(int socket) noexcept;
  // The accepted descriptor (non-blocking, close-on-exec), owned by the caller.
  int result();
};

// Finishes a non-blocking connect started on the socket.
struct connect_completion {
  static constexpr io_direction direction = io_direction::write;
  static constexpr const char* name = "tandem::net connect";
  const char* what;
  net::socket_address destination;
  bool started = false;
  int error = 0;

  io_progress attempt(int socket) noexcept;
  void result() const;
};

}  // namespace tandem::detail
