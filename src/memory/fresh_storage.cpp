#include "tandem/detail/memory/fresh_storage.hpp"

#include <cstdint>
#include <cstdlib>
#include <cstring>

#include <sys/mman.h>

namespace tandem::detail {

namespace {

bool huge_pages_allowed() noexcept {
  static const bool allowed = [] {
    const char* setting = std::getenv("TANDEM_HUGE_PAGES");
    return setting == nullptr || std::strcmp(setting, "0") != 0;
  }();
  return allowed;
}

}  // namespace

void advise_huge_pages(void* data, std::size_t bytes) noexcept {
#ifdef MADV_HUGEPAGE
  constexpr std::uintptr_t huge_page = std::uintptr_t{2} << 20;
  if (bytes < huge_page_advice_threshold || !huge_pages_allowed()) return;
  const auto begin = reinterpret_cast<std::uintptr_t>(data);
  const std::uintptr_t first = (begin + huge_page - 1) & ~(huge_page - 1);
  const std::uintptr_t last = (begin + bytes) & ~(huge_page - 1);
  if (last <= first) return;
  // Safety: the range lies inside one live allocation the caller owns; MADV_HUGEPAGE
  // only changes how its pages are backed, never their contents.
  ::madvise(reinterpret_cast<void*>(first), last - first, MADV_HUGEPAGE);
#else
  (void)data;
  (void)bytes;
#endif
}

}  // namespace tandem::detail
