#include "tandem/detail/net/datagram_operations.hpp"

#include <cerrno>
#include <stdexcept>
#include <string>
#include <system_error>

#include <sys/socket.h>

namespace tandem::detail {

namespace {

bool would_block(int error) noexcept {
  return error == EAGAIN || error == EWOULDBLOCK;
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
  for (;;) {
    // MSG_NOSIGNAL: whatever state the socket is in, a failed send throws instead of
    // killing the process with SIGPIPE.
    const ssize_t n = ::sendto(socket, buffer.data(), buffer.size(), MSG_NOSIGNAL, destination.native(),
                               destination.native_length());
    if (n >= 0) {
      transferred = static_cast<std::size_t>(n);
      return io_progress::done;
    }
    if (errno == EINTR) continue;
    if (would_block(errno)) return io_progress::would_block;
    error = errno;
    return io_progress::done;
  }
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
  for (;;) {
    const ssize_t n = ::send(socket, buffer.data(), buffer.size(), MSG_NOSIGNAL);
    if (n >= 0) {
      transferred = static_cast<std::size_t>(n);
      return io_progress::done;
    }
    if (errno == EINTR) continue;
    if (would_block(errno)) return io_progress::would_block;
    error = errno;
    return io_progress::done;
  }
}

io_progress datagram_receive_from::attempt(int socket) noexcept {
  fd = socket;
  for (;;) {
    sender_length = sizeof sender;
    const ssize_t n = ::recvfrom(socket, buffer.data(), buffer.size(), 0,
                                 reinterpret_cast<sockaddr*>(&sender), &sender_length);
    if (n >= 0) {
      transferred = static_cast<std::size_t>(n);
      return io_progress::done;
    }
    if (errno == EINTR) continue;
    if (would_block(errno)) return io_progress::would_block;
    error = errno;
    return io_progress::done;
  }
}

net::received_datagram datagram_receive_from::result() const {
  if (error != 0) throw_datagram_error(error, what, fd);
  return {transferred,
          net::socket_address::from_native(reinterpret_cast<const sockaddr*>(&sender), sender_length)};
}

io_progress datagram_receive::attempt(int socket) noexcept {
  fd = socket;
  for (;;) {
    const ssize_t n = ::recv(socket, buffer.data(), buffer.size(), 0);
    if (n >= 0) {
      transferred = static_cast<std::size_t>(n);
      return io_progress::done;
    }
    if (errno == EINTR) continue;
    if (would_block(errno)) return io_progress::would_block;
    error = errno;
    return io_progress::done;
  }
}

}  // namespace tandem::detail
