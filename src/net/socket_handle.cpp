#include "tandem/detail/net/socket_handle.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>
#include <string>
#include <system_error>

#include "tandem/detail/runtime/runtime_core.hpp"

namespace tandem::detail {

socket_handle::socket_handle(int fd, const char* what) : fd_(fd) {
  runtime_core* core = current_runtime_core();
  if (core == nullptr) {
    ::close(fd);
    fd_ = -1;
    throw std::logic_error(std::string(what) +
                           ": called outside a tandem runtime (create sockets inside a task: they need its reactor)");
  }
  try {
    driver_ = io_driver_of(*core);
    registration_ = driver_->add(fd, what);
  } catch (...) {
    ::close(fd);
    fd_ = -1;
    throw;
  }
}

io_registration& socket_handle::registration(const char* what) const {
  if (registration_ == nullptr) throw std::logic_error(std::string(what) + ": the socket is closed (moved from)");
  return *registration_;
}

void socket_handle::close() noexcept {
  if (fd_ < 0) return;
  driver_->deregister(registration_);
  ::close(fd_);
  fd_ = -1;
  registration_ = nullptr;
  driver_.reset();
}

int open_socket(int family, int type, const char* what) {
  const int fd = ::socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), std::string(what) + ": cannot open a socket");
  return fd;
}

}  // namespace tandem::detail
