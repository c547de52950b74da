// tandem::io: buffered reading and writing over any stream, and copy between streams
// (tokio::io::BufReader, BufWriter, copy).
//
//   tandem::io::buffered_reader reader(std::move(connection));       // 8 KiB buffer
//   std::string line;
//   for (;;) {
//     const std::size_t length = co_await reader.read_line(line);    // "GET / HTTP/1.1\r\n"
//     if (length == 0) break;                                        // the end of the stream
//     co_await reader.get().write_all(line);                         // echo it back
//     line.clear();
//   }
//
//   tandem::io::buffered_writer writer(std::move(write_half));
//   for (const auto& row : rows) co_await writer.write_all(row);     // one send per 8 KiB
//   co_await writer.flush();                                         // required: see below
//
//   std::uint64_t n = co_await tandem::io::copy(source, sink);       // until source ends
//
// A stream is anything whose read / write / write_all awaitables have the socket shape
// (readable_stream, writable_stream below): tcp_stream, its halves, tandem::fs::file, and
// the buffered reader and writer themselves. The reader and writer own their stream (move
// it in; get() reaches it); Stream may be a reference type (buffered_reader<tcp_stream&>)
// to borrow one owned elsewhere.
//
// Blocking: never; an operation the buffer can serve finishes without suspending, the
// others await the stream's own operations (a socket waits in the reactor). Each operation
// must be awaited before the next one on the same reader or writer starts, and the reader
// or writer must neither move nor be destroyed while one is pending.
// Exceptions: the stream's (std::system_error for sockets); read_exact throws
// tandem::end_of_stream when the stream ends first; a capacity of 0 throws
// std::invalid_argument; flush throws std::system_error (EIO) if the stream accepts no
// bytes. After an exception the buffered bytes are still exactly the unconsumed (reader)
// or unwritten (writer) ones.
//
// Cancellation (an operation dropped while waiting: task aborted, a lost select, a timeout):
// - buffered_reader::read, read_until, read_line, buffered_writer::write and flush are
//   cancellation-safe: no byte is lost. read_until and read_line append each byte to
//   `out` as they take it from the buffer, so a dropped call has left the partial line in
//   `out` and the rest in the buffer or the stream; calling again with the same `out`
//   finishes the line (its result counts only the bytes that call appended). This is
//   tokio's read_until guarantee; tokio's read_line is not cancel safe (it validates
//   UTF-8 and clears the string), tandem's is, because it appends bytes unchecked.
// - read_exact is not: the bytes already stored in the caller's span are consumed, and the
//   caller does not learn how many.
// - buffered_writer::write_all is not: a prefix of the data may have been taken (buffered
//   or already sent) without the caller learning how long; the writer stays consistent.
// - copy is not: bytes it read and had not yet written are lost.
// Destroying a buffered_writer does not flush (a destructor cannot await): bytes written
// since the last flush are silently lost, as with a tokio BufWriter dropped unflushed.
//
// Thread safety: a reader or writer is used by one task at a time. To read in one task and
// write in another, wrap the halves of a split stream (buffered_reader<tcp_read_half>,
// buffered_writer<tcp_write_half>).
#pragma once

#include <algorithm>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

#include "tandem/combine.hpp"
#include "tandem/errors.hpp"
#include "tandem/task.hpp"

namespace tandem::detail {

// Satisfied when `co_await` on an Awaitable (a task, a socket operation) gives a Result.
template <class Awaitable, class Result>
concept awaitable_of = requires(Awaitable&& awaitable) {
  { awaiter_of(std::forward<Awaitable>(awaitable)).await_resume() } -> std::convertible_to<Result>;
};

// A heap buffer whose bytes [begin, end) are pending (unread input, unwritten output).
// A moved-from window is empty with capacity 0, so defaulted moves of the reader and
// writer never leave positions pointing past a buffer they no longer have.
class byte_window {
 public:
  byte_window(std::size_t capacity, const char* owner) : bytes_(allocate(capacity, owner)), capacity_(capacity) {}
  byte_window(byte_window&& other) noexcept
      : bytes_(std::move(other.bytes_)),
        capacity_(std::exchange(other.capacity_, 0)),
        begin_(std::exchange(other.begin_, 0)),
        end_(std::exchange(other.end_, 0)) {}
  byte_window& operator=(byte_window&& other) noexcept {
    bytes_ = std::move(other.bytes_);
    capacity_ = std::exchange(other.capacity_, 0);
    begin_ = std::exchange(other.begin_, 0);
    end_ = std::exchange(other.end_, 0);
    return *this;
  }

  std::size_t capacity() const noexcept { return capacity_; }
  bool empty() const noexcept { return begin_ == end_; }
  std::span<std::byte> pending() const noexcept { return {bytes_.get() + begin_, end_ - begin_}; }
  std::span<std::byte> free_space() const noexcept { return {bytes_.get() + end_, capacity_ - end_}; }

  // The first `count` pending bytes are done with. Emptied, the window restarts at the
  // front, so the whole capacity is free again without moving bytes.
  void consume(std::size_t count) noexcept {
    begin_ += count;
    if (begin_ == end_) begin_ = end_ = 0;
  }
  // `count` bytes were stored at the front of free_space().
  void commit(std::size_t count) noexcept { end_ += count; }

  // Copies as much of `source` as fits; returns how much that was.
  std::size_t append(std::span<const std::byte> source) noexcept {
    const std::size_t count = std::min(source.size(), capacity_ - end_);
    if (count != 0) std::memcpy(bytes_.get() + end_, source.data(), count);
    end_ += count;
    return count;
  }
  // Moves as many pending bytes as fit into `destination`; returns how many.
  std::size_t take(std::span<std::byte> destination) noexcept {
    const std::size_t count = std::min(destination.size(), end_ - begin_);
    if (count != 0) std::memcpy(destination.data(), bytes_.get() + begin_, count);
    consume(count);
    return count;
  }

 private:
  static std::unique_ptr<std::byte[]> allocate(std::size_t capacity, const char* owner) {
    // A zero-byte buffer would make every fill look like the end of the stream.
    if (capacity == 0) throw std::invalid_argument(std::string(owner) + ": the capacity must not be 0");
    return std::make_unique_for_overwrite<std::byte[]>(capacity);
  }

  std::unique_ptr<std::byte[]> bytes_;
  std::size_t capacity_;
  std::size_t begin_ = 0;
  std::size_t end_ = 0;
};

}  // namespace tandem::detail

namespace tandem::io {

// The coroutines below take each co_await's result into a named variable before testing
// it: GCC 12 miscompiles a co_await inside an `if` condition (the rest of the coroutine
// never runs).

// co_await stream.read(buffer): the number of bytes read, 0 at the end of the stream.
template <class Stream>
concept readable_stream = requires(Stream& stream, std::span<std::byte> buffer) {
  { stream.read(buffer) } -> detail::awaitable_of<std::size_t>;
};

// co_await stream.write(data): the number of bytes written (at least 1 for non-empty data);
// co_await stream.write_all(data): returns once every byte is written.
template <class Stream>
concept writable_stream = requires(Stream& stream, std::span<const std::byte> data) {
  { stream.write(data) } -> detail::awaitable_of<std::size_t>;
  { stream.write_all(data) } -> detail::awaitable_of<void>;
};

inline constexpr std::size_t default_buffer_capacity = 8 * 1024;

// Reads a stream through a buffer: many small reads (a line, a header) cost one read of
// the stream per `capacity` bytes.
template <readable_stream Stream>
class buffered_reader {
 public:
  explicit buffered_reader(Stream stream, std::size_t capacity = default_buffer_capacity)
      : stream_(std::forward<Stream>(stream)), window_(capacity, "tandem::io::buffered_reader") {}

  // Up to destination.size() bytes; 0 only at the end of the stream (or for an empty
  // destination). Buffered bytes come first, without reading the stream; with none
  // buffered, a destination at least as large as the buffer is read into directly.
  task<std::size_t> read(std::span<std::byte> destination) {
    if (destination.empty()) co_return 0;
    if (window_.empty()) {
      if (destination.size() >= window_.capacity()) {
        const std::size_t received = co_await stream_.read(destination);
        co_return received;
      }
      const bool filled = co_await fill();
      if (!filled) co_return 0;
    }
    co_return window_.take(destination);
  }
  task<std::size_t> read(std::span<char> destination) { return read(std::as_writable_bytes(destination)); }

  // Fills `destination`; throws tandem::end_of_stream if the stream ends first.
  task<void> read_exact(std::span<std::byte> destination) {
    std::size_t filled = 0;
    while (filled < destination.size()) {
      const std::size_t received = co_await read(destination.subspan(filled));
      if (received == 0) {
        throw end_of_stream("tandem::io::buffered_reader::read_exact: the stream ended after " +
                            std::to_string(filled) + " of " + std::to_string(destination.size()) + " bytes");
      }
      filled += received;
    }
  }
  task<void> read_exact(std::span<char> destination) { return read_exact(std::as_writable_bytes(destination)); }

  // Appends to `out` the bytes up to and including the next `delimiter`, or up to the end
  // of the stream when no delimiter comes. Returns the number of bytes appended: 0 only at
  // the end of the stream.
  task<std::size_t> read_until(std::byte delimiter, std::string& out) {
    std::size_t appended = 0;
    for (;;) {
      if (window_.empty()) {
        const bool filled = co_await fill();
        if (!filled) co_return appended;
      }
      const std::span<std::byte> pending = window_.pending();
      const void* found = std::memchr(pending.data(), std::to_integer<int>(delimiter), pending.size());
      const std::size_t count = found == nullptr
                                    ? pending.size()
                                    : static_cast<std::size_t>(static_cast<const std::byte*>(found) - pending.data()) + 1;
      out.append(reinterpret_cast<const char*>(pending.data()), count);
      window_.consume(count);
      appended += count;
      if (found != nullptr) co_return appended;
    }
  }
  task<std::size_t> read_until(char delimiter, std::string& out) { return read_until(std::byte(delimiter), out); }

  // read_until('\n'): the line with its '\n' (and a '\r' before it, if any), or the last
  // line without one; 0 at the end of the stream.
  task<std::size_t> read_line(std::string& out) { return read_until('\n', out); }

  // The bytes read from the stream and not yet consumed.
  std::span<const std::byte> buffered() const noexcept { return window_.pending(); }
  std::size_t capacity() const noexcept { return window_.capacity(); }

  Stream& get() noexcept { return stream_; }
  const Stream& get() const noexcept { return stream_; }

 private:
  // Reads into the empty buffer; false at the end of the stream. The window changes only
  // after the read returns, so dropping this while it waits loses nothing.
  task<bool> fill() {
    const std::size_t received = co_await stream_.read(window_.free_space());
    window_.commit(received);
    co_return received != 0;
  }

  Stream stream_;
  detail::byte_window window_;
};

template <class Stream>
buffered_reader(Stream) -> buffered_reader<Stream>;
template <class Stream>
buffered_reader(Stream, std::size_t) -> buffered_reader<Stream>;

// Writes a stream through a buffer: many small writes cost one write of the stream per
// `capacity` bytes. Nothing reaches the stream until the buffer fills or flush() is
// awaited; the destructor does not flush (see the header comment).
template <writable_stream Stream>
class buffered_writer {
 public:
  explicit buffered_writer(Stream stream, std::size_t capacity = default_buffer_capacity)
      : stream_(std::forward<Stream>(stream)), window_(capacity, "tandem::io::buffered_writer") {}

  // Takes all of `data`: copies it into the buffer, writing the buffer out each time it
  // fills; data at least as large as the buffer goes straight to the stream once the
  // buffer is empty.
  task<void> write_all(std::span<const std::byte> data) {
    while (!data.empty()) {
      if (window_.empty() && data.size() >= window_.capacity()) {
        co_await stream_.write_all(data);
        co_return;
      }
      data = data.subspan(window_.append(data));
      if (window_.free_space().empty()) co_await flush();
    }
  }
  task<void> write_all(std::string_view text) { return write_all(std::as_bytes(std::span(text))); }

  // Takes a prefix of `data` and returns its length (at least 1 unless `data` is empty):
  // as much as fits in the buffer, after writing the buffer out if it is full; with the
  // buffer empty, data at least as large as it is written to the stream directly.
  task<std::size_t> write(std::span<const std::byte> data) {
    if (data.empty()) co_return 0;
    if (window_.empty() && data.size() >= window_.capacity()) {
      const std::size_t written = co_await stream_.write(data);
      co_return written;
    }
    if (window_.free_space().empty()) co_await flush();
    co_return window_.append(data);
  }
  task<std::size_t> write(std::string_view text) { return write(std::as_bytes(std::span(text))); }

  // Writes every buffered byte to the stream. Single writes rather than write_all, so that
  // the buffer always knows what the stream took: a flush dropped while it waits leaves
  // exactly the unwritten bytes buffered.
  task<void> flush() {
    while (!window_.empty()) {
      const std::size_t written = co_await stream_.write(window_.pending());
      if (written == 0) {
        throw std::system_error(std::make_error_code(std::errc::io_error),
                                "tandem::io::buffered_writer::flush: the stream accepted no bytes");
      }
      window_.consume(written);
    }
  }

  // The bytes written to this writer and not yet to the stream.
  std::span<const std::byte> buffered() const noexcept { return window_.pending(); }
  std::size_t capacity() const noexcept { return window_.capacity(); }

  Stream& get() noexcept { return stream_; }
  const Stream& get() const noexcept { return stream_; }

 private:
  Stream stream_;
  detail::byte_window window_;
};

template <class Stream>
buffered_writer(Stream) -> buffered_writer<Stream>;
template <class Stream>
buffered_writer(Stream, std::size_t) -> buffered_writer<Stream>;

// Reads `reader` to its end and writes everything to `writer`; returns the number of
// bytes copied. A writer with a flush() (a buffered_writer) is flushed at the end, as
// tokio::io::copy does, so everything has reached its stream when this returns.
template <readable_stream Reader, writable_stream Writer>
task<std::uint64_t> copy(Reader& reader, Writer& writer) {
  // On the heap: the frame allocator recycles frames up to 1 KiB only.
  const auto buffer = std::make_unique_for_overwrite<std::byte[]>(default_buffer_capacity);
  const std::span<std::byte> chunk(buffer.get(), default_buffer_capacity);
  std::uint64_t copied = 0;
  for (;;) {
    const std::size_t received = co_await reader.read(chunk);
    if (received == 0) break;
    co_await writer.write_all(chunk.first(received));
    copied += received;
  }
  if constexpr (requires { writer.flush(); }) co_await writer.flush();
  co_return copied;
}

}  // namespace tandem::io
