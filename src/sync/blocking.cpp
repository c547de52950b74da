#include <stdexcept>
#include <string>

#include "tandem/detail/runtime/runtime_core.hpp"
#include "tandem/detail/sync/wait_list.hpp"

namespace tandem::detail {

void check_blocking_allowed(const char* what) {
  if (current_runtime_core() != nullptr)
    throw std::logic_error(std::string("tandem::") + what +
                           ": called from inside a runtime thread (it would block a worker); co_await the "
                           "async form instead");
}

}  // namespace tandem::detail
