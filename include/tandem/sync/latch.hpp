// latch: a one-shot countdown tasks can await (std::latch, awaitable).
//
//   tandem::latch loaded(3);
//   // three loaders: ... loaded.count_down();
//   co_await loaded.wait();          // completes once the count reaches zero
//
// count_down(n) lowers the count and, when it reaches zero, releases every waiter; a
// later wait() completes at once. Counting down more than what is left throws
// std::invalid_argument (the count is unchanged).
//
// Cancellation-safe: a wait that loses a select or is aborted just stops waiting.
// Thread safety: every member may be called from any thread.
#pragma once

#include <cstddef>
#include <mutex>

#include "tandem/detail/sync/primitive_awaiter.hpp"
#include "tandem/detail/sync/wait_list.hpp"

namespace tandem {

class latch {
 public:
  explicit latch(std::size_t count) noexcept : count_(count) {}
  latch(const latch&) = delete;
  latch& operator=(const latch&) = delete;

  void count_down(std::size_t n = 1);
  bool try_wait() const;
  std::size_t count() const;

  class wait_awaiter final : public detail::primitive_awaiter<wait_awaiter> {
   public:
    static constexpr const char* operation_name = "tandem::latch::wait";
    static constexpr bool usually_ready = false;
    wait_awaiter(wait_awaiter&&) noexcept = default;  // before the first await only
    ~wait_awaiter() { this->leave(); }
    explicit wait_awaiter(latch& owner) noexcept : owner_(owner) {}
    void await_resume() const noexcept {}

   private:
    friend class detail::primitive_awaiter<wait_awaiter>;
    detail::spin_mutex& primitive_mutex() noexcept { return owner_.mutex_; }
    bool try_complete_locked() noexcept { return owner_.count_ == 0; }
    void enqueue_locked(detail::wait_node& n) noexcept { owner_.waiters_.push_back(n); }
    void unlink_locked(detail::wait_node& n) noexcept { owner_.waiters_.remove(n); }
    void undo_grant_locked() noexcept {}
    latch& owner_;
  };

  wait_awaiter wait() noexcept { return wait_awaiter(*this); }

 private:
  mutable detail::spin_mutex mutex_;
  std::size_t count_;
  detail::wait_list waiters_;
};

}  // namespace tandem
