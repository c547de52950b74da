// The reactor (src/io/README.md has the protocol).
#include "tandem/detail/io/io_driver.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <string>
#include <system_error>

namespace tandem::detail {

namespace {

constexpr std::uint32_t watched_events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;

// Which directions an epoll event makes worth another syscall. A hang-up or an error
// wakes both: the next read sees the end (or the error), the next write its error.
std::uint64_t readiness_of(std::uint32_t events) noexcept {
  std::uint64_t bits = 0;
  if ((events & (EPOLLIN | EPOLLRDHUP | EPOLLPRI | EPOLLHUP | EPOLLERR)) != 0) bits |= io_registration::ready_read;
  if ((events & (EPOLLOUT | EPOLLHUP | EPOLLERR)) != 0) bits |= io_registration::ready_write;
  // The peer's end is reported once (edge-triggered) and stays (io_registration.hpp).
  // Not EPOLLHUP: a socket not yet connected reports it too.
  if ((events & EPOLLRDHUP) != 0) bits |= io_registration::closed_read;
  return bits;
}

}  // namespace

void io_registration::mark_ready(std::uint64_t bits) noexcept {
  std::lock_guard guard(mutex_);
  std::uint64_t word = readiness_.load(std::memory_order_relaxed);
  // Release: pairs with load_readiness's acquire. The event count moves on every event,
  // so a clear based on an older load fails instead of erasing this one.
  while (!readiness_.compare_exchange_weak(word, (word | bits) + event_one, std::memory_order_release,
                                           std::memory_order_relaxed)) {
  }
  for (io_direction direction : {io_direction::read, io_direction::write}) {
    if ((bits & bit_of(direction)) == 0) continue;
    // Under the lock, like the filing: a node is woken at most once and never after
    // its awaiter unlinked it (detail/sync/wait_list.hpp's rule).
    while (wait_node* node = waiters(direction).pop_front()) node->waker.wake();
  }
}

io_driver::io_driver() {
  epoll_ = epoll_create1(EPOLL_CLOEXEC);
  if (epoll_ < 0) throw std::system_error(errno, std::generic_category(), "tandem runtime: cannot create its epoll instance");
  interrupt_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (interrupt_fd_ < 0) {
    const int error = errno;
    close(epoll_);
    throw std::system_error(error, std::generic_category(), "tandem runtime: cannot create its eventfd");
  }
  // A null pointer marks the interrupt descriptor among the events.
  epoll_event event{};
  event.events = EPOLLIN | EPOLLET;
  event.data.ptr = nullptr;
  if (epoll_ctl(epoll_, EPOLL_CTL_ADD, interrupt_fd_, &event) != 0) {
    const int error = errno;
    close(interrupt_fd_);
    close(epoll_);
    throw std::system_error(error, std::generic_category(), "tandem runtime: cannot watch its eventfd");
  }
}

io_driver::~io_driver() {
  free_retired();
  close(interrupt_fd_);
  close(epoll_);
}

io_registration* io_driver::add(int fd, const char* what) {
  auto* registration = new io_registration(*this, fd);
  epoll_event event{};
  event.events = watched_events;
  event.data.ptr = registration;
  if (epoll_ctl(epoll_, EPOLL_CTL_ADD, fd, &event) != 0) {
    const int error = errno;
    delete registration;
    throw std::system_error(error, std::generic_category(), std::string(what) + ": cannot register the socket with the runtime's reactor");
  }
  registered_.fetch_add(1, std::memory_order_relaxed);
  return registration;
}

void io_driver::deregister(io_registration* registration) noexcept {
  // Failure means the descriptor is already gone from the set; either way epoll reports
  // nothing more for it from here on.
  epoll_ctl(epoll_, EPOLL_CTL_DEL, registration->fd(), nullptr);
  registered_.fetch_sub(1, std::memory_order_relaxed);
  std::lock_guard guard(retired_mutex_);
  registration->retired_next = retired_;
  retired_ = registration;
}

// Safety: a registration retired before this holder's wait began was deleted from the
// epoll set before that; so it is in no event this wait returns, and any earlier wait
// that returned it belonged to an earlier holder whose dispatch ended before it released
// the token (which we then acquired). Nobody can name it any more.
void io_driver::free_retired() noexcept {
  io_registration* list = nullptr;
  {
    std::lock_guard guard(retired_mutex_);
    list = retired_;
    retired_ = nullptr;
  }
  while (list != nullptr) {
    io_registration* next = list->retired_next;
    delete list;
    list = next;
  }
}

std::size_t io_driver::wait(int timeout_ms) noexcept {
  free_retired();
  buffered_ = 0;
  const int count = epoll_wait(epoll_, events_.data(), static_cast<int>(events_.size()), timeout_ms);
  if (count <= 0) return 0;
  for (int i = 0; i < count; ++i) {
    if (events_[i].data.ptr == nullptr) {
      std::uint64_t drained = 0;
      // Only empties the counter so later interrupts make new edges; the value is moot.
      [[maybe_unused]] const ssize_t n = read(interrupt_fd_, &drained, sizeof drained);
      continue;
    }
    events_[buffered_++] = events_[i];
  }
  return buffered_;
}

void io_driver::dispatch() noexcept {
  for (std::size_t i = 0; i < buffered_; ++i) {
    // Safety: the registration is alive (see free_retired).
    static_cast<io_registration*>(events_[i].data.ptr)->mark_ready(readiness_of(events_[i].events));
  }
  buffered_ = 0;
}

void io_driver::interrupt() noexcept {
  const std::uint64_t one = 1;
  // EAGAIN (the counter is full) still leaves the descriptor readable: the wait returns.
  [[maybe_unused]] const ssize_t n = write(interrupt_fd_, &one, sizeof one);
}

}  // namespace tandem::detail
