// sum: par::iter(v).sum() over ANCHOR_SUM_N (default 100,000,000) uint64_t; memory-bound,
// so the sequential loop shows the machine's bandwidth. Threads: TANDEM_NUM_THREADS,
// else 1 and all cores. Also prints the plain loop (impl=seq) for reference.
#include <vector>

#include <tandem/par.hpp>

#include "support/data.hpp"
#include "support/harness.hpp"

int main() {
  const auto n = static_cast<std::size_t>(bench::env_long("ANCHOR_SUM_N", 100'000'000));
  std::vector<std::uint64_t> v(n);
  std::uint64_t want = 0;
  for (std::size_t i = 0; i < n; ++i) want += v[i] = bench::splitmix64(1, i) >> 32;
  auto gbps = [n](const bench::stats& s) { return bench::fixed(n * 8.0 / (s.median_ms * 1e-3) / 1e9, 2); };

  auto [seq, seq_got] = bench::measure([&] {
    const std::uint64_t* data = bench::opaque(v.data());
    std::uint64_t total = 0;
    for (std::size_t i = 0; i < n; ++i) total += data[i];
    return total;
  });
  bench::check("sum", seq_got, want);
  bench::report("sum", "seq", 1, std::to_string(n), seq,
                {{"gbps", gbps(seq)}, {"checksum", std::to_string(seq_got)}});

  for (const std::size_t threads : bench::thread_counts("TANDEM_NUM_THREADS")) {
    auto pool = tandem::par::pool::builder().num_threads(threads).build();
    pool.broadcast([] {});
    auto [st, got] = bench::measure(
        [&] { return pool.install([&] { return tandem::par::iter(*bench::opaque(&v)).sum(); }); });
    bench::check("sum", got, want);
    bench::report("sum", "tandem", threads, std::to_string(n), st,
                  {{"gbps", gbps(st)}, {"checksum", std::to_string(got)}});
  }
}
