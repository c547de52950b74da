// join, try_join, select: several awaitables at once inside the current task
// (tokio::join!, tokio::try_join!, tokio::select!).
//
//   auto [a, b] = co_await tandem::join(fetch(x), fetch(y));     // both, concurrently
//   auto [a, b] = co_await tandem::try_join(fetch(x), fetch(y)); // first exception wins
//   auto first  = co_await tandem::select(fetch(x), sleep(1s));  // first to finish wins
//   if (first.index() == 0) use(std::get<0>(first));
//
// The arguments are tasks (task<T>) or anything awaitable (a join_handle, ...), taken by
// value. They run as branches of the current task, interleaved on its worker, never in
// parallel with each other (spawn for that): a branch runs until it suspends, then the
// next one gets its turn; when the task is woken, the branches whose wait is over go on.
//
// - join: the results in a tuple, in argument order (std::monostate for void). If some
//   branches throw, every branch still runs to its end, then the first exception in
//   argument order is rethrown.
// - try_join: as join, but the first branch to throw ends it: the other branches are
//   cancelled (their frames destroyed) and the exception is rethrown.
// - select: the first branch to finish wins; the others are cancelled (their frames
//   destroyed). The result is a std::variant whose index() is the winning argument
//   (std::monostate for void); if the winner threw, its exception is rethrown.
//
// Cancellation: destroying the awaiting task (abort, shutdown) destroys every branch.
// Thread safety: the branches run on the awaiting task's thread, one at a time.
#pragma once

#include <array>
#include <coroutine>
#include <cstddef>
#include <exception>
#include <stdexcept>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>

#include "tandem/detail/runtime/poll_context.hpp"
#include "tandem/task.hpp"

namespace tandem {

namespace detail {

template <class A>
decltype(auto) awaiter_of(A&& awaitable) {
  if constexpr (requires { std::forward<A>(awaitable).operator co_await(); }) {
    return std::forward<A>(awaitable).operator co_await();
  } else {
    return std::forward<A>(awaitable);
  }
}

// What awaiting an A gives: a reference stays one, anything else is a value.
template <class A>
struct branch_value {
  using result = decltype(awaiter_of(std::declval<A>()).await_resume());
  using type = std::conditional_t<std::is_lvalue_reference_v<result>, result, std::remove_cvref_t<result>>;
};
template <class T>
struct branch_value<task<T>> {
  using type = T;
};

template <class A>
using branch_value_t = typename branch_value<std::remove_cvref_t<A>>::type;

// Any awaitable becomes a task: the branch's own frame, with its own suspension point.
template <class T, class A>
task<T> as_branch(A awaitable) {
  co_return co_await std::move(awaitable);
}

template <class T, class A>
task<T> to_branch(A&& awaitable) {
  if constexpr (std::is_same_v<std::remove_cvref_t<A>, task<T>>) {
    return std::forward<A>(awaitable);
  } else {
    return as_branch<T>(std::forward<A>(awaitable));
  }
}

// void results are std::monostate in tuples and variants.
template <class T>
using slot_t = std::conditional_t<std::is_void_v<T>, std::monostate, T>;

template <class T>
slot_t<T> take_slot(task<T>& branch) {
  auto handle = task_access<T>::handle(branch);
  if constexpr (std::is_void_v<T>) {
    handle.promise().take_result();
    return {};
  } else {
    return handle.promise().take_result();
  }
}

enum class finish_rule { all, all_or_first_failure, first };

// The branches of one join / try_join / select, and the pollable the parent waits on.
template <finish_rule Rule, class... Ts>
class branch_set : public pollable {
  static constexpr std::size_t count = sizeof...(Ts);
  static_assert(count > 0, "join / try_join / select need at least one awaitable");

 public:
  explicit branch_set(task<Ts>... branches) : branches_(std::move(branches)...) {
    std::size_t i = 0;
    for_each([&](auto& branch) {
      if (!branch.valid()) throw std::invalid_argument("tandem: join/select of an empty task");
      nodes_[i++].coroutine =
          task_access<typename std::remove_cvref_t<decltype(branch)>::value_type>::handle(branch);
    });
  }
  branch_set(branch_set&&) = delete;

  bool await_ready() const noexcept { return false; }

  bool await_suspend(std::coroutine_handle<> parent) {
    suspension_point* const parent_point = require_poll("tandem::join/try_join/select").suspension;
    if (advance()) return false;
    *parent_point = {this, parent};
    return true;
  }

  // Runs every branch whose wait is over until it suspends or finishes.
  bool advance() override {
    poll_context* poll = current_poll;
    suspension_point* const outer = poll->suspension;
    for (std::size_t i = 0; i < count && !finished(); ++i) {
      suspension_point& node = nodes_[i];
      if (!node.coroutine || (node.waiting_on != nullptr && !node.waiting_on->advance())) continue;
      poll->suspension = &node;
      std::exchange(node, {}).coroutine.resume();
      poll->suspension = outer;
    }
    return finished();
  }

 protected:
  template <class F>
  void for_each(F&& f) {
    std::apply([&](auto&... branch) { (f(branch), ...); }, branches_);
  }

  template <std::size_t I>
  bool done() const {
    return task_access<std::tuple_element_t<I, std::tuple<Ts...>>>::handle(std::get<I>(branches_)).done();
  }
  template <std::size_t I>
  bool failed() const {
    return done<I>() &&
           task_access<std::tuple_element_t<I, std::tuple<Ts...>>>::handle(std::get<I>(branches_))
               .promise()
               .failed();
  }

  bool finished() const { return finished(std::index_sequence_for<Ts...>{}); }

  template <std::size_t... I>
  bool finished(std::index_sequence<I...>) const {
    if constexpr (Rule == finish_rule::all) {
      return (done<I>() && ...);
    } else if constexpr (Rule == finish_rule::all_or_first_failure) {
      return (done<I>() && ...) || (failed<I>() || ...);
    } else {
      return (done<I>() || ...);
    }
  }

  std::tuple<task<Ts>...> branches_;
  std::array<suspension_point, count> nodes_{};
};

template <finish_rule Rule, class... Ts>
class tuple_of_branches final {
 public:
  explicit tuple_of_branches(task<Ts>... branches) : set_(std::move(branches)...) {}
  bool await_ready() const noexcept { return false; }
  bool await_suspend(std::coroutine_handle<> parent) { return set_.await_suspend(parent); }
  std::tuple<slot_t<Ts>...> await_resume() { return set_.take_all(); }

 private:
  struct set : branch_set<Rule, Ts...> {
    using branch_set<Rule, Ts...>::branch_set;
    std::tuple<slot_t<Ts>...> take_all() {
      // The first failure in argument order; for try_join, the others were cancelled.
      std::exception_ptr first_failure;
      this->for_each([&](auto& branch) {
        using value = typename std::remove_cvref_t<decltype(branch)>::value_type;
        if (!first_failure && task_access<value>::handle(branch).done() &&
            task_access<value>::handle(branch).promise().failed())
          first_failure = task_access<value>::handle(branch).promise().exception();
      });
      if (first_failure) {
        this->branches_ = {};
        std::rethrow_exception(first_failure);
      }
      return std::apply([](auto&... branch) { return std::tuple<slot_t<Ts>...>(take_slot(branch)...); },
                        this->branches_);
    }
  };
  set set_;
};

template <class... Ts>
class first_of_branches final {
 public:
  explicit first_of_branches(task<Ts>... branches) : set_(std::move(branches)...) {}
  bool await_ready() const noexcept { return false; }
  bool await_suspend(std::coroutine_handle<> parent) { return set_.await_suspend(parent); }
  std::variant<slot_t<Ts>...> await_resume() { return set_.take_winner(); }

 private:
  struct set : branch_set<finish_rule::first, Ts...> {
    using branch_set<finish_rule::first, Ts...>::branch_set;
    std::variant<slot_t<Ts>...> take_winner() { return take<0>(); }
    template <std::size_t I>
    std::variant<slot_t<Ts>...> take() {
      if constexpr (I + 1 < sizeof...(Ts)) {
        if (!this->template done<I>()) return take<I + 1>();
      }
      auto& winner = std::get<I>(this->branches_);
      // The losers are cancelled before the winner's value (or exception) comes out.
      std::size_t index = 0;
      this->for_each([&](auto& branch) {
        if (index++ != I) branch = {};
      });
      return std::variant<slot_t<Ts>...>(std::in_place_index<I>, take_slot(winner));
    }
  };
  set set_;
};

}  // namespace detail

// Awaits every argument concurrently within the current task; see the top of the file.
template <class... A>
auto join(A&&... awaitables) {
  return detail::tuple_of_branches<detail::finish_rule::all, detail::branch_value_t<A>...>(
      detail::to_branch<detail::branch_value_t<A>>(std::forward<A>(awaitables))...);
}

// As join, but the first exception cancels the other branches and is rethrown.
template <class... A>
auto try_join(A&&... awaitables) {
  return detail::tuple_of_branches<detail::finish_rule::all_or_first_failure, detail::branch_value_t<A>...>(
      detail::to_branch<detail::branch_value_t<A>>(std::forward<A>(awaitables))...);
}

// The first argument to finish wins; the others are cancelled. Returns a std::variant
// whose index() says which argument won.
template <class... A>
auto select(A&&... awaitables) {
  return detail::first_of_branches<detail::branch_value_t<A>...>(
      detail::to_branch<detail::branch_value_t<A>>(std::forward<A>(awaitables))...);
}

}  // namespace tandem
