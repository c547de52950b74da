// mutex_contention: 64 tasks each take one tandem::mutex<uint64_t> 100,000 times
// (6,400,000 lock/unlock pairs in all), adding 1 under the lock and yielding every 64
// locks so the tasks interleave and the lock changes hands under contention.
// checksum = the counter. tokio has no anchor for this workload: it is reported beside
// ping_pong (docs/benchmarks.md). Workers: TANDEM_WORKER_THREADS, else 1 and all cores.
// Size: TANDEM_MUTEX_TASKS, TANDEM_MUTEX_LOCKS (per task).
#include <cstdint>
#include <vector>

#include <tandem/runtime.hpp>
#include <tandem/sync/mutex.hpp>

#include "support/harness.hpp"

namespace {

tandem::task<void> hammer(tandem::mutex<std::uint64_t>& counter, std::uint64_t locks) {
  for (std::uint64_t i = 0; i < locks; ++i) {
    {
      auto guard = co_await counter.lock();
      *guard += 1;
    }
    if (i % 64 == 63) co_await tandem::yield_now();
  }
}

tandem::task<std::uint64_t> contend(std::uint64_t tasks, std::uint64_t locks) {
  tandem::mutex<std::uint64_t> counter(0);
  std::vector<tandem::join_handle<void>> handles;
  for (std::uint64_t t = 0; t < tasks; ++t) handles.push_back(tandem::spawn(hammer(counter, locks)));
  for (auto& h : handles) co_await h;
  co_return *co_await counter.lock();
}

}  // namespace

int main() {
  const auto tasks = static_cast<std::uint64_t>(bench::env_long("TANDEM_MUTEX_TASKS", 64));
  const auto locks = static_cast<std::uint64_t>(bench::env_long("TANDEM_MUTEX_LOCKS", 100'000));
  for (const std::size_t workers : bench::thread_counts("TANDEM_WORKER_THREADS")) {
    auto rt = tandem::runtime::builder().worker_threads(workers).build();
    auto [st, got] = bench::measure([&] { return rt.block_on(contend(tasks, locks)); });
    bench::check("mutex_contention", got, tasks * locks);
    bench::report("mutex_contention", "tandem", workers, std::to_string(tasks) + "x" + std::to_string(locks), st,
                  {{"ns_per_lock", bench::fixed(st.median_ms * 1e6 / static_cast<double>(tasks * locks), 1)},
                   {"checksum", std::to_string(got)}});
  }
}
