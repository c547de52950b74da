#include "tandem/net/socket_address.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <charconv>
#include <cstring>
#include <stdexcept>

namespace tandem::net {

socket_address::socket_address() noexcept : storage_{}, length_(sizeof(sockaddr_in)) {
  auto* v4 = reinterpret_cast<sockaddr_in*>(&storage_);
  v4->sin_family = AF_INET;
}

socket_address::socket_address(std::string_view ip, std::uint16_t port) : storage_{}, length_(0) {
  const std::string text(ip);
  auto* v4 = reinterpret_cast<sockaddr_in*>(&storage_);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&storage_);
  if (inet_pton(AF_INET, text.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    length_ = sizeof(sockaddr_in);
  } else if (inet_pton(AF_INET6, text.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    length_ = sizeof(sockaddr_in6);
  } else {
    throw std::invalid_argument("tandem::net::socket_address: '" + text +
                                "' is not a numeric IPv4 or IPv6 address (use tandem::net::resolve for names)");
  }
}

socket_address socket_address::parse(std::string_view text) {
  const auto fail = [&](const char* why) {
    return std::invalid_argument("tandem::net::socket_address::parse: '" + std::string(text) + "': " + why);
  };
  std::string_view host;
  std::string_view port_text;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':')
      throw fail("expected [ipv6]:port");
    host = text.substr(1, close - 1);
    port_text = text.substr(close + 2);
    if (host.find(':') == std::string_view::npos) throw fail("brackets are for IPv6 addresses: [ipv6]:port");
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) throw fail("expected host:port");
    host = text.substr(0, colon);
    port_text = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) throw fail("an IPv6 address needs brackets: [ipv6]:port");
  }
  unsigned port = 0;
  const auto [end, error] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (error != std::errc{} || end != port_text.data() + port_text.size() || port > 65535)
    throw fail("the port must be a number from 0 to 65535");
  return socket_address(host, static_cast<std::uint16_t>(port));
}

socket_address socket_address::from_native(const sockaddr* address, socklen_t length) {
  socket_address result;
  if ((address->sa_family != AF_INET && address->sa_family != AF_INET6) || length > sizeof(sockaddr_storage))
    throw std::invalid_argument("tandem::net::socket_address: not an IPv4 or IPv6 address");
  std::memcpy(&result.storage_, address, length);
  result.length_ = length;
  return result;
}

std::uint16_t socket_address::port() const noexcept {
  if (is_ipv6()) return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_port);
  return ntohs(reinterpret_cast<const sockaddr_in*>(&storage_)->sin_port);
}

std::string socket_address::ip() const {
  char buffer[INET6_ADDRSTRLEN] = {};
  if (is_ipv6()) {
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_addr, buffer, sizeof buffer);
  } else {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&storage_)->sin_addr, buffer, sizeof buffer);
  }
  return buffer;
}

std::string socket_address::to_string() const {
  std::string text;
  if (is_ipv6()) text.push_back('[');
  text.append(ip());
  if (is_ipv6()) text.push_back(']');
  text.push_back(':');
  text.append(std::to_string(port()));
  return text;
}

bool operator==(const socket_address& a, const socket_address& b) noexcept {
  return a.family() == b.family() && a.port() == b.port() && a.ip() == b.ip();
}

}  // namespace tandem::net
