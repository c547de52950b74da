// A fresh directory under the system's temporary one, removed with everything in it, for
// tests that make files, FIFOs or socket files.
#pragma once

#include <cerrno>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>

#include <stdlib.h>

namespace test_support {

class temporary_directory {
 public:
  // mkdtemp, so that test processes running at once never share a directory.
  explicit temporary_directory(std::string_view prefix = "tandem-test") {
    std::string pattern = (std::filesystem::temp_directory_path() / prefix).string() + "-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr)
      throw std::system_error(errno, std::generic_category(), "mkdtemp");
    path_ = pattern;
  }
  ~temporary_directory() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  temporary_directory(const temporary_directory&) = delete;
  temporary_directory& operator=(const temporary_directory&) = delete;

  std::filesystem::path operator/(std::string_view name) const { return path_ / name; }
  const std::filesystem::path& get() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace test_support
