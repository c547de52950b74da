#include "tandem/detail/net/datagram_operations.hpp"

#include <cerrno>
#include <stdexcept>
#include <string>
#include <system_error>

#include <sys/socket.h>

namespace tandem::detail {

namespace {

// A datagram moves whole or not at all, so success is always `done` (never `drained`:
// see the header).
template <class Byte, class Call>
io_progress move_datagram(transfer_state<Byte>& state, Call call) noexcept {
  ssize_t n = 0;
  const io_progress progress = retry_interrupted(call, n, state.error);
  if (n >= 0) state.transferred = static_cast<std::size_t>(n);
  return progress;
}

// "peer 127.0.0.1:53" for a connected socket, "local 0.0.0.0:5000" otherwise: the
// address that tells the reader which socket failed.
std::string describe_datagram_socket(int fd) {
  sockaddr_storage address{};
  socklen_t length = sizeof address;
  const char* role = "peer ";
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    length = sizeof address;
    role = "local ";
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) return {};
  }
  try {
    return role +
           net::socket_address::from_native(reinterpret_cast<const sockaddr*>(&address), length).to_string();
  } catch (const std::invalid_argument&) {
    return {};
  }
}

}  // namespace

void throw_datagram_error(int error, const char* operation, int fd) {
  std::string message(operation);
  if (const std::string address = fd >= 0 ? describe_datagram_socket(fd) : std::string(); !address.empty())
    message += " (" + address + ")";
  throw std::system_error(error, std::generic_category(), message);
}

io_progress datagram_send_to::attempt(int socket) noexcept {
  fd = socket;
  // MSG_NOSIGNAL: whatever state the socket is in, a failed send throws instead of
  // killing the process with SIGPIPE.
  return move_datagram(*this, [&] {
    return ::sendto(socket, buffer.data(), buffer.size(), MSG_NOSIGNAL, destination.native(),
                    destination.native_length());
  });
}

std::size_t datagram_send_to::result() const {
  if (error != 0)
    throw std::system_error(error, std::generic_category(),
                            std::string(what) + ": cannot send " + std::to_string(buffer.size()) +
                                " bytes to " + destination.to_string());
  return transferred;
}

io_progress datagram_send::attempt(int socket) noexcept {
  fd = socket;
  return move_datagram(*this, [&] { return ::send(socket, buffer.data(), buffer.size(), MSG_NOSIGNAL); });
}

io_progress datagram_receive_from::attempt(int socket) noexcept {
  fd = socket;
  return move_datagram(*this, [&] {
    sender_length = sizeof sender;
    return ::recvfrom(socket, buffer.data(), buffer.size(), 0, reinterpret_cast<sockaddr*>(&sender), &sender_length);
  });
}

net::received_datagram datagram_receive_from::result() const {
  if (error != 0) throw_datagram_error(error, what, fd);
  return {transferred,
          net::socket_address::from_native(reinterpret_cast<const sockaddr*>(&sender), sender_length)};
}

io_progress datagram_receive::attempt(int socket) noexcept {
  fd = socket;
  return move_datagram(*this, [&] { return ::recv(socket, buffer.data(), buffer.size(), 0); });
}

}  // namespace tandem::detail
