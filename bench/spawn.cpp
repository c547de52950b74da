// spawn: 1,000,000 empty tasks spawned from the main task (inside block_on), then
// awaited in order; tokio's `spawn` anchor. Workers: TANDEM_WORKER_THREADS, else 1 and
// all cores.
#include <vector>

#include <tandem/runtime.hpp>

#include "support/harness.hpp"

namespace {

tandem::task<> empty() {
  co_return;
}

tandem::task<unsigned long long> spawn_many(unsigned long long n) {
  std::vector<tandem::join_handle<void>> handles;
  handles.reserve(n);
  for (unsigned long long i = 0; i < n; ++i) handles.push_back(tandem::spawn(empty()));
  unsigned long long done = 0;
  for (auto& h : handles) {
    co_await h;
    ++done;
  }
  co_return done;
}

}  // namespace

int main() {
  const auto n = static_cast<unsigned long long>(bench::env_long("ANCHOR_SPAWN_N", 1'000'000));
  for (const std::size_t workers : bench::thread_counts("TANDEM_WORKER_THREADS")) {
    auto rt = tandem::runtime::builder().worker_threads(workers).build();
    rt.block_on(spawn_many(1));
    auto [st, got] = bench::measure([&] { return rt.block_on(spawn_many(n)); });
    bench::check("spawn", got, n);
    bench::report("spawn", "tandem", workers, std::to_string(n), st,
                  {{"from", "main_task"},
                   {"ns_per_task", bench::fixed(st.median_ms * 1e6 / static_cast<double>(n), 1)},
                   {"checksum", std::to_string(got)}});
  }
}
