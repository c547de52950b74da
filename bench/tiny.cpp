// tiny: par::iter(v).sum() over ANCHOR_TINY_SIZES (default 100, 1000, and 10000) uint64_t,
// ANCHOR_TINY_CALLS (default 100,000) calls in a row, from the main thread
// (impl=tandem) and from inside the pool (impl=tandem_in_pool), beside the plain loop
// (impl=seq). The promise: at most 1.5x the plain loop, with no hints.
#include <vector>

#include <tandem/par.hpp>

#include "support/data.hpp"
#include "support/harness.hpp"

int main() {
  const auto calls = static_cast<std::uint64_t>(bench::env_long("ANCHOR_TINY_CALLS", 100'000));
  const auto sizes = bench::env_list("ANCHOR_TINY_SIZES", "100 1000 10000");
  for (const std::size_t threads : bench::thread_counts("TANDEM_NUM_THREADS")) {
    auto pool = tandem::par::pool::builder().num_threads(threads).build();
    pool.broadcast([] {});
    for (const auto size : sizes) {
      std::vector<std::uint64_t> v(size);
      std::uint64_t one = 0;
      for (std::size_t i = 0; i < size; ++i) one += v[i] = bench::splitmix64(4, i) >> 32;
      const std::uint64_t want = one * calls;
      auto seq = [&] {
        std::uint64_t acc = 0;
        for (std::uint64_t c = 0; c < calls; ++c) {
          const std::uint64_t* data = bench::opaque(v.data());
          std::uint64_t total = 0;
          for (std::size_t i = 0; i < size; ++i) total += data[i];
          acc += total;
        }
        return acc;
      };
      auto par = [&] {
        std::uint64_t acc = 0;
        for (std::uint64_t c = 0; c < calls; ++c) acc += tandem::par::iter(*bench::opaque(&v)).sum();
        return acc;
      };
      auto line = [&](const char* impl, std::size_t t, auto&& f) {
        auto [st, got] = bench::measure(f);
        bench::check("tiny", got, want);
        bench::report("tiny", impl, t, std::to_string(size), st,
                      {{"calls", std::to_string(calls)},
                       {"ns_per_call", bench::fixed(st.median_ms * 1e6 / static_cast<double>(calls), 1)},
                       {"checksum", std::to_string(got)}});
      };
      if (threads == bench::thread_counts("TANDEM_NUM_THREADS").front()) line("seq", 1, seq);
      line("tandem", threads, par);
      line("tandem_in_pool", threads, [&] { return pool.install(par); });
    }
  }
}
