// timers: 1,000,000 spawned tasks each sleep 100 ms at once; the main task awaits every
// handle (the anchors' tokio `timers`). Reports the wall time, the overhead beyond the
// 100 ms, and memory: bytes_per_task = (peak RSS of the first repetition - RSS before) /
// count, peak_rss_kib = the process's peak. Each worker count runs in a child process of
// its own, so one count's peak does not hide another's. Workers: TANDEM_WORKER_THREADS,
// else 1 and all cores. Sizes: ANCHOR_TIMERS_N, ANCHOR_TIMERS_MS.
#include <chrono>
#include <cstdio>
#include <vector>

#include <sys/wait.h>
#include <unistd.h>

#include <tandem/runtime.hpp>
#include <tandem/time/sleep.hpp>

#include "support/harness.hpp"

namespace {

tandem::task<void> sleeper(std::chrono::milliseconds d) {
  co_await tandem::sleep(d);
}

tandem::task<unsigned long long> sleep_many(unsigned long long n, std::chrono::milliseconds d) {
  std::vector<tandem::join_handle<void>> handles;
  handles.reserve(n);
  for (unsigned long long i = 0; i < n; ++i) handles.push_back(tandem::spawn(sleeper(d)));
  unsigned long long done = 0;
  for (auto& h : handles) {
    co_await h;
    ++done;
  }
  co_return done;
}

void run(std::size_t workers, unsigned long long n, long sleep_ms) {
  auto rt = tandem::runtime::builder().worker_threads(workers).build();
  const unsigned long long rss_before = bench::proc_status_kib("VmRSS");
  unsigned long long first_peak = 0;
  auto [st, got] = bench::measure([&] {
    const unsigned long long done = rt.block_on(sleep_many(n, std::chrono::milliseconds(sleep_ms)));
    if (first_peak == 0) first_peak = bench::proc_status_kib("VmHWM");
    return done;
  });
  bench::check("timers", got, n);
  const double bytes = static_cast<double>(first_peak - rss_before) * 1024.0 / static_cast<double>(n);
  bench::report("timers", "tandem", workers, std::to_string(n), st,
                {{"sleep_ms", std::to_string(sleep_ms)},
                 {"overhead_ms", bench::fixed(st.median_ms - static_cast<double>(sleep_ms), 1)},
                 {"bytes_per_task", bench::fixed(bytes, 0)},
                 {"peak_rss_kib", std::to_string(bench::proc_status_kib("VmHWM"))},
                 {"base_rss_kib", std::to_string(rss_before)},
                 {"checksum", std::to_string(got)}});
}

}  // namespace

int main() {
  const auto n = static_cast<unsigned long long>(bench::env_long("ANCHOR_TIMERS_N", 1'000'000));
  const long sleep_ms = bench::env_long("ANCHOR_TIMERS_MS", 100);
  for (const std::size_t workers : bench::thread_counts("TANDEM_WORKER_THREADS")) {
    std::fflush(stdout);
    const pid_t child = fork();
    if (child < 0) {
      std::perror("timers: fork");
      return 1;
    }
    if (child == 0) {
      run(workers, n, sleep_ms);
      std::fflush(stdout);
      _exit(0);
    }
    int status = 0;
    waitpid(child, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return 1;
  }
}
