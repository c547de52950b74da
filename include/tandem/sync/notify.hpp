// notify: wake one or all waiting tasks (tokio::sync::Notify).
//
//   tandem::notify ready;
//   // consumer:                        // producer:
//   co_await ready.notified();           publish(); ready.notify_one();
//
// notify_one() wakes the first waiting task; with none waiting it stores one permit
// (at most one), which the next notified() takes at once: a notification sent before
// the waiter arrives is not lost. notify_all() wakes every task waiting at that moment
// and completes every notified() made before it, even one not awaited yet (so "make
// notified(), check the condition, await" misses no notify_all); it stores nothing.
// Waiters are woken first come, first served.
//
// Cancellation-safe: a notified() that loses a select or is aborted after notify_one
// picked it passes that notification on (to the next waiter, or as the stored permit).
//
// Thread safety: every member may be called from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <utility>

#include "tandem/detail/sync/primitive_awaiter.hpp"
#include "tandem/detail/sync/wait_list.hpp"

namespace tandem {

class notify {
 public:
  notify() = default;
  notify(const notify&) = delete;
  notify& operator=(const notify&) = delete;

  void notify_one();
  void notify_all();

  class notified_awaiter final : public detail::primitive_awaiter<notified_awaiter> {
   public:
    static constexpr const char* operation_name = "tandem::notify::notified";
    static constexpr bool usually_ready = false;
    notified_awaiter(notified_awaiter&&) noexcept = default;  // before the first await only
    ~notified_awaiter() { this->leave(); }
    // Acquire: pairs with notify_all's release; a notify_all this one counts as before it
    // comes with what its caller did before (the condition a waiter checks next).
    explicit notified_awaiter(notify& owner) noexcept
        : owner_(owner), notify_all_calls_(owner.notify_all_calls_.load(std::memory_order_acquire)) {}
    void await_resume() const noexcept {}

   private:
    friend class detail::primitive_awaiter<notified_awaiter>;
    detail::spin_mutex& primitive_mutex() noexcept { return owner_.mutex_; }
    bool try_complete_locked() noexcept {
      // Relaxed: the count only changes under the lock we hold.
      if (owner_.notify_all_calls_.load(std::memory_order_relaxed) != notify_all_calls_) return true;
      return std::exchange(owner_.permit_, false);
    }
    void enqueue_locked(detail::wait_node& n) noexcept { owner_.waiters_.push_back(n); }
    void unlink_locked(detail::wait_node& n) noexcept { owner_.waiters_.remove(n); }
    void undo_grant_locked() noexcept {
      // Picked by notify_one (amount 1), not by notify_all (amount 0): pass it on.
      if (node().amount == 1) owner_.notify_one_locked();
    }
    notify& owner_;
    std::uint64_t notify_all_calls_;  // seen when made
  };

  notified_awaiter notified() noexcept { return notified_awaiter(*this); }

 private:
  void notify_one_locked() noexcept;

  detail::spin_mutex mutex_;
  detail::wait_list waiters_;
  bool permit_ = false;
  std::atomic<std::uint64_t> notify_all_calls_{0};  // written under mutex_
};

}  // namespace tandem
