#include "tandem/detail/sched/thread_count.hpp"

#include <charconv>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>

namespace tandem::detail {

std::size_t thread_count_from_environment(const char* variable) {
  const char* env = std::getenv(variable);
  if (env == nullptr || *env == '\0') {
    const unsigned cores = std::thread::hardware_concurrency();
    return cores == 0 ? 1 : cores;
  }
  const std::string_view text(env);
  std::size_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc{} || end != text.data() + text.size() || value == 0 || value > 4096) {
    throw std::invalid_argument(std::string(variable) + " must be a whole number from 1 to 4096, got '" +
                                std::string(text) + "'");
  }
  return value;
}

}  // namespace tandem::detail
