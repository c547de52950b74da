#include <cerrno>
#include <string>
#include <system_error>

#include <sys/socket.h>

#include "tandem/net/udp_socket.hpp"

namespace tandem::net {

namespace {

socket_address address_of(int fd, int (*query)(int, sockaddr*, socklen_t*), const char* what) {
  sockaddr_storage address{};
  socklen_t length = sizeof address;
  if (query(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0)
    throw std::system_error(errno, std::generic_category(), what);
  return socket_address::from_native(reinterpret_cast<const sockaddr*>(&address), length);
}

}  // namespace

udp_socket udp_socket::bind(const socket_address& address) {
  constexpr const char* what = "tandem::net::udp_socket::bind";
  detail::socket_handle handle(detail::open_socket(address.family(), SOCK_DGRAM, what), what);
  if (::bind(handle.fd(), address.native(), address.native_length()) != 0)
    throw std::system_error(errno, std::generic_category(),
                            std::string(what) + ": cannot bind " + address.to_string());
  return udp_socket(std::move(handle));
}

void udp_socket::connect(const socket_address& peer) const {
  constexpr const char* what = "tandem::net::udp_socket::connect";
  // A datagram connect only records the peer, so even a non-blocking socket finishes it
  // here: there is no EINPROGRESS to wait out.
  if (::connect(handle_.registration(what).fd(), peer.native(), peer.native_length()) != 0)
    throw std::system_error(errno, std::generic_category(),
                            std::string(what) + ": cannot connect to " + peer.to_string());
}

socket_address udp_socket::local_addr() const {
  constexpr const char* what = "tandem::net::udp_socket::local_addr";
  return address_of(handle_.registration(what).fd(), ::getsockname, what);
}

socket_address udp_socket::peer_addr() const {
  constexpr const char* what = "tandem::net::udp_socket::peer_addr";
  return address_of(handle_.registration(what).fd(), ::getpeername, what);
}

void udp_socket::set_broadcast(bool enabled) const {
  constexpr const char* what = "tandem::net::udp_socket::set_broadcast";
  const int value = enabled ? 1 : 0;
  if (setsockopt(handle_.registration(what).fd(), SOL_SOCKET, SO_BROADCAST, &value, sizeof value) != 0)
    throw std::system_error(errno, std::generic_category(), what);
}

bool udp_socket::broadcast() const {
  constexpr const char* what = "tandem::net::udp_socket::broadcast";
  int value = 0;
  socklen_t length = sizeof value;
  if (getsockopt(handle_.registration(what).fd(), SOL_SOCKET, SO_BROADCAST, &value, &length) != 0)
    throw std::system_error(errno, std::generic_category(), what);
  return value != 0;
}

}  // namespace tandem::net
