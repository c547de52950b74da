// Asymmetric memory fences: a cheap fence for the hot side of a Dekker-style
// handshake and an expensive one for the rare side.
//
// Work stealing has two store-then-load handshakes (see src/sched/README.md):
//   owner pop:   store bottom, then load top      | thief steal:  CAS top, load bottom
//   owner push:  store bottom, then load sleepers | sleeper:      add sleeper, load bottom
// Each needs a store-load fence on both sides. The owner runs its side millions of
// times a second and the other side runs rarely, so the owner's fence is made free
// (a compiler barrier) and the rare side pays for both with membarrier(2)
// MEMBARRIER_CMD_PRIVATE_EXPEDITED: the kernel makes every running thread of the
// process execute a full memory barrier before the call returns.
//
// Proof sketch that the pair still orders the handshake. Let the owner run
// `S(x); light(); L(y)` and the other side run `S(y); heavy(); L(x)`. membarrier
// places a full barrier B in the owner's program order somewhere during the call.
//  - If B falls after S(x), S(x) is globally visible before heavy() returns, so L(x)
//    sees it.
//  - If B falls before S(x), then L(y), which follows S(x) in the owner's program
//    order (the compiler barrier keeps it there, and the barrier B keeps the CPU from
//    hoisting it above B), executes after the call started, which is after S(y) was
//    made globally visible by the full barrier that membarrier itself implies on
//    the calling thread; so L(y) sees S(y).
// Either way at least one side sees the other's store, which is all Dekker needs.
//
// Where membarrier is unavailable (old kernel, seccomp), both sides fall back to
// std::atomic_thread_fence(seq_cst), the textbook formulation.
#pragma once

#include <atomic>

namespace tandem::detail {

// Set once, before any pool starts, by enable_asymmetric_fences(). Read-only after.
extern bool asymmetric_fences_enabled;

// Registers the process for expedited membarrier; idempotent and thread-safe.
// Returns whether the asymmetric mode is in use.
bool enable_asymmetric_fences() noexcept;

// The hot side. Free when the asymmetric mode is on.
inline void light_fence() noexcept {
  if (asymmetric_fences_enabled) {
    std::atomic_signal_fence(std::memory_order_seq_cst);
  } else {
    std::atomic_thread_fence(std::memory_order_seq_cst);
  }
}

// The rare side: about a microsecond with membarrier.
void heavy_fence() noexcept;

}  // namespace tandem::detail
