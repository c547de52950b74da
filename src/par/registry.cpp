#include "tandem/detail/par/registry.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <system_error>

#include <pthread.h>

#include "tandem/detail/sched/thread_count.hpp"

namespace tandem::detail {

constinit thread_local worker_thread* current_worker = nullptr;

namespace {

constexpr std::uint32_t awake = 0;
constexpr std::uint32_t asleep = 1;
// Rounds of looking for work before sleeping: the first ones pause the CPU for a
// few cycles, the later ones yield it; all told tens of microseconds.
constexpr unsigned pause_rounds = 16;
constexpr unsigned spin_rounds = 48;

void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#else
  std::atomic_signal_fence(std::memory_order_seq_cst);
#endif
}

void back_off(unsigned round) noexcept {
  if (round < pause_rounds) {
    for (unsigned i = 0; i < (1u << (round / 4)) * 8; ++i) cpu_relax();
  } else {
    std::this_thread::yield();
  }
}

const char* stack_low_end() noexcept {
  pthread_attr_t attr;
  if (pthread_getattr_np(pthread_self(), &attr) != 0) return nullptr;
  void* base = nullptr;
  std::size_t size = 0;
  pthread_attr_getstack(&attr, &base, &size);
  pthread_attr_destroy(&attr);
  return static_cast<const char*>(base);
}

std::mutex global_mutex;
std::atomic<registry*> global_registry{nullptr};

}  // namespace

std::size_t default_num_threads() {
  return thread_count_from_environment("TANDEM_NUM_THREADS");
}

// ---------------------------------------------------------------- registry

registry::registry(registry_options options) : options_(std::move(options)) {
  if (options_.num_threads == 0) options_.num_threads = default_num_threads();
  if (options_.stack_size == 0) options_.stack_size = default_worker_stack_size;
  if (options_.stack_size < minimum_worker_stack_size) {
    throw std::invalid_argument("par::pool: stack_size " + std::to_string(options_.stack_size) +
                                " bytes is too small to run a worker; the minimum is " +
                                std::to_string(minimum_worker_stack_size));
  }
  workers_.reserve(options_.num_threads);
  for (std::size_t i = 0; i < options_.num_threads; ++i)
    workers_.push_back(std::make_unique<worker_thread>(*this, i));
}

std::shared_ptr<registry> registry::create(registry_options options) {
  enable_asymmetric_fences();
  std::shared_ptr<registry> r(new registry(std::move(options)));
  r->start_threads();
  return r;
}

void registry::start_threads() {
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  if (const int error = pthread_attr_setstacksize(&attr, options_.stack_size); error != 0) {
    pthread_attr_destroy(&attr);
    throw std::invalid_argument("par::pool: the system refuses a worker stack of " +
                                std::to_string(options_.stack_size) + " bytes");
  }
  for (auto& w : workers_) {
    pthread_t handle;
    const int error = pthread_create(
        &handle, &attr,
        [](void* self) -> void* {
          static_cast<worker_thread*>(self)->main_loop();
          return nullptr;
        },
        w.get());
    if (error != 0) {
      pthread_attr_destroy(&attr);
      terminate();
      throw std::system_error(error, std::generic_category(), "par::pool: cannot start worker thread");
    }
    threads_.push_back(handle);
  }
  pthread_attr_destroy(&attr);
}

registry::~registry() = default;

registry& registry::global() {
  // Acquire pairs with the release below: the registry is fully built.
  if (registry* r = global_registry.load(std::memory_order_acquire)) return *r;
  try_init_global({});
  return *global_registry.load(std::memory_order_acquire);
}

bool registry::try_init_global(registry_options options) {
  std::lock_guard lock(global_mutex);
  if (global_registry.load(std::memory_order_relaxed) != nullptr) return false;
  // Safety: deliberately never destroyed (like rayon's global pool): user code may
  // call par functions from static destructors and detached threads. The owning
  // pointer stays reachable, so the leak checker does not count it.
  static std::shared_ptr<registry>* keep_alive = nullptr;
  keep_alive = new std::shared_ptr<registry>(create(std::move(options)));
  global_registry.store(keep_alive->get(), std::memory_order_release);
  return true;
}

void registry::inject(job* j) {
  injected_.push(j);
  // Store queue / load counters: a real fence, since an injecting thread is not an
  // owner whose fence heavy_fence() stands in for.
  std::atomic_thread_fence(std::memory_order_seq_cst);
  const std::uint64_t c = counters_.load(std::memory_order_relaxed);
  if (sleepers_in(c) != 0 && searchers_in(c) == 0) wake_one();
}

void registry::inject_to(std::size_t index, job* j) {
  workers_[index]->personal_.push(j);
  std::atomic_thread_fence(std::memory_order_seq_cst);  // queue, then sleep_state in wake_worker
  wake_worker(index);
}

bool registry::wake(worker_thread& w) noexcept {
  // acq_rel: exactly one party turns asleep into awake and moves the count back.
  if (w.sleep_state_.exchange(awake, std::memory_order_acq_rel) != asleep) return false;
  counters_.fetch_sub(sleeper_not_searcher, std::memory_order_seq_cst);
  w.sleep_state_.notify_one();
  return true;
}

void registry::wake_worker(std::size_t index) noexcept {
  wake(*workers_[index]);
}

void registry::wake_one() noexcept {
  const std::size_t n = workers_.size();
  const std::size_t start = wake_cursor_.fetch_add(1, std::memory_order_relaxed);
  for (std::size_t k = 0; k < n; ++k) {
    worker_thread& w = *workers_[(start + k) % n];
    // A relaxed look first, so that scanning awake workers writes nothing.
    if (w.sleep_state_.load(std::memory_order_relaxed) == asleep && wake(w)) return;
  }
}

bool registry::work_visible(const worker_thread& asking) const noexcept {
  if (!injected_.looks_empty() || !asking.personal_.looks_empty()) return true;
  for (const auto& w : workers_) {
    if (!w->deque_.looks_empty()) return true;
  }
  return false;
}

void registry::detached_finished() noexcept {
  // acq_rel: the job's effects happen before terminate() sees zero.
  if (detached_.fetch_sub(1, std::memory_order_acq_rel) == 1) detached_.notify_all();
}

void registry::handle_error(std::exception_ptr error) noexcept {
  if (options_.error_handler) {
    try {
      options_.error_handler(error);
      return;
    } catch (...) {
      std::fputs("tandem: a par::pool error handler threw; terminating\n", stderr);
      std::terminate();
    }
  }
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tandem: a detached par job threw and the pool has no error handler: %s\n",
                 e.what());
  } catch (...) {
    std::fputs("tandem: a detached par job threw a non-std exception and the pool has no error handler\n",
               stderr);
  }
  std::terminate();
}

void registry::terminate() {
  if (current_worker != nullptr && &current_worker->owner() == this) {
    std::fputs("tandem: a par::pool was destroyed by one of its own worker threads; terminating\n", stderr);
    std::terminate();
  }
  // Detached jobs may still spawn more; wait until the count settles at zero.
  for (std::size_t n = detached_.load(std::memory_order_acquire); n != 0;
       n = detached_.load(std::memory_order_acquire)) {
    detached_.wait(n, std::memory_order_acquire);
  }
  // seq_cst store, then the exchange in wake_worker: a worker either sees the flag
  // in its re-check before sleeping or is woken (see sleep()).
  terminating_.store(true, std::memory_order_seq_cst);
  for (std::size_t i = 0; i < workers_.size(); ++i) wake_worker(i);
  for (pthread_t handle : threads_) pthread_join(handle, nullptr);
  threads_.clear();
}

// ---------------------------------------------------------------- latches

void spin_latch::set() noexcept {
  // Copy what we need first: once the latch is set the waiter may free *this.
  worker_thread* owner = owner_;
  // Safety: we run on a thread of owner's registry, which outlives this call.
  if (core_.set()) owner->owner().wake_worker(owner->index());
}

void cross_latch::set() noexcept {
  worker_thread* owner = owner_;
  const std::shared_ptr<registry> keep_alive = owner->owner().shared_from_this();
  if (core_.set()) keep_alive->wake_worker(owner->index());
}

// ---------------------------------------------------------------- worker_thread

void worker_thread::main_loop() {
  current_worker = this;
  const std::string name = (owner_->options_.thread_name_prefix + std::to_string(index_)).substr(0, 15);
  pthread_setname_np(pthread_self(), name.c_str());
  stack_limit_ = stack_low_end() + stack_reserve;
  try {
    if (owner_->options_.start_handler) owner_->options_.start_handler(index_);
  } catch (...) {
    owner_->handle_error(std::current_exception());
  }
  while (true) {
    job* j = find_work();
    if (j == nullptr) j = search(nullptr);
    if (j == nullptr) break;  // terminating and nothing left
    j->execute();
  }
  try {
    if (owner_->options_.exit_handler) owner_->options_.exit_handler(index_);
  } catch (...) {
    owner_->handle_error(std::current_exception());
  }
  current_worker = nullptr;
}

std::size_t worker_thread::next_random() noexcept {
  // xorshift64*: victim choice needs speed and spread, not quality.
  rng_state_ ^= rng_state_ >> 12;
  rng_state_ ^= rng_state_ << 25;
  rng_state_ ^= rng_state_ >> 27;
  return static_cast<std::size_t>((rng_state_ * 0x2545F4914F6CDD1Dull) >> 32);
}

job* worker_thread::find_work() noexcept {
  if (job* j = deque_.pop()) return j;
  if (auto j = personal_.pop()) return *j;
  if (job* j = steal_round()) return j;
  if (auto j = owner_->injected_.pop()) return *j;
  return nullptr;
}

job* worker_thread::steal_round() noexcept {
  const std::size_t n = owner_->workers_.size();
  if (n <= 1) return nullptr;
  const std::size_t start = next_random() % n;
  for (std::size_t k = 0; k < n; ++k) {
    const std::size_t v = (start + k) % n;
    if (v == index_) continue;
    work_stealing_deque<job*>& victim = owner_->workers_[v]->deque_;
    while (true) {
      const steal_result<job*> r = victim.steal();
      if (r.status == steal_status::success) return r.item;
      if (r.status == steal_status::empty) break;
    }
  }
  return nullptr;
}

job* worker_thread::search(core_latch* latch) {
  registry& r = *owner_;
  const std::uint64_t before = r.counters_.fetch_add(1, std::memory_order_seq_cst);
  // At most half the workers (at least one) spin while searching; the others look
  // once and go to sleep, so a pool running out of work does not burn every core.
  const std::size_t max_spinning = std::max<std::size_t>(1, r.workers_.size() / 2);
  const unsigned round_limit = registry::searchers_in(before) < max_spinning ? spin_rounds : 1;
  unsigned round = 0;
  while (true) {
    if (latch != nullptr && latch->probe()) break;
    if (job* j = find_work()) {
      const std::uint64_t c = r.counters_.fetch_sub(1, std::memory_order_seq_cst) - 1;
      // The last searcher to find work hands the search on, so that a burst of new
      // work wakes sleepers one by one instead of never (tokio's chained wake-up).
      if (registry::searchers_in(c) == 0 && registry::sleepers_in(c) != 0 && r.work_visible(*this))
        r.wake_one();
      return j;
    }
    if (latch == nullptr && r.terminating_.load(std::memory_order_acquire)) break;
    if (round < round_limit) {
      back_off(round++);
      continue;
    }
    sleep(latch);
    round = 0;
  }
  r.counters_.fetch_sub(1, std::memory_order_seq_cst);
  return nullptr;
}

// Searching -> asleep. Returns awake and counted as searching again, whether it was
// woken, found a reason not to sleep, or woke spuriously.
void worker_thread::sleep(core_latch* latch) {
  registry& r = *owner_;
  r.counters_.fetch_add(registry::sleeper_not_searcher, std::memory_order_seq_cst);
  sleep_state_.store(asleep, std::memory_order_seq_cst);
  if (latch != nullptr && !latch->announce_sleep()) {
    cancel_sleep();
    return;
  }
  // Sleeper count / work: pairs with light_fence() in registry::notify_new_work().
  heavy_fence();
  const bool reason_to_stay =
      r.work_visible(*this) ||
      (latch != nullptr ? latch->probe() : r.terminating_.load(std::memory_order_seq_cst));
  if (reason_to_stay) {
    cancel_sleep();
    return;
  }
  // Acquire pairs with the acq_rel exchange of the waker.
  while (sleep_state_.load(std::memory_order_acquire) == asleep)
    sleep_state_.wait(asleep, std::memory_order_acquire);
}

void worker_thread::cancel_sleep() noexcept {
  // Whoever flips asleep -> awake moves the count back; if a waker beat us, it did.
  if (sleep_state_.exchange(awake, std::memory_order_acq_rel) == asleep) {
    owner_->counters_.fetch_sub(registry::sleeper_not_searcher, std::memory_order_seq_cst);
  }
}

void worker_thread::wait_until_cold(core_latch& latch) {
  while (!latch.probe()) {
    job* j = find_work();
    if (j == nullptr) j = search(&latch);
    if (j != nullptr) j->execute();
  }
}

bool worker_thread::take_back_cold(job* target, core_latch& latch, bool buried) {
  if (buried && run_local_until_popped(target)) return true;
  if (!latch.probe()) wait_until_cold(latch);
  return false;
}

bool worker_thread::run_local_until_popped(job* target) noexcept {
  while (true) {
    job* j = deque_.pop();
    if (j == target) return true;
    if (j == nullptr) return false;
    j->execute();
  }
}

}  // namespace tandem::detail
