// The errors the async runtime reports.
#pragma once

#include <stdexcept>
#include <string>

namespace tandem {

// Thrown by awaiting the join_handle of a task that was aborted (or cancelled by its
// runtime's shutdown) before it finished.
class task_cancelled : public std::runtime_error {
 public:
  task_cancelled() : std::runtime_error("tandem: the task was cancelled before it finished") {}
};

// Thrown by receiving from a channel whose senders are all gone (and, for a oneshot,
// never sent).
class channel_closed : public std::runtime_error {
 public:
  explicit channel_closed(const std::string& what) : std::runtime_error(what) {}
};

// Thrown by acquiring from a closed semaphore (and so by a closed mutex or rwlock).
class semaphore_closed : public std::runtime_error {
 public:
  semaphore_closed() : std::runtime_error("tandem::semaphore: the semaphore is closed") {}
};

// Thrown by a broadcast receiver that fell more than the channel's capacity behind: the
// `missed` oldest values are gone; the next receive continues from the oldest kept one.
class lagged : public std::runtime_error {
 public:
  explicit lagged(unsigned long long missed)
      : std::runtime_error("tandem::broadcast: the receiver lagged behind and missed " + std::to_string(missed) +
                           " values"),
        missed_(missed) {}
  unsigned long long missed() const noexcept { return missed_; }

 private:
  unsigned long long missed_;
};

// Thrown by timeout / timeout_at when the deadline came before the operation finished
// (the operation has been cancelled).
class timed_out : public std::runtime_error {
 public:
  timed_out() : std::runtime_error("tandem::timeout: the deadline passed before the operation finished") {}
};

// Thrown by read_exact (sockets, buffered readers) when the stream ended before the
// buffer was full.
class end_of_stream : public std::runtime_error {
 public:
  explicit end_of_stream(const std::string& what) : std::runtime_error(what) {}
};

}  // namespace tandem
