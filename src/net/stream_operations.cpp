#include "tandem/detail/net/stream_operations.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <system_error>

#include "tandem/errors.hpp"
#include "tandem/net/socket_address.hpp"

namespace tandem::detail {

namespace {

bool would_block(int error) noexcept {
  return error == EAGAIN || error == EWOULDBLOCK;
}

std::string peer_of(int fd) {
  sockaddr_storage peer{};
  socklen_t length = sizeof peer;
  if (fd < 0 || getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &length) != 0) return {};
  if (peer.ss_family == AF_UNIX) {
    const auto* unix_peer = reinterpret_cast<const sockaddr_un*>(&peer);
    return length > sizeof(sa_family_t) && unix_peer->sun_path[0] != '\0' ? std::string(unix_peer->sun_path)
                                                                           : std::string("an unnamed unix socket");
  }
  try {
    return net::socket_address::from_native(reinterpret_cast<const sockaddr*>(&peer), length).to_string();
  } catch (const std::invalid_argument&) {
    return {};
  }
}

}  // namespace

void throw_socket_error(int error, const char* operation, int fd) {
  std::string message(operation);
  if (const std::string peer = peer_of(fd); !peer.empty()) message += " (peer " + peer + ")";
  throw std::system_error(error, std::generic_category(), message);
}

io_progress stream_read::attempt(int socket) noexcept {
  fd = socket;
  if (buffer.empty()) return io_progress::done;
  ssize_t n = 0;
  const io_progress progress = retry_interrupted([&] { return ::read(socket, buffer.data(), buffer.size()); }, n, error);
  if (n < 0) return progress;
  transferred = static_cast<std::size_t>(n);
  // A short read emptied the socket's queue (stream sockets): the next read can wait for
  // an event instead of trying first. The end (0) stays ready: it repeats.
  return n > 0 && transferred < buffer.size() ? io_progress::drained : io_progress::done;
}

io_progress stream_read_exact::attempt(int socket) noexcept {
  fd = socket;
  while (transferred < buffer.size()) {
    ssize_t n = 0;
    const io_progress progress = retry_interrupted(
        [&] { return ::read(socket, buffer.data() + transferred, buffer.size() - transferred); }, n, error);
    if (n < 0) return progress;
    if (n == 0) {
      error = -1;  // the end of the stream came first
      return io_progress::done;
    }
    transferred += static_cast<std::size_t>(n);
    // Short: the queue is likely empty, so wait rather than try again now.
    if (transferred < buffer.size()) return io_progress::short_wait;
  }
  return io_progress::done;
}

void stream_read_exact::result() const {
  if (error == -1)
    throw end_of_stream(std::string(what) + ": the stream ended after " + std::to_string(transferred) + " of " +
                        std::to_string(buffer.size()) + " bytes");
  if (error != 0) throw_socket_error(error, what, fd);
}

// MSG_NOSIGNAL on every send: a peer that went away gives EPIPE instead of killing the
// process with SIGPIPE.
io_progress stream_write::attempt(int socket) noexcept {
  fd = socket;
  if (buffer.empty()) return io_progress::done;
  ssize_t n = 0;
  const io_progress progress =
      retry_interrupted([&] { return ::send(socket, buffer.data(), buffer.size(), MSG_NOSIGNAL); }, n, error);
  if (n < 0) return progress;
  transferred = static_cast<std::size_t>(n);
  return transferred < buffer.size() ? io_progress::drained : io_progress::done;
}

io_progress stream_write_all::attempt(int socket) noexcept {
  fd = socket;
  while (transferred < buffer.size()) {
    ssize_t n = 0;
    const io_progress progress = retry_interrupted(
        [&] { return ::send(socket, buffer.data() + transferred, buffer.size() - transferred, MSG_NOSIGNAL); }, n,
        error);
    if (n < 0) return progress;
    transferred += static_cast<std::size_t>(n);
    // Short: the send buffer is full, so wait for room rather than try again now.
    if (transferred < buffer.size()) return io_progress::short_wait;
  }
  return io_progress::done;
}

io_progress accept_connection::attempt(int socket) noexcept {
  fd = socket;
  for (;;) {
    accepted = ::accept4(socket, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (accepted >= 0) return io_progress::done;
    // A connection reset while queued: take the next one.
    if (errno == EINTR || errno == ECONNABORTED) continue;
    if (would_block(errno)) return io_progress::would_block;
    error = errno;
    return io_progress::done;
  }
}

int accept_connection::result() {
  if (error != 0) {
    const char* hint = error == EMFILE || error == ENFILE ? " (out of file descriptors: back off and try again)" : "";
    throw std::system_error(error, std::generic_category(), std::string(what) + hint);
  }
  return std::exchange(accepted, -1);
}

io_progress connect_completion::attempt(int socket) noexcept {
  if (!started) {
    started = true;
    if (::connect(socket, destination.native(), destination.native_length()) == 0) return io_progress::done;
    // EINTR: the connect goes on in the background, like EINPROGRESS.
    if (errno == EINPROGRESS || errno == EINTR) return io_progress::would_block;
    error = errno;
    return io_progress::done;
  }
  int pending = 0;
  socklen_t size = sizeof pending;
  if (getsockopt(socket, SOL_SOCKET, SO_ERROR, &pending, &size) != 0) pending = errno;
  if (pending != 0) {
    error = pending;
    return io_progress::done;
  }
  // Writable without an error means connected; a wake for another reason finds no peer yet.
  sockaddr_storage peer{};
  socklen_t peer_length = sizeof peer;
  if (getpeername(socket, reinterpret_cast<sockaddr*>(&peer), &peer_length) != 0) {
    if (errno == ENOTCONN) return io_progress::would_block;
    error = errno;
  }
  return io_progress::done;
}

void connect_completion::result() const {
  if (error != 0)
    throw std::system_error(error, std::generic_category(), std::string(what) + ": cannot connect to " + destination.to_string());
}

}  // namespace tandem::detail
