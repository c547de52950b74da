// Helpers shared by the tests of the sync primitives and channels (tests/sync/) and of
// other awaitables (signals, sockets): seeing that an operation has queued, recording
// completion order, and waits that are bounded in time, so a broken primitive fails a
// test instead of hanging it.
#pragma once

#include <atomic>
#include <chrono>
#include <coroutine>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include <tandem/errors.hpp>
#include <tandem/spawn.hpp>
#include <tandem/task.hpp>
#include <tandem/time/sleep.hpp>
#include <tandem/time/timeout.hpp>

#include "support/waiting.hpp"

namespace test_support {

// Forwards to an awaitable and counts, in `*queued`, once the operation has either
// completed or queued itself: from then on, later requests are behind it in line.
template <class A>
class announced {
 public:
  announced(A inner, std::atomic<int>& queued) : inner_(std::move(inner)), queued_(&queued) {}
  bool await_ready() {
    if (!inner_.await_ready()) return false;
    queued_->fetch_add(1);
    return true;
  }
  bool await_suspend(std::coroutine_handle<> caller) {
    std::atomic<int>* queued = queued_;  // not touching the frame once the operation is queued
    const bool suspended = inner_.await_suspend(caller);
    queued->fetch_add(1);
    return suspended;
  }
  decltype(auto) await_resume() { return inner_.await_resume(); }

 private:
  A inner_;
  std::atomic<int>* queued_;
};

// Completion order, shared by tasks on any worker.
class recorder {
 public:
  void add(int value) {
    std::lock_guard guard(mutex_);
    values_.push_back(value);
  }
  std::vector<int> values() const {
    std::lock_guard guard(mutex_);
    return values_;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<int> values_;
};

// Polls pred every millisecond for at most `limit`.
template <class Pred>
tandem::task<bool> eventually(Pred pred, std::chrono::milliseconds limit = std::chrono::milliseconds(5000)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) co_return pred();
    co_await tandem::sleep(std::chrono::milliseconds(1));
  }
  co_return true;
}

// Gives a task that was wrongly woken the time to run and show it.
inline tandem::task<> settle() {
  for (int i = 0; i < 5; ++i) co_await tandem::yield_now();
  co_await tandem::sleep(std::chrono::milliseconds(10));
}

// A task's outcome, waited for at most 5 s.
template <class T>
tandem::task<T> bounded(tandem::join_handle<T> handle) {
  co_return co_await tandem::timeout(std::chrono::seconds(5), std::move(handle));
}

// Whether awaiting `operation` throws an E (any other exception passes through).
template <class E, class A>
tandem::task<bool> throws(A operation) {
  try {
    co_await std::move(operation);
  } catch (const E&) {
    co_return true;
  }
  co_return false;
}

// Whether `operation` finishes within `limit`.
template <class A>
tandem::task<bool> completes_within(std::chrono::milliseconds limit, A operation) {
  const bool timed_out = co_await throws<tandem::timed_out>(tandem::timeout(limit, std::move(operation)));
  co_return !timed_out;
}

// Joins a task that may have been aborted (for at most `limit`), dropping its result: true
// when it was cancelled, false when it finished first.
template <class T>
tandem::task<bool> join_or_cancelled(tandem::join_handle<T> handle,
                                     std::chrono::milliseconds limit = std::chrono::milliseconds(5000)) {
  co_return co_await throws<tandem::task_cancelled>(tandem::timeout(limit, std::move(handle)));
}

// Aborts a task and joins it (for at most `limit`): true when the abort stopped it before
// it finished.
template <class T>
tandem::task<bool> abort_and_join(tandem::join_handle<T> handle,
                                  std::chrono::milliseconds limit = std::chrono::milliseconds(5000)) {
  handle.abort();
  co_return co_await join_or_cancelled(std::move(handle), limit);
}

// Runs f on a thread of its own; false if it has not returned within `limit` (the thread
// is then left behind rather than hanging the test).
template <class F>
bool returns_within(F f, std::chrono::milliseconds limit = std::chrono::milliseconds(500)) {
  auto done = std::make_shared<std::atomic<bool>>(false);
  std::thread t([f = std::move(f), done]() mutable {
    f();
    done->store(true);
  });
  if (!wait_for([&] { return done->load(); }, limit)) {
    t.detach();
    return false;
  }
  t.join();
  return true;
}

inline std::vector<int> zero_to(int n) {
  std::vector<int> v;
  for (int i = 0; i < n; ++i) v.push_back(i);
  return v;
}

}  // namespace test_support
