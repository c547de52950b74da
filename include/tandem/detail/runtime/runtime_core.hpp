// The runtime's engine as the public templates see it (src/runtime/runtime_core.cpp).
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "tandem/detail/runtime/task_header.hpp"
#include "tandem/detail/time/runtime_clock.hpp"
#include "tandem/detail/time/worker_timers.hpp"

namespace tandem::detail {

class runtime_core;

struct runtime_options {
  bool current_thread = false;
  std::size_t worker_threads = 0;  // 0: TANDEM_WORKER_THREADS, else logical cores
  std::string thread_name_prefix = "tandem-rt";
  std::size_t stack_size = 2u << 20;
  std::function<void(std::size_t)> on_thread_start;
  std::function<void(std::size_t)> on_thread_stop;
  std::size_t max_blocking_threads = 512;
  std::chrono::nanoseconds blocking_keep_alive = std::chrono::seconds(10);
  bool start_paused = false;
};

class blocking_pool;
blocking_pool& blocking_pool_of(runtime_core& core) noexcept;

std::shared_ptr<runtime_core> make_runtime_core(runtime_options options);
std::size_t worker_count(const runtime_core& core) noexcept;

// The runtime whose worker (or block_on driver) is the calling thread, or null.
runtime_core* current_runtime_core() noexcept;
std::shared_ptr<runtime_core> share_core(runtime_core& core);

task_scheduler* scheduler_of(runtime_core& core) noexcept;

// The runtime's reactor (src/io/README.md); sockets keep it alive while they are open.
class io_driver;
const std::shared_ptr<io_driver>& io_driver_of(runtime_core& core) noexcept;

// Time (src/time/README.md).
const runtime_clock& clock_of(const runtime_core& core) noexcept;
// The wheel of the worker the calling thread is (timers are filed there); called only
// while polling one of `core`'s tasks.
worker_timers& current_worker_timers(runtime_core& core) noexcept;
// Called after a timer due at `tick` was filed: wakes the worker waiting in the I/O
// driver if it would otherwise sleep past it (src/time/README.md).
void timer_filed(runtime_core& core, std::uint64_t tick) noexcept;
// Timers filed on every worker's wheel and not yet fired or cancelled.
std::size_t pending_timer_count(runtime_core& core) noexcept;
// Paused clock only: moves it forward by `by` and fires every timer then due.
void advance_paused_clock(runtime_core& core, std::chrono::nanoseconds by);
// Schedules a new task (taking its queue reference); after shutdown it is cancelled
// at once instead.
void launch(runtime_core& core, task_header* task) noexcept;

// Told when the block_on root completes.
class blocking_waiter final : public completion_listener {
 public:
  void task_completed(task_header*) noexcept override {
    // Release: the root's output is written before the waiter reads it.
    done_.store(true, std::memory_order_release);
    done_.notify_all();
  }
  bool done() const noexcept { return done_.load(std::memory_order_acquire); }
  void wait() const noexcept {
    while (!done()) done_.wait(false, std::memory_order_acquire);
  }

 private:
  std::atomic<bool> done_{false};
};

// Calls that block their thread (block_on, the sync primitives' blocking_* forms)
// throw std::logic_error on a worker thread of any runtime, naming `what` and what to
// do `instead`.
void check_off_runtime_thread(const char* what, const char* instead);

// block_on's wait: drives the scheduler on this thread (current_thread flavor) or
// sleeps until the waiter is told (multi_thread).
void wait_for_root(runtime_core& core, blocking_waiter& waiter);

// Stops the workers and cancels every task left. False when a worker was still in a
// poll after `timeout`: its thread is detached and the core must then be kept alive.
bool shutdown_core(runtime_core& core, std::chrono::nanoseconds timeout) noexcept;
// Keeps a core whose detached worker may still run until the process exits.
void keep_alive_forever(std::shared_ptr<runtime_core> core) noexcept;

}  // namespace tandem::detail
