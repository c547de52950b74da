// detail/runtime/frame_allocator.hpp: size classes, reuse, frees on other threads.
#include <cstddef>
#include <cstring>
#include <set>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <tandem/detail/runtime/frame_allocator.hpp>

namespace {

namespace detail = tandem::detail;

TEST(FrameAllocator, BlocksOfEverySizeAreUsableAndDistinct) {
  std::vector<std::pair<void*, std::size_t>> blocks;
  std::set<void*> seen;
  for (std::size_t bytes : {1, 63, 64, 65, 200, 1023, 1024, 1025, 5000}) {
    for (int i = 0; i < 100; ++i) {
      void* block = detail::allocate_frame(bytes);
      std::memset(block, 0xab, bytes);  // the whole requested size is writable
      EXPECT_TRUE(seen.insert(block).second) << "a live block was handed out twice";
      blocks.emplace_back(block, bytes);
    }
  }
  for (auto [block, bytes] : blocks) detail::deallocate_frame(block, bytes);
}

TEST(FrameAllocator, ManyLiveBlocksThenAllFreedThenReused) {
  // More than a thread's cache holds, so batches go through the shared depot.
  constexpr std::size_t count = 10 * detail::frame_batch_blocks;
  std::vector<void*> blocks(count);
  for (auto& b : blocks) {
    b = detail::allocate_frame(128);
    std::memset(b, 1, 128);
  }
  for (void* b : blocks) detail::deallocate_frame(b, 128);
  for (auto& b : blocks) b = detail::allocate_frame(100);  // same class
  std::set<void*> unique(blocks.begin(), blocks.end());
  EXPECT_EQ(unique.size(), count);
  for (void* b : blocks) detail::deallocate_frame(b, 100);
}

TEST(FrameAllocator, BlocksFreedOnAnotherThreadAndThreadExit) {
  constexpr std::size_t count = 3 * detail::frame_batch_blocks;
  std::vector<void*> blocks(count);
  for (auto& b : blocks) b = detail::allocate_frame(64);
  // Freed on a thread that then exits: its cache goes back to the depot.
  std::thread([&] {
    for (void* b : blocks) detail::deallocate_frame(b, 64);
  }).join();
  // Allocated on yet another thread: blocks come back from the depot, all usable.
  std::thread([&] {
    std::vector<void*> again(count);
    for (auto& b : again) {
      b = detail::allocate_frame(64);
      std::memset(b, 2, 64);
    }
    for (void* b : again) detail::deallocate_frame(b, 64);
  }).join();
}

}  // namespace
