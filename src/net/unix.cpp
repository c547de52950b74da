#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstring>
#include <stdexcept>
#include <string>
#include <system_error>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "tandem/net/unix_listener.hpp"
#include "tandem/net/unix_stream.hpp"
#include "tandem/time/sleep.hpp"

namespace tandem::net {

namespace {

struct unix_address {
  sockaddr_un native{};
  socklen_t length = 0;
};

// Throws std::invalid_argument naming `path` when it cannot be a socket address.
unix_address unix_address_of(const std::filesystem::path& path, const char* what) {
  const std::string& text = path.native();
  unix_address address;
  address.native.sun_family = AF_UNIX;
  if (text.empty()) throw std::invalid_argument(std::string(what) + ": the path is empty");
  if (text.find('\0') != std::string::npos)
    throw std::invalid_argument(std::string(what) + ": the path '" + text + "' contains a NUL byte");
  // sun_path keeps the terminating NUL too.
  if (text.size() >= sizeof address.native.sun_path)
    throw std::invalid_argument(
        std::string(what) + ": the path '" + text + "' is " + std::to_string(text.size()) +
        " bytes long; a unix socket path holds at most " +
        std::to_string(sizeof address.native.sun_path - 1) + " (use a shorter or a relative path)");
  std::memcpy(address.native.sun_path, text.c_str(), text.size() + 1);
  address.length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + text.size() + 1);
  return address;
}

// The path of either end of a Unix socket, as unix_stream::local_path documents it.
std::string path_of(int fd, int (*query)(int, sockaddr*, socklen_t*), const char* what) {
  sockaddr_un address{};
  socklen_t length = sizeof address;
  if (query(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0)
    throw std::system_error(errno, std::generic_category(), what);
  const std::size_t path_offset = offsetof(sockaddr_un, sun_path);
  if (length <= path_offset) return {};
  const std::size_t path_length = std::min<std::size_t>(length - path_offset, sizeof address.sun_path);
  // An abstract address starts with a NUL and may hold any bytes; '@' is how ss(8) shows it.
  if (address.sun_path[0] == '\0') {
    std::string name(1, '@');
    name.append(address.sun_path + 1, path_length - 1);
    return name;
  }
  return std::string(address.sun_path, strnlen(address.sun_path, path_length));
}

void shutdown_socket(int fd, shutdown_direction direction, const char* what) {
  const int how = direction == shutdown_direction::read    ? SHUT_RD
                  : direction == shutdown_direction::write ? SHUT_WR
                                                           : SHUT_RDWR;
  if (::shutdown(fd, how) != 0) throw std::system_error(errno, std::generic_category(), what);
}

// A full backlog does not wake the connecting socket when room frees up, so connect
// polls: 1 ms, 2 ms, ... 512 ms, about 1 s in all, enough for a busy server to accept.
constexpr int connect_retries = 10;
constexpr std::chrono::milliseconds first_connect_pause{1};

}  // namespace

task<unix_stream> unix_stream::connect(std::filesystem::path path) {
  constexpr const char* what = "tandem::net::unix_stream::connect";
  const unix_address destination = unix_address_of(path, what);
  unix_stream stream(detail::socket_handle(detail::open_socket(AF_UNIX, SOCK_STREAM, what), what));
  std::chrono::milliseconds pause = first_connect_pause;
  for (int retry = 0;; ++retry) {
    if (::connect(stream.handle_.fd(), reinterpret_cast<const sockaddr*>(&destination.native),
                  destination.length) == 0)
      co_return stream;
    const int error = errno;
    if (error != EAGAIN)
      throw std::system_error(error, std::generic_category(),
                              std::string(what) + ": cannot connect to " + path.native());
    if (retry == connect_retries)
      throw std::system_error(error, std::generic_category(),
                              std::string(what) + ": cannot connect to " + path.native() +
                                  " (the listener's backlog stayed full for about 1 s)");
    auto backoff = tandem::sleep(pause);
    co_await backoff;
    pause *= 2;
  }
}

std::pair<unix_stream, unix_stream> unix_stream::pair() {
  constexpr const char* what = "tandem::net::unix_stream::pair";
  int ends[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, ends) != 0)
    throw std::system_error(errno, std::generic_category(), what);
  detail::socket_handle first;
  try {
    first = detail::socket_handle(ends[0], what);
  } catch (...) {
    ::close(ends[1]);
    throw;
  }
  detail::socket_handle second(ends[1], what);
  return {unix_stream(std::move(first)), unix_stream(std::move(second))};
}

void unix_stream::shutdown(shutdown_direction direction) const {
  constexpr const char* what = "tandem::net::unix_stream::shutdown";
  shutdown_socket(handle_.registration(what).fd(), direction, what);
}

std::string unix_stream::local_path() const {
  constexpr const char* what = "tandem::net::unix_stream::local_path";
  return path_of(handle_.registration(what).fd(), ::getsockname, what);
}

std::string unix_stream::peer_path() const {
  constexpr const char* what = "tandem::net::unix_stream::peer_path";
  return path_of(handle_.registration(what).fd(), ::getpeername, what);
}

std::pair<unix_read_half, unix_write_half> unix_stream::into_split() && {
  handle_.registration("tandem::net::unix_stream::into_split");
  auto shared = std::make_shared<detail::socket_handle>(std::move(handle_));
  return {unix_read_half(shared), unix_write_half(shared)};
}

std::string unix_read_half::peer_path() const {
  constexpr const char* what = "tandem::net::unix_read_half::peer_path";
  return path_of(handle_->registration(what).fd(), ::getpeername, what);
}

void unix_write_half::shutdown() const {
  constexpr const char* what = "tandem::net::unix_write_half::shutdown";
  shutdown_socket(handle_->registration(what).fd(), shutdown_direction::write, what);
}

std::string unix_write_half::peer_path() const {
  constexpr const char* what = "tandem::net::unix_write_half::peer_path";
  return path_of(handle_->registration(what).fd(), ::getpeername, what);
}

unix_listener unix_listener::bind(const std::filesystem::path& path, int backlog) {
  constexpr const char* what = "tandem::net::unix_listener::bind";
  const unix_address address = unix_address_of(path, what);
  detail::socket_handle handle(detail::open_socket(AF_UNIX, SOCK_STREAM, what), what);
  if (::bind(handle.fd(), reinterpret_cast<const sockaddr*>(&address.native), address.length) != 0) {
    const int error = errno;
    const char* hint =
        error == EADDRINUSE ? " (the path exists; if it is a stale socket, remove it first)" : "";
    throw std::system_error(error, std::generic_category(),
                            std::string(what) + ": cannot bind " + path.native() + hint);
  }
  if (::listen(handle.fd(), backlog) != 0) {
    const int error = errno;
    // The file is ours (bind just made it): leave nothing behind for the next bind to trip on.
    ::unlink(path.c_str());
    throw std::system_error(error, std::generic_category(),
                            std::string(what) + ": cannot listen on " + path.native());
  }
  return unix_listener(std::move(handle));
}

std::string unix_listener::local_path() const {
  constexpr const char* what = "tandem::net::unix_listener::local_path";
  return path_of(handle_.registration(what).fd(), ::getsockname, what);
}

}  // namespace tandem::net
