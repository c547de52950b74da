#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cerrno>
#include <string>
#include <system_error>

#include "tandem/net/tcp_listener.hpp"
#include "tandem/net/tcp_stream.hpp"

namespace tandem::net {

namespace {

socket_address local_address_of(int fd, const char* what) {
  sockaddr_storage address{};
  socklen_t length = sizeof address;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0)
    throw std::system_error(errno, std::generic_category(), what);
  return socket_address::from_native(reinterpret_cast<const sockaddr*>(&address), length);
}

socket_address peer_address_of(int fd, const char* what) {
  sockaddr_storage address{};
  socklen_t length = sizeof address;
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0)
    throw std::system_error(errno, std::generic_category(), what);
  return socket_address::from_native(reinterpret_cast<const sockaddr*>(&address), length);
}

void shutdown_socket(int fd, shutdown_direction direction, const char* what) {
  const int how = direction == shutdown_direction::read ? SHUT_RD : direction == shutdown_direction::write ? SHUT_WR : SHUT_RDWR;
  if (::shutdown(fd, how) != 0) throw std::system_error(errno, std::generic_category(), what);
}

}  // namespace

task<tcp_stream> tcp_stream::connect(socket_address address) {
  constexpr const char* what = "tandem::net::tcp_stream::connect";
  tcp_stream stream(detail::socket_handle(detail::open_socket(address.family(), SOCK_STREAM, what), what));
  detail::io_awaiter<detail::connect_completion> connected(stream.handle_.registration(what),
                                                           detail::connect_completion{what, address});
  co_await connected;
  co_return stream;
}

void tcp_stream::shutdown(shutdown_direction direction) const {
  shutdown_socket(handle_.registration("tandem::net::tcp_stream::shutdown").fd(), direction,
                  "tandem::net::tcp_stream::shutdown");
}

void tcp_stream::set_nodelay(bool enabled) const {
  const int value = enabled ? 1 : 0;
  const int fd = handle_.registration("tandem::net::tcp_stream::set_nodelay").fd();
  if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &value, sizeof value) != 0)
    throw std::system_error(errno, std::generic_category(), "tandem::net::tcp_stream::set_nodelay");
}

bool tcp_stream::nodelay() const {
  int value = 0;
  socklen_t length = sizeof value;
  const int fd = handle_.registration("tandem::net::tcp_stream::nodelay").fd();
  if (getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &value, &length) != 0)
    throw std::system_error(errno, std::generic_category(), "tandem::net::tcp_stream::nodelay");
  return value != 0;
}

socket_address tcp_stream::local_addr() const {
  return local_address_of(handle_.registration("tandem::net::tcp_stream::local_addr").fd(),
                          "tandem::net::tcp_stream::local_addr");
}

socket_address tcp_stream::peer_addr() const {
  return peer_address_of(handle_.registration("tandem::net::tcp_stream::peer_addr").fd(),
                         "tandem::net::tcp_stream::peer_addr");
}

std::pair<tcp_read_half, tcp_write_half> tcp_stream::into_split() && {
  handle_.registration("tandem::net::tcp_stream::into_split");
  auto shared = std::make_shared<detail::socket_handle>(std::move(handle_));
  return {tcp_read_half(shared), tcp_write_half(shared)};
}

socket_address tcp_read_half::peer_addr() const {
  return peer_address_of(handle_->registration("tandem::net::tcp_read_half::peer_addr").fd(),
                         "tandem::net::tcp_read_half::peer_addr");
}

void tcp_write_half::shutdown() const {
  shutdown_socket(handle_->registration("tandem::net::tcp_write_half::shutdown").fd(), shutdown_direction::write,
                  "tandem::net::tcp_write_half::shutdown");
}

socket_address tcp_write_half::peer_addr() const {
  return peer_address_of(handle_->registration("tandem::net::tcp_write_half::peer_addr").fd(),
                         "tandem::net::tcp_write_half::peer_addr");
}

tcp_listener tcp_listener::bind(const socket_address& address, int backlog) {
  constexpr const char* what = "tandem::net::tcp_listener::bind";
  detail::socket_handle handle(detail::open_socket(address.family(), SOCK_STREAM, what), what);
  const int one = 1;
  setsockopt(handle.fd(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(handle.fd(), address.native(), address.native_length()) != 0)
    throw std::system_error(errno, std::generic_category(), std::string(what) + ": cannot bind " + address.to_string());
  if (::listen(handle.fd(), backlog) != 0)
    throw std::system_error(errno, std::generic_category(),
                            std::string(what) + ": cannot listen on " + address.to_string());
  return tcp_listener(std::move(handle));
}

socket_address tcp_listener::local_addr() const {
  return local_address_of(handle_.registration("tandem::net::tcp_listener::local_addr").fd(),
                          "tandem::net::tcp_listener::local_addr");
}

}  // namespace tandem::net
