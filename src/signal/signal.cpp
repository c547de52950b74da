// tandem::signal::ctrl_c: the SIGINT handler, its self-pipe and the dispatcher thread
// that wakes the listeners; the protocol is in src/signal/README.md.
#include "tandem/signal.hpp"

#include <array>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <mutex>
#include <system_error>
#include <type_traits>

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

namespace tandem {
namespace detail {
namespace {

// What the handler touches lives at namespace scope and is constant-initialized, never
// in a function-local static, whose first use runs an initialization guard (a lock).
// Lock-free atomics are async-signal-safe to update from a handler.
static_assert(std::atomic<std::uint64_t>::is_always_lock_free);
static_assert(std::atomic<int>::is_always_lock_free);

// SIGINT deliveries so far, counted by the handler.
constinit std::atomic<std::uint64_t> generation{0};
// The self-pipe's non-blocking write end: set once, before the handler is installed.
constinit std::atomic<int> pipe_write_end{-1};

// Safety: the dispatcher thread is detached and uses these until the process ends, so
// no destructor may run at exit: both are trivially destructible.
static_assert(std::is_trivially_destructible_v<spin_mutex> && std::is_trivially_destructible_v<wait_list>);
constinit spin_mutex listeners_mutex;
constinit wait_list listeners;

void on_interrupt(int) noexcept {
  // The interrupted code may be between a failing call and its read of errno.
  const int saved_errno = errno;
  // Relaxed: the dispatcher loads the count only after reading this delivery's byte (or,
  // when the pipe is full, a byte still unread now), and the pipe orders the two.
  generation.fetch_add(1, std::memory_order_relaxed);
  // Relaxed: only the value is needed, stored before sigaction installed this handler.
  const int write_end = pipe_write_end.load(std::memory_order_relaxed);
  const char byte = 0;
  // Fails only with EAGAIN: the pipe is full, so the dispatcher still has bytes to read
  // and loads the count after them; this delivery is heard all the same.
  [[maybe_unused]] const ssize_t written = ::write(write_end, &byte, 1);
  errno = saved_errno;
}

// Grants every listener that queued before the latest delivery.
void wake_listeners() noexcept {
  std::lock_guard guard(listeners_mutex);
  // Relaxed: after the read() that returned a byte written after the bump (see the
  // handler); under the lock, so a listener queuing after this pass records at least
  // this count and waits for the next delivery.
  const std::uint64_t current = generation.load(std::memory_order_relaxed);
  for (wait_node* node = listeners.front(); node != nullptr;) {
    // Read first: a granted node's task may resume and free the node at once.
    wait_node* const next = node->next;
    // Safety: only interrupt_wait_nodes are queued on this list (enqueue_locked).
    if (static_cast<interrupt_wait_node*>(node)->generation < current) {
      listeners.remove(*node);
      grant(*node);
    }
    node = next;
  }
}

// The dispatcher thread: sleeps in read() until the handler writes, then wakes the
// listeners, one pass for every byte read at once (a burst of deliveries).
void* dispatch(void* read_end_as_pointer) noexcept {
  const int read_end = static_cast<int>(reinterpret_cast<std::intptr_t>(read_end_as_pointer));
  pthread_setname_np(pthread_self(), "tandem-signal");
  std::array<char, 64> bytes;
  for (;;) {
    const ssize_t count = ::read(read_end, bytes.data(), bytes.size());
    if (count <= 0) {
      // End of file: the installation that started this thread failed and closed the
      // write end. (With every signal blocked here, read() is never interrupted, and a
      // pipe gives no other error.)
      ::close(read_end);
      return nullptr;
    }
    wake_listeners();
  }
}

// Blocks every signal in the calling thread while it lives.
class all_signals_blocked {
 public:
  all_signals_blocked() noexcept {
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &previous_);
  }
  ~all_signals_blocked() { pthread_sigmask(SIG_SETMASK, &previous_, nullptr); }
  all_signals_blocked(const all_signals_blocked&) = delete;
  all_signals_blocked& operator=(const all_signals_blocked&) = delete;

 private:
  sigset_t previous_;
};

// In this order: the pipe, the dispatcher reading it, then the handler writing to it,
// so the handler never runs without a pipe and a reader.
void install_handler() {
  std::array<int, 2> ends;
  // Close-on-exec: a program this process executes must not inherit the pipe.
  if (::pipe2(ends.data(), O_CLOEXEC) != 0)
    throw std::system_error(errno, std::generic_category(),
                            "tandem::signal::ctrl_c: cannot create the signal pipe");
  const auto [read_end, write_end] = ends;
  // The handler must never block: a full pipe already wakes the dispatcher. The read
  // end stays blocking, for the dispatcher to sleep in read(). (Setting the flag cannot
  // fail on a descriptor just created.)
  ::fcntl(write_end, F_SETFL, O_NONBLOCK);

  int error = 0;
  {
    // The dispatcher inherits this mask: with every signal blocked there, signals sent to
    // the process go to the application's own threads, never to ours.
    const all_signals_blocked blocked;
    pthread_t thread;
    error = pthread_create(&thread, nullptr, dispatch,
                           reinterpret_cast<void*>(static_cast<std::intptr_t>(read_end)));
    if (error == 0) pthread_detach(thread);
  }
  if (error != 0) {
    ::close(read_end);
    ::close(write_end);
    throw std::system_error(error, std::generic_category(),
                            "tandem::signal::ctrl_c: cannot start the signal dispatcher thread");
  }

  // Relaxed: the handler needs only the value, and cannot run before sigaction below.
  pipe_write_end.store(write_end, std::memory_order_relaxed);
  struct sigaction action = {};
  action.sa_handler = on_interrupt;
  sigemptyset(&action.sa_mask);
  // Interrupted system calls in the application resume instead of failing with EINTR.
  action.sa_flags = SA_RESTART;
  if (::sigaction(SIGINT, &action, nullptr) != 0) {
    const int sigaction_error = errno;
    ::close(write_end);  // the dispatcher reads end of file, closes its end and exits
    throw std::system_error(sigaction_error, std::generic_category(),
                            "tandem::signal::ctrl_c: cannot install the SIGINT handler");
  }
}

}  // namespace

void interrupt_listeners::install() {
  // A static's initialization runs once per process, other callers waiting for it; if
  // it throws, the next call tries again.
  [[maybe_unused]] static const bool installed = (install_handler(), true);
}

spin_mutex& interrupt_listeners::mutex() noexcept {
  return listeners_mutex;
}

void interrupt_listeners::enqueue_locked(interrupt_wait_node& node) noexcept {
  // Relaxed: under the lock, which orders this load against wake_listeners' own: a node
  // queued after a pass records at least the count that pass woke for.
  node.generation = generation.load(std::memory_order_relaxed);
  listeners.push_back(node);
}

void interrupt_listeners::unlink_locked(interrupt_wait_node& node) noexcept {
  listeners.remove(node);
}

}  // namespace detail

namespace signal {

ctrl_c_awaiter ctrl_c() {
  detail::interrupt_listeners::install();
  return ctrl_c_awaiter();
}

}  // namespace signal
}  // namespace tandem
