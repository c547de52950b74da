#include <cstddef>
#include <cstdint>

#include <sys/mman.h>
#include <unistd.h>

namespace tandem::detail {

void prefer_huge_pages(void* data, std::size_t bytes) noexcept {
  // Only whole 2 MiB regions inside the buffer can become huge pages; the advice is
  // a hint, and a kernel without transparent huge pages just ignores it.
  constexpr std::uintptr_t huge = std::uintptr_t{2} << 20;
  const auto begin = (reinterpret_cast<std::uintptr_t>(data) + huge - 1) & ~(huge - 1);
  const auto end = (reinterpret_cast<std::uintptr_t>(data) + bytes) & ~(huge - 1);
  if (end > begin) ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);
}

}  // namespace tandem::detail
