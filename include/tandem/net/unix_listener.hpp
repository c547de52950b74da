// unix_listener: a Unix-domain stream socket accepting connections
// (tokio::net::UnixListener).
//
//   auto listener = tandem::net::unix_listener::bind("/tmp/app.sock");
//   for (;;) {
//     tandem::net::unix_stream client = co_await listener.accept();
//     tandem::spawn(serve(std::move(client)));
//   }
//
// bind creates the socket file at `path` and listens with a backlog of 1024 (the kernel
// caps it at net.core.somaxconn). It never removes an existing file: a path that exists
// (a stale socket left by an earlier run included) gives EADDRINUSE naming it, so a
// second server cannot silently take over a live one's path; remove a stale file
// yourself. Closing the listener leaves the file in place too (as in tokio and Rust's
// std). A path longer than sun_path holds (107 bytes) throws std::invalid_argument. bind
// must be called inside a task (the socket registers with that task's runtime).
//
// Blocking: accept waits in the reactor. Exceptions: std::system_error naming the path
// ("... cannot bind /tmp/app.sock (...): Address already in use"); accept throws when the
// process is out of descriptors (EMFILE / ENFILE: the waiting connection stays queued, so
// back off a little before accepting again rather than spin).
// Cancellation: an accept dropped while waiting (task aborted, a lost select) takes
// nothing off the queue.
//
// Thread safety: several tasks may accept on one listener at once; each connection goes
// to one of them.
#pragma once

#include <filesystem>
#include <string>
#include <utility>

#include "tandem/detail/io/io_awaiter.hpp"
#include "tandem/detail/net/socket_handle.hpp"
#include "tandem/detail/net/stream_operations.hpp"
#include "tandem/net/unix_stream.hpp"

namespace tandem::net {

// co_await: the accepted connection.
class unix_accept_operation final : public detail::io_awaiter<detail::accept_connection> {
 public:
  using io_awaiter::io_awaiter;
  unix_stream await_resume() { return unix_stream::from_native(io_awaiter::await_resume()); }
};

class unix_listener {
 public:
  unix_listener() noexcept = default;
  static unix_listener bind(const std::filesystem::path& path, int backlog = 1024);

  unix_accept_operation accept() const {
    return {handle_.registration("tandem::net::unix_listener::accept"),
            detail::accept_connection{"tandem::net::unix_listener::accept"}};
  }
  // The path it is bound to.
  std::string local_path() const;

  bool is_open() const noexcept { return handle_.is_open(); }
  int native_handle() const noexcept { return handle_.fd(); }

 private:
  explicit unix_listener(detail::socket_handle handle) noexcept : handle_(std::move(handle)) {}

  detail::socket_handle handle_;
};

}  // namespace tandem::net
