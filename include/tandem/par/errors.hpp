// Errors that the par engine reports.
#pragma once

#include <stdexcept>

namespace tandem::par {

// Thrown by par::join (and what is built on it) when nesting would come within a
// safety margin of the end of the worker's stack. The join throws instead of
// overflowing; the stack is unwound normally. Raise pool::builder::stack_size or
// cut the recursion off earlier.
class stack_exhausted : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace tandem::par
