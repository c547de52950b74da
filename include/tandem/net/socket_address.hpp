// socket_address: an IPv4 or IPv6 address and a port (std::net::SocketAddr).
//
//   auto any = tandem::net::socket_address::parse("0.0.0.0:8080");
//   auto local = tandem::net::socket_address::loopback(0);   // 127.0.0.1, any free port
//   auto v6 = tandem::net::socket_address::parse("[::1]:443");
//
// parse takes a numeric address only ("host:port", IPv6 in brackets) and throws
// std::invalid_argument saying what is wrong; names go through tandem::net::resolve.
//
// Thread safety: a value type; const members may be used from any thread.
#pragma once

#include <sys/socket.h>

#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

namespace tandem::net {

class socket_address {
 public:
  socket_address() noexcept;
  // `ip`: a numeric IPv4 ("10.0.0.1") or IPv6 ("::1", no brackets) address.
  socket_address(std::string_view ip, std::uint16_t port);

  static socket_address parse(std::string_view text);
  static socket_address loopback(std::uint16_t port) { return socket_address("127.0.0.1", port); }
  static socket_address any(std::uint16_t port) { return socket_address("0.0.0.0", port); }
  // From what the kernel filled in (accept, getsockname, recvfrom); throws
  // std::invalid_argument for a family other than IPv4 or IPv6.
  static socket_address from_native(const sockaddr* address, socklen_t length);

  bool is_ipv4() const noexcept { return storage_.ss_family == AF_INET; }
  bool is_ipv6() const noexcept { return storage_.ss_family == AF_INET6; }
  std::uint16_t port() const noexcept;
  std::string ip() const;
  // "127.0.0.1:8080", "[::1]:443".
  std::string to_string() const;

  const sockaddr* native() const noexcept { return reinterpret_cast<const sockaddr*>(&storage_); }
  socklen_t native_length() const noexcept { return length_; }
  int family() const noexcept { return storage_.ss_family; }

  friend bool operator==(const socket_address& a, const socket_address& b) noexcept;

 private:
  sockaddr_storage storage_;
  socklen_t length_;
};

}  // namespace tandem::net
