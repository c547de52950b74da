// tcp_listener: a TCP socket accepting connections (tokio::net::TcpListener).
//
//   auto listener = tandem::net::tcp_listener::bind(socket_address::loopback(0));
//   std::cout << "listening port=" << listener.local_addr().port() << '\n';
//   for (;;) {
//     tandem::net::tcp_stream client = co_await listener.accept();
//     tandem::spawn(serve(std::move(client)));
//   }
//
// bind sets SO_REUSEADDR and listens with a backlog of 1024; port 0 picks a free port.
// It must be called inside a task (the socket registers with that task's runtime).
// Blocking: accept waits in the reactor. Exceptions: std::system_error naming the address
// (EADDRINUSE: "... cannot bind 127.0.0.1:8080: Address already in use"); accept throws
// when the process is out of descriptors (EMFILE / ENFILE: the waiting connection stays
// queued, so back off a little before accepting again rather than spin).
// Cancellation: an accept dropped while waiting (task aborted, a lost select) takes
// nothing off the queue.
//
// Thread safety: several tasks may accept on one listener at once; each connection goes
// to one of them.
#pragma once

#include "tandem/net/socket_address.hpp"
#include "tandem/net/tcp_stream.hpp"

namespace tandem::net {

// co_await: the accepted connection.
class accept_operation final : public detail::io_awaiter<detail::accept_connection> {
 public:
  using io_awaiter::io_awaiter;
  tcp_stream await_resume() {
    return tcp_stream::from_native(io_awaiter::await_resume());
  }
};

class tcp_listener {
 public:
  tcp_listener() noexcept = default;
  static tcp_listener bind(const socket_address& address, int backlog = 1024);

  accept_operation accept() const {
    return {handle_.registration("tandem::net::tcp_listener::accept"),
            detail::accept_connection{"tandem::net::tcp_listener::accept"}};
  }
  socket_address local_addr() const;

  bool is_open() const noexcept { return handle_.is_open(); }
  int native_handle() const noexcept { return handle_.fd(); }

 private:
  explicit tcp_listener(detail::socket_handle handle) noexcept : handle_(std::move(handle)) {}

  detail::socket_handle handle_;
};

}  // namespace tandem::net
