// suspended_tasks: memory per suspended task. 1,000,000 spawned tasks each wait on their
// own oneshot; when all are suspended the main task sends every value and awaits every
// handle. bytes_per_task = (peak RSS of the first repetition - RSS before) / count,
// measured as the anchors' `timers` run measures tokio (there each task sleeps 100 ms).
// Workers: TANDEM_WORKER_THREADS, else 1 and all cores.
#include <vector>

#include <tandem/runtime.hpp>
#include <tandem/sync/oneshot.hpp>

#include "support/harness.hpp"

namespace {

tandem::task<unsigned long long> wait_for(tandem::oneshot_receiver<unsigned long long> rx) {
  co_return co_await rx;
}

tandem::task<unsigned long long> suspend_many(unsigned long long n) {
  std::vector<tandem::oneshot_sender<unsigned long long>> senders;
  std::vector<tandem::join_handle<unsigned long long>> handles;
  senders.reserve(n);
  handles.reserve(n);
  for (unsigned long long i = 0; i < n; ++i) {
    auto [tx, rx] = tandem::oneshot<unsigned long long>();
    senders.push_back(std::move(tx));
    handles.push_back(tandem::spawn(wait_for(std::move(rx))));
  }
  for (int i = 0; i < 4; ++i) co_await tandem::yield_now();  // let every task reach its wait
  for (auto& tx : senders) tx.send(1);
  unsigned long long done = 0;
  for (auto& h : handles) done += co_await h;
  co_return done;
}

}  // namespace

int main() {
  const auto n = static_cast<unsigned long long>(bench::env_long("ANCHOR_TIMERS_N", 1'000'000));
  for (const std::size_t workers : bench::thread_counts("TANDEM_WORKER_THREADS")) {
    auto rt = tandem::runtime::builder().worker_threads(workers).build();
    const unsigned long long rss_before = bench::proc_status_kib("VmRSS");
    unsigned long long first_peak = 0;
    auto [st, got] = bench::measure([&] {
      const unsigned long long done = rt.block_on(suspend_many(n));
      if (first_peak == 0) first_peak = bench::proc_status_kib("VmHWM");
      return done;
    });
    bench::check("suspended_tasks", got, n);
    const double bytes = static_cast<double>(first_peak - rss_before) * 1024.0 / static_cast<double>(n);
    bench::report("suspended_tasks", "tandem", workers, std::to_string(n), st,
                  {{"waiting_on", "oneshot"},
                   {"bytes_per_task", bench::fixed(bytes, 0)},
                   {"checksum", std::to_string(got)}});
  }
}
