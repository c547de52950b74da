// spawn_blocking: 100,000 spawn_blocking calls of a small computation (16 rounds of the
// anchors' mix), all submitted, then awaited in order; tokio's `spawn_blocking` anchor.
// Workers: TANDEM_WORKER_THREADS, else 1 and all cores.
#include <vector>

#include <tandem/runtime.hpp>
#include <tandem/spawn_blocking.hpp>

#include "support/data.hpp"
#include "support/harness.hpp"

namespace {

[[gnu::noinline]] std::uint64_t small_work(std::uint64_t i) {
  std::uint64_t x = *bench::opaque(&i);
  for (int k = 0; k < 16; ++k) x = bench::mix(x);
  return x;
}

tandem::task<std::uint64_t> batch(std::uint64_t n) {
  std::vector<tandem::result_handle<std::uint64_t>> handles;
  handles.reserve(n);
  for (std::uint64_t i = 0; i < n; ++i)
    handles.push_back(tandem::spawn_blocking([i] { return small_work(i); }));
  std::uint64_t sum = 0;
  for (auto& h : handles) sum += co_await h;
  co_return sum;
}

}  // namespace

int main() {
  const auto n = static_cast<std::uint64_t>(bench::env_long("ANCHOR_SB_N", 100'000));
  std::uint64_t want = 0;
  for (std::uint64_t i = 0; i < n; ++i) want += small_work(i);
  for (const std::size_t workers : bench::thread_counts("TANDEM_WORKER_THREADS")) {
    auto rt = tandem::runtime::builder().worker_threads(workers).build();
    auto [st, got] = bench::measure([&] { return rt.block_on(batch(n)); });
    bench::check("spawn_blocking", got, want);
    bench::report("spawn_blocking", "tandem", workers, std::to_string(n), st,
                  {{"mode", "batch"},
                   {"ns_per_call", bench::fixed(st.median_ms * 1e6 / static_cast<double>(n), 1)},
                   {"checksum", std::to_string(got)}});
  }
}
