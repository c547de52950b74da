// map_collect: par::iter(in).map(mix).collect<std::vector>() over ANCHOR_MAP_N (default
// 10,000,000) uint64_t: a fresh output each time, so allocation and first-touch page
// faults are timed (freeing the previous output is not), as in the anchors.
#include <vector>

#include <tandem/par.hpp>

#include "support/data.hpp"
#include "support/harness.hpp"

int main() {
  const auto n = static_cast<std::size_t>(bench::env_long("ANCHOR_MAP_N", 10'000'000));
  std::vector<std::uint64_t> in(n);
  for (std::size_t i = 0; i < n; ++i) in[i] = bench::splitmix64(2, i);
  std::vector<std::uint64_t> reference(n);
  for (std::size_t i = 0; i < n; ++i) reference[i] = bench::mix(in[i]);
  const std::uint64_t want = bench::hash_seq(reference.data(), n);
  reference = {};

  for (const std::size_t threads : bench::thread_counts("TANDEM_NUM_THREADS")) {
    auto pool = tandem::par::pool::builder().num_threads(threads).build();
    pool.broadcast([] {});
    auto [st, out] = bench::measure([&] {
      return pool.install([&] {
        return tandem::par::iter(*bench::opaque(&in))
            .map([](std::uint64_t x) { return bench::mix(x); })
            .collect<std::vector>();
      });
    });
    const std::uint64_t got = bench::hash_seq(out.data(), out.size());
    bench::check("map_collect", got, want);
    bench::report("map_collect", "tandem", threads, std::to_string(n), st,
                  {{"ns_per_elem", bench::fixed(st.median_ms * 1e6 / static_cast<double>(n), 3)},
                   {"checksum", std::to_string(got)}});
  }
}
