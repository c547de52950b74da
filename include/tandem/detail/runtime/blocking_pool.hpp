// blocking_pool: threads for work that blocks (tokio's blocking pool), one per runtime.
//
// Jobs wait in a FIFO under one mutex that is held only to push or pop (never while a
// job runs). A submission wakes an idle thread if there is one, and otherwise starts a
// new thread, up to `max_threads`; beyond that the work queues. Only one idle thread is
// being woken at a time: it passes the wake on when it leaves work queued, so a burst of
// submissions costs one futex wake instead of one per job. A thread idle for `keep_alive` exits. Shutdown
// stops new submissions, lets the threads run everything queued, and waits for them (up to a timeout; threads
// still busy then are left to finish on their own, keeping the pool alive through a shared pointer).
//
// Thread safety: every member may be called from any thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <string>

namespace tandem::detail {

class blocking_job {
 public:
  virtual ~blocking_job() = default;
  virtual void run() noexcept = 0;
};

class blocking_pool : public std::enable_shared_from_this<blocking_pool> {
 public:
  blocking_pool(std::size_t max_threads, std::chrono::nanoseconds keep_alive, std::string name_prefix);
  blocking_pool(const blocking_pool&) = delete;
  blocking_pool& operator=(const blocking_pool&) = delete;

  // False (the job is not taken) once the pool is shut down. Throws std::system_error
  // when no thread can be started and none is running.
  bool submit(std::unique_ptr<blocking_job>& job);

  // Runs what is queued, waits for the threads; false when some were still busy after
  // `timeout`.
  bool shutdown(std::chrono::nanoseconds timeout) noexcept;

  std::size_t thread_count() const;
  std::size_t idle_count() const;
  // Nothing queued and no job running (a paused clock may only jump then).
  bool quiet() const;

 private:
  void thread_main() noexcept;
  void start_thread();
  void wake_one_idle() noexcept;
  void hand_on_the_rest() noexcept;

  const std::size_t max_threads_;
  const std::chrono::nanoseconds keep_alive_;
  const std::string name_prefix_;

  mutable std::mutex mutex_;
  std::condition_variable work_available_;
  std::condition_variable thread_exited_;
  std::deque<std::unique_ptr<blocking_job>> queue_;
  std::size_t threads_ = 0;
  std::size_t idle_ = 0;
  std::size_t started_ = 0;  // for thread names
  bool waking_ = false;      // an idle thread was notified and has not got up yet
  bool stopping_ = false;
};

}  // namespace tandem::detail
