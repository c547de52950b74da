// detail/memory/fresh_storage.hpp: the huge-page hint for large fresh outputs.
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include <tandem/detail/memory/fresh_storage.hpp>

namespace {

namespace detail = tandem::detail;

constexpr std::uintptr_t huge_page = std::uintptr_t{2} << 20;

// The VmFlags line of the mapping holding `address`, from /proc/self/smaps.
std::string vm_flags_at(const void* address) {
  const auto target = reinterpret_cast<std::uintptr_t>(address);
  std::ifstream smaps("/proc/self/smaps");
  std::string line;
  bool inside = false;
  while (std::getline(smaps, line)) {
    std::uintptr_t begin = 0;
    std::uintptr_t end = 0;
    char dash = 0;
    std::istringstream header(line);
    if (header >> std::hex >> begin >> dash >> end && dash == '-') {
      inside = begin <= target && target < end;
    } else if (inside && line.rfind("VmFlags:", 0) == 0) {
      return line;
    }
  }
  return {};
}

bool kernel_has_transparent_huge_pages() {
  return std::filesystem::exists("/sys/kernel/mm/transparent_hugepage/enabled");
}

TEST(FreshStorage, LargeBufferKeepsItsContentsAndGetsTheHint) {
  const std::size_t bytes = std::size_t{32} << 20;
  std::unique_ptr<unsigned char[]> buffer(new unsigned char[bytes]);
  for (std::size_t i = 0; i < bytes; i += 4096) buffer[i] = static_cast<unsigned char>(i >> 12);
  detail::advise_huge_pages(buffer.get(), bytes);
  for (std::size_t i = 0; i < bytes; i += 4096)
    ASSERT_EQ(buffer[i], static_cast<unsigned char>(i >> 12)) << "byte " << i;

  const auto first_whole_page =
      (reinterpret_cast<std::uintptr_t>(buffer.get()) + huge_page - 1) & ~(huge_page - 1);
  const std::string flags = vm_flags_at(reinterpret_cast<const void*>(first_whole_page));
  ASSERT_FALSE(flags.empty()) << "no mapping found in /proc/self/smaps";
  if (kernel_has_transparent_huge_pages() && std::getenv("TANDEM_HUGE_PAGES") == nullptr) {
    EXPECT_NE(flags.find(" hg"), std::string::npos) << flags;
  }
}

TEST(FreshStorage, SmallBufferIsLeftAlone) {
  const std::size_t bytes = detail::huge_page_advice_threshold / 2;
  std::unique_ptr<unsigned char[]> buffer(new unsigned char[bytes]());
  detail::advise_huge_pages(buffer.get(), bytes);
  const auto inner = (reinterpret_cast<std::uintptr_t>(buffer.get()) + huge_page - 1) & ~(huge_page - 1);
  const std::string flags = vm_flags_at(reinterpret_cast<const void*>(inner));
  EXPECT_EQ(flags.find(" hg"), std::string::npos) << flags;
}

TEST(FreshStorage, NullAndTinyRangesAreHarmless) {
  detail::advise_huge_pages(nullptr, 0);
  unsigned char byte = 7;
  detail::advise_huge_pages(&byte, 1);
  EXPECT_EQ(byte, 7);
}

}  // namespace
