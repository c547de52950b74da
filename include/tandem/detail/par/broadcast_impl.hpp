// broadcast: one job per worker, each queued on that worker's personal queue.
#pragma once

#include <cstddef>
#include <exception>
#include <functional>
#include <mutex>
#include <optional>
#include <type_traits>
#include <vector>

#include "tandem/detail/par/job.hpp"
#include "tandem/detail/par/latch.hpp"
#include "tandem/detail/par/registry.hpp"
#include "tandem/detail/par/spawn_impl.hpp"

namespace tandem::detail {

template <class F, class Latch>
class broadcast_state {
 public:
  using result_type = std::invoke_result_t<F&>;

  template <class... LatchArgs>
  broadcast_state(F& f, std::size_t n, LatchArgs&&... latch_args)
      : f_(f), pending_(std::forward<LatchArgs>(latch_args)...), pieces_(n), results_(n) {
    for (std::size_t i = 0; i < n; ++i) pieces_[i].state = this;
  }

  // Queues one piece per worker; returns the exception if queueing ran out of
  // memory part way, in which case the pieces already queued still run and must be
  // waited for before the state may die.
  std::exception_ptr start(registry& r) noexcept {
    for (std::size_t i = 0; i < pieces_.size(); ++i) pending_.increment();
    std::exception_ptr failure;
    for (std::size_t i = 0; i < pieces_.size(); ++i) {
      try {
        r.inject_to(i, &pieces_[i]);
      } catch (...) {
        failure = std::current_exception();
        for (; i < pieces_.size(); ++i) pending_.decrement();
      }
    }
    pending_.decrement();  // the broadcaster's own count
    return failure;
  }

  Latch& latch() { return pending_.latch(); }

  auto finish() {
    if (error_) std::rethrow_exception(error_);
    if constexpr (!std::is_void_v<result_type>) {
      std::vector<result_type> out;
      out.reserve(results_.size());
      for (auto& r : results_) out.push_back(std::move(*r));
      return out;
    }
  }

 private:
  struct piece final : job {
    piece() : job(&run) {}
    broadcast_state* state = nullptr;
    static void run(job* self) noexcept {
      auto* me = static_cast<piece*>(self);
      me->state->run_piece(static_cast<std::size_t>(me - me->state->pieces_.data()));
    }
  };

  void run_piece(std::size_t index) noexcept {
    try {
      if constexpr (std::is_void_v<result_type>) {
        std::invoke(f_);
      } else {
        results_[index].emplace(std::invoke(f_));
      }
    } catch (...) {
      std::lock_guard lock(error_mutex_);
      if (!error_) error_ = std::current_exception();
    }
    pending_.decrement();  // last touch: the broadcaster may return after it
  }

  using stored_t = std::conditional_t<std::is_void_v<result_type>, char, result_type>;
  F& f_;
  count_latch<Latch> pending_;
  std::vector<piece> pieces_;
  std::vector<std::optional<stored_t>> results_;
  std::mutex error_mutex_;
  std::exception_ptr error_;
};

template <class F>
auto broadcast_on(registry& r, F& f) {
  worker_thread* w = current_worker;
  auto finish = [](auto& state, std::exception_ptr failure) {
    if (failure) std::rethrow_exception(failure);
    return state.finish();
  };
  if (w != nullptr && &w->owner() == &r) {
    // Our own piece arrives on our personal queue; wait_until runs it.
    broadcast_state<F, spin_latch> state(f, r.num_threads(), *w);
    const std::exception_ptr failure = state.start(r);
    w->wait_until(state.latch());
    return finish(state, failure);
  }
  if (w != nullptr) {
    // A worker of another pool keeps running its own pool's work meanwhile, so pools
    // that broadcast into each other cannot deadlock (as with install).
    broadcast_state<F, cross_latch> state(f, r.num_threads(), *w);
    const std::exception_ptr failure = state.start(r);
    w->wait_until(state.latch());
    return finish(state, failure);
  }
  broadcast_state<F, blocking_latch> state(f, r.num_threads());
  const std::exception_ptr failure = state.start(r);
  state.latch().wait();
  return finish(state, failure);
}

}  // namespace tandem::detail
