#include "tandem/net/resolve.hpp"

#include <algorithm>
#include <chrono>
#include <string>
#include <system_error>
#include <vector>

#include <gtest/gtest.h>
#include <netdb.h>

#include "tandem/combine.hpp"
#include "tandem/errors.hpp"
#include "tandem/runtime.hpp"
#include "tandem/time/timeout.hpp"

#include "support/runtimes.hpp"

namespace {

using namespace std::chrono_literals;
using tandem::task;
using tandem::net::socket_address;

bool is_loopback(const socket_address& address) {
  return address.ip().starts_with("127.") || address.ip() == "::1";
}

// run() bounds every test body, even where the system's resolver would be slow.
class resolve_test : public test_support::flavored_test {};

TEST_P(resolve_test, a_numeric_ipv4_host_is_itself) {
  run([]() -> task<void> {
    const std::vector<socket_address> addresses = co_await tandem::net::resolve("127.0.0.1", 8080);
    EXPECT_EQ(addresses, std::vector<socket_address>{socket_address::loopback(8080)});
  }());
}

TEST_P(resolve_test, a_numeric_ipv6_host_is_itself) {
  run([]() -> task<void> {
    const std::vector<socket_address> addresses = co_await tandem::net::resolve("::1", 443);
    EXPECT_EQ(addresses, std::vector<socket_address>{socket_address("::1", 443)});
  }());
}

TEST_P(resolve_test, localhost_resolves_to_loopback_addresses_once_each) {
  run([]() -> task<void> {
    const std::vector<socket_address> addresses = co_await tandem::net::resolve("localhost", 7);
    EXPECT_FALSE(addresses.empty());
    for (const socket_address& address : addresses) {
      EXPECT_TRUE(is_loopback(address)) << address.to_string();
      EXPECT_EQ(address.port(), 7);
      EXPECT_EQ(std::count(addresses.begin(), addresses.end(), address), 1) << address.to_string();
    }
  }());
}

TEST_P(resolve_test, many_lookups_may_run_at_once) {
  run([]() -> task<void> {
    auto lookups = tandem::join(tandem::net::resolve("localhost", 1), tandem::net::resolve("localhost", 2),
                                tandem::net::resolve("127.0.0.1", 3));
    auto [first, second, third] = co_await lookups;
    EXPECT_FALSE(first.empty());
    EXPECT_FALSE(second.empty());
    EXPECT_EQ(third.size(), 1u);
    for (const socket_address& address : second) EXPECT_EQ(address.port(), 2);
  }());
}

TEST_P(resolve_test, an_unknown_name_throws_naming_it) {
  run([]() -> task<void> {
    // .invalid is reserved (RFC 6761): no resolver may answer it. A resolver that does
    // not answer at all fails the lookup by timing out instead.
    try {
      co_await tandem::timeout(8s, tandem::net::resolve("no-such-host.invalid", 80));
      ADD_FAILURE() << "resolved a .invalid name";
    } catch (const std::system_error& error) {
      EXPECT_NE(std::string(error.what()).find("tandem::net::resolve"), std::string::npos) << error.what();
      EXPECT_NE(std::string(error.what()).find("no-such-host.invalid:80"), std::string::npos) << error.what();
      if (error.code().category() == tandem::net::resolve_category()) {
        EXPECT_NE(std::string(error.what()).find(gai_strerror(error.code().value())), std::string::npos)
            << error.what();
      } else {
        EXPECT_EQ(error.code().category(), std::generic_category()) << error.what();
      }
    } catch (const tandem::timed_out&) {}
  }());
}

TEST_P(resolve_test, an_ipv6_looking_host_is_named_in_brackets) {
  run([]() -> task<void> {
    try {
      co_await tandem::timeout(8s, tandem::net::resolve("::not:an:address", 53));
      ADD_FAILURE() << "resolved a malformed IPv6 address";
    } catch (const std::system_error& error) {
      EXPECT_NE(std::string(error.what()).find("[::not:an:address]:53"), std::string::npos) << error.what();
    } catch (const tandem::timed_out&) {}
  }());
}

INSTANTIATE_TEST_SUITE_P(flavors, resolve_test, test_support::io_flavors(), test_support::flavor_name);

TEST(resolve_category_test, names_getaddrinfo_and_its_messages) {
  EXPECT_STREQ(tandem::net::resolve_category().name(), "getaddrinfo");
  EXPECT_EQ(tandem::net::resolve_category().message(EAI_NONAME), gai_strerror(EAI_NONAME));
}

}  // namespace
