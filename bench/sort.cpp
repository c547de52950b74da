// sort: par::sort (impl=tandem) and par::stable_sort (impl=tandem_stable) of ANCHOR_SORT_N
// (default 10,000,000) uint64_t values splitmix64(3, i), the anchors' sort workload: a
// fresh copy of the input per run (the copy is not timed), one warm-up, then at least 5
// timed runs; checks that the output is sorted and is the input's multiset. Threads:
// TANDEM_NUM_THREADS, else 1 and all cores. Compare with rayon's par_sort_unstable /
// par_sort and tbb::parallel_sort: THREADS="1 2" scripts/compare-with-anchors sort.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <tandem/par/pool.hpp>
#include <tandem/par/sort.hpp>

#include "support/data.hpp"
#include "support/harness.hpp"

namespace {

using u64 = std::uint64_t;

using bench::hash_seq;
using bench::hash_set;
using bench::splitmix64;

bool is_sorted(const std::vector<u64>& v) {
  for (std::size_t i = 1; i < v.size(); ++i) {
    if (v[i] < v[i - 1]) return false;
  }
  return true;
}

}  // namespace

int main() {
  const auto n = static_cast<std::size_t>(bench::env_long("ANCHOR_SORT_N", 10'000'000));
  std::vector<u64> input(n);
  for (std::size_t i = 0; i < n; ++i) input[i] = splitmix64(3, i);
  const u64 want_set = hash_set(input.data(), n);

  for (const std::size_t threads : bench::thread_counts("TANDEM_NUM_THREADS")) {
    auto pool = tandem::par::pool::builder().num_threads(threads).build();
    pool.broadcast([] {});  // start every worker before timing
    const auto run = [&](const char* impl, auto sorter) {
      auto [st, sorted] = bench::measure_with_setup([&] { return input; },  // fresh copy, untimed
                                                    [&](std::vector<u64> b) {
                                                      pool.install([&] { sorter(b); });
                                                      return b;
                                                    });
      if (sorted.size() != n || !is_sorted(sorted)) {
        std::fprintf(stderr, "sort (%s): output not sorted\n", impl);
        std::exit(3);
      }
      bench::check("sort(multiset)", hash_set(sorted.data(), n), want_set);
      bench::report("sort", impl, threads, std::to_string(n), st,
                    {{"ns_per_elem", bench::fixed(st.median_ms * 1e6 / static_cast<double>(n), 3)},
                     {"checksum", std::to_string(hash_seq(sorted.data(), n))}});
    };
    run("tandem", [](std::vector<u64>& v) { tandem::par::sort(v); });
    run("tandem_stable", [](std::vector<u64>& v) { tandem::par::stable_sort(v); });
  }
}
