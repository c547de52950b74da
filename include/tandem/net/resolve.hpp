// resolve: the addresses of a host name (tokio::net::lookup_host).
//
//   std::vector<socket_address> addresses = co_await tandem::net::resolve("example.com", 443);
//   tandem::net::tcp_stream stream = co_await tandem::net::tcp_stream::connect(addresses.front());
//
// Gives every address getaddrinfo(3) finds for `host` (IPv4 and IPv6, in the resolver's
// order of preference, without duplicates), each with `port`. A numeric host ("127.0.0.1",
// "::1", without brackets) is parsed at once without asking any resolver; names go through
// the system's resolver, so "localhost" and other /etc/hosts entries need no network.
//
// Blocking: getaddrinfo blocks (DNS queries, files), so it runs on the runtime's blocking
// pool (as spawn_blocking does) and the awaiting task is suspended meanwhile. The
// resolver's own timeouts bound the lookup (seconds per server, see resolv.conf(5)):
// wrap the call in tandem::timeout to bound it more tightly. Must be awaited inside a
// runtime (otherwise std::logic_error).
// Exceptions: std::system_error naming "host:port" ("tandem::net::resolve: cannot resolve
// no-such-host.invalid:80: Name or service not known"). Its code is in resolve_category()
// with getaddrinfo's EAI_* value (EAI_NONAME: no such name; EAI_AGAIN: the resolver did
// not answer, try later), or in the generic category with errno for EAI_SYSTEM.
// Cancellation: a resolve dropped while waiting (task aborted, a lost select, a timeout)
// lets the lookup finish on the pool and discards its result.
//
// Thread safety: any number of tasks may resolve at once.
#pragma once

#include <cstdint>
#include <string>
#include <system_error>
#include <vector>

#include "tandem/net/socket_address.hpp"
#include "tandem/task.hpp"

namespace tandem::net {

task<std::vector<socket_address>> resolve(std::string host, std::uint16_t port);

// The category of getaddrinfo's EAI_* codes; message() is gai_strerror's text.
const std::error_category& resolve_category() noexcept;

}  // namespace tandem::net
