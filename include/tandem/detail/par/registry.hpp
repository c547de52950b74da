// The par engine's machinery: a registry owns the worker threads of one pool;
// each worker_thread owns a work-stealing deque. The protocol (states, who owns
// what, the races) is written down in src/par/README.md; this header holds the
// parts that templates inline into user code (push, pop, the sleep check).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <pthread.h>

#include "tandem/detail/par/job.hpp"
#include "tandem/detail/par/latch.hpp"
#include "tandem/detail/sched/asymmetric_fence.hpp"
#include "tandem/detail/sched/injection_queue.hpp"
#include "tandem/detail/sched/work_stealing_deque.hpp"

namespace tandem::detail {

struct registry_options {
  std::size_t num_threads = 0;  // 0: TANDEM_NUM_THREADS, else the logical cores
  std::string thread_name_prefix = "tandem-par-";
  std::size_t stack_size = 0;  // 0: default_worker_stack_size
  std::function<void(std::size_t)> start_handler;
  std::function<void(std::size_t)> exit_handler;
  std::function<void(std::exception_ptr)> error_handler;
};

// Large because joins recurse on the worker's stack; only touched pages cost memory.
inline constexpr std::size_t default_worker_stack_size = std::size_t{256} << 20;
inline constexpr std::size_t minimum_worker_stack_size = std::size_t{256} << 10;
// Headroom kept below the stack's end: a join refuses to nest deeper than this.
inline constexpr std::size_t stack_reserve = std::size_t{64} << 10;

// Reads TANDEM_NUM_THREADS / hardware_concurrency; throws on a malformed variable.
std::size_t default_num_threads();

class registry;

class worker_thread {
 public:
  worker_thread(registry& owner, std::size_t index)
      : owner_(&owner), index_(index), rng_state_(index * 2 + 1) {}
  worker_thread(const worker_thread&) = delete;
  worker_thread& operator=(const worker_thread&) = delete;

  registry& owner() const noexcept { return *owner_; }
  std::size_t index() const noexcept { return index_; }

  // Owner thread only. push returns the slot that take_back needs.
  inline std::int64_t push(job* j) noexcept;

  // Owner thread only. Gets job j, pushed at `slot` and waiting on `latch`, back:
  // true if it is in our hands and has not run; false if a thief ran it (then it
  // has finished). Runs jobs pushed after j first, and other work while waiting.
  bool take_back(job* j, std::int64_t slot, core_latch& latch) {
    const auto outcome = deque_.pop_at(slot);
    if (outcome == work_stealing_deque<job*>::pop_outcome::taken) [[likely]] {
      return true;
    }
    return take_back_cold(j, latch, outcome == work_stealing_deque<job*>::pop_outcome::buried);
  }

  // The calling frame is within stack_reserve of this thread's stack end.
  bool stack_nearly_exhausted() const noexcept {
    return static_cast<const char*>(__builtin_frame_address(0)) < stack_limit_;
  }

  // Runs other work until `latch` is set; sleeps when there is none.
  template <class Latch>
  void wait_until(Latch& latch) {
    if (!latch.probe()) wait_until_cold(latch.core());
  }

 private:
  bool take_back_cold(job* target, core_latch& latch, bool buried);
  // Runs local jobs until `target` comes back off the deque (returns true, not
  // run) or the deque runs dry because a thief took it (returns false).
  bool run_local_until_popped(job* target) noexcept;
  friend class registry;

  void main_loop();
  void wait_until_cold(core_latch& latch);
  job* find_work() noexcept;
  job* steal_round() noexcept;
  job* search(core_latch* latch);
  void sleep(core_latch* latch);
  void cancel_sleep() noexcept;
  std::size_t next_random() noexcept;

  work_stealing_deque<job*> deque_;
  injection_queue<job*> personal_;  // broadcast jobs that must run on this thread
  registry* owner_;
  std::size_t index_;
  const char* stack_limit_ = nullptr;
  std::uint64_t rng_state_;
  // Written by wakers on other threads: keep it off the owner's hot line.
  alignas(cache_line_size) std::atomic<std::uint32_t> sleep_state_{0};
};

// The worker the calling thread is, if any. constinit: no TLS init wrapper.
extern constinit thread_local worker_thread* current_worker;

class registry : public std::enable_shared_from_this<registry> {
 public:
  static std::shared_ptr<registry> create(registry_options options);
  static registry& global();
  // Installs the global registry from options; false if it already exists.
  static bool try_init_global(registry_options options);

  ~registry();
  registry(const registry&) = delete;
  registry& operator=(const registry&) = delete;

  std::size_t num_threads() const noexcept { return workers_.size(); }
  worker_thread& worker(std::size_t i) noexcept { return *workers_[i]; }

  // After a worker pushed: wake a sleeper if nobody is out looking for work.
  void notify_new_work() noexcept {
    light_fence();  // store bottom / load counters: pairs with heavy_fence() in sleep()
    const std::uint64_t c = counters_.load(std::memory_order_relaxed);
    if (sleepers_in(c) != 0 && searchers_in(c) == 0) wake_one();
  }

  // From any thread: queue a job for any worker / for worker `index` alone.
  void inject(job* j);
  void inject_to(std::size_t index, job* j);

  void wake_one() noexcept;
  void wake_worker(std::size_t index) noexcept;

  // Detached jobs (par::spawn, scope-less): counted so shutdown can wait for them.
  void detached_started() noexcept { detached_.fetch_add(1, std::memory_order_relaxed); }
  void detached_finished() noexcept;
  void handle_error(std::exception_ptr error) noexcept;

  // Stops the threads after every detached job ran. Called by pool's destructor.
  void terminate();

  // Runs f(worker) on a worker of this registry and returns its result: directly
  // when the caller is one, else by injecting a job and waiting for it.
  template <class F>
  decltype(auto) in_worker(F&& f) {
    worker_thread* w = current_worker;
    if (w != nullptr && &w->owner() == this) {
      auto here = [&f, w]() -> decltype(auto) { return f(*w); };
      return invoke_to_value(here);
    }
    auto on_worker = [&f]() -> decltype(auto) { return f(*current_worker); };
    if (w == nullptr) return in_worker_from_outside(on_worker);
    // A worker of another pool: keep its pool busy while waiting, so that pool
    // cannot deadlock on us (rayon#446's surprise).
    stack_job<cross_latch, decltype(on_worker)> job(on_worker, *w);
    inject(&job);
    w->wait_until(job.latch);
    return job.result.take();
  }

  template <class F>
  [[gnu::noinline]] decltype(auto) in_worker_from_outside(F& on_worker) {
    stack_job<blocking_latch, F> job(on_worker);
    inject(&job);
    job.latch.wait();
    return job.result.take();
  }

 private:
  friend class worker_thread;
  friend class spin_latch;

  explicit registry(registry_options options);
  void start_threads();
  // Turns w from asleep to awake and notifies it; false if it was not asleep.
  bool wake(worker_thread& w) noexcept;

  static constexpr std::uint64_t one_sleeper = std::uint64_t{1} << 32;
  // A searcher becoming a sleeper (added) or a sleeper becoming a searcher (subtracted).
  static constexpr std::uint64_t sleeper_not_searcher = one_sleeper - 1;
  static std::uint32_t sleepers_in(std::uint64_t c) noexcept { return static_cast<std::uint32_t>(c >> 32); }
  static std::uint32_t searchers_in(std::uint64_t c) noexcept { return static_cast<std::uint32_t>(c); }
  bool work_visible(const worker_thread& asking) const noexcept;

  registry_options options_;
  std::vector<std::unique_ptr<worker_thread>> workers_;
  std::vector<pthread_t> threads_;
  injection_queue<job*> injected_;
  // High half: sleeping workers; low half: awake workers searching for work.
  alignas(cache_line_size) std::atomic<std::uint64_t> counters_{0};
  alignas(cache_line_size) std::atomic<std::size_t> detached_{0};
  std::atomic<bool> terminating_{false};
  std::atomic<std::size_t> wake_cursor_{0};
};

inline std::int64_t worker_thread::push(job* j) noexcept {
  const std::int64_t slot = deque_.push(j);
  owner_->notify_new_work();
  return slot;
}

}  // namespace tandem::detail
