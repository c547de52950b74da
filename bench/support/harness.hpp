// The bench programs' shared harness: timing, statistics and the common result line
//   bench=<name> impl=<impl> threads=<n> size=<param> median_ms=<x> min_ms=<y> max_ms=<z> [key=value ...]
// (one warm-up, then at least 5 timed runs; the same sizes, names and checksums as the
// anchor programs, so their tables line up with ours).
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace bench {

inline long env_long(const char* name, long fallback) {
  const char* s = std::getenv(name);
  return (s != nullptr && *s != '\0') ? std::strtol(s, nullptr, 10) : fallback;
}

inline std::vector<unsigned long long> env_list(const char* name, const char* fallback) {
  const char* s = std::getenv(name);
  std::string text = (s != nullptr && *s != '\0') ? s : fallback;
  std::replace(text.begin(), text.end(), ',', ' ');
  std::istringstream in(text);
  std::vector<unsigned long long> out;
  for (unsigned long long x; in >> x;) out.push_back(x);
  return out;
}

// Thread counts to measure: the variable if set, else 1 and every core.
inline std::vector<std::size_t> thread_counts(const char* variable) {
  if (long n = env_long(variable, 0); n > 0) return {static_cast<std::size_t>(n)};
  const std::size_t all = std::max(1u, std::thread::hardware_concurrency());
  return all == 1 ? std::vector<std::size_t>{1} : std::vector<std::size_t>{1, all};
}

inline int repetitions() {
  return static_cast<int>(std::max(5L, env_long("ANCHOR_REPS", 5)));
}

// Keeps a value alive in the optimizer's eyes.
template <class T>
inline void keep(const T& value) {
  asm volatile("" : : "r,m"(value) : "memory");
}

// Hides a pointer's target from the optimizer (like std::hint::black_box): the
// loop being timed cannot be hoisted or folded away.
template <class T>
inline T* opaque(T* p) {
  asm volatile("" : "+r"(p) : : "memory");
  return p;
}

struct stats {
  double median_ms, min_ms, max_ms;
};

inline stats stats_of(std::vector<double> samples) {
  std::sort(samples.begin(), samples.end());
  const std::size_t n = samples.size();
  const double median = n % 2 ? samples[n / 2] : 0.5 * (samples[n / 2 - 1] + samples[n / 2]);
  return {median, samples.front(), samples.back()};
}

// One warm-up, then repetitions() timed calls of f; returns the stats and f's last value.
template <class F>
auto measure(F&& f) {
  using clock = std::chrono::steady_clock;
  keep(f());
  std::vector<double> samples;
  decltype(f()) last{};
  for (int i = 0; i < repetitions(); ++i) {
    const auto t0 = clock::now();
    auto value = f();
    const auto t1 = clock::now();
    samples.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
    last = std::move(value);
  }
  return std::make_pair(stats_of(std::move(samples)), std::move(last));
}

// Like measure, but each call (the warm-up included) gets a fresh argument from setup(),
// made outside the timed region: f(setup()) is timed, the value f returns is destroyed
// outside it too. Returns the stats and f's last value.
template <class S, class F>
auto measure_with_setup(S&& setup, F&& f) {
  using clock = std::chrono::steady_clock;
  using result = decltype(f(setup()));
  {
    auto input = setup();
    result warm = f(std::move(input));
    keep(warm);
  }
  std::vector<double> samples;
  result last{};
  for (int i = 0; i < repetitions(); ++i) {
    auto input = setup();
    const auto t0 = clock::now();
    result value = f(std::move(input));
    const auto t1 = clock::now();
    samples.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
    last = std::move(value);
  }
  return std::make_pair(stats_of(std::move(samples)), std::move(last));
}

inline void report(const std::string& bench,
                   const std::string& impl,
                   std::size_t threads,
                   const std::string& size,
                   const stats& s,
                   const std::vector<std::pair<std::string, std::string>>& extra = {}) {
  std::printf("bench=%s impl=%s threads=%zu size=%s median_ms=%.4f min_ms=%.4f max_ms=%.4f", bench.c_str(),
              impl.c_str(), threads, size.c_str(), s.median_ms, s.min_ms, s.max_ms);
  for (const auto& [key, value] : extra) std::printf(" %s=%s", key.c_str(), value.c_str());
  std::printf("\n");
  std::fflush(stdout);
}

inline std::string fixed(double x, int digits) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*f", digits, x);
  return buffer;
}

inline void check(const char* what, std::uint64_t got, std::uint64_t want) {
  if (got != want) {
    std::fprintf(stderr, "CHECKSUM MISMATCH in %s: got %llu, want %llu\n", what,
                 static_cast<unsigned long long>(got), static_cast<unsigned long long>(want));
    std::exit(3);
  }
}

// A field of /proc/self/status in KiB ("VmRSS", "VmHWM"), 0 if missing.
inline unsigned long long proc_status_kib(const char* field) {
  std::FILE* status = std::fopen("/proc/self/status", "r");
  if (status == nullptr) return 0;
  char line[256];
  unsigned long long value = 0;
  const std::size_t length = std::strlen(field);
  while (std::fgets(line, sizeof line, status) != nullptr) {
    if (std::strncmp(line, field, length) == 0 && line[length] == ':') {
      value = std::strtoull(line + length + 1, nullptr, 10);
      break;
    }
  }
  std::fclose(status);
  return value;
}

}  // namespace bench
