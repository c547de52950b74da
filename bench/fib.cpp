// fib: fork-join overhead. fib(n) with a par::join at every level and no
// sequential cut-off, so nearly all the time is the cost of join itself.
// Sizes: ANCHOR_FIB_NS (default "30 35"); threads: TANDEM_NUM_THREADS, else 1 and all.
#include <tandem/par.hpp>

#include "support/harness.hpp"

namespace {

std::uint64_t fib_join(unsigned n) {
  if (n < 2) return n;
  auto [a, b] = tandem::par::join([n] { return fib_join(n - 1); }, [n] { return fib_join(n - 2); });
  return a + b;
}

std::uint64_t fib_reference(unsigned n) {
  std::uint64_t a = 0, b = 1;
  for (unsigned i = 0; i < n; ++i) {
    const std::uint64_t t = a + b;
    a = b;
    b = t;
  }
  return a;
}

// The naive recursion makes 2 fib(n+1) - 1 calls.
std::uint64_t calls(unsigned n) {
  return 2 * fib_reference(n + 1) - 1;
}

}  // namespace

int main() {
  const auto sizes = bench::env_list("ANCHOR_FIB_NS", "30 35");
  for (const std::size_t threads : bench::thread_counts("TANDEM_NUM_THREADS")) {
    auto pool = tandem::par::pool::builder().num_threads(threads).build();
    pool.broadcast([] {});  // start every worker before timing
    for (const auto size : sizes) {
      const auto n = static_cast<unsigned>(size);
      volatile unsigned opaque_n = n;
      auto [st, got] = bench::measure([&] { return pool.install([&] { return fib_join(opaque_n); }); });
      bench::check("fib", got, fib_reference(n));
      bench::report("fib", "tandem", threads, std::to_string(n), st,
                    {{"ns_per_call", bench::fixed(st.median_ms * 1e6 / static_cast<double>(calls(n)), 2)},
                     {"checksum", std::to_string(got)}});
    }
  }
}
