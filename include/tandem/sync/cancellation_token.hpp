// cancellation_token: cooperative cancellation across tasks (tokio_util's
// CancellationToken).
//
//   tandem::cancellation_token stop;
//   auto worker = tandem::spawn(serve(stop.child_token()));
//   ...
//   stop.cancel();                                       // serve() sees it
//
//   // inside serve:
//   auto which = co_await tandem::select(stop.cancelled(), next_request());
//   if (which.index() == 0) co_return;                   // cancelled
//
// Copies share one token. cancel() marks it cancelled (for good), wakes every task
// awaiting cancelled(), and cancels its child tokens, recursively; cancelling a child
// does not cancel its parent. A child of a cancelled token starts cancelled.
// is_cancelled() is a plain load, cheap to poll in a loop.
//
// Cancellation-safe: cancelled() may lose a select any number of times.
// Thread safety: every member may be called from any thread.
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "tandem/detail/sync/primitive_awaiter.hpp"
#include "tandem/detail/sync/wait_list.hpp"

namespace tandem {

namespace detail {

// A token's shared state, a node of the token tree. A parent holds its children
// strongly so that cancel() reaches them; a child names its parent weakly. When the last
// token of a state goes (awaiters of cancelled() hold tokens too), the state leaves the
// tree and hands its children to its parent (as tokio_util does): cancelling the root
// still reaches a grandchild whose middle token was dropped, memory stays bounded by the
// live tokens, and no chain of dead states is ever freed recursively.
struct token_state {
  spin_mutex mutex;
  std::atomic<bool> cancelled{false};
  std::atomic<std::size_t> handles{1};  // cancellation_token objects sharing this state
  wait_list waiters;
  std::weak_ptr<token_state> parent;  // guarded by `mutex`
  std::vector<std::shared_ptr<token_state>> children;

  // Called when the last token goes. Locks are taken ancestor before descendant (the
  // parent, this, then each child), the only order two token locks are ever held in.
  static void leave_tree(const std::shared_ptr<token_state>& self) noexcept;
};

}  // namespace detail

class cancellation_token {
 public:
  cancellation_token() : state_(std::make_shared<detail::token_state>()) {}
  cancellation_token(const cancellation_token& other) noexcept : state_(other.state_) {
    // Relaxed: the count only decides who leaves the tree; the copy's source keeps it
    // above zero meanwhile.
    if (state_) state_->handles.fetch_add(1, std::memory_order_relaxed);
  }
  cancellation_token(cancellation_token&& other) noexcept = default;
  cancellation_token& operator=(cancellation_token other) noexcept {
    std::swap(state_, other.state_);
    return *this;
  }
  ~cancellation_token();

  void cancel();
  bool is_cancelled() const {
    // Acquire: pairs with cancel's release; what the canceller did before is visible.
    return require("is_cancelled").cancelled.load(std::memory_order_acquire);
  }
  cancellation_token child_token() const;

  class cancelled_awaiter;

  // Completes once the token is cancelled (at once if it already is).
  cancelled_awaiter cancelled() const;

 private:
  explicit cancellation_token(std::shared_ptr<detail::token_state> state) noexcept : state_(std::move(state)) {}
  detail::token_state& require(const char* what) const {
    if (!state_)
      throw std::logic_error(std::string("tandem::cancellation_token::") + what + ": the token was moved from");
    return *state_;
  }
  std::shared_ptr<detail::token_state> state_;
};

class cancellation_token::cancelled_awaiter final : public detail::primitive_awaiter<cancelled_awaiter> {
 public:
  static constexpr const char* operation_name = "tandem::cancellation_token::cancelled";
  static constexpr bool usually_ready = false;
  // Holds a token (not just the state): a state still awaited stays in the tree.
  explicit cancelled_awaiter(cancellation_token token) noexcept : token_(std::move(token)) {}
  cancelled_awaiter(cancelled_awaiter&&) noexcept = default;  // before the first await only
  ~cancelled_awaiter() { this->leave(); }
  void await_resume() const noexcept {}

 private:
  friend class detail::primitive_awaiter<cancelled_awaiter>;
  detail::spin_mutex& primitive_mutex() noexcept { return token_.state_->mutex; }
  bool try_complete_locked() noexcept { return token_.state_->cancelled.load(std::memory_order_relaxed); }
  void enqueue_locked(detail::wait_node& n) noexcept { token_.state_->waiters.push_back(n); }
  void unlink_locked(detail::wait_node& n) noexcept { token_.state_->waiters.remove(n); }
  void undo_grant_locked() noexcept {}
  cancellation_token token_;
};

inline cancellation_token::cancelled_awaiter cancellation_token::cancelled() const {
  require("cancelled");
  return cancelled_awaiter(*this);
}

}  // namespace tandem
