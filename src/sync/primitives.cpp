// notify, barrier, latch and cancellation_token; the protocol is in src/sync/README.md.
#include <stdexcept>
#include <string>
#include <utility>

#include "tandem/sync/barrier.hpp"
#include "tandem/sync/cancellation_token.hpp"
#include "tandem/sync/latch.hpp"
#include "tandem/sync/notify.hpp"

namespace tandem {

// ---------------------------------------------------------------- notify

void notify::notify_one() {
  std::lock_guard guard(mutex_);
  notify_one_locked();
}

void notify::notify_one_locked() noexcept {
  if (detail::wait_node* first = waiters_.pop_front()) {
    first->amount = 1;  // picked by notify_one: to be passed on if never taken
    detail::grant(*first);
  } else {
    permit_ = true;
  }
}

void notify::notify_all() {
  std::lock_guard guard(mutex_);
  // Release: pairs with the acquire in notified_awaiter's constructor.
  notify_all_calls_.fetch_add(1, std::memory_order_release);
  while (detail::wait_node* waiter = waiters_.pop_front()) {
    waiter->amount = 0;
    detail::grant(*waiter);
  }
}

// ---------------------------------------------------------------- barrier

barrier::barrier(std::size_t n) : size_(n) {
  if (n == 0) throw std::invalid_argument("tandem::barrier: a barrier needs at least 1 task, got 0");
}

// Called with the lock held. True when the caller's arrival completes the generation:
// it is the leader, and everyone waiting is released.
bool barrier::arrive_last_locked() noexcept {
  if (arrived_ + 1 < size_) return false;
  arrived_ = 0;
  while (detail::wait_node* waiter = waiters_.pop_front()) detail::grant(*waiter);
  return true;
}

// ---------------------------------------------------------------- latch

void latch::count_down(std::size_t n) {
  std::lock_guard guard(mutex_);
  if (n > count_)
    throw std::invalid_argument("tandem::latch::count_down: counting down " + std::to_string(n) + " with only " +
                                std::to_string(count_) + " left");
  count_ -= n;
  if (count_ != 0) return;
  while (detail::wait_node* waiter = waiters_.pop_front()) detail::grant(*waiter);
}

bool latch::try_wait() const {
  std::lock_guard guard(mutex_);
  return count_ == 0;
}

std::size_t latch::count() const {
  std::lock_guard guard(mutex_);
  return count_;
}

// ---------------------------------------------------------------- cancellation_token

cancellation_token::~cancellation_token() {
  // acq_rel: the last token sees every other token's use of the state.
  if (state_ && state_->handles.fetch_sub(1, std::memory_order_acq_rel) == 1) detail::token_state::leave_tree(state_);
}

void detail::token_state::leave_tree(const std::shared_ptr<token_state>& self) noexcept {
  for (;;) {
    std::shared_ptr<token_state> parent;
    {
      std::lock_guard guard(self->mutex);
      parent = self->parent.lock();
      if (!parent) {
        // A root, or its parent is gone: the children become roots.
        for (auto& child : self->children) {
          std::lock_guard child_guard(child->mutex);
          child->parent.reset();
        }
        self->children.clear();
        return;
      }
    }
    std::lock_guard parent_guard(parent->mutex);
    std::lock_guard guard(self->mutex);
    // Re-parented meanwhile (our parent left the tree first): look again.
    if (self->parent.lock() != parent) continue;
    std::erase(parent->children, self);
    // A cancelled parent is cancelling (or has cancelled) us and, through us, our
    // children: they stay with us. Otherwise they move up to it.
    if (!parent->cancelled.load(std::memory_order_relaxed)) {
      for (auto& child : self->children) {
        std::lock_guard child_guard(child->mutex);
        child->parent = parent;
        parent->children.push_back(std::move(child));
      }
      self->children.clear();
    }
    self->parent.reset();
    return;
  }
}

void cancellation_token::cancel() {
  // Children are cancelled iteratively: a long chain of child tokens must not recurse.
  require("cancel");
  std::vector<std::shared_ptr<detail::token_state>> pending{state_};
  while (!pending.empty()) {
    std::shared_ptr<detail::token_state> state = std::move(pending.back());
    pending.pop_back();
    std::vector<std::shared_ptr<detail::token_state>> children;
    {
      std::lock_guard guard(state->mutex);
      if (state->cancelled.load(std::memory_order_relaxed)) continue;
      // Release: see is_cancelled.
      state->cancelled.store(true, std::memory_order_release);
      while (detail::wait_node* waiter = state->waiters.pop_front()) detail::grant(*waiter);
      children.swap(state->children);
    }
    for (auto& child : children) pending.push_back(std::move(child));
  }
}

cancellation_token cancellation_token::child_token() const {
  require("child_token");
  auto child = std::make_shared<detail::token_state>();
  std::lock_guard guard(state_->mutex);
  if (state_->cancelled.load(std::memory_order_relaxed)) {
    child->cancelled.store(true, std::memory_order_relaxed);
  } else {
    child->parent = state_;
    state_->children.push_back(child);
  }
  return cancellation_token(std::move(child));
}

}  // namespace tandem
