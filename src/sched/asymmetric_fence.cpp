#include "tandem/detail/sched/asymmetric_fence.hpp"

#include <cstdio>
#include <cstdlib>

#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace tandem::detail {

bool asymmetric_fences_enabled = false;

namespace {

long membarrier(int command) noexcept {
  return ::syscall(SYS_membarrier, command, 0, 0);
}

bool register_expedited() noexcept {
  const long supported = membarrier(MEMBARRIER_CMD_QUERY);
  if (supported < 0 || (supported & MEMBARRIER_CMD_PRIVATE_EXPEDITED) == 0) return false;
  return membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) == 0;
}

}  // namespace

bool enable_asymmetric_fences() noexcept {
  // The magic static serializes the one registration; every pool calls this before
  // it starts a thread, so the flag is written before any reader exists.
  static const bool enabled = [] {
    asymmetric_fences_enabled = register_expedited();
    return asymmetric_fences_enabled;
  }();
  return enabled;
}

void heavy_fence() noexcept {
  if (!asymmetric_fences_enabled) {
    std::atomic_thread_fence(std::memory_order_seq_cst);
    return;
  }
  // Owners already rely on this barrier instead of fencing themselves, so a plain
  // fence here would not restore correctness: stop rather than run unsynchronized.
  if (membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) != 0) {
    std::fputs("tandem: membarrier failed after registration; aborting\n", stderr);
    std::abort();
  }
}

}  // namespace tandem::detail
