// udp_socket: a UDP socket (tokio::net::UdpSocket).
//
//   auto socket = tandem::net::udp_socket::bind(socket_address::loopback(0));
//   co_await socket.send_to("ping", server);
//   std::array<char, 1500> buffer;
//   tandem::net::received_datagram got = co_await socket.recv_from(buffer);
//   std::string_view reply(buffer.data(), got.size);   // from got.from
//
//   socket.connect(server);                  // default peer; only its datagrams arrive
//   co_await socket.send("ping");
//   std::size_t n = co_await socket.recv(buffer);
//
// bind must be called inside a task (the socket registers with that task's runtime);
// port 0 picks a free port. connect does not block (UDP has no handshake): it sets the
// peer that send and recv use and filters out datagrams from anyone else.
//
// Blocking: send_to, send, recv_from and recv wait in the runtime's reactor when the
// socket would block; bind, connect and the option calls are plain syscalls. A receive
// takes one whole datagram; if it is longer than the buffer, the rest is discarded (the
// size says how much was kept). A send sends the whole datagram or throws (EMSGSIZE above
// 65507 bytes for IPv4).
// Exceptions: std::system_error with errno, the operation and the address (the
// destination of send_to, the peer of a connected socket, otherwise the local address);
// sends never raise SIGPIPE. A connected socket may see ECONNREFUSED from a receive or
// send when the peer's port was closed (an ICMP error came back). Using a closed
// (moved-from) socket throws std::logic_error.
// Cancellation: an operation dropped while waiting (task aborted, a lost select, a
// timeout) takes no datagram off the queue and sends nothing; the socket stays usable.
// Destroying the socket closes it (a pending operation must be gone first, as it refers
// to it).
//
// Thread safety: any number of tasks may send and receive on one socket at once; each
// datagram goes to one receiver. connect while operations are pending changes the peer
// under them (as it would in C).
#pragma once

#include <cstddef>
#include <span>
#include <string_view>
#include <utility>

#include "tandem/detail/io/io_awaiter.hpp"
#include "tandem/detail/net/datagram_operations.hpp"
#include "tandem/detail/net/socket_handle.hpp"
#include "tandem/net/socket_address.hpp"
#include "tandem/net/stream_operations.hpp"

namespace tandem::net {

// co_await: the number of bytes sent (the whole datagram).
class send_to_operation final : public detail::io_awaiter<detail::datagram_send_to> {
 public:
  using io_awaiter::io_awaiter;
};

// co_await: the number of bytes sent to the connected peer (the whole datagram).
class send_operation final : public detail::io_awaiter<detail::datagram_send> {
 public:
  using io_awaiter::io_awaiter;
};

// co_await: a received_datagram (its size and sender).
class recv_from_operation final : public detail::io_awaiter<detail::datagram_receive_from> {
 public:
  using io_awaiter::io_awaiter;
};

// co_await: the size of the datagram received from the connected peer.
class recv_operation final : public detail::io_awaiter<detail::datagram_receive> {
 public:
  using io_awaiter::io_awaiter;
};

class udp_socket {
 public:
  udp_socket() noexcept = default;

  // Throws std::system_error naming `address` (EADDRINUSE, EADDRNOTAVAIL).
  static udp_socket bind(const socket_address& address);
  // Takes a non-blocking datagram socket.
  static udp_socket from_native(int fd) {
    return udp_socket(detail::socket_handle(fd, "tandem::net::udp_socket"));
  }

  send_to_operation send_to(std::span<const std::byte> datagram, const socket_address& destination) const {
    constexpr const char* what = "tandem::net::udp_socket::send_to";
    return {handle_.registration(what), detail::datagram_send_to{{what, datagram}, destination}};
  }
  send_to_operation send_to(std::string_view datagram, const socket_address& destination) const {
    return send_to(detail::as_bytes(datagram), destination);
  }
  recv_from_operation recv_from(std::span<std::byte> buffer) const {
    constexpr const char* what = "tandem::net::udp_socket::recv_from";
    return {handle_.registration(what), detail::datagram_receive_from{{what, buffer}}};
  }
  recv_from_operation recv_from(std::span<char> buffer) const {
    return recv_from(std::as_writable_bytes(buffer));
  }

  // Sets the default peer: send and recv then need no address, and datagrams from other
  // addresses are dropped. Throws std::system_error naming `peer`.
  void connect(const socket_address& peer) const;
  // Connected sockets only (otherwise std::system_error, EDESTADDRREQ or ENOTCONN).
  send_operation send(std::span<const std::byte> datagram) const {
    constexpr const char* what = "tandem::net::udp_socket::send";
    return {handle_.registration(what), detail::datagram_send{{what, datagram}}};
  }
  send_operation send(std::string_view datagram) const { return send(detail::as_bytes(datagram)); }
  recv_operation recv(std::span<std::byte> buffer) const {
    constexpr const char* what = "tandem::net::udp_socket::recv";
    return {handle_.registration(what), detail::datagram_receive{{what, buffer}}};
  }
  recv_operation recv(std::span<char> buffer) const { return recv(std::as_writable_bytes(buffer)); }

  socket_address local_addr() const;
  // Throws std::system_error (ENOTCONN) when not connected.
  socket_address peer_addr() const;
  // SO_BROADCAST: allows send_to a broadcast address.
  void set_broadcast(bool enabled) const;
  bool broadcast() const;

  bool is_open() const noexcept { return handle_.is_open(); }
  int native_handle() const noexcept { return handle_.fd(); }

 private:
  explicit udp_socket(detail::socket_handle handle) noexcept : handle_(std::move(handle)) {}

  detail::socket_handle handle_;
};

}  // namespace tandem::net
