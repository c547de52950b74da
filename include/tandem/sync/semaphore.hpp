// semaphore: async counting semaphore, fair (tokio::sync::Semaphore).
//
//   tandem::semaphore connections(100);
//   auto permit = co_await connections.acquire();      // waits while none is free
//   ...                                                 // the permit returns when destroyed
//
// Waiters are served first come, first served: a large request at the head is not
// overtaken by smaller ones behind it. acquire(n) gives a semaphore_permit holding n
// permits, given back when it is destroyed (forget() keeps them taken).
// try_acquire(n) takes them only if that needs no waiting (and nobody waits before it).
// add_permits(n) adds permits and wakes the waiters they satisfy. close() wakes every
// waiter with tandem::semaphore_closed, and every later acquire throws it too.
//
// Errors: asking for more than max_permits, or adding permits past max_permits, throws
// std::invalid_argument / std::overflow_error; blocking_acquire on a runtime thread
// throws std::logic_error.
//
// Cancellation-safe: an acquire that loses a select, or whose task is aborted, gives
// back any permits already assigned to it; its place in the queue is lost.
//
// Thread safety: every member may be called from any thread; blocking_acquire is for
// plain threads.
#pragma once

#include <cstddef>
#include <limits>
#include <mutex>
#include <utility>
#include <optional>
#include <stdexcept>

#include "tandem/detail/sync/primitive_awaiter.hpp"
#include "tandem/detail/sync/wait_list.hpp"
#include "tandem/errors.hpp"

namespace tandem {

class semaphore;

// n permits of a semaphore, given back on destruction. Move-only.
class semaphore_permit {
 public:
  semaphore_permit() noexcept = default;
  semaphore_permit(semaphore_permit&& other) noexcept
      : owner_(std::exchange(other.owner_, nullptr)), count_(std::exchange(other.count_, 0)) {}
  semaphore_permit& operator=(semaphore_permit&& other) noexcept {
    if (this != &other) {
      release();
      owner_ = std::exchange(other.owner_, nullptr);
      count_ = std::exchange(other.count_, 0);
    }
    return *this;
  }
  ~semaphore_permit() { release(); }

  std::size_t count() const noexcept { return count_; }
  // Keeps the permits taken: they are not given back.
  void forget() noexcept {
    owner_ = nullptr;
    count_ = 0;
  }
  // Gives the permits back now.
  void release() noexcept;

 private:
  friend class semaphore;
  semaphore_permit(semaphore* owner, std::size_t count) noexcept : owner_(owner), count_(count) {}
  semaphore* owner_ = nullptr;
  std::size_t count_ = 0;
};

class semaphore {
 public:
  static constexpr std::size_t max_permits = std::numeric_limits<std::size_t>::max() >> 3;

  explicit semaphore(std::size_t permits);
  semaphore(const semaphore&) = delete;
  semaphore& operator=(const semaphore&) = delete;
  // Safety: destroying a semaphore with waiters or outstanding permits is the caller's
  // bug (as for std::mutex): their tasks hold pointers to it.
  ~semaphore() = default;

  std::size_t available_permits() const;
  void add_permits(std::size_t n);
  void close();
  bool is_closed() const;

  // n permits now, or nothing; throws semaphore_closed when closed.
  std::optional<semaphore_permit> try_acquire(std::size_t n = 1);
  // Blocks the calling plain thread until n permits are free.
  semaphore_permit blocking_acquire(std::size_t n = 1);

  class acquire_awaiter final : public detail::primitive_awaiter<acquire_awaiter> {
   public:
    static constexpr const char* operation_name = "tandem::semaphore::acquire";
    static constexpr bool usually_ready = true;
    acquire_awaiter(acquire_awaiter&&) noexcept = default;  // before the first await only
    ~acquire_awaiter() { this->leave(); }
    acquire_awaiter(semaphore& owner, std::size_t n) noexcept : owner_(owner), count_(n) {}
    semaphore_permit await_resume() {
      if (woken_by_close()) throw semaphore_closed();
      return semaphore_permit(&owner_, count_);
    }

   private:
    friend class detail::primitive_awaiter<acquire_awaiter>;
    detail::spin_mutex& primitive_mutex() noexcept { return owner_.mutex_; }
    bool try_complete_locked() noexcept { return owner_.take_locked(count_, node()); }
    void enqueue_locked(detail::wait_node& n) noexcept {
      n.amount = count_;  // set here, not at construction: a move makes a fresh node
      owner_.waiters_.push_back(n);
    }
    void unlink_locked(detail::wait_node& n) noexcept {
      owner_.unlink_waiter_locked(n);
    }
    void undo_grant_locked() noexcept { owner_.give_back_locked(count_); }

    semaphore& owner_;
    std::size_t count_;
  };

  // Waits for n permits (see the top of the file).
  acquire_awaiter acquire(std::size_t n = 1) { return acquire_awaiter(*this, checked(n)); }

 private:
  friend class semaphore_permit;
  static std::size_t checked(std::size_t n);
  // Called with the lock held. True when the acquire is complete: permits taken, or the
  // semaphore closed (recorded in `node`).
  bool take_locked(std::size_t n, detail::wait_node& node) noexcept;
  void give_back_locked(std::size_t n) noexcept;
  void unlink_waiter_locked(detail::wait_node& node) noexcept;
  void grant_waiters_locked() noexcept;
  void release(std::size_t n) noexcept;

  mutable detail::spin_mutex mutex_;
  std::size_t permits_;
  detail::wait_list waiters_;
  bool closed_ = false;
};

inline void semaphore_permit::release() noexcept {
  if (owner_ != nullptr && count_ > 0) owner_->release(count_);
  owner_ = nullptr;
  count_ = 0;
}

}  // namespace tandem
