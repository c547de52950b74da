#include "tandem/detail/runtime/blocking_pool.hpp"

#include <system_error>
#include <thread>
#include <utility>

#include <pthread.h>

namespace tandem::detail {

blocking_pool::blocking_pool(std::size_t max_threads,
                             std::chrono::nanoseconds keep_alive,
                             std::string name_prefix)
    : max_threads_(max_threads), keep_alive_(keep_alive), name_prefix_(std::move(name_prefix)) {}

bool blocking_pool::submit(std::unique_ptr<blocking_job>& job) {
  std::unique_lock lock(mutex_);
  if (stopping_) return false;
  queue_.push_back(std::move(job));
  if (idle_ > 0) {
    // One idle thread is woken at a time; it wakes the next if work is left over. A
    // burst of submissions then costs one wake, not one per job (tokio#2528's storm).
    wake_one_idle();
    return true;
  }
  if (threads_ >= max_threads_) return true;  // at the cap: the job waits its turn
  try {
    start_thread();
  } catch (...) {
    if (threads_ > 0) return true;  // a running thread will get to it
    job = std::move(queue_.back());
    queue_.pop_back();
    throw;
  }
  return true;
}

// Called with the lock held.
void blocking_pool::wake_one_idle() noexcept {
  if (waking_ || idle_ == 0) return;
  waking_ = true;
  work_available_.notify_one();
}

// Called with the lock held, by a thread that took a job and left others queued: the
// wake goes on to an idle thread; with none idle (a submission found the one idle thread
// already being woken, and this is it), a new thread is started, as a submission would
// have, so that no job waits for another to finish (one job may be waiting on the other).
void blocking_pool::hand_on_the_rest() noexcept {
  if (idle_ > 0) {
    wake_one_idle();
    return;
  }
  if (threads_ >= max_threads_) return;
  try {
    start_thread();
  } catch (...) {
    // No thread to be had: this one gets to the job after its own.
  }
}

// Called with the lock held.
void blocking_pool::start_thread() {
  const std::size_t index = started_;
  std::thread thread([self = shared_from_this(), index] {
    const std::string name = (self->name_prefix_ + "-" + std::to_string(index)).substr(0, 15);
    pthread_setname_np(pthread_self(), name.c_str());
    self->thread_main();
  });
  thread.detach();
  ++threads_;
  ++started_;
}

void blocking_pool::thread_main() noexcept {
  std::unique_lock lock(mutex_);
  for (;;) {
    if (!queue_.empty()) {
      std::unique_ptr<blocking_job> job = std::move(queue_.front());
      queue_.pop_front();
      if (!queue_.empty()) hand_on_the_rest();
      lock.unlock();
      job->run();
      job.reset();
      lock.lock();
      continue;
    }
    if (stopping_) break;
    ++idle_;
    const auto deadline = std::chrono::steady_clock::now() + keep_alive_;
    bool timed_out = false;
    while (queue_.empty() && !stopping_ && !timed_out) {
      timed_out = work_available_.wait_until(lock, deadline) == std::cv_status::timeout;
      // Any thread getting up spends the pending wake, even one that finds the queue
      // already emptied by a busy thread: the next submission must wake again.
      waking_ = false;
    }
    --idle_;
    if (queue_.empty() && !stopping_) break;  // idle for keep_alive: leave
  }
  --threads_;
  thread_exited_.notify_all();
}

bool blocking_pool::shutdown(std::chrono::nanoseconds timeout) noexcept {
  std::unique_lock lock(mutex_);
  stopping_ = true;
  work_available_.notify_all();
  // No thread could be started for what is queued: run it here rather than lose it.
  while (threads_ == 0 && !queue_.empty()) {
    std::unique_ptr<blocking_job> job = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    job->run();
    job.reset();
    lock.lock();
  }
  auto gone = [this] { return threads_ == 0; };
  if (timeout == std::chrono::nanoseconds::max()) {
    thread_exited_.wait(lock, gone);
    return true;
  }
  return thread_exited_.wait_for(lock, timeout, gone);
}

std::size_t blocking_pool::thread_count() const {
  std::lock_guard guard(mutex_);
  return threads_;
}

std::size_t blocking_pool::idle_count() const {
  std::lock_guard guard(mutex_);
  return idle_;
}

bool blocking_pool::quiet() const {
  std::lock_guard guard(mutex_);
  return queue_.empty() && idle_ == threads_;
}

}  // namespace tandem::detail
