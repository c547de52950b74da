// chained_spawn: each task spawns the next (dropping its handle) 1,000,000 deep; the
// last one sends the depth over a oneshot to the main task; tokio's `chained_spawn`
// anchor. Workers: TANDEM_WORKER_THREADS, else 1 and all cores.
#include <tandem/runtime.hpp>
#include <tandem/sync/oneshot.hpp>

#include "support/harness.hpp"

namespace {

tandem::task<> chain(tandem::oneshot_sender<unsigned long long> done,
                     unsigned long long remaining,
                     unsigned long long depth) {
  if (remaining == 0) {
    done.send(depth);
  } else {
    tandem::spawn(chain(std::move(done), remaining - 1, depth + 1)).detach();
  }
  co_return;
}

tandem::task<unsigned long long> chained(unsigned long long n) {
  auto [tx, rx] = tandem::oneshot<unsigned long long>();
  tandem::spawn(chain(std::move(tx), n, 0)).detach();
  co_return co_await rx;
}

}  // namespace

int main() {
  const auto n = static_cast<unsigned long long>(bench::env_long("ANCHOR_CHAIN_N", 1'000'000));
  for (const std::size_t workers : bench::thread_counts("TANDEM_WORKER_THREADS")) {
    auto rt = tandem::runtime::builder().worker_threads(workers).build();
    auto [st, got] = bench::measure([&] { return rt.block_on(chained(n)); });
    bench::check("chained_spawn", got, n);
    bench::report("chained_spawn", "tandem", workers, std::to_string(n), st,
                  {{"ns_per_task", bench::fixed(st.median_ms * 1e6 / static_cast<double>(n), 1)},
                   {"checksum", std::to_string(got)}});
  }
}
