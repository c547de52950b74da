// The async runtime's scheduler. The protocol (queues, searching, parking, shutdown)
// is in src/runtime/README.md.
#include "tandem/detail/runtime/runtime_core.hpp"
#include "tandem/detail/io/io_driver.hpp"

#include <algorithm>
#include <array>
#include <condition_variable>
#include <mutex>
#include <new>
#include <stdexcept>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include <linux/futex.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "tandem/detail/runtime/blocking_pool.hpp"
#include "tandem/detail/sched/asymmetric_fence.hpp"
#include "tandem/detail/sched/bounded_run_queue.hpp"
#include "tandem/detail/sched/thread_count.hpp"

namespace tandem::detail {

namespace {

// Polls of the LIFO slot in a row before its task goes to the back of the queue.
constexpr unsigned lifo_poll_limit = 3;
// Every this many polls a worker looks at the injection queue first (fairness).
constexpr unsigned injection_check_interval = 61;
constexpr std::size_t owned_shard_count = 64;
// A worker that is the last one awake on a paused clock while blocking work is in
// flight looks again this often (real time) for the moment it may jump the clock.
constexpr auto paused_clock_retry = std::chrono::milliseconds(1);

// Parking uses the futex directly: std::atomic::wait has no timeout.
static_assert(sizeof(std::atomic<std::uint32_t>) == sizeof(std::uint32_t));

// Sleeps while `word` holds `expected`, until woken or `deadline` (CLOCK_MONOTONIC,
// absolute; null: none). Spurious returns are fine: callers loop.
void futex_wait(std::atomic<std::uint32_t>& word, std::uint32_t expected, const timespec* deadline) noexcept {
  // Safety: std::atomic<uint32_t> is a lock-free 32-bit word with the layout of a
  // uint32_t (asserted above), which is what the kernel compares.
  syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG, expected,
          deadline, nullptr, FUTEX_BITSET_MATCH_ANY);
}

void futex_wake_one(std::atomic<std::uint32_t>& word) noexcept {
  // Safety: as in futex_wait.
  syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAKE | FUTEX_PRIVATE_FLAG, 1, nullptr, nullptr,
          0);
}

// steady_clock is CLOCK_MONOTONIC on Linux, the futex's clock.
timespec to_timespec(std::chrono::steady_clock::time_point t) noexcept {
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
  return timespec{static_cast<time_t>(ns / 1'000'000'000), static_cast<long>(ns % 1'000'000'000)};
}

// A spin lock for the owned-task shards: held for a few pointer writes.
class spin_lock {
 public:
  void lock() noexcept {
    // Acquire: pairs with unlock's release.
    while (locked_.exchange(true, std::memory_order_acquire)) {
      while (locked_.load(std::memory_order_relaxed)) std::this_thread::yield();
    }
  }
  void unlock() noexcept { locked_.store(false, std::memory_order_release); }

 private:
  std::atomic<bool> locked_{false};
};

// Suspended tasks of one shard: an intrusive doubly linked list.
struct alignas(64) owned_shard {
  spin_lock lock;
  task_header* first = nullptr;
};

// FIFO of tasks from outside the workers and of overflow: intrusive, under a mutex.
class injection_list {
 public:
  // False (nothing taken) once closed by shutdown.
  bool push(task_header* first, task_header* last, std::size_t count) noexcept {
    std::lock_guard guard(mutex_);
    if (closed_) return false;
    last->queue_next = nullptr;
    if (tail_ != nullptr) {
      tail_->queue_next = first;
    } else {
      head_ = first;
    }
    tail_ = last;
    // Release (under the lock anyway): a reader of the length that then locks finds
    // the items; the length is only a hint for idle workers.
    length_.store(length_.load(std::memory_order_relaxed) + count, std::memory_order_release);
    return true;
  }
  // Closes the queue if it is empty; false when it still holds tasks.
  bool close_if_empty() noexcept {
    std::lock_guard guard(mutex_);
    if (head_ != nullptr) return false;
    closed_ = true;
    return true;
  }
  // Pops one task and moves up to `extra` more into `into` (the caller's own queue).
  task_header* pop(bounded_run_queue<task_header>* into, std::size_t extra) noexcept {
    if (looks_empty()) return nullptr;
    std::lock_guard guard(mutex_);
    task_header* first = head_;
    if (first == nullptr) return nullptr;
    head_ = first->queue_next;
    std::size_t taken = 1;
    while (into != nullptr && extra > 0 && head_ != nullptr) {
      task_header* next = head_->queue_next;
      if (!into->push(head_)) break;
      head_ = next;
      --extra;
      ++taken;
    }
    if (head_ == nullptr) tail_ = nullptr;
    length_.store(length_.load(std::memory_order_relaxed) - taken, std::memory_order_release);
    return first;
  }
  bool looks_empty() const noexcept { return length_.load(std::memory_order_acquire) == 0; }

 private:
  std::mutex mutex_;
  task_header* head_ = nullptr;
  task_header* tail_ = nullptr;
  bool closed_ = false;
  std::atomic<std::size_t> length_{0};
};

}  // namespace

class runtime_core final : public task_scheduler, public std::enable_shared_from_this<runtime_core> {
 public:
  explicit runtime_core(runtime_options options);
  ~runtime_core();

  void start();
  void schedule(task_header* task, schedule_kind kind) override;
  void keep(task_header* task) noexcept override;
  void forget(task_header* task) noexcept override;
  void launch(task_header* task) noexcept;
  void wait_for_root(blocking_waiter& waiter);
  bool shutdown(std::chrono::nanoseconds timeout) noexcept;
  std::size_t workers() const noexcept { return workers_.size(); }
  blocking_pool& blocking() noexcept { return *blocking_; }
  const runtime_clock& clock() const noexcept { return clock_; }
  worker_timers& current_timers() noexcept;
  std::size_t pending_timers() noexcept {
    std::size_t total = 0;
    for (auto& w : workers_) total += w->timers.pending();
    return total;
  }
  void advance_paused_clock(std::chrono::nanoseconds by);
  const std::shared_ptr<io_driver>& io() const noexcept { return io_; }
  void timer_filed(std::uint64_t tick) noexcept;

 private:
  struct worker {
    runtime_core* core = nullptr;
    std::size_t index = 0;
    bounded_run_queue<task_header> local;
    task_header* lifo = nullptr;
    unsigned lifo_streak = 0;
    unsigned tick = 0;
    bool searching = false;
    // On the sleeper list waiting in the I/O driver (epoll) rather than on `parked`'s
    // futex; guarded by sleepers_mutex_.
    bool driving = false;
    std::uint64_t random = 0;
    worker_timers timers;
    // 1 while parked; the unparker stores 0 and notifies.
    alignas(64) std::atomic<std::uint32_t> parked{0};
    pthread_t thread{};
    bool has_thread = false;
  };

  // Idle bookkeeping: unparked workers (high 32 bits) and searching ones (low 32).
  static constexpr std::uint64_t one_unparked = std::uint64_t{1} << 32;
  static std::uint32_t searching_of(std::uint64_t s) noexcept { return static_cast<std::uint32_t>(s); }
  static std::uint32_t unparked_of(std::uint64_t s) noexcept { return static_cast<std::uint32_t>(s >> 32); }

  void worker_main(worker& w);
  bool run_worker_once(worker& w);
  void idle(worker& w);
  std::size_t fire_due_timers(worker& w) noexcept;
  void fire_own_timers_if_due(worker& w) noexcept;
  bool any_timer_filed() const noexcept;
  std::uint64_t earliest_timer() const noexcept;
  void jump_clock_to_next_timer() noexcept;
  void fire_every_wheel() noexcept;
  bool unpark_self(worker& w) noexcept;
  task_header* next_task(worker& w);
  task_header* steal_work(worker& w);
  // True when the task (or the one it displaced from the LIFO slot) went where other
  // workers can steal it.
  bool push_local(worker& w, task_header* task, schedule_kind kind);
  void overflow(worker& w, task_header* task);
  bool try_start_searching(worker& w) noexcept;
  void stop_searching(worker& w) noexcept;
  void notify_one() noexcept;
  worker* take_sleeper_locked() noexcept;
  void notify_all() noexcept;
  void park(worker& w);
  void sleep_until_unparked(worker& w, std::chrono::steady_clock::time_point deadline, bool timed) noexcept;
  void drive_until_unparked(worker& w, std::chrono::steady_clock::time_point deadline, bool timed) noexcept;
  void wait_until_unparked(worker& w, std::chrono::steady_clock::time_point deadline, bool timed) noexcept;
  void wait_for_notifier(worker& w) noexcept;
  void poll_io_now() noexcept;
  void hand_on_driver() noexcept;
  void wake_sleeper(worker& w) noexcept;
  bool any_work_visible() const noexcept;
  void drain_everything() noexcept;
  bool drain_queues() noexcept;
  bool drain_suspended() noexcept;
  void inject(task_header* first, task_header* last, std::size_t count) noexcept;

  runtime_options options_;
  runtime_clock clock_;
  std::vector<std::unique_ptr<worker>> workers_;
  std::shared_ptr<blocking_pool> blocking_;
  std::shared_ptr<io_driver> io_ = std::make_shared<io_driver>();
  // The tick the worker waiting in the driver wakes at: no_timer while it is getting
  // ready to wait (any timer filed then interrupts it), 0 when nobody waits there.
  std::atomic<std::uint64_t> driver_wake_tick_{0};
  injection_list injection_;
  std::array<owned_shard, owned_shard_count> owned_;
  std::atomic<std::uint64_t> idle_{0};
  std::mutex sleepers_mutex_;
  std::vector<worker*> sleepers_;
  std::atomic<bool> stopping_{false};
  std::atomic<std::size_t> running_threads_{0};
  std::mutex exit_mutex_;
  std::condition_variable exit_cv_;
  bool shut_down_ = false;
  std::atomic<std::uint32_t> external_shard_{0};
  std::mutex driver_mutex_;  // current_thread: held by the block_on caller driving the worker
};

namespace {

struct worker_identity {
  runtime_core* core = nullptr;
  void* worker = nullptr;  // runtime_core::worker, erased to keep it private
};
thread_local worker_identity current_identity;

}  // namespace

runtime_core::runtime_core(runtime_options options)
    : options_(std::move(options)),
      clock_(options_.start_paused),
      blocking_(std::make_shared<blocking_pool>(options_.max_blocking_threads,
                                                options_.blocking_keep_alive,
                                                options_.thread_name_prefix + "-blocking")) {
  std::size_t count = options_.current_thread ? 1 : options_.worker_threads;
  if (count == 0) count = thread_count_from_environment("TANDEM_WORKER_THREADS");
  workers_.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    auto w = std::make_unique<worker>();
    w->core = this;
    w->index = i;
    w->random = 0x9e3779b97f4a7c15ull * (i + 1);
    workers_.push_back(std::move(w));
  }
  idle_.store(one_unparked * count, std::memory_order_relaxed);
}

runtime_core::~runtime_core() {
  shutdown(std::chrono::nanoseconds::max());
}

void runtime_core::start() {
  enable_asymmetric_fences();
  if (options_.current_thread) return;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  if (const int error = pthread_attr_setstacksize(&attr, options_.stack_size); error != 0) {
    pthread_attr_destroy(&attr);
    throw std::invalid_argument("runtime::builder: the system refuses a worker stack of " +
                                std::to_string(options_.stack_size) + " bytes");
  }
  for (auto& w : workers_) {
    running_threads_.fetch_add(1, std::memory_order_relaxed);
    const int error = pthread_create(
        &w->thread, &attr,
        [](void* raw) -> void* {
          auto* self = static_cast<worker*>(raw);
          self->core->worker_main(*self);
          return nullptr;
        },
        w.get());
    if (error != 0) {
      running_threads_.fetch_sub(1, std::memory_order_relaxed);
      pthread_attr_destroy(&attr);
      shutdown(std::chrono::nanoseconds::max());
      throw std::system_error(error, std::generic_category(), "runtime: cannot start a worker thread");
    }
    w->has_thread = true;
  }
  pthread_attr_destroy(&attr);
}

void runtime_core::worker_main(worker& w) {
  current_identity = {this, &w};
  const std::string name = (options_.thread_name_prefix + "-" + std::to_string(w.index)).substr(0, 15);
  pthread_setname_np(pthread_self(), name.c_str());
  if (options_.on_thread_start) options_.on_thread_start(w.index);
  while (!stopping_.load(std::memory_order_acquire)) {
    if (!run_worker_once(w)) idle(w);
  }
  if (options_.on_thread_stop) options_.on_thread_stop(w.index);
  current_identity = {};
  {
    std::lock_guard guard(exit_mutex_);
    running_threads_.fetch_sub(1, std::memory_order_relaxed);
  }
  exit_cv_.notify_all();
}

bool runtime_core::run_worker_once(worker& w) {
  task_header* task = next_task(w);
  if (task == nullptr) return false;
  // Found work, wherever it came from: stop counting as a searcher, or pushers would
  // think someone is still looking and wake nobody.
  stop_searching(w);
  task->run();
  return true;
}

task_header* runtime_core::next_task(worker& w) {
  ++w.tick;
  if (w.tick % injection_check_interval == 0) {
    fire_own_timers_if_due(w);
    poll_io_now();
    if (task_header* task = injection_.pop(nullptr, 0)) return task;
  }
  if (w.lifo != nullptr) {
    task_header* task = std::exchange(w.lifo, nullptr);
    if (w.lifo_streak < lifo_poll_limit) {
      ++w.lifo_streak;
      return task;
    }
    push_local(w, task, schedule_kind::yielded);
  }
  w.lifo_streak = 0;
  if (task_header* task = w.local.pop()) return task;
  if (task_header* task = injection_.pop(&w.local, bounded_run_queue<task_header>::capacity / 2)) return task;
  if (workers_.size() > 1 && try_start_searching(w)) {
    task_header* task = steal_work(w);
    if (task == nullptr) task = injection_.pop(&w.local, bounded_run_queue<task_header>::capacity / 2);
    if (task != nullptr) return task;
  }
  return nullptr;
}

task_header* runtime_core::steal_work(worker& w) {
  const std::size_t n = workers_.size();
  w.random ^= w.random << 13;
  w.random ^= w.random >> 7;
  w.random ^= w.random << 17;
  const std::size_t start = w.random % n;
  for (std::size_t i = 0; i < n; ++i) {
    worker& victim = *workers_[(start + i) % n];
    if (&victim == &w) continue;
    if (task_header* task = victim.local.steal_into(w.local)) return task;
  }
  return nullptr;
}

bool runtime_core::try_start_searching(worker& w) noexcept {
  if (w.searching) return true;
  // At most half of the workers search at once (tokio's rule): more only contend.
  const std::uint64_t s = idle_.load(std::memory_order_relaxed);
  if (2 * searching_of(s) >= workers_.size()) return false;
  idle_.fetch_add(1, std::memory_order_acq_rel);
  w.searching = true;
  return true;
}

void runtime_core::stop_searching(worker& w) noexcept {
  if (!w.searching) return;
  w.searching = false;
  // The last searcher to find work wakes another worker to keep looking: there may be
  // more where this came from.
  const std::uint64_t before = idle_.fetch_sub(1, std::memory_order_acq_rel);
  if (searching_of(before) == 1) notify_one();
}

void runtime_core::schedule(task_header* task, schedule_kind kind) {
  const worker_identity& me = current_identity;
  if (me.core != this) {
    inject(task, task, 1);
    notify_one();
  } else if (push_local(*static_cast<worker*>(me.worker), task, kind)) {
    notify_one();
  }
}

bool runtime_core::push_local(worker& w, task_header* task, schedule_kind kind) {
  if (kind == schedule_kind::woken) {
    // Nobody else can take the LIFO slot, so filling it alone is no reason to wake a
    // worker: a chain of spawns stays on this one instead of bouncing between two.
    task_header* previous = std::exchange(w.lifo, task);
    if (previous == nullptr) return false;
    task = previous;
  }
  if (!w.local.push(task)) overflow(w, task);
  return true;
}

void runtime_core::overflow(worker& w, task_header* task) {
  std::array<task_header*, bounded_run_queue<task_header>::capacity / 2> moved;
  const std::uint32_t count = w.local.take_half_for_overflow(moved.data());
  for (std::uint32_t i = 0; i < count; ++i) moved[i]->queue_next = i + 1 < count ? moved[i + 1] : task;
  inject(count > 0 ? moved[0] : task, task, count + 1);
}

void runtime_core::inject(task_header* first, task_header* last, std::size_t count) noexcept {
  if (injection_.push(first, last, count)) return;
  // Shut down (only a thread outside the workers gets here, as they have stopped):
  // nothing will run these tasks any more, so they are cancelled now.
  for (task_header* task = first; task != nullptr;) {
    task_header* next = task == last ? nullptr : task->queue_next;
    task->cancel_at_shutdown();
    task = next;
  }
}

void runtime_core::notify_one() noexcept {
  // Pairs with park's heavy fence (Dekker): either this load sees the parker's
  // decrement of `unparked`, or the parker's recheck sees the work we pushed.
  light_fence();
  const std::uint64_t s = idle_.load(std::memory_order_relaxed);
  if (searching_of(s) != 0 || unparked_of(s) >= workers_.size()) return;
  worker* chosen = nullptr;
  {
    std::lock_guard guard(sleepers_mutex_);
    chosen = take_sleeper_locked();
  }
  if (chosen != nullptr) wake_sleeper(*chosen);
}

// Under sleepers_mutex_. Rather a worker waiting on its futex: the one in the driver keeps
// watching the sockets. The chosen worker comes back searching; that is set under the
// lock because a worker whose timed park ends finds out under it whether it was chosen
// (unpark_self).
runtime_core::worker* runtime_core::take_sleeper_locked() noexcept {
  if (sleepers_.empty()) return nullptr;
  auto it = sleepers_.end() - 1;
  if ((*it)->driving && it != sleepers_.begin()) --it;
  worker* chosen = *it;
  sleepers_.erase(it);
  idle_.fetch_add(one_unparked + 1, std::memory_order_acq_rel);
  chosen->searching = true;
  return chosen;
}

// `w` was taken off the sleeper list by the caller (under the lock, reading `driving`).
void runtime_core::wake_sleeper(worker& w) noexcept {
  const bool in_driver = w.driving;
  // Release: its `searching` flag (written under the lock, read by it after waking) and
  // the work we pushed are visible to it.
  w.parked.store(0, std::memory_order_release);
  if (in_driver) {
    io_->interrupt();
  } else {
    futex_wake_one(w.parked);
  }
}

void runtime_core::notify_all() noexcept {
  std::vector<worker*> woken;
  {
    std::lock_guard guard(sleepers_mutex_);
    woken.swap(sleepers_);
    idle_.fetch_add(one_unparked * woken.size(), std::memory_order_acq_rel);
  }
  for (worker* w : woken) wake_sleeper(*w);
}

bool runtime_core::any_work_visible() const noexcept {
  if (!injection_.looks_empty()) return true;
  for (const auto& w : workers_) {
    if (!w->local.looks_empty()) return true;
  }
  return false;
}

// Nothing to run: fire due timers (the worker's own, and any other worker's that is
// overdue, for a worker stuck in a long poll), else park (waiting in the I/O driver if it
// is free, else on the futex) until work, a socket or the next own timer. No look at the
// sockets first: under a request/response load nothing is usually ready yet, and the
// park's epoll_wait finds what is.
void runtime_core::idle(worker& w) {
  if (fire_due_timers(w) == 0) park(w);
}

std::size_t runtime_core::fire_due_timers(worker& w) noexcept {
  std::uint64_t now = worker_timers::no_timer;
  std::size_t fired = 0;
  for (auto& other : workers_) {
    const std::uint64_t due = other->timers.next_due();
    if (due == worker_timers::no_timer) continue;
    if (now == worker_timers::no_timer) now = clock_.now_tick();
    if (due > now) continue;
    fired += other.get() == &w ? w.timers.fire_due(now) : other->timers.try_fire_due(now);
  }
  return fired;
}

void runtime_core::fire_own_timers_if_due(worker& w) noexcept {
  const std::uint64_t due = w.timers.next_due();
  if (due == worker_timers::no_timer) return;
  const std::uint64_t now = clock_.now_tick();
  if (due <= now) w.timers.fire_due(now);
}

bool runtime_core::any_timer_filed() const noexcept {
  for (const auto& w : workers_) {
    if (w->timers.next_due() != worker_timers::no_timer) return true;
  }
  return false;
}

void runtime_core::jump_clock_to_next_timer() noexcept {
  const std::uint64_t next = earliest_timer();
  if (next == worker_timers::no_timer) return;
  clock_.advance_to(clock_.start_of_tick(next));
  fire_every_wheel();
}

void runtime_core::fire_every_wheel() noexcept {
  const std::uint64_t now = clock_.now_tick();
  for (auto& w : workers_) w->timers.fire_due(now);
}

void runtime_core::advance_paused_clock(std::chrono::nanoseconds by) {
  if (!clock_.paused())
    throw std::logic_error(
        "tandem::time::advance: the runtime's clock is not paused (build it with builder::start_paused(true))");
  if (by < std::chrono::nanoseconds::zero())
    throw std::invalid_argument("tandem::time::advance: the clock cannot go back (negative duration)");
  clock_.advance_by(by);
  fire_every_wheel();
}

worker_timers& runtime_core::current_timers() noexcept {
  const worker_identity& me = current_identity;
  // Only a poll of one of this runtime's tasks files timers, and polls run on its
  // workers (or current_thread's block_on caller, which is its worker): the fallback
  // only keeps the function total.
  return me.core == this ? static_cast<worker*>(me.worker)->timers : workers_.front()->timers;
}

// Takes the caller back off the sleeper list; false when a notifier got there first
// (it has popped the caller and is about to clear `parked`).
bool runtime_core::unpark_self(worker& w) noexcept {
  std::lock_guard guard(sleepers_mutex_);
  auto it = std::find(sleepers_.begin(), sleepers_.end(), &w);
  if (it == sleepers_.end()) return false;
  sleepers_.erase(it);
  idle_.fetch_add(one_unparked, std::memory_order_acq_rel);
  w.parked.store(0, std::memory_order_relaxed);
  return true;
}

void runtime_core::park(worker& w) {
  w.parked.store(1, std::memory_order_relaxed);
  // The driver goes to whoever parks first; it is given back when this park ends.
  const bool drives = io_->try_acquire();
  // Before the heavy fence below: a timer filed from here on either sees this (and
  // interrupts the wait) or is seen by the look at every wheel after the fence.
  if (drives) driver_wake_tick_.store(worker_timers::no_timer, std::memory_order_relaxed);
  bool last_awake = false;
  {
    std::lock_guard guard(sleepers_mutex_);
    const bool was_searching = std::exchange(w.searching, false);
    w.driving = drives;
    sleepers_.push_back(&w);
    const std::uint64_t before = idle_.fetch_sub(one_unparked + (was_searching ? 1 : 0), std::memory_order_acq_rel);
    last_awake = unparked_of(before) == 1;
  }
  struct driver_return {
    runtime_core& core;
    bool drives;
    ~driver_return() {
      if (!drives) return;
      core.driver_wake_tick_.store(0, std::memory_order_relaxed);
      core.io_->release();
      core.hand_on_driver();
    }
  } give_back{*this, drives};
  // Pairs with notify_one's light fence (Dekker): either the pusher sees us parked and
  // wakes someone, or the recheck below sees its work.
  heavy_fence();
  if (any_work_visible() || stopping_.load(std::memory_order_acquire)) {
    if (unpark_self(w)) return;
  }
  if (clock_.paused()) {
    // A paused clock jumps to the next timer when nothing else can happen: every worker
    // asleep (this one is the last awake), no socket ready, and no blocking work in
    // flight that could still wake a task (tokio's auto-advance). While such work is in
    // flight, the last one awake looks again every millisecond of real time. `quiet` is
    // read once: a job ending between two reads must not leave us asleep with nobody to
    // jump the clock.
    if (drives && io_->wait(0) > 0) {
      if (!unpark_self(w)) wait_for_notifier(w);
      io_->dispatch();
      return;
    }
    const bool waiting_on_time = last_awake && any_timer_filed();
    const bool quiet = waiting_on_time && blocking_->quiet();
    if (waiting_on_time && quiet && unpark_self(w)) {
      jump_clock_to_next_timer();
      return;
    }
    wait_until_unparked(w, std::chrono::steady_clock::now() + paused_clock_retry, waiting_on_time && !quiet);
    return;
  }
  // The worker in the driver wakes for every wheel's timers, so a timer filed on a worker
  // stuck in a long poll still fires on time; the others wake for their own.
  const std::uint64_t due = drives ? earliest_timer() : w.timers.next_due();
  if (drives) driver_wake_tick_.store(due, std::memory_order_relaxed);
  wait_until_unparked(w, clock_.start_of_tick(due == worker_timers::no_timer ? 0 : due),
                      due != worker_timers::no_timer);
}

std::uint64_t runtime_core::earliest_timer() const noexcept {
  std::uint64_t earliest = worker_timers::no_timer;
  for (const auto& other : workers_) earliest = std::min(earliest, other->timers.next_due());
  return earliest;
}

void runtime_core::timer_filed(std::uint64_t tick) noexcept {
  // Pairs with park's heavy fence (Dekker): either this load sees the parker's
  // no_timer (or the deadline it settled on) or its look at the wheels sees our timer.
  light_fence();
  if (tick < driver_wake_tick_.load(std::memory_order_relaxed)) io_->interrupt();
}

void runtime_core::wait_until_unparked(worker& w, std::chrono::steady_clock::time_point deadline,
                                       bool timed) noexcept {
  if (w.driving) {
    drive_until_unparked(w, deadline, timed);
  } else {
    sleep_until_unparked(w, deadline, timed);
  }
}

// Sleeps until a notifier clears `parked`, or until `deadline` when `timed` (then the
// worker takes itself off the sleeper list; if a notifier already took it, it waits
// for that notifier's store instead, so no wake is left over for the next park).
void runtime_core::sleep_until_unparked(worker& w, std::chrono::steady_clock::time_point deadline,
                                        bool timed) noexcept {
  const timespec until = to_timespec(deadline);
  // Acquire: pairs with the unparker's release.
  while (w.parked.load(std::memory_order_acquire) == 1) {
    if (timed && std::chrono::steady_clock::now() >= deadline) {
      if (unpark_self(w)) return;
      timed = false;
      continue;
    }
    futex_wait(w.parked, 1, timed ? &until : nullptr);
  }
}

// The same, waiting in epoll, once: it ends with sockets ready (their tasks are woken
// onto this worker, which then runs them), with an interrupt (a notifier, or a timer filed
// earlier than `deadline`: the idle loop then plans again), or at `deadline`.
void runtime_core::drive_until_unparked(worker& w, std::chrono::steady_clock::time_point deadline,
                                        bool timed) noexcept {
  // Unparked already: its interrupt may have been drained by a look at the driver
  // (the paused clock's), so waiting now could sleep past it. Acquire: pairs with the
  // unparker's release.
  if (w.parked.load(std::memory_order_acquire) == 0) return;
  int timeout_ms = -1;
  if (timed) {
    const auto left = std::max(deadline - std::chrono::steady_clock::now(), std::chrono::steady_clock::duration::zero());
    // Rounded up: waking before the timer is due would only wait again.
    timeout_ms = static_cast<int>(
        std::min<std::int64_t>(std::chrono::ceil<std::chrono::milliseconds>(left).count(), 1 << 30));
  }
  const bool found = io_->wait(timeout_ms) > 0;
  // Off the sleeper list before waking tasks: their wakes then count this worker as
  // awake and notify others only for what it cannot run itself. Acquire: pairs with the
  // unparker's release.
  if (w.parked.load(std::memory_order_acquire) == 1 && !unpark_self(w)) wait_for_notifier(w);
  if (found) io_->dispatch();
}

// A notifier took `w` off the sleeper list and is about to clear `parked`.
void runtime_core::wait_for_notifier(worker& w) noexcept {
  // Acquire: pairs with the unparker's release.
  while (w.parked.load(std::memory_order_acquire) == 1) std::this_thread::yield();
}

// A busy worker's look at the sockets without waiting (every injection_check_interval
// tasks), so readiness is seen even when no worker parks.
void runtime_core::poll_io_now() noexcept {
  if (!io_->try_acquire()) return;
  if (io_->wait(0) > 0) io_->dispatch();
  io_->release();
}

// The worker that held the driver is going back to work, maybe for long (tokio#4730):
// if every other worker is asleep on its futex, one of them is woken to take the driver
// over when it parks again, so sockets stay watched.
void runtime_core::hand_on_driver() noexcept {
  if (stopping_.load(std::memory_order_acquire)) return;
  worker* chosen = nullptr;
  {
    std::lock_guard guard(sleepers_mutex_);
    if (unparked_of(idle_.load(std::memory_order_relaxed)) > 1) return;
    chosen = take_sleeper_locked();
  }
  if (chosen != nullptr) wake_sleeper(*chosen);
}

void runtime_core::keep(task_header* task) noexcept {
  const worker_identity& me = current_identity;
  const std::size_t index = me.core == this ? static_cast<worker*>(me.worker)->index
                                            : external_shard_.fetch_add(1, std::memory_order_relaxed);
  task->owned_shard = static_cast<std::uint32_t>(index % owned_shard_count);
  task->add_ref();
  owned_shard& shard = owned_[task->owned_shard];
  std::lock_guard guard(shard.lock);
  task->owned_prev = nullptr;
  task->owned_next = shard.first;
  if (shard.first != nullptr) shard.first->owned_prev = task;
  shard.first = task;
  task->listed = true;
}

void runtime_core::forget(task_header* task) noexcept {
  if (!task->listed) return;
  {
    owned_shard& shard = owned_[task->owned_shard];
    std::lock_guard guard(shard.lock);
    if (task->owned_prev != nullptr) {
      task->owned_prev->owned_next = task->owned_next;
    } else {
      shard.first = task->owned_next;
    }
    if (task->owned_next != nullptr) task->owned_next->owned_prev = task->owned_prev;
    task->owned_prev = task->owned_next = nullptr;
    task->listed = false;
  }
  // The list's reference; never the last one here (the completer holds one).
  task->drop_ref();
}

void runtime_core::launch(task_header* task) noexcept {
  schedule(task, schedule_kind::woken);
}

void runtime_core::wait_for_root(blocking_waiter& waiter) {
  if (!options_.current_thread) {
    waiter.wait();
    return;
  }
  // One thread at a time drives the current_thread worker (its queue has one owner);
  // another block_on caller waits its turn, its root running meanwhile on the driver.
  std::lock_guard driving(driver_mutex_);
  worker& w = *workers_.front();
  current_identity = {this, &w};
  while (!waiter.done()) {
    if (!run_worker_once(w)) idle(w);
  }
  current_identity = {};
}

// Shutdown, on one thread once the workers have stopped: cancel every task left until
// nothing is found, then close the injection queue (atomically with finding it empty),
// so that later spawns from other threads are cancelled at once.
void runtime_core::drain_everything() noexcept {
  for (;;) {
    const bool found_queued = drain_queues();
    const bool found_suspended = drain_suspended();
    if (!found_queued && !found_suspended && injection_.close_if_empty()) return;
  }
}

// Queued tasks: the queue's reference stands in for a poller's.
bool runtime_core::drain_queues() noexcept {
  bool found = false;
  for (auto& w : workers_) {
    if (task_header* task = std::exchange(w->lifo, nullptr)) {
      found = true;
      task->cancel_at_shutdown();
    }
    while (task_header* task = w->local.pop()) {
      found = true;
      task->cancel_at_shutdown();
    }
  }
  while (task_header* task = injection_.pop(nullptr, 0)) {
    found = true;
    task->cancel_at_shutdown();
  }
  return found;
}

// Suspended tasks: taken off the list, whose reference stands in for a poller's.
bool runtime_core::drain_suspended() noexcept {
  bool found = false;
  for (owned_shard& shard : owned_) {
    for (;;) {
      task_header* task = nullptr;
      {
        std::lock_guard guard(shard.lock);
        task = shard.first;
        if (task == nullptr) break;
        shard.first = task->owned_next;
        if (shard.first != nullptr) shard.first->owned_prev = nullptr;
        task->owned_prev = task->owned_next = nullptr;
        task->listed = false;
      }
      found = true;
      task->cancel_at_shutdown();
    }
  }
  return found;
}

bool runtime_core::shutdown(std::chrono::nanoseconds timeout) noexcept {
  {
    std::lock_guard guard(exit_mutex_);
    if (shut_down_) return true;
    shut_down_ = true;
  }
  stopping_.store(true, std::memory_order_release);
  notify_all();
  bool all_exited = true;
  {
    std::unique_lock lock(exit_mutex_);
    auto exited = [this] { return running_threads_.load(std::memory_order_relaxed) == 0; };
    if (timeout == std::chrono::nanoseconds::max()) {
      exit_cv_.wait(lock, exited);
    } else {
      all_exited = exit_cv_.wait_for(lock, timeout, exited);
    }
  }
  if (!all_exited) {
    // A poll that does not return: its worker keeps the runtime alive (see
    // shutdown_timeout) and the tasks stay where they are.
    for (auto& w : workers_) {
      if (w->has_thread) pthread_detach(w->thread);
    }
    return false;
  }
  for (auto& w : workers_) {
    if (w->has_thread) pthread_join(w->thread, nullptr);
    w->has_thread = false;
  }
  const worker_identity saved = current_identity;
  current_identity = {};
  drain_everything();
  current_identity = saved;
  // Blocking work still running or queued finishes (its awaiters were cancelled above,
  // so its results go nowhere). A job that outlives the timeout keeps its pool alive
  // through the pool's own shared pointer; it never touches the core (every task is
  // complete, so its wake does nothing).
  blocking_->shutdown(timeout);
  return true;
}

// ---------------------------------------------------------------- free functions

std::shared_ptr<runtime_core> make_runtime_core(runtime_options options) {
  auto core = std::make_shared<runtime_core>(std::move(options));
  core->start();
  return core;
}

std::size_t worker_count(const runtime_core& core) noexcept {
  return core.workers();
}

blocking_pool& blocking_pool_of(runtime_core& core) noexcept {
  return core.blocking();
}

runtime_core* current_runtime_core() noexcept {
  return current_identity.core;
}

std::shared_ptr<runtime_core> share_core(runtime_core& core) {
  return core.shared_from_this();
}

task_scheduler* scheduler_of(runtime_core& core) noexcept {
  return &core;
}

const std::shared_ptr<io_driver>& io_driver_of(runtime_core& core) noexcept {
  return core.io();
}

const runtime_clock& clock_of(const runtime_core& core) noexcept {
  return core.clock();
}

worker_timers& current_worker_timers(runtime_core& core) noexcept {
  return core.current_timers();
}

std::size_t pending_timer_count(runtime_core& core) noexcept {
  return core.pending_timers();
}

void timer_filed(runtime_core& core, std::uint64_t tick) noexcept {
  core.timer_filed(tick);
}

void advance_paused_clock(runtime_core& core, std::chrono::nanoseconds by) {
  core.advance_paused_clock(by);
}

void launch(runtime_core& core, task_header* task) noexcept {
  core.launch(task);
}

void check_off_runtime_thread(const char* what, const char* instead) {
  if (current_identity.core != nullptr)
    throw std::logic_error(std::string("tandem::") + what +
                           ": called from inside a runtime thread (it would block a worker); " + instead);
}

void wait_for_root(runtime_core& core, blocking_waiter& waiter) {
  core.wait_for_root(waiter);
}

void keep_alive_forever(std::shared_ptr<runtime_core> core) noexcept {
  static std::mutex mutex;
  // Safety: never destroyed, on purpose: a detached worker may use its core until the
  // process exits. Reachable from here, so it is not reported as a leak either.
  static auto* kept = new std::vector<std::shared_ptr<runtime_core>>();
  std::lock_guard guard(mutex);
  try {
    kept->push_back(std::move(core));
  } catch (...) {
    // Out of memory: the core must not be freed under its worker; give up its memory.
    new (std::nothrow) std::shared_ptr<runtime_core>(std::move(core));
  }
}

bool shutdown_core(runtime_core& core, std::chrono::nanoseconds timeout) noexcept {
  return core.shutdown(timeout);
}

}  // namespace tandem::detail
