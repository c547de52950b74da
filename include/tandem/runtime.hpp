// runtime: the async engine (tokio's Runtime). Worker threads, one per core by default,
// poll tasks; tandem::run is the #[tokio::main] of tandem.
//
//   tandem::task<int> async_main() { ...; co_return 0; }
//   int main() { return tandem::run(async_main()); }
//
// Flavors: multi_thread (default; TANDEM_WORKER_THREADS or one worker per logical core,
// work stealing) and current_thread (every task runs on the thread inside block_on).
// block_on(task) runs a task to completion and returns its value; it throws
// std::logic_error when called from a runtime's own thread (that would block a worker:
// co_await instead). Destroying the runtime stops the workers once their current polls
// return, then cancels every task left, destroying its frame; shutdown_timeout(d)
// gives up waiting for a poll that does not return after d (that worker's thread is
// detached and its tasks are leaked).
//
// Thread safety: a runtime may be used from any thread; handle is a copyable reference
// to it that spawns from anywhere (also after the runtime is gone: the task is then
// cancelled at once).
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>

#include "tandem/detail/runtime/runtime_core.hpp"
#include "tandem/spawn.hpp"
#include "tandem/spawn_blocking.hpp"
#include "tandem/task.hpp"

namespace tandem {

namespace detail {

template <class T>
T block_on_core(runtime_core& core, task<T> body) {
  check_off_runtime_thread("block_on", "co_await the task instead");
  blocking_waiter waiter;
  join_handle<T> result = spawn_on(core, std::move(body), &waiter);
  wait_for_root(core, waiter);
  return result.take();
}

}  // namespace detail

class runtime {
 public:
  enum class flavor { multi_thread, current_thread };

  class builder {
   public:
    builder& runtime_flavor(flavor f) {
      options_.current_thread = f == flavor::current_thread;
      return *this;
    }
    // Worker count of the multi_thread flavor; at least 1.
    builder& worker_threads(std::size_t n) {
      if (n == 0)
        throw std::invalid_argument(
            "runtime::builder::worker_threads: a runtime needs at least 1 worker, got 0");
      options_.worker_threads = n;
      return *this;
    }
    builder& thread_name_prefix(std::string prefix) {
      options_.thread_name_prefix = std::move(prefix);
      return *this;
    }
    builder& thread_stack_size(std::size_t bytes) {
      if (bytes < 64 * 1024)
        throw std::invalid_argument("runtime::builder::thread_stack_size: " + std::to_string(bytes) +
                                    " bytes is too small; the minimum is 65536");
      options_.stack_size = bytes;
      return *this;
    }
    // The blocking pool (spawn_blocking): at most this many threads (default 512);
    // beyond that, work queues.
    builder& max_blocking_threads(std::size_t n) {
      if (n == 0)
        throw std::invalid_argument(
            "runtime::builder::max_blocking_threads: the blocking pool needs at least 1 thread, got 0");
      options_.max_blocking_threads = n;
      return *this;
    }
    // A blocking-pool thread idle this long exits (default 10 s).
    builder& thread_keep_alive(std::chrono::nanoseconds idle) {
      if (idle <= std::chrono::nanoseconds::zero())
        throw std::invalid_argument("runtime::builder::thread_keep_alive: the keep-alive must be positive");
      options_.blocking_keep_alive = idle;
      return *this;
    }
    // A clock that stands still until time::advance moves it, or every worker is idle
    // and it jumps to the next timer (see time/clock.hpp). For tests.
    builder& start_paused(bool paused) {
      options_.start_paused = paused;
      return *this;
    }
    builder& on_thread_start(std::function<void(std::size_t)> hook) {
      options_.on_thread_start = std::move(hook);
      return *this;
    }
    builder& on_thread_stop(std::function<void(std::size_t)> hook) {
      options_.on_thread_stop = std::move(hook);
      return *this;
    }
    runtime build() const { return runtime(options_); }

   private:
    detail::runtime_options options_;
  };

  // A copyable reference to a runtime, to spawn onto it from any thread.
  class handle {
   public:
    // The runtime the calling thread runs in; throws std::logic_error outside one.
    static handle current() {
      return handle(detail::share_core(detail::require_current_runtime("runtime::handle::current")));
    }
    template <class T>
    join_handle<T> spawn(task<T> body) const {
      return detail::spawn_on(require_core("spawn"), std::move(body));
    }
    // As runtime::block_on, from any thread that is not one of a runtime's own (a par
    // worker, a plain thread): runs `body` to completion on the runtime and returns its
    // value or rethrows.
    template <class T>
    T block_on(task<T> body) const {
      return detail::block_on_core(require_core("block_on"), std::move(body));
    }

   private:
    friend class runtime;
    template <class>
    friend class task_group;
    explicit handle(std::shared_ptr<detail::runtime_core> core) noexcept : core_(std::move(core)) {}
    detail::runtime_core& require_core(const char* what) const {
      if (!core_) throw std::logic_error(std::string("tandem::runtime::handle::") + what + ": the handle was moved from");
      return *core_;
    }
    std::shared_ptr<detail::runtime_core> core_;
  };

  // The default multi_thread runtime.
  runtime() : runtime(detail::runtime_options{}) {}
  runtime(runtime&&) noexcept = default;
  runtime& operator=(runtime&& other) noexcept {
    if (this != &other) {
      stop(std::chrono::nanoseconds::max());
      core_ = std::move(other.core_);
    }
    return *this;
  }
  ~runtime() { stop(std::chrono::nanoseconds::max()); }

  template <class T>
  T block_on(task<T> body) {
    return detail::block_on_core(require_core("block_on"), std::move(body));
  }

  template <class T>
  join_handle<T> spawn(task<T> body) {
    return detail::spawn_on(require_core("spawn"), std::move(body));
  }

  // Runs `f` on this runtime's blocking pool, from any thread (see spawn_blocking.hpp).
  template <class F>
  auto spawn_blocking(F f) {
    return detail::spawn_blocking_on(detail::blocking_pool_of(require_core("spawn_blocking")), std::move(f));
  }

  handle get_handle() const { return handle(core_); }
  std::size_t num_workers() const { return detail::worker_count(require_core("num_workers")); }

  // Shuts down now, waiting at most `timeout` for polls in progress to return.
  void shutdown_timeout(std::chrono::nanoseconds timeout) { stop(timeout); }

 private:
  explicit runtime(detail::runtime_options options) : core_(detail::make_runtime_core(std::move(options))) {}

  detail::runtime_core& require_core(const char* what) const {
    if (!core_)
      throw std::logic_error(std::string("tandem::runtime::") + what +
                             ": the runtime was moved from or shut down");
    return *core_;
  }

  void stop(std::chrono::nanoseconds timeout) noexcept {
    if (!core_) return;
    // A worker still inside a poll after the timeout uses the core: keep it alive.
    if (!detail::shutdown_core(*core_, timeout)) detail::keep_alive_forever(std::move(core_));
    core_.reset();
  }

  std::shared_ptr<detail::runtime_core> core_;
};

// Builds the default runtime, runs `main_task` to completion and returns its value.
template <class T>
T run(task<T> main_task) {
  runtime rt;
  return rt.block_on(std::move(main_task));
}

}  // namespace tandem
