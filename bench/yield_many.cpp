// yield_many: 1,000 tasks each calling yield_now 1,000 times, awaited from the main
// task; tokio's `yield_many` anchor. Workers: TANDEM_WORKER_THREADS, else 1 and all cores.
#include <vector>

#include <tandem/runtime.hpp>

#include "support/harness.hpp"

namespace {

tandem::task<unsigned long long> yielder(unsigned long long yields) {
  for (unsigned long long i = 0; i < yields; ++i) co_await tandem::yield_now();
  co_return yields;
}

tandem::task<unsigned long long> yield_many(unsigned long long tasks, unsigned long long yields) {
  std::vector<tandem::join_handle<unsigned long long>> handles;
  handles.reserve(tasks);
  for (unsigned long long i = 0; i < tasks; ++i) handles.push_back(tandem::spawn(yielder(yields)));
  unsigned long long sum = 0;
  for (auto& h : handles) sum += co_await h;
  co_return sum;
}

}  // namespace

int main() {
  const auto tasks = static_cast<unsigned long long>(bench::env_long("ANCHOR_YIELD_TASKS", 1'000));
  const auto yields = static_cast<unsigned long long>(bench::env_long("ANCHOR_YIELD_N", 1'000));
  for (const std::size_t workers : bench::thread_counts("TANDEM_WORKER_THREADS")) {
    auto rt = tandem::runtime::builder().worker_threads(workers).build();
    auto [st, got] = bench::measure([&] { return rt.block_on(yield_many(tasks, yields)); });
    bench::check("yield_many", got, tasks * yields);
    bench::report(
        "yield_many", "tandem", workers, std::to_string(tasks) + "x" + std::to_string(yields), st,
        {{"ns_per_yield", bench::fixed(st.median_ms * 1e6 / static_cast<double>(tasks * yields), 1)},
         {"checksum", std::to_string(got)}});
  }
}
