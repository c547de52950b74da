// Recycles coroutine frames and task headers: per-thread caches over a shared depot.
//
// Spawning allocates a task header and the task's coroutine frame, and a server spawns
// and finishes tasks at a steady rate, so the same few sizes come back again and again;
// a million live tasks would otherwise cost two mallocs and two frees each. Blocks come
// in 64-byte classes up to 1 KiB (bigger ones go to operator new):
//   - each thread caches up to 2 x frame_batch_blocks blocks of each class in a free
//     list; allocation and free are a list pop and push;
//   - an empty cache takes a batch of frame_batch_blocks from the shared depot (a
//     returned batch, else carved from a 1 MiB slab); a cache over its limit gives a
//     batch back. One lock per batch, not per block;
//   - a block freed on another thread than the one that allocated it joins the freeing
//     thread's cache (blocks of a class are interchangeable).
// Slabs are never returned to the system: the memory of the peak number of live tasks
// stays with the process, for reuse (like most small-object allocators). Under
// AddressSanitizer every block is its own operator new instead, so that use after free
// and leaks of frames are reported.
//
// Thread safety: both functions may be called from any thread, also during thread and
// static destruction.
#pragma once

#include <cstddef>

namespace tandem::detail {

inline constexpr std::size_t frame_class_bytes = 64;
inline constexpr std::size_t frame_class_count = 16;  // up to 1 KiB
inline constexpr std::size_t frame_batch_blocks = 1024;
inline constexpr std::size_t frame_slab_bytes = std::size_t{1} << 20;

void* allocate_frame(std::size_t bytes);
void deallocate_frame(void* block, std::size_t bytes) noexcept;

}  // namespace tandem::detail
