// rwlock<T>: many readers or one writer (tokio::sync::RwLock).
//
//   tandem::rwlock<config> settings;
//   { auto r = co_await settings.read();  use(*r); }       // shared
//   { auto w = co_await settings.write(); w->reload(); }   // exclusive
//
// Write-preferring and fair: requests are served first come, first served, so a writer
// waiting for the readers ahead of it holds back the readers that come after it (writers
// do not starve). A reader takes one of max_readers permits of an internal fair
// semaphore, a writer takes them all. try_read/try_write take it only if that needs no
// waiting; blocking_read/blocking_write block a plain thread (std::logic_error on a
// runtime thread).
//
// Cancellation-safe, like mutex: a request that loses a select or is aborted never
// leaves the lock taken.
//
// Thread safety: every member may be called from any thread; the value may be touched
// only through a guard (read guards give const access).
#pragma once

#include <cstddef>
#include <optional>
#include <type_traits>
#include <utility>

#include "tandem/sync/semaphore.hpp"

namespace tandem {

template <class T>
class rwlock {
 public:
  static constexpr std::size_t max_readers = std::size_t{1} << 30;

  template <class... Args>
  explicit rwlock(Args&&... args) : value_(std::forward<Args>(args)...) {}
  rwlock(const rwlock&) = delete;
  rwlock& operator=(const rwlock&) = delete;

  template <bool Exclusive>
  class basic_guard {
   public:
    using value_type = std::conditional_t<Exclusive, T, const T>;
    basic_guard(basic_guard&&) noexcept = default;
    basic_guard& operator=(basic_guard&&) noexcept = default;
    value_type& operator*() const noexcept { return *value_; }
    value_type* operator->() const noexcept { return value_; }
    void unlock() noexcept {
      permit_.release();
      value_ = nullptr;
    }

   private:
    friend class rwlock;
    basic_guard(value_type& value, semaphore_permit permit) noexcept : value_(&value), permit_(std::move(permit)) {}
    value_type* value_;
    semaphore_permit permit_;  // one reader's share, or all of them for the writer
  };
  using read_guard = basic_guard<false>;
  using write_guard = basic_guard<true>;

  template <bool Exclusive>
  class lock_awaiter {
   public:
    explicit lock_awaiter(rwlock& owner) : owner_(owner), inner_(owner.gate_.acquire(Exclusive ? max_readers : 1)) {}
    bool await_ready() { return inner_.await_ready(); }
    bool await_suspend(std::coroutine_handle<> caller) { return inner_.await_suspend(caller); }
    basic_guard<Exclusive> await_resume() { return basic_guard<Exclusive>(owner_.value_, inner_.await_resume()); }

   private:
    rwlock& owner_;
    semaphore::acquire_awaiter inner_;
  };

  lock_awaiter<false> read() { return lock_awaiter<false>(*this); }
  lock_awaiter<true> write() { return lock_awaiter<true>(*this); }

  std::optional<read_guard> try_read() { return try_take<false>(); }
  std::optional<write_guard> try_write() { return try_take<true>(); }
  read_guard blocking_read() { return blocking_take<false>(); }
  write_guard blocking_write() { return blocking_take<true>(); }

 private:
  template <bool Exclusive>
  std::optional<basic_guard<Exclusive>> try_take() {
    auto permit = gate_.try_acquire(Exclusive ? max_readers : 1);
    if (!permit) return std::nullopt;
    return basic_guard<Exclusive>(value_, std::move(*permit));
  }
  template <bool Exclusive>
  basic_guard<Exclusive> blocking_take() {
    return basic_guard<Exclusive>(value_, gate_.blocking_acquire(Exclusive ? max_readers : 1));
  }

  semaphore gate_{max_readers};
  T value_;
};

}  // namespace tandem
