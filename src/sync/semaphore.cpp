// The semaphore's protocol is in src/sync/README.md.
#include "tandem/sync/semaphore.hpp"

#include <string>

#include "tandem/detail/runtime/runtime_core.hpp"

namespace tandem {

semaphore::semaphore(std::size_t permits) : permits_(permits) {
  if (permits > max_permits)
    throw std::invalid_argument("tandem::semaphore: " + std::to_string(permits) + " permits is more than max_permits");
}

std::size_t semaphore::checked(std::size_t n) {
  if (n > max_permits)
    throw std::invalid_argument("tandem::semaphore::acquire: " + std::to_string(n) +
                                " permits is more than max_permits");
  return n;
}

std::size_t semaphore::available_permits() const {
  std::lock_guard guard(mutex_);
  return permits_;
}

bool semaphore::is_closed() const {
  std::lock_guard guard(mutex_);
  return closed_;
}

void semaphore::add_permits(std::size_t n) {
  std::lock_guard guard(mutex_);
  if (n > max_permits - permits_)
    throw std::overflow_error("tandem::semaphore::add_permits: " + std::to_string(n) + " more permits than the " +
                              std::to_string(max_permits - permits_) + " the semaphore can still hold");
  permits_ += n;
  grant_waiters_locked();
}

void semaphore::release(std::size_t n) noexcept {
  std::lock_guard guard(mutex_);
  give_back_locked(n);
}

void semaphore::close() {
  std::lock_guard guard(mutex_);
  closed_ = true;
  while (detail::wait_node* node = waiters_.pop_front()) detail::close_node(*node);
}

std::optional<semaphore_permit> semaphore::try_acquire(std::size_t n) {
  checked(n);
  std::lock_guard guard(mutex_);
  if (closed_) throw semaphore_closed();
  if (!waiters_.empty() || permits_ < n) return std::nullopt;
  permits_ -= n;
  return semaphore_permit(this, n);
}

semaphore_permit semaphore::blocking_acquire(std::size_t n) {
  detail::check_off_runtime_thread("semaphore::blocking_acquire", "co_await the async form instead");
  checked(n);
  detail::wait_node node;
  detail::block_until_done(
      mutex_, node, [&] { return take_locked(n, node); },
      [&](detail::wait_node& queued) {
        queued.amount = n;
        waiters_.push_back(queued);
      });
  if (node.closed) throw semaphore_closed();
  return semaphore_permit(this, n);
}

// Called with the lock held.
bool semaphore::take_locked(std::size_t n, detail::wait_node& node) noexcept {
  if (closed_) {
    node.closed = true;
    return true;
  }
  // First come, first served: nobody overtakes a waiter.
  if (!waiters_.empty() || permits_ < n) return false;
  permits_ -= n;
  return true;
}

// Called with the lock held.
void semaphore::give_back_locked(std::size_t n) noexcept {
  permits_ += n;
  grant_waiters_locked();
}

// Called with the lock held. A waiter leaving the head may unblock those behind it.
void semaphore::unlink_waiter_locked(detail::wait_node& node) noexcept {
  const bool was_head = waiters_.front() == &node;
  waiters_.remove(node);
  if (was_head) grant_waiters_locked();
}

// Called with the lock held: serves waiters in order while the permits last.
void semaphore::grant_waiters_locked() noexcept {
  while (detail::wait_node* head = waiters_.front()) {
    if (head->amount > permits_) return;
    permits_ -= head->amount;
    waiters_.pop_front();
    detail::grant(*head);
  }
}

}  // namespace tandem
