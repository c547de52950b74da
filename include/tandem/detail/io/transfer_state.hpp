// What every socket transfer (stream or datagram) keeps between its tries, and the one
// loop around a syscall that all of them make. See detail/io/io_awaiter.hpp.
#pragma once

#include <sys/types.h>

#include <cerrno>
#include <cstddef>
#include <span>

#include "tandem/detail/io/io_awaiter.hpp"

namespace tandem::detail {

// Only spans, integers and a name: trivially copyable, so an awaiter holding it may be
// moved before it is awaited with nothing pointing into itself.
template <class Byte>
struct transfer_state {
  const char* what;  // the operation, named in errors
  std::span<Byte> buffer;
  std::size_t transferred = 0;
  int fd = -1;  // the socket, for the error message
  int error = 0;
};

// Makes `call` (a syscall returning a count or -1 with errno) once, retrying EINTR.
// `moved` is its count when it succeeded; an error other than EAGAIN is kept in `error`.
// done: it succeeded or failed for good; would_block: EAGAIN.
template <class Call>
io_progress retry_interrupted(Call call, ssize_t& moved, int& error) noexcept {
  for (;;) {
    moved = call();
    if (moved >= 0) return io_progress::done;
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return io_progress::would_block;
    error = errno;
    return io_progress::done;
  }
}

}  // namespace tandem::detail
