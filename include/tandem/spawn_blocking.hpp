// spawn_blocking: run a blocking function on the runtime's blocking pool
// (tokio::task::spawn_blocking).
//
//   std::string text = co_await tandem::spawn_blocking([&] { return read_whole_file(path); });
//
// The function starts at once on a blocking-pool thread (the pool grows on demand up to
// runtime::builder::max_blocking_threads, default 512; idle threads leave after
// thread_keep_alive, default 10 s; beyond the maximum, work queues). Awaiting the
// returned result_handle gives the function's value or rethrows its exception; the awaiting task
// is suspended meanwhile and its worker runs other tasks. Dropping the handle lets the
// function run on with its result discarded. At runtime shutdown, queued and running
// blocking work still runs to its end (shutdown_timeout bounds the wait). Outside a
// runtime, spawn_blocking throws std::logic_error; `runtime::spawn_blocking` submits
// from any thread.
//
// Thread safety: the function runs on another thread than its caller; a handle is not
// shared.
#pragma once

#include <memory>
#include <stdexcept>
#include <type_traits>
#include <utility>

#include "tandem/detail/runtime/blocking_pool.hpp"
#include "tandem/detail/runtime/runtime_core.hpp"
#include "tandem/result_handle.hpp"
#include "tandem/spawn.hpp"
#include "tandem/sync/oneshot.hpp"

namespace tandem {

namespace detail {

template <class F>
class blocking_call final : public blocking_job {
  using result = std::invoke_result_t<F&>;

 public:
  blocking_call(F f, oneshot_sender<outcome_of<result>> done) : f_(std::move(f)), done_(std::move(done)) {}
  void run() noexcept override { done_.send(outcome_of<result>::run(f_)); }

 private:
  F f_;
  oneshot_sender<outcome_of<result>> done_;
};

template <class F>
auto spawn_blocking_on(blocking_pool& pool, F f) {
  using result = std::invoke_result_t<F&>;
  auto [tx, rx] = oneshot<outcome_of<result>>();
  std::unique_ptr<blocking_job> job = std::make_unique<blocking_call<F>>(std::move(f), std::move(tx));
  if (!pool.submit(job)) throw std::logic_error("tandem::spawn_blocking: the runtime is shut down");
  return make_result_handle<result>(std::move(rx));
}

}  // namespace detail

// Runs `f` on the blocking pool of the runtime the caller runs in.
template <class F>
auto spawn_blocking(F f) {
  return detail::spawn_blocking_on(
      detail::blocking_pool_of(detail::require_current_runtime("spawn_blocking")), std::move(f));
}

}  // namespace tandem
