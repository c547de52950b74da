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

// Thrown by timeout / timeout_at when the deadline came before the operation finished
// (the operation has been cancelled).
class timed_out : public std::runtime_error {
 public:
  timed_out() : std::runtime_error("tandem::timeout: the deadline passed before the operation finished") {}
};

}  // namespace tandem
