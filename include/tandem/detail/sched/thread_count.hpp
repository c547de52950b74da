// The default size of a pool of worker threads, shared by par pools and async runtimes.
#pragma once

#include <cstddef>

namespace tandem::detail {

// The whole number in the environment variable `variable` (1 to 4096) if it is set and
// not empty, else the number of logical cores (at least 1). Throws
// std::invalid_argument, naming the variable, when it holds anything else.
std::size_t thread_count_from_environment(const char* variable);

}  // namespace tandem::detail
