// Recycles coroutine frames and task headers: per-thread free lists by size class.
//
// Spawning allocates a task header and the task's coroutine frame; a server spawns and
// finishes tasks at a steady rate, so the same sizes come back again and again. Each
// thread keeps up to `max_cached_per_class` blocks of each 64-byte class up to 1 KiB;
// a block freed on another thread than the one that allocated it simply joins the
// freeing thread's list (blocks are interchangeable within a class). Bigger blocks, and
// blocks past the cap, go to the global operator new / delete. A thread's lists are
// returned to the system when the thread exits.
//
// Thread safety: both functions may be called from any thread; the lists are
// thread-local, so no call synchronizes with another.
#pragma once

#include <cstddef>

namespace tandem::detail {

inline constexpr std::size_t frame_class_bytes = 64;
inline constexpr std::size_t frame_class_count = 16;  // up to 1 KiB
inline constexpr std::size_t max_cached_per_class = 4096;

void* allocate_frame(std::size_t bytes);
void deallocate_frame(void* block, std::size_t bytes) noexcept;

}  // namespace tandem::detail
