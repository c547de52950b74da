// socket_handle: an open non-blocking descriptor registered with a runtime's I/O driver;
// the one owner behind every socket type. Closing deregisters first (the driver frees
// the registration once no dispatch can name it), then closes the descriptor.
//
// Thread safety: a handle is used by the tasks of its socket; closing (destruction) must
// not race with an operation on it, which the socket types ensure by owning the handle
// (split halves share it and close when the last half goes).
#pragma once

#include <memory>
#include <utility>

#include "tandem/detail/io/io_driver.hpp"
#include "tandem/detail/io/io_registration.hpp"

namespace tandem::detail {

class socket_handle {
 public:
  socket_handle() noexcept = default;
  // Takes `fd` (non-blocking) and registers it with the calling task's runtime. On
  // failure (outside a runtime, epoll refusing) closes `fd` and throws, naming `what`.
  socket_handle(int fd, const char* what);
  socket_handle(socket_handle&& other) noexcept
      : fd_(std::exchange(other.fd_, -1)),
        registration_(std::exchange(other.registration_, nullptr)),
        driver_(std::move(other.driver_)) {}
  socket_handle& operator=(socket_handle&& other) noexcept {
    if (this != &other) {
      close();
      fd_ = std::exchange(other.fd_, -1);
      registration_ = std::exchange(other.registration_, nullptr);
      driver_ = std::move(other.driver_);
    }
    return *this;
  }
  ~socket_handle() { close(); }

  bool is_open() const noexcept { return fd_ >= 0; }
  int fd() const noexcept { return fd_; }
  // Throws std::logic_error naming `what` when the socket is closed (moved from).
  io_registration& registration(const char* what) const;
  void close() noexcept;

 private:
  int fd_ = -1;
  io_registration* registration_ = nullptr;
  std::shared_ptr<io_driver> driver_;
};

// A non-blocking, close-on-exec socket; throws std::system_error naming `what`.
int open_socket(int family, int type, const char* what);

}  // namespace tandem::detail
