// The quick-start demo: par::join and par::scope at work, fib(35) computed
// sequentially and with a join at every level, with the time of each; then the async
// runtime: tasks spawned, joined, raced and collected as they finish.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <numeric>
#include <string>
#include <vector>

#include <tandem/tandem.hpp>

namespace par = tandem::par;

namespace {

std::uint64_t fib_sequential(unsigned n) {
  return n < 2 ? n : fib_sequential(n - 1) + fib_sequential(n - 2);
}

std::uint64_t fib_parallel(unsigned n) {
  if (n < 2) return n;
  auto [a, b] = par::join([n] { return fib_parallel(n - 1); }, [n] { return fib_parallel(n - 2); });
  return a + b;
}

tandem::task<std::string> cook(std::string dish, int steps) {
  for (int i = 0; i < steps; ++i) co_await tandem::yield_now();  // let the other pots boil
  co_return dish;
}

tandem::task<int> async_demo(std::size_t workers) {
  // join: three dishes in one task, interleaved (never in parallel with each other).
  auto [soup, rice, tea] = co_await tandem::join(cook("soup", 3), cook("rice", 1), cook("tea", 2));
  std::printf("tandem::join\n  %s, %s and %s are ready\n", soup.c_str(), rice.c_str(), tea.c_str());

  // select: the first to finish wins; the other is cancelled.
  auto first = co_await tandem::select(cook("slow roast", 1000), cook("salad", 1));
  std::printf("tandem::select\n  first ready: %s\n",
              first.index() == 1 ? std::get<1>(first).c_str() : "roast");

  // spawn + task_group: many tasks on every worker, collected as they finish.
  tandem::task_group<std::string> kitchen;
  for (int i = 0; i < 1000; ++i) kitchen.spawn(cook("plate " + std::to_string(i), i % 7));
  auto plates = co_await kitchen.join_all();
  std::printf("tandem::spawn / task_group\n  %zu plates served by %zu workers\n", plates.size(), workers);
  co_return static_cast<int>(plates.size());
}

template <class F>
double time_ms(F&& f) {
  const auto start = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

std::string where() {
  const auto index = par::current_thread_index();
  return index ? "worker " + std::to_string(*index) : std::string("outside the pool");
}

}  // namespace

int main() {
  std::printf("tandem par demo: %zu worker threads\n\n", par::current_num_threads());

  // join: two closures, possibly in parallel, both results back.
  auto [left, right] =
      par::join([] { return "left ran on " + where(); }, [] { return "right ran on " + where(); });
  std::printf("par::join\n  %s\n  %s\n\n", left.c_str(), right.c_str());

  // scope: spawned closures borrow `data` and `total` from this frame; the scope
  // returns only when all of them have finished.
  std::vector<std::uint64_t> data(1'000'000);
  std::iota(data.begin(), data.end(), 1);
  std::atomic<std::uint64_t> total{0};
  constexpr std::size_t pieces = 8;
  par::scope([&](par::scope& s) {
    for (std::size_t p = 0; p < pieces; ++p) {
      s.spawn([&, p] {
        const std::size_t chunk = data.size() / pieces;
        std::uint64_t sum = 0;
        for (std::size_t i = p * chunk; i < (p + 1) * chunk; ++i) sum += data[i];
        total.fetch_add(sum, std::memory_order_relaxed);
      });
    }
  });
  std::printf("par::scope\n  %zu spawned pieces summed 1..%zu = %llu (expected %llu)\n\n", pieces,
              data.size(), static_cast<unsigned long long>(total.load()),
              static_cast<unsigned long long>(data.size() * (data.size() + 1) / 2));

  // fib(35): the sequential recursion against a join at every level (no cut-off).
  constexpr unsigned n = 35;
  std::uint64_t seq = 0, parallel = 0;
  const double seq_ms = time_ms([&] { seq = fib_sequential(n); });
  const double par_ms = time_ms([&] { parallel = fib_parallel(n); });
  std::printf("fib(%u)\n  sequential:            %llu in %8.1f ms\n", n, static_cast<unsigned long long>(seq),
              seq_ms);
  std::printf("  par::join every level: %llu in %8.1f ms (%zu threads, %.1f ns per join)\n",
              static_cast<unsigned long long>(parallel), par_ms, par::current_num_threads(),
              par_ms * 1e6 / (static_cast<double>(seq) * 1.618));

  std::printf("\ntandem async demo\n");
  tandem::runtime rt;
  const int served = rt.block_on(async_demo(rt.num_workers()));
  return seq == parallel && total.load() == data.size() * (data.size() + 1) / 2 && served == 1000 ? 0 : 1;
}
