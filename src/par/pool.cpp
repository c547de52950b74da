#include "tandem/par/pool.hpp"

#include <stdexcept>

#include "tandem/par/errors.hpp"

namespace tandem::par {

pool::builder& pool::builder::num_threads(std::size_t n) {
  if (n == 0)
    throw std::invalid_argument("par::pool::builder::num_threads: a pool needs at least 1 thread, got 0");
  options_.num_threads = n;
  return *this;
}

pool::builder& pool::builder::thread_name_prefix(std::string prefix) {
  options_.thread_name_prefix = std::move(prefix);
  return *this;
}

pool::builder& pool::builder::stack_size(std::size_t bytes) {
  options_.stack_size = bytes;
  if (bytes < detail::minimum_worker_stack_size) {
    throw std::invalid_argument("par::pool::builder::stack_size: " + std::to_string(bytes) +
                                " bytes is too small to run a worker; the minimum is " +
                                std::to_string(detail::minimum_worker_stack_size));
  }
  return *this;
}

pool::builder& pool::builder::on_thread_start(std::function<void(std::size_t)> hook) {
  options_.start_handler = std::move(hook);
  return *this;
}

pool::builder& pool::builder::on_thread_stop(std::function<void(std::size_t)> hook) {
  options_.exit_handler = std::move(hook);
  return *this;
}

pool::builder& pool::builder::error_handler(std::function<void(std::exception_ptr)> handler) {
  options_.error_handler = std::move(handler);
  return *this;
}

pool pool::builder::build() const {
  return pool(detail::registry::create(options_));
}

void pool::builder::build_global() const {
  if (!detail::registry::try_init_global(options_)) {
    throw std::logic_error("par::pool::builder::build_global: the global pool already exists");
  }
}

pool::pool() : pool(detail::registry::create({})) {}

pool::~pool() {
  if (registry_) registry_->terminate();
}

std::size_t current_num_threads() {
  return detail::current_registry().num_threads();
}

std::optional<std::size_t> current_thread_index() {
  if (const detail::worker_thread* w = detail::current_worker) return w->index();
  return std::nullopt;
}

}  // namespace tandem::par

namespace tandem::detail {

void throw_stack_exhausted() {
  throw par::stack_exhausted(
      "par::join: nesting came within " + std::to_string(stack_reserve >> 10) +
      " KiB of the end of the worker's stack; raise par::pool::builder::stack_size or recurse less deeply");
}

}  // namespace tandem::detail
