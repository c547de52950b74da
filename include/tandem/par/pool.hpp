// par::pool: a work-stealing thread pool for fork-join parallelism (rayon's
// ThreadPool). One worker thread per logical core by default.
//
// Thread safety: a pool may be used from any number of threads at once. Its
// destructor must not run concurrently with other uses, nor on one of its own
// workers (that is a fatal error, reported on stderr).
#pragma once

#include <cstddef>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "tandem/detail/par/broadcast_impl.hpp"
#include "tandem/detail/par/heap_job.hpp"
#include "tandem/detail/par/join_impl.hpp"
#include "tandem/detail/par/registry.hpp"
#include "tandem/detail/par/spawn_impl.hpp"

namespace tandem::par {

class pool {
 public:
  // Configures a pool. Every setter returns the builder for chaining.
  class builder {
   public:
    // Number of worker threads; default TANDEM_NUM_THREADS, else the logical cores.
    // Throws std::invalid_argument for 0.
    builder& num_threads(std::size_t n);
    // Threads are named prefix + index (cut to 15 characters by the OS).
    builder& thread_name_prefix(std::string prefix);
    // Bytes of stack per worker (default 256 MiB of address space, committed only as
    // used). Throws std::invalid_argument below 256 KiB.
    builder& stack_size(std::size_t bytes);
    // Called on each worker thread as it starts / before it exits, with its index.
    builder& on_thread_start(std::function<void(std::size_t)> hook);
    builder& on_thread_stop(std::function<void(std::size_t)> hook);
    // Receives exceptions from detached jobs (par::spawn). Without one, such an
    // exception is printed to stderr and the process terminates.
    builder& error_handler(std::function<void(std::exception_ptr)> handler);

    pool build() const;
    // Makes these settings the global pool's. Throws std::logic_error if the global
    // pool already exists (it is created by the first par call made outside a pool).
    void build_global() const;

   private:
    detail::registry_options options_;
  };

  // A pool with the default settings.
  pool();
  // Runs every job still queued (detached spawns included), then stops the threads.
  ~pool();
  pool(pool&&) noexcept = default;
  pool& operator=(pool&&) = delete;
  pool(const pool&) = delete;
  pool& operator=(const pool&) = delete;

  std::size_t num_threads() const noexcept { return registry_->num_threads(); }

  // Runs f on one of this pool's workers and returns its result (or rethrows). par
  // calls made inside f (join, scope, iterators) use this pool. From a worker of
  // this pool f simply runs; from any other thread the caller blocks until f is
  // done, and a worker of another pool keeps running its own pool's work meanwhile.
  template <class F>
  std::invoke_result_t<F&> install(F&& f) {
    auto call = [&f](detail::worker_thread&) -> decltype(auto) { return std::invoke(f); };
    if constexpr (std::is_void_v<std::invoke_result_t<F&>>) {
      registry_->in_worker(call);
    } else {
      return registry_->in_worker(call);
    }
  }

  // Runs f() once on every worker of this pool and returns the results in thread
  // index order (nothing for a void f). Blocks until all are done.
  template <class F>
  auto broadcast(F&& f) {
    return detail::broadcast_on(*registry_, f);
  }

  // Queues f to run on this pool and returns at once. f owns its captures. An
  // exception from f goes to the pool's error handler.
  template <class F>
  void spawn(F&& f) {
    detail::spawn_detached(*registry_, std::forward<F>(f));
  }

 private:
  explicit pool(std::shared_ptr<detail::registry> registry) : registry_(std::move(registry)) {}
  std::shared_ptr<detail::registry> registry_;
};

// Threads of the pool the caller is in; outside any pool, of the global pool.
std::size_t current_num_threads();
// The caller's worker index in its pool; empty outside any pool.
std::optional<std::size_t> current_thread_index();

}  // namespace tandem::par
