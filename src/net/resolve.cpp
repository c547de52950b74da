#include "tandem/net/resolve.hpp"

#include <algorithm>
#include <cerrno>
#include <memory>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "tandem/spawn_blocking.hpp"

namespace tandem::net {

namespace {

class getaddrinfo_category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "getaddrinfo"; }
  std::string message(int code) const override { return gai_strerror(code); }
};

bool is_numeric(const std::string& host) {
  in6_addr parsed{};
  return inet_pton(AF_INET, host.c_str(), &parsed) == 1 || inet_pton(AF_INET6, host.c_str(), &parsed) == 1;
}

// "example.com:80", "[fe80::1%eth0]:80": as an address would be written.
std::string endpoint_text(const std::string& host, std::uint16_t port) {
  const bool needs_brackets = host.find(':') != std::string::npos;
  return (needs_brackets ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

std::vector<socket_address> look_up(const std::string& host, std::uint16_t port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  // One entry per address rather than one per socket type.
  hints.ai_socktype = SOCK_STREAM;
  // No AI_ADDRCONFIG: it ignores loopback interfaces, so on a machine with no other
  // network it would hide "localhost".
  hints.ai_flags = AI_NUMERICSERV;
  const std::string service = std::to_string(port);
  addrinfo* found = nullptr;
  const int status = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &found);
  const int error_number = errno;
  if (status != 0) {
    const std::string message = "tandem::net::resolve: cannot resolve " + endpoint_text(host, port);
    if (status == EAI_SYSTEM) throw std::system_error(error_number, std::generic_category(), message);
    throw std::system_error(status, resolve_category(), message);
  }
  const std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> owned(found, &::freeaddrinfo);
  std::vector<socket_address> addresses;
  for (const addrinfo* entry = found; entry != nullptr; entry = entry->ai_next) {
    if (entry->ai_family != AF_INET && entry->ai_family != AF_INET6) continue;
    const socket_address address = socket_address::from_native(entry->ai_addr, entry->ai_addrlen);
    // /etc/hosts may list one address under several lines.
    if (std::find(addresses.begin(), addresses.end(), address) == addresses.end())
      addresses.push_back(address);
  }
  return addresses;
}

}  // namespace

const std::error_category& resolve_category() noexcept {
  static const getaddrinfo_category category;
  return category;
}

task<std::vector<socket_address>> resolve(std::string host, std::uint16_t port) {
  if (is_numeric(host)) co_return std::vector<socket_address>{socket_address(host, port)};
  auto lookup = tandem::spawn_blocking([host = std::move(host), port] { return look_up(host, port); });
  co_return co_await lookup;
}

}  // namespace tandem::net
