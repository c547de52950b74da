#include "tandem/io.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

#include "tandem/combine.hpp"
#include "tandem/fs.hpp"
#include "tandem/net/tcp_stream.hpp"
#include "tandem/runtime.hpp"
#include "tandem/spawn.hpp"

#include "support/loopback.hpp"
#include "support/runtimes.hpp"

namespace {

using tandem::task;
using tandem::io::buffered_reader;
using tandem::io::buffered_writer;
using tandem::io::readable_stream;
using tandem::io::writable_stream;
using tandem::net::tcp_read_half;
using tandem::net::tcp_stream;
using tandem::net::tcp_write_half;
using test_support::connect_pair;
using test_support::tcp_pair;

static_assert(readable_stream<tcp_stream> && writable_stream<tcp_stream>);
static_assert(readable_stream<tcp_read_half> && !writable_stream<tcp_read_half>);
static_assert(writable_stream<tcp_write_half> && !readable_stream<tcp_write_half>);
static_assert(readable_stream<tandem::fs::file> && writable_stream<tandem::fs::file>);
static_assert(readable_stream<buffered_reader<tcp_stream>> && !writable_stream<buffered_reader<tcp_stream>>);
static_assert(writable_stream<buffered_writer<tcp_stream>> && !readable_stream<buffered_writer<tcp_stream>>);
static_assert(!readable_stream<int> && !readable_stream<std::string> && !writable_stream<std::string>);
static_assert(std::is_same_v<decltype(buffered_reader(std::declval<tcp_read_half>())), buffered_reader<tcp_read_half>>);
static_assert(std::is_same_v<decltype(buffered_reader(std::declval<tcp_stream>(), 16)), buffered_reader<tcp_stream>>);
static_assert(std::is_same_v<decltype(buffered_writer(std::declval<tcp_write_half>(), 16)), buffered_writer<tcp_write_half>>);

class io_test : public test_support::flavored_test {
 protected:
  // A bug that loses a byte would otherwise hang the test: every body gets a deadline.
  void run(task<void> body) { flavored_test::run(std::move(body), std::chrono::seconds(30)); }
};

task<void> finished_at_once() { co_return; }

// Bytes with no period that divides a buffer size, so a misplaced chunk shows.
std::string pattern(std::size_t size) {
  std::string bytes(size, '\0');
  for (std::size_t i = 0; i < size; ++i) bytes[i] = static_cast<char>((i * 131 + i / 4099) & 0xff);
  return bytes;
}

std::string as_string(std::span<const std::byte> bytes) {
  return std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

// Writes `text` in pieces of 1 to 89 bytes, most ending mid-line, letting the reader run
// between them, then ends the stream.
task<void> send_in_pieces(tcp_stream stream, std::string text) {
  static constexpr std::array<std::size_t, 10> piece_sizes{1, 2, 3, 5, 8, 13, 21, 34, 55, 89};
  std::size_t offset = 0;
  for (std::size_t piece = 0; offset < text.size(); ++piece) {
    const std::size_t size = std::min(piece_sizes[piece % piece_sizes.size()], text.size() - offset);
    co_await stream.write_all(std::string_view(text).substr(offset, size));
    offset += size;
    co_await tandem::yield_now();
  }
  stream.shutdown();
}

task<void> send_and_end(tcp_stream stream, std::string text) {
  co_await stream.write_all(text);
  stream.shutdown();
}

task<std::string> read_to_end(tcp_stream stream) {
  std::string received;
  std::vector<char> chunk(64 * 1024);
  for (;;) {
    const std::size_t count = co_await stream.read(std::span<char>(chunk));
    if (count == 0) co_return received;
    received.append(chunk.data(), count);
  }
}

// A buffered writer on one end of a loopback connection, and a task that reads the other
// end to its end of stream.
struct writer_and_reader {
  buffered_writer<tcp_stream> writer;
  tandem::join_handle<std::string> receiver;
};

task<writer_and_reader> writer_to_a_reader(std::size_t capacity) {
  tcp_pair pair = co_await connect_pair();
  auto receiver = tandem::spawn(read_to_end(std::move(pair.server)));
  co_return writer_and_reader{buffered_writer(std::move(pair.client), capacity), std::move(receiver)};
}

// Flushes the writer, ends its stream, and returns all that the reading end received.
task<std::string> flush_and_end(buffered_writer<tcp_stream>& writer,
                                tandem::join_handle<std::string> receiver) {
  co_await writer.flush();
  writer.get().shutdown();
  co_return co_await receiver;
}

TEST_P(io_test, read_line_reassembles_lines_split_across_writes) {
  run([]() -> task<void> {
    std::vector<std::string> expected;
    std::string text;
    for (int i = 0; i < 400; ++i) {
      expected.push_back("line " + std::to_string(i) + ": " + std::string(static_cast<std::size_t>(i % 37), 'x') + "\n");
      text += expected.back();
    }
    // 7 splits lines across refills of the buffer; the default capacity holds many lines.
    for (const std::size_t capacity : {std::size_t{7}, tandem::io::default_buffer_capacity}) {
      tcp_pair pair = co_await connect_pair();
      auto sender = tandem::spawn(send_in_pieces(std::move(pair.client), text));
      buffered_reader reader(std::move(pair.server), capacity);
      std::vector<std::string> lines;
      std::string line;
      for (;;) {
        const std::size_t length = co_await reader.read_line(line);
        if (length == 0) break;
        lines.push_back(line);
        line.clear();
      }
      co_await sender;
      EXPECT_EQ(lines, expected) << "capacity " << capacity;
      EXPECT_TRUE(line.empty());
    }
  }());
}

TEST_P(io_test, read_line_appends_and_returns_a_last_line_without_newline) {
  run([]() -> task<void> {
    tcp_pair pair = co_await connect_pair();
    std::size_t count = 0;
    co_await pair.client.write_all("alpha\r\nbeta\nomega");
    pair.client.shutdown(tandem::net::shutdown_direction::write);
    // Borrowed: the connection stays usable (and owned) here.
    buffered_reader<tcp_stream&> reader(pair.server);
    EXPECT_EQ(&reader.get(), &pair.server);

    std::string line = "> ";
    count = co_await reader.read_line(line);
    EXPECT_EQ(count, 7u);
    EXPECT_EQ(line, "> alpha\r\n");
    line.clear();
    count = co_await reader.read_line(line);
    EXPECT_EQ(count, 5u);
    EXPECT_EQ(line, "beta\n");
    line.clear();
    count = co_await reader.read_line(line);
    EXPECT_EQ(count, 5u);
    EXPECT_EQ(line, "omega");
    count = co_await reader.read_line(line);
    EXPECT_EQ(count, 0u);
    EXPECT_EQ(line, "omega");

    co_await pair.server.write_all("done");
    std::string reply(4, '\0');
    co_await pair.client.read_exact(std::span<char>(reply));
    EXPECT_EQ(reply, "done");
  }());
}

TEST_P(io_test, read_until_stops_after_a_custom_delimiter) {
  run([]() -> task<void> {
    tcp_pair pair = co_await connect_pair();
    std::size_t count = 0;
    co_await pair.client.write_all("key=value;next=1;;tail");
    pair.client.shutdown();
    buffered_reader reader(std::move(pair.server));

    std::string field;
    count = co_await reader.read_until(';', field);
    EXPECT_EQ(count, 10u);
    EXPECT_EQ(field, "key=value;");
    EXPECT_EQ(as_string(reader.buffered()), "next=1;;tail");
    field.clear();
    count = co_await reader.read_until(';', field);
    EXPECT_EQ(count, 7u);
    EXPECT_EQ(field, "next=1;");
    field.clear();
    count = co_await reader.read_until(';', field);
    EXPECT_EQ(count, 1u);
    EXPECT_EQ(field, ";");
    field.clear();
    count = co_await reader.read_until(';', field);
    EXPECT_EQ(count, 4u);
    EXPECT_EQ(field, "tail");
    count = co_await reader.read_until(';', field);
    EXPECT_EQ(count, 0u);
  }());
}

TEST_P(io_test, read_until_takes_a_byte_delimiter) {
  run([]() -> task<void> {
    tcp_pair pair = co_await connect_pair();
    std::size_t count = 0;
    const std::string records("one\0two\0", 8);
    co_await pair.client.write_all(records);
    pair.client.shutdown();
    buffered_reader reader(std::move(pair.server), 3);

    std::string record;
    count = co_await reader.read_until(std::byte{0}, record);
    EXPECT_EQ(count, 4u);
    EXPECT_EQ(record, std::string("one\0", 4));
    record.clear();
    count = co_await reader.read_until(std::byte{0}, record);
    EXPECT_EQ(count, 4u);
    EXPECT_EQ(record, std::string("two\0", 4));
    count = co_await reader.read_until(std::byte{0}, record);
    EXPECT_EQ(count, 0u);
  }());
}

TEST_P(io_test, read_serves_buffered_bytes_before_reading_the_stream_directly) {
  run([]() -> task<void> {
    tcp_pair pair = co_await connect_pair();
    std::size_t count = 0;
    const std::string data = pattern(64);
    co_await pair.client.write_all(data);
    pair.client.shutdown();
    buffered_reader reader(std::move(pair.server), 16);

    std::string received(64, '\0');
    std::span<char> rest(received);
    count = co_await reader.read(rest.first(8));
    EXPECT_EQ(count, 8u);
    EXPECT_EQ(reader.buffered().size(), 8u);
    rest = rest.subspan(8);
    // Only what is buffered, without waiting for more.
    count = co_await reader.read(rest.first(32));
    EXPECT_EQ(count, 8u);
    EXPECT_TRUE(reader.buffered().empty());
    rest = rest.subspan(8);
    // Larger than the buffer and none buffered: read directly, beyond the capacity.
    count = co_await reader.read(rest.first(32));
    EXPECT_EQ(count, 32u);
    EXPECT_TRUE(reader.buffered().empty());
    rest = rest.subspan(32);
    count = co_await reader.read(rest);
    EXPECT_EQ(count, 16u);
    std::array<char, 4> after_end{};
    count = co_await reader.read(std::span<char>(after_end));
    EXPECT_EQ(count, 0u);
    EXPECT_EQ(received, data);
  }());
}

TEST_P(io_test, read_exact_fills_across_refills) {
  run([]() -> task<void> {
    tcp_pair pair = co_await connect_pair();
    std::size_t count = 0;
    const std::string data = pattern(1000);
    auto sender = tandem::spawn(send_in_pieces(std::move(pair.client), data));
    buffered_reader reader(std::move(pair.server), 16);

    std::string received(1000, '\0');
    const std::span<char> whole(received);
    co_await reader.read_exact(whole.first(3));
    co_await reader.read_exact(whole.subspan(3, 900));
    co_await reader.read_exact(whole.subspan(903));
    std::array<char, 1> after_end{};
    count = co_await reader.read(std::span<char>(after_end));
    EXPECT_EQ(count, 0u);
    co_await sender;
    EXPECT_EQ(received, data);
  }());
}

TEST_P(io_test, read_exact_throws_end_of_stream_when_the_stream_ends_first) {
  run([]() -> task<void> {
    tcp_pair pair = co_await connect_pair();
    co_await pair.client.write_all("0123456789");
    pair.client.shutdown();
    buffered_reader reader(std::move(pair.server), 4);

    std::array<char, 4> head{};
    co_await reader.read_exact(std::span<char>(head));
    EXPECT_EQ(std::string_view(head.data(), head.size()), "0123");
    std::array<char, 10> too_long{};
    try {
      co_await reader.read_exact(std::span<char>(too_long));
      ADD_FAILURE() << "read_exact returned past the end of the stream";
    } catch (const tandem::end_of_stream& error) {
      EXPECT_NE(std::string(error.what()).find("after 6 of 10 bytes"), std::string::npos) << error.what();
    }
    EXPECT_EQ(std::string_view(too_long.data(), 6), "456789");
  }());
}

TEST_P(io_test, a_dropped_read_line_leaves_the_partial_line_in_the_string) {
  run([]() -> task<void> {
    tcp_pair pair = co_await connect_pair();
    std::size_t count = 0;
    co_await pair.client.write_all("first\nhel");
    buffered_reader reader(std::move(pair.server));

    std::string line;
    count = co_await reader.read_line(line);
    EXPECT_EQ(count, 6u);
    EXPECT_EQ(line, "first\n");
    EXPECT_EQ(as_string(reader.buffered()), "hel");
    line.clear();
    // read_line takes "hel", then waits for the rest of the line and loses the select.
    auto outcome = co_await tandem::select(reader.read_line(line), finished_at_once());
    EXPECT_EQ(outcome.index(), 1u);
    EXPECT_EQ(line, "hel");
    EXPECT_TRUE(reader.buffered().empty());

    co_await pair.client.write_all("lo\nnext\n");
    count = co_await reader.read_line(line);
    EXPECT_EQ(count, 3u);
    EXPECT_EQ(line, "hello\n");
    line.clear();
    count = co_await reader.read_line(line);
    EXPECT_EQ(count, 5u);
    EXPECT_EQ(line, "next\n");
  }());
}

TEST_P(io_test, buffered_writer_sends_nothing_until_flushed) {
  run([]() -> task<void> {
    tcp_pair pair = co_await connect_pair();
    buffered_writer writer(std::move(pair.client), 4096);
    std::string expected;
    for (int i = 0; i < 300; ++i) {
      const std::string item = "item " + std::to_string(i) + ";";
      co_await writer.write_all(item);
      expected += item;
    }
    EXPECT_LT(expected.size(), writer.capacity());
    EXPECT_EQ(as_string(writer.buffered()), expected);
    std::array<char, 16> probe{};
    auto nothing_yet = co_await tandem::select(pair.server.read(std::span<char>(probe)), finished_at_once());
    EXPECT_EQ(nothing_yet.index(), 1u) << "bytes reached the stream before flush";

    co_await writer.flush();
    EXPECT_TRUE(writer.buffered().empty());
    std::string received(expected.size(), '\0');
    co_await pair.server.read_exact(std::span<char>(received));
    EXPECT_EQ(received, expected);
  }());
}

TEST_P(io_test, buffered_writer_batches_many_small_writes_intact) {
  run([]() -> task<void> {
    // 61: items straddle every refill of the buffer. 1,000 writes, not more: each one
    // that fits the buffer finishes without suspending, and under AddressSanitizer g++ 12
    // cannot make the symmetric transfer back a tail call, so every such write leaves a
    // few hundred bytes on the worker's stack until the loop suspends (docs/async.md).
    auto [writer, receiver] = co_await writer_to_a_reader(61);
    std::string expected;
    for (int i = 0; i < 1000; ++i) {
      const std::string item = std::to_string(i) + (i % 3 == 0 ? ",\n" : ",");
      co_await writer.write_all(item);
      expected += item;
    }
    const std::string received = co_await flush_and_end(writer, std::move(receiver));
    EXPECT_EQ(received, expected);
  }());
}

TEST_P(io_test, buffered_writer_passes_large_writes_straight_through) {
  run([]() -> task<void> {
    auto [writer, receiver] = co_await writer_to_a_reader(8192);
    const std::string body = pattern(100'000);
    co_await writer.write_all("head");
    // Tops the buffer up, writes it out, then sends the rest without copying it.
    co_await writer.write_all(body);
    EXPECT_TRUE(writer.buffered().empty());
    co_await writer.write_all("tail");
    EXPECT_EQ(as_string(writer.buffered()), "tail");
    const std::string received = co_await flush_and_end(writer, std::move(receiver));
    EXPECT_TRUE(received == "head" + body + "tail") << "received " << received.size() << " bytes";
  }());
}

TEST_P(io_test, buffered_writer_write_takes_what_fits) {
  run([]() -> task<void> {
    tcp_pair pair = co_await connect_pair();
    std::size_t count = 0;
    buffered_writer writer(std::move(pair.client), 4);
    std::array<char, 10> received{};
    const std::span<char> into(received);

    count = co_await writer.write("ab");

    EXPECT_EQ(count, 2u);
    count = co_await writer.write("cdef");
    EXPECT_EQ(count, 2u);
    EXPECT_EQ(as_string(writer.buffered()), "abcd");
    // Full: writes the buffer out first.
    count = co_await writer.write("ef");
    EXPECT_EQ(count, 2u);
    EXPECT_EQ(as_string(writer.buffered()), "ef");
    co_await pair.server.read_exact(into.first(4));
    EXPECT_EQ(std::string_view(received.data(), 4), "abcd");

    count = co_await writer.write("0123456789");

    EXPECT_EQ(count, 2u);
    co_await writer.flush();
    co_await pair.server.read_exact(into.first(4));
    EXPECT_EQ(std::string_view(received.data(), 4), "ef01");
    // Empty buffer, data larger than it: one write of the stream.
    count = co_await writer.write("0123456789");
    EXPECT_EQ(count, 10u);
    EXPECT_TRUE(writer.buffered().empty());
    co_await pair.server.read_exact(into);
    EXPECT_EQ(std::string_view(received.data(), 10), "0123456789");
  }());
}

TEST_P(io_test, a_dropped_flush_keeps_exactly_the_unwritten_bytes) {
  run([]() -> task<void> {
    tcp_pair pair = co_await connect_pair();
    // Small socket buffers, so that the flush has to wait for the peer to read.
    const int small = 16 * 1024;
    EXPECT_EQ(::setsockopt(pair.client.native_handle(), SOL_SOCKET, SO_SNDBUF, &small, sizeof small), 0);
    EXPECT_EQ(::setsockopt(pair.server.native_handle(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small), 0);
    const std::string data = pattern(2 << 20);
    buffered_writer writer(std::move(pair.client), data.size() + 1);
    co_await writer.write_all(data);
    EXPECT_EQ(writer.buffered().size(), data.size());

    auto outcome = co_await tandem::select(writer.flush(), finished_at_once());
    EXPECT_EQ(outcome.index(), 1u);
    EXPECT_FALSE(writer.buffered().empty());

    auto receiver = tandem::spawn(read_to_end(std::move(pair.server)));
    const std::string received = co_await flush_and_end(writer, std::move(receiver));
    EXPECT_TRUE(received == data) << "received " << received.size() << " of " << data.size() << " bytes";
  }());
}

TEST_P(io_test, copy_moves_a_mebibyte_and_counts_it) {
  run([]() -> task<void> {
    tcp_pair source = co_await connect_pair();
    tcp_pair sink = co_await connect_pair();
    const std::string data = pattern(1 << 20);
    auto sender = tandem::spawn(send_and_end(std::move(source.client), data));
    auto receiver = tandem::spawn(read_to_end(std::move(sink.server)));

    const std::uint64_t copied = co_await tandem::io::copy(source.server, sink.client);
    sink.client.shutdown();
    co_await sender;
    const std::string received = co_await receiver;
    EXPECT_EQ(copied, std::uint64_t{1} << 20);
    EXPECT_TRUE(received == data) << "received " << received.size() << " bytes";
  }());
}

TEST_P(io_test, copy_from_a_buffered_reader_into_a_buffered_writer_flushes_at_the_end) {
  run([]() -> task<void> {
    tcp_pair source = co_await connect_pair();
    tcp_pair sink = co_await connect_pair();
    std::size_t count = 0;
    const std::string body = pattern(300'000);
    auto sender = tandem::spawn(send_and_end(std::move(source.client), "header\n" + body));
    auto receiver = tandem::spawn(read_to_end(std::move(sink.server)));

    buffered_reader reader(std::move(source.server), 1000);
    std::string header;
    count = co_await reader.read_line(header);
    EXPECT_EQ(count, 7u);
    // Larger than copy's chunks: the end of the data waits in the buffer for copy's flush.
    buffered_writer writer(std::move(sink.client), 64 * 1024);
    // Starts with what read_line left in the reader's buffer.
    const std::uint64_t copied = co_await tandem::io::copy(reader, writer);
    EXPECT_TRUE(writer.buffered().empty());
    writer.get().shutdown();
    co_await sender;
    const std::string received = co_await receiver;
    EXPECT_EQ(copied, body.size());
    EXPECT_TRUE(received == body) << "received " << received.size() << " bytes";
  }());
}

// Accepts nothing, as a stream past its end might.
struct refusing_stream {
  task<std::size_t> write(std::span<const std::byte>) { co_return 0; }
  task<void> write_all(std::span<const std::byte>) { co_return; }
};

TEST_P(io_test, flush_throws_when_the_stream_accepts_nothing) {
  run([]() -> task<void> {
    buffered_writer writer(refusing_stream{}, 16);
    co_await writer.write_all("abc");
    try {
      co_await writer.flush();
      ADD_FAILURE() << "flush returned with bytes unwritten";
    } catch (const std::system_error& error) {
      EXPECT_EQ(error.code(), std::errc::io_error);
    }
    EXPECT_EQ(as_string(writer.buffered()), "abc");
  }());
}

TEST(io, a_zero_capacity_is_rejected) {
  EXPECT_THROW(buffered_reader(tcp_stream{}, 0), std::invalid_argument);
  EXPECT_THROW(buffered_writer(tcp_stream{}, 0), std::invalid_argument);
  EXPECT_EQ(buffered_reader(tcp_stream{}).capacity(), tandem::io::default_buffer_capacity);
}

INSTANTIATE_TEST_SUITE_P(flavors, io_test, test_support::io_flavors(), test_support::flavor_name);

}  // namespace
