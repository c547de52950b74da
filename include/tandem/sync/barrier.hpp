// barrier: n tasks wait for each other (tokio::sync::Barrier).
//
//   tandem::barrier all_ready(4);
//   auto result = co_await all_ready.wait();    // the 4th arrival releases all four
//   if (result.is_leader()) merge();            // exactly one of them is the leader
//
// The barrier is reusable: once n tasks have arrived, they are released and the next n
// arrivals form the next generation. The last arrival of a generation is its leader.
//
// Cancellation-safe: a wait that loses a select or is aborted before its generation
// completes takes its arrival back.
//
// Thread safety: every member may be called from any thread.
#pragma once

#include <cstddef>
#include <mutex>

#include "tandem/detail/sync/primitive_awaiter.hpp"
#include "tandem/detail/sync/wait_list.hpp"

namespace tandem {

class barrier_wait_result {
 public:
  explicit barrier_wait_result(bool leader) noexcept : leader_(leader) {}
  bool is_leader() const noexcept { return leader_; }

 private:
  bool leader_;
};

class barrier {
 public:
  // n tasks per generation; at least 1 (std::invalid_argument).
  explicit barrier(std::size_t n);
  barrier(const barrier&) = delete;
  barrier& operator=(const barrier&) = delete;

  class wait_awaiter final : public detail::primitive_awaiter<wait_awaiter> {
   public:
    static constexpr const char* operation_name = "tandem::barrier::wait";
    static constexpr bool usually_ready = false;
    wait_awaiter(wait_awaiter&&) noexcept = default;  // before the first await only
    ~wait_awaiter() { this->leave(); }
    explicit wait_awaiter(barrier& owner) noexcept : owner_(owner) {}
    barrier_wait_result await_resume() const noexcept { return barrier_wait_result(leader_); }

   private:
    friend class detail::primitive_awaiter<wait_awaiter>;
    detail::spin_mutex& primitive_mutex() noexcept { return owner_.mutex_; }
    bool try_complete_locked() noexcept {
      leader_ = owner_.arrive_last_locked();
      return leader_;
    }
    void enqueue_locked(detail::wait_node& n) noexcept {
      ++owner_.arrived_;
      owner_.waiters_.push_back(n);
    }
    void unlink_locked(detail::wait_node& n) noexcept {
      --owner_.arrived_;
      owner_.waiters_.remove(n);
    }
    void undo_grant_locked() noexcept {}
    barrier& owner_;
    bool leader_ = false;
  };

  wait_awaiter wait() noexcept { return wait_awaiter(*this); }

 private:
  bool arrive_last_locked() noexcept;

  detail::spin_mutex mutex_;
  const std::size_t size_;
  std::size_t arrived_ = 0;
  detail::wait_list waiters_;
};

}  // namespace tandem
