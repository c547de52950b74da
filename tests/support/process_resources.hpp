// Helpers for tests that watch the process's own resources: open descriptors, resident
// memory, CPU time and the descriptor limit (the socket tests look for leaks, spinning
// and per-connection memory with them).
#pragma once

#include <dirent.h>
#include <sys/resource.h>
#include <time.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <system_error>
#include <vector>

#include "support/sanitizers.hpp"

#ifdef TANDEM_TEST_SANITIZED
extern "C" std::size_t __sanitizer_get_current_allocated_bytes();
#else
#include <malloc.h>
#endif

namespace test_support {

// The descriptors open in this process (the entries of /proc/self/fd, less the one the
// listing itself uses).
inline std::size_t open_descriptor_count() {
  DIR* directory = opendir("/proc/self/fd");
  if (directory == nullptr) throw std::system_error(errno, std::generic_category(), "opendir /proc/self/fd");
  const int own = dirfd(directory);
  std::size_t count = 0;
  while (const dirent* entry = readdir(directory)) {
    if (entry->d_name[0] == '.') continue;
    if (std::atoi(entry->d_name) == own) continue;
    ++count;
  }
  closedir(directory);
  return count;
}

// The descriptors open in this process, in increasing order.
inline std::vector<int> open_descriptors() {
  DIR* directory = opendir("/proc/self/fd");
  if (directory == nullptr) throw std::system_error(errno, std::generic_category(), "opendir /proc/self/fd");
  const int own = dirfd(directory);
  std::vector<int> open;
  while (const dirent* entry = readdir(directory)) {
    if (entry->d_name[0] == '.') continue;
    const int fd = std::atoi(entry->d_name);
    if (fd != own) open.push_back(fd);
  }
  closedir(directory);
  std::sort(open.begin(), open.end());
  return open;
}

// The RLIMIT_NOFILE soft limit under which exactly `free` more descriptors can be opened
// (new descriptors take the lowest free numbers, and none may reach the limit).
inline unsigned long limit_leaving_free(std::size_t free) {
  const std::vector<int> open = open_descriptors();
  std::size_t next = 0;  // index into `open`
  std::size_t found = 0;
  for (int fd = 0;; ++fd) {
    if (next < open.size() && open[next] == fd) {
      ++next;
      continue;
    }
    if (++found == free) return static_cast<unsigned long>(fd) + 1;
  }
}

// The highest descriptor number open in this process (-1 if none).
inline int highest_open_descriptor() {
  DIR* directory = opendir("/proc/self/fd");
  if (directory == nullptr) throw std::system_error(errno, std::generic_category(), "opendir /proc/self/fd");
  const int own = dirfd(directory);
  int highest = -1;
  while (const dirent* entry = readdir(directory)) {
    if (entry->d_name[0] == '.') continue;
    const int fd = std::atoi(entry->d_name);
    if (fd != own && fd > highest) highest = fd;
  }
  closedir(directory);
  return highest;
}

// VmRSS from /proc/self/status, in bytes.
inline std::size_t resident_bytes() {
  std::FILE* status = std::fopen("/proc/self/status", "re");
  if (status == nullptr) throw std::system_error(errno, std::generic_category(), "fopen /proc/self/status");
  char line[256];
  std::size_t kib = 0;
  while (std::fgets(line, sizeof line, status) != nullptr) {
    if (std::strncmp(line, "VmRSS:", 6) == 0) {
      kib = std::strtoull(line + 6, nullptr, 10);
      break;
    }
  }
  std::fclose(status);
  return kib * 1024;
}

// Bytes the heap has handed out and not got back: the sanitizer's allocator where one
// replaces malloc, else glibc's (mallinfo2). Unlike RSS it does not count pages a
// previous test freed and left mapped, nor miss blocks it reuses from them.
inline std::size_t heap_bytes_in_use() {
#ifdef TANDEM_TEST_SANITIZED
  return __sanitizer_get_current_allocated_bytes();
#else
  const struct mallinfo2 info = mallinfo2();
  return info.uordblks + info.hblkhd;
#endif
}

// CPU time used by every thread of the process so far.
inline std::chrono::nanoseconds process_cpu_time() {
  timespec now{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now);
  return std::chrono::seconds(now.tv_sec) + std::chrono::nanoseconds(now.tv_nsec);
}

// Restores RLIMIT_NOFILE as it was at construction when it goes out of scope, so a test
// that lowers or raises the limit never leaves it changed, even when an assertion fails.
class descriptor_limit_guard {
 public:
  descriptor_limit_guard() {
    if (getrlimit(RLIMIT_NOFILE, &saved_) != 0)
      throw std::system_error(errno, std::generic_category(), "getrlimit(RLIMIT_NOFILE)");
  }
  descriptor_limit_guard(const descriptor_limit_guard&) = delete;
  descriptor_limit_guard& operator=(const descriptor_limit_guard&) = delete;
  ~descriptor_limit_guard() { restore(); }

  const rlimit& saved() const noexcept { return saved_; }
  // Sets the soft limit (the hard one stays); throws std::system_error on failure.
  void set_soft(rlim_t soft) const {
    rlimit changed = saved_;
    changed.rlim_cur = soft;
    if (setrlimit(RLIMIT_NOFILE, &changed) != 0)
      throw std::system_error(errno, std::generic_category(), "setrlimit(RLIMIT_NOFILE)");
  }
  void restore() const noexcept { setrlimit(RLIMIT_NOFILE, &saved_); }

 private:
  rlimit saved_{};
};

}  // namespace test_support
