#include "tandem/net/socket_address.hpp"

#include <stdexcept>
#include <string>

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/un.h>

namespace {

using tandem::net::socket_address;

// The message of the std::invalid_argument that parsing `text` throws ("" if none).
std::string parse_error(const std::string& text) {
  try {
    socket_address::parse(text);
  } catch (const std::invalid_argument& error) {
    return error.what();
  }
  return {};
}

TEST(socket_address_test, parses_ipv4) {
  const socket_address address = socket_address::parse("192.168.1.20:8080");
  EXPECT_TRUE(address.is_ipv4());
  EXPECT_FALSE(address.is_ipv6());
  EXPECT_EQ(address.family(), AF_INET);
  EXPECT_EQ(address.ip(), "192.168.1.20");
  EXPECT_EQ(address.port(), 8080);
  EXPECT_EQ(address.native_length(), sizeof(sockaddr_in));
}

TEST(socket_address_test, parses_ipv6_in_brackets) {
  const socket_address address = socket_address::parse("[2001:db8::1]:443");
  EXPECT_TRUE(address.is_ipv6());
  EXPECT_EQ(address.family(), AF_INET6);
  EXPECT_EQ(address.ip(), "2001:db8::1");
  EXPECT_EQ(address.port(), 443);
  EXPECT_EQ(address.native_length(), sizeof(sockaddr_in6));
}

TEST(socket_address_test, parses_the_port_range_ends) {
  EXPECT_EQ(socket_address::parse("0.0.0.0:0").port(), 0);
  EXPECT_EQ(socket_address::parse("[::]:65535").port(), 65535);
}

TEST(socket_address_test, to_string_round_trips) {
  for (const char* text : {"127.0.0.1:80", "0.0.0.0:0", "255.255.255.255:65535", "[::1]:443", "[::]:0",
                           "[2001:db8::8:800:200c:417a]:9000", "[::ffff:10.0.0.1]:53"}) {
    const socket_address address = socket_address::parse(text);
    EXPECT_EQ(address.to_string(), text);
    EXPECT_EQ(socket_address::parse(address.to_string()), address) << text;
  }
}

TEST(socket_address_test, to_string_writes_ipv6_in_canonical_form) {
  EXPECT_EQ(socket_address::parse("[0:0:0:0:0:0:0:1]:80").to_string(), "[::1]:80");
}

TEST(socket_address_test, helpers_and_constructor_build_numeric_addresses) {
  EXPECT_EQ(socket_address::loopback(9).to_string(), "127.0.0.1:9");
  EXPECT_EQ(socket_address::any(10).to_string(), "0.0.0.0:10");
  EXPECT_EQ(socket_address("::1", 7).to_string(), "[::1]:7");
  EXPECT_EQ(socket_address("10.1.2.3", 7), socket_address::parse("10.1.2.3:7"));
  EXPECT_TRUE(socket_address().is_ipv4());
}

TEST(socket_address_test, equality_compares_family_address_and_port) {
  EXPECT_EQ(socket_address::parse("127.0.0.1:1"), socket_address::loopback(1));
  EXPECT_NE(socket_address::parse("127.0.0.1:1"), socket_address::loopback(2));
  EXPECT_NE(socket_address::parse("127.0.0.1:1"), socket_address::parse("127.0.0.2:1"));
  EXPECT_NE(socket_address::parse("[::ffff:127.0.0.1]:1"), socket_address::loopback(1));
}

TEST(socket_address_test, bad_inputs_say_what_is_wrong) {
  struct bad_input {
    const char* text;
    const char* reason;
  };
  for (const bad_input& input : {
           bad_input{"", "expected host:port"},
           bad_input{"127.0.0.1", "expected host:port"},
           bad_input{"127.0.0.1:", "the port must be a number from 0 to 65535"},
           bad_input{"127.0.0.1:65536", "the port must be a number from 0 to 65535"},
           bad_input{"127.0.0.1:-1", "the port must be a number from 0 to 65535"},
           bad_input{"127.0.0.1:80x", "the port must be a number from 0 to 65535"},
           bad_input{"127.0.0.1: 80", "the port must be a number from 0 to 65535"},
           bad_input{"::1:80", "an IPv6 address needs brackets"},
           bad_input{"[::1]80", "expected [ipv6]:port"},
           bad_input{"[::1]", "expected [ipv6]:port"},
           bad_input{"[::1:80", "expected [ipv6]:port"},
           bad_input{"[127.0.0.1]:80", "brackets are for IPv6 addresses"},
       }) {
    const std::string message = parse_error(input.text);
    ASSERT_FALSE(message.empty()) << "'" << input.text << "' parsed";
    EXPECT_NE(message.find("tandem::net::socket_address::parse"), std::string::npos) << message;
    const std::string quoted = std::string(1, '\'').append(input.text).append(1, '\'');
    EXPECT_NE(message.find(quoted), std::string::npos) << message;
    EXPECT_NE(message.find(input.reason), std::string::npos) << message;
  }
}

TEST(socket_address_test, names_and_malformed_hosts_are_not_numeric_addresses) {
  for (const char* text : {"localhost:80", "256.0.0.1:80", "1.2.3:80", "[::g]:80", ":80"}) {
    const std::string message = parse_error(text);
    ASSERT_FALSE(message.empty()) << "'" << text << "' parsed";
    EXPECT_NE(message.find("is not a numeric IPv4 or IPv6 address"), std::string::npos) << message;
  }
  EXPECT_THROW(socket_address("example.com", 80), std::invalid_argument);
}

TEST(socket_address_test, from_native_refuses_other_families) {
  sockaddr_un unix_address{};
  unix_address.sun_family = AF_UNIX;
  try {
    socket_address::from_native(reinterpret_cast<const sockaddr*>(&unix_address), sizeof unix_address);
    ADD_FAILURE() << "a unix address was taken";
  } catch (const std::invalid_argument& error) {
    EXPECT_NE(std::string(error.what()).find("not an IPv4 or IPv6 address"), std::string::npos)
        << error.what();
  }
}

TEST(socket_address_test, from_native_copies_what_the_kernel_filled_in) {
  const socket_address original = socket_address::parse("[fe80::1]:5353");
  const socket_address copy = socket_address::from_native(original.native(), original.native_length());
  EXPECT_EQ(copy, original);
  EXPECT_EQ(copy.native_length(), original.native_length());
}

}  // namespace
