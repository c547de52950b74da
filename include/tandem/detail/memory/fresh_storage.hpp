// Fresh output storage: large buffers a parallel consumer is about to fill.
//
// A new multi-megabyte buffer costs more in first-touch page faults than in the writes
// that fill it: 80 MB in 4 KiB pages is ~20,000 faults, ~30 ms on one core, more than
// a parallel map over it takes. Backing it with 2 MiB pages cuts the faults 512-fold.
#pragma once

#include <cstddef>

namespace tandem::detail {

// Below this a buffer spans too few 2 MiB pages to matter.
inline constexpr std::size_t huge_page_advice_threshold = std::size_t{8} << 20;

// Asks the kernel to back the whole 2 MiB pages inside [data, data + bytes) with
// transparent huge pages. A hint: the contents are unchanged and a refusal (no THP
// support, "never" policy, not Linux) is silently ignored. Set TANDEM_HUGE_PAGES=0 in
// the environment to turn it off.
void advise_huge_pages(void* data, std::size_t bytes) noexcept;

}  // namespace tandem::detail
