#include "tandem/detail/runtime/frame_allocator.hpp"

#include <array>
#include <new>

namespace tandem::detail {

namespace {

struct free_block {
  free_block* next;
};

// Set once this thread's cache is destroyed: frames freed later (by other
// thread-local or static destructors) go straight to the global operator delete.
thread_local bool cache_destroyed = false;

struct frame_cache {
  std::array<free_block*, frame_class_count> heads{};
  std::array<std::size_t, frame_class_count> counts{};

  frame_cache() = default;
  frame_cache(const frame_cache&) = delete;
  frame_cache& operator=(const frame_cache&) = delete;
  ~frame_cache() {
    cache_destroyed = true;
    for (std::size_t c = 0; c < frame_class_count; ++c) {
      while (free_block* block = heads[c]) {
        heads[c] = block->next;
        ::operator delete(block, (c + 1) * frame_class_bytes);
      }
    }
  }
};

thread_local frame_cache cache;

// Class c holds blocks of (c + 1) * 64 bytes; frame_class_count means "not cached".
std::size_t class_of(std::size_t bytes) noexcept {
  return bytes == 0 ? 0 : (bytes - 1) / frame_class_bytes;
}

}  // namespace

void* allocate_frame(std::size_t bytes) {
  const std::size_t c = class_of(bytes);
  if (c >= frame_class_count) return ::operator new(bytes);
  if (cache_destroyed) return ::operator new((c + 1) * frame_class_bytes);
  frame_cache& local = cache;
  if (free_block* block = local.heads[c]) {
    local.heads[c] = block->next;
    --local.counts[c];
    return block;
  }
  return ::operator new((c + 1) * frame_class_bytes);
}

void deallocate_frame(void* block, std::size_t bytes) noexcept {
  const std::size_t c = class_of(bytes);
  if (c >= frame_class_count) {
    ::operator delete(block, bytes);
    return;
  }
  if (cache_destroyed) {
    ::operator delete(block, (c + 1) * frame_class_bytes);
    return;
  }
  frame_cache& local = cache;
  if (local.counts[c] >= max_cached_per_class) {
    ::operator delete(block, (c + 1) * frame_class_bytes);
    return;
  }
  // Safety: the block is at least 64 bytes and no longer in use by its owner, so its
  // first bytes can hold the list link until it is handed out again.
  local.heads[c] = ::new (block) free_block{local.heads[c]};
  ++local.counts[c];
}

}  // namespace tandem::detail
