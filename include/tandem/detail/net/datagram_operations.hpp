// The syscalls behind udp_socket's awaitables: each `attempt` makes one try (retrying
// EINTR) and says whether to wait; `result` gives the outcome or throws std::system_error
// naming the operation and the address. See detail/io/io_awaiter.hpp.
//
// Unlike a stream read, a datagram read never reports io_progress::drained: a datagram
// shorter than the buffer says nothing about whether more are queued, so the direction
// stays ready until a receive actually finds the queue empty (EAGAIN).
//
// Like transfer_state, the operations add only addresses (trivially copyable).
#pragma once

#include <cstddef>
#include <span>

#include <sys/socket.h>

#include "tandem/detail/io/io_awaiter.hpp"
#include "tandem/detail/io/transfer_state.hpp"
#include "tandem/net/socket_address.hpp"

namespace tandem::net {

// What udp_socket::recv_from gives: how many bytes were stored in the buffer (the rest
// of a longer datagram is discarded) and who sent the datagram.
struct received_datagram {
  std::size_t size = 0;
  socket_address from;
};

}  // namespace tandem::net

namespace tandem::detail {

// Throws std::system_error(error) for `operation` on datagram socket `fd`, naming its
// peer when it is connected, otherwise its local address.
[[noreturn]] void throw_datagram_error(int error, const char* operation, int fd);

// Sends one datagram to `destination`.
struct datagram_send_to : transfer_state<const std::byte> {
  static constexpr io_direction direction = io_direction::write;
  static constexpr const char* name = "tandem::net send_to";
  net::socket_address destination;

  io_progress attempt(int socket) noexcept;
  std::size_t result() const;
};

// Sends one datagram to the connected peer.
struct datagram_send : transfer_state<const std::byte> {
  static constexpr io_direction direction = io_direction::write;
  static constexpr const char* name = "tandem::net send";

  io_progress attempt(int socket) noexcept;
  std::size_t result() const {
    if (error != 0) throw_datagram_error(error, what, fd);
    return transferred;
  }
};

// Receives one datagram and its sender.
struct datagram_receive_from : transfer_state<std::byte> {
  static constexpr io_direction direction = io_direction::read;
  static constexpr const char* name = "tandem::net recv_from";
  sockaddr_storage sender{};
  socklen_t sender_length = 0;

  io_progress attempt(int socket) noexcept;
  net::received_datagram result() const;
};

// Receives one datagram from the connected peer.
struct datagram_receive : transfer_state<std::byte> {
  static constexpr io_direction direction = io_direction::read;
  static constexpr const char* name = "tandem::net recv";

  io_progress attempt(int socket) noexcept;
  std::size_t result() const {
    if (error != 0) throw_datagram_error(error, what, fd);
    return transferred;
  }
};

}  // namespace tandem::detail
