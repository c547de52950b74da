// The awaitables stream sockets (tcp_stream, unix_stream and their halves) return from
// read, read_exact, write and write_all. Await each once, in a task:
//
//   std::size_t n = co_await stream.read(buffer);   // 0: the peer closed its side
//   co_await stream.write_all(reply);
//
// Each first tries its syscall; only if the socket would block does the task suspend
// (its worker runs other tasks) until the runtime's reactor reports the socket ready.
// Errors throw std::system_error (errno, the operation, the peer); read_exact throws
// tandem::end_of_stream if the stream ends first. Cancellation: an operation dropped
// while waiting (task aborted, a lost select, a timeout) leaves the socket usable; bytes
// it already moved stay moved (read_exact and write_all may have done part of their work).
//
// Thread safety: an operation belongs to the task awaiting it. At most one task reads
// and one task writes a stream at a time (split the stream to do both from two tasks).
#pragma once

#include <cstddef>
#include <span>
#include <string_view>

#include "tandem/detail/io/io_awaiter.hpp"
#include "tandem/detail/net/socket_handle.hpp"
#include "tandem/detail/net/stream_operations.hpp"

namespace tandem::net {

// co_await: the number of bytes read (0 at the end of the stream).
class read_operation final : public detail::io_awaiter<detail::stream_read> {
 public:
  using io_awaiter::io_awaiter;
};

// co_await: returns once the buffer is full.
class read_exact_operation final : public detail::io_awaiter<detail::stream_read_exact> {
 public:
  using io_awaiter::io_awaiter;
};

// co_await: the number of bytes written (at least 1 unless the buffer is empty).
class write_operation final : public detail::io_awaiter<detail::stream_write> {
 public:
  using io_awaiter::io_awaiter;
};

// co_await: returns once every byte is written.
class write_all_operation final : public detail::io_awaiter<detail::stream_write_all> {
 public:
  using io_awaiter::io_awaiter;
};

}  // namespace tandem::net

namespace tandem::detail {

// The four operations on any stream socket's handle.
struct stream_io {
  static net::read_operation read(const socket_handle& handle, std::span<std::byte> buffer, const char* what) {
    return {handle.registration(what), stream_read{{what, buffer}}};
  }
  static net::read_exact_operation read_exact(const socket_handle& handle, std::span<std::byte> buffer,
                                              const char* what) {
    return {handle.registration(what), stream_read_exact{{what, buffer}}};
  }
  static net::write_operation write(const socket_handle& handle, std::span<const std::byte> buffer,
                                    const char* what) {
    return {handle.registration(what), stream_write{{what, buffer}}};
  }
  static net::write_all_operation write_all(const socket_handle& handle, std::span<const std::byte> buffer,
                                            const char* what) {
    return {handle.registration(what), stream_write_all{{what, buffer}}};
  }
};

inline std::span<const std::byte> as_bytes(std::string_view text) noexcept {
  return std::as_bytes(std::span<const char>(text.data(), text.size()));
}

}  // namespace tandem::detail
