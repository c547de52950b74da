#include "tandem/detail/runtime/frame_allocator.hpp"

#include <array>
#include <mutex>
#include <new>
#include <utility>
#include <vector>

// Under AddressSanitizer every frame is its own operator new block, so that a frame used
// after it is freed, or never freed, is reported rather than hidden in a pool.
#if defined(__SANITIZE_ADDRESS__)
#define TANDEM_FRAME_POOL 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TANDEM_FRAME_POOL 0
#endif
#endif
#ifndef TANDEM_FRAME_POOL
#define TANDEM_FRAME_POOL 1
#endif

namespace tandem::detail {

namespace {

constexpr std::size_t block_bytes(std::size_t size_class) noexcept {
  return (size_class + 1) * frame_class_bytes;
}

// Class c holds blocks of (c + 1) * 64 bytes.
std::size_t class_of(std::size_t bytes) noexcept {
  return bytes == 0 ? 0 : (bytes - 1) / frame_class_bytes;
}

#if TANDEM_FRAME_POOL

struct free_block {
  free_block* next;
};

struct batch {
  free_block* first;
  std::size_t count;
};

// The blocks of one class that no thread holds: whole batches, and the rest of the
// slab being carved.
struct depot_class {
  std::mutex mutex;
  std::vector<batch> batches;
  char* carve_next = nullptr;
  char* carve_end = nullptr;
};

struct depot {
  std::array<depot_class, frame_class_count> classes;
  std::mutex slabs_mutex;
  std::vector<void*> slabs;  // kept, never freed: their blocks circulate for ever
};

depot& shared_depot() {
  // Safety: never destroyed, on purpose: threads may free frames during static
  // destruction. Its slabs stay reachable from here, so they are not reported as leaks.
  static depot* const instance = new depot();
  return *instance;
}

void* new_slab(depot& d) {
  void* slab = ::operator new(frame_slab_bytes);
  std::lock_guard guard(d.slabs_mutex);
  d.slabs.push_back(slab);
  return slab;
}

// A batch of up to frame_batch_blocks blocks of class c: a returned one, else carved.
batch take_batch(std::size_t c) {
  depot& d = shared_depot();
  depot_class& dc = d.classes[c];
  std::lock_guard guard(dc.mutex);
  if (!dc.batches.empty()) {
    const batch b = dc.batches.back();
    dc.batches.pop_back();
    return b;
  }
  const std::size_t size = block_bytes(c);
  batch b{nullptr, 0};
  while (b.count < frame_batch_blocks) {
    if (dc.carve_end - dc.carve_next < static_cast<std::ptrdiff_t>(size)) {
      dc.carve_next = static_cast<char*>(new_slab(d));
      dc.carve_end = dc.carve_next + frame_slab_bytes;
    }
    // Safety: the bytes are unused slab memory of at least one block's size.
    b.first = ::new (dc.carve_next) free_block{b.first};
    dc.carve_next += size;
    ++b.count;
  }
  return b;
}

void give_batch(std::size_t c, batch b) {
  if (b.count == 0) return;
  depot_class& dc = shared_depot().classes[c];
  std::lock_guard guard(dc.mutex);
  dc.batches.push_back(b);
}

// A thread's cached blocks. Trivially constructible and destructible, so the hot path
// reads it without a thread-local initialization guard; handing the blocks back at
// thread exit is the job of a separate object, set up on the first refill.
struct frame_cache {
  std::array<free_block*, frame_class_count> heads;
  std::array<std::size_t, frame_class_count> counts;
};

enum class cache_life : unsigned char { fresh, registered, destroyed };

constinit thread_local frame_cache cache{};
constinit thread_local cache_life life = cache_life::fresh;

void return_cache_to_depot() noexcept {
  life = cache_life::destroyed;
  for (std::size_t c = 0; c < frame_class_count; ++c) {
    try {
      give_batch(c, batch{std::exchange(cache.heads[c], nullptr), std::exchange(cache.counts[c], 0)});
    } catch (...) {
      // The depot cannot grow during thread exit: those blocks are given up.
    }
  }
}

struct cache_returner {
  cache_returner() = default;
  cache_returner(const cache_returner&) = delete;
  cache_returner& operator=(const cache_returner&) = delete;
  ~cache_returner() { return_cache_to_depot(); }
};

void register_returner();

// A free on a thread whose cache is not set up yet, or already gone.
[[gnu::noinline]] void deallocate_unregistered(void* block, std::size_t c) noexcept {
  if (life == cache_life::fresh) {
    try {
      register_returner();
    } catch (...) {
      ::operator delete(block, block_bytes(c));  // no thread-exit hook: do not cache it
      return;
    }
    cache.heads[c] = ::new (block) free_block{cache.heads[c]};
    ++cache.counts[c];
    return;
  }
  try {
    give_batch(c, batch{::new (block) free_block{nullptr}, 1});
  } catch (...) {
    // Nowhere to put it during static destruction without memory: let it go.
  }
}

// On a thread's first use of its cache: make sure the blocks go back at thread exit.
void register_returner() {
  static thread_local cache_returner returner;
  life = cache_life::registered;
}

// Slow paths stay out of line, so the hot paths need no saved registers.
[[gnu::noinline]] void* refill_and_allocate(std::size_t c) {
  if (life == cache_life::fresh) register_returner();
  const batch b = take_batch(c);
  cache.heads[c] = b.first;
  cache.counts[c] = b.count;
  free_block* block = cache.heads[c];
  cache.heads[c] = block->next;
  --cache.counts[c];
  return block;
}

// The newest frame_batch_blocks blocks go back to the depot for other threads.
[[gnu::noinline]] void spill(std::size_t c) noexcept {
  free_block* last = cache.heads[c];
  for (std::size_t i = 1; i < frame_batch_blocks; ++i) last = last->next;
  const batch surplus{cache.heads[c], frame_batch_blocks};
  free_block* rest = last->next;
  last->next = nullptr;
  try {
    give_batch(c, surplus);
  } catch (...) {
    last->next = rest;  // the depot could not grow its list: keep the blocks here
    return;
  }
  cache.heads[c] = rest;
  cache.counts[c] -= frame_batch_blocks;
}

#endif  // TANDEM_FRAME_POOL

}  // namespace

void* allocate_frame(std::size_t bytes) {
  const std::size_t c = class_of(bytes);
  if (c >= frame_class_count) return ::operator new(bytes);
#if TANDEM_FRAME_POOL
  // After thread exit the heads are all null, so this also covers a destroyed cache.
  if (free_block* block = cache.heads[c]; block != nullptr) {
    cache.heads[c] = block->next;
    --cache.counts[c];
    return block;
  }
  if (life == cache_life::destroyed) return ::operator new(block_bytes(c));  // joins the depot when freed
  return refill_and_allocate(c);
#else
  return ::operator new(block_bytes(c));
#endif
}

void deallocate_frame(void* block, std::size_t bytes) noexcept {
  const std::size_t c = class_of(bytes);
  if (c >= frame_class_count) {
    ::operator delete(block, bytes);
    return;
  }
#if TANDEM_FRAME_POOL
  if (life == cache_life::registered) {
    // Safety: the block is at least 64 bytes and no longer used by its owner, so its
    // first bytes can hold the list link until it is handed out again.
    cache.heads[c] = ::new (block) free_block{cache.heads[c]};
    if (++cache.counts[c] > 2 * frame_batch_blocks) spill(c);
    return;
  }
  deallocate_unregistered(block, c);
#else
  ::operator delete(block, block_bytes(c));
#endif
}

}  // namespace tandem::detail
