// mpsc_fan_in: 8 producer tasks send 10,000,000 messages in all (1,250,000 each) into one
// bounded mpsc channel (capacity TANDEM_FAN_IN_CAP, default 1024) drained by one
// consumer task that sums them. checksum = sum of 0..n-1. tokio has no anchor for this
// workload: it is reported beside ping_pong (docs/benchmarks.md).
// Workers: TANDEM_WORKER_THREADS, else 1 and all cores. Size: TANDEM_FAN_IN_N.
#include <cstdint>
#include <vector>

#include <tandem/runtime.hpp>
#include <tandem/sync/mpsc.hpp>

#include "support/harness.hpp"

namespace {

constexpr std::uint64_t producers = 8;

tandem::task<void> produce(tandem::mpsc::sender<std::uint64_t> tx, std::uint64_t first, std::uint64_t count) {
  for (std::uint64_t i = first; i < first + count; ++i) co_await tx.send(i);
}

tandem::task<std::uint64_t> consume(tandem::mpsc::receiver<std::uint64_t> rx) {
  std::uint64_t sum = 0;
  while (auto x = co_await rx.recv()) sum += *x;
  co_return sum;
}

tandem::task<std::uint64_t> fan_in(std::uint64_t n, std::size_t capacity) {
  auto [tx, rx] = tandem::mpsc::channel<std::uint64_t>(capacity);
  auto consumer = tandem::spawn(consume(std::move(rx)));
  const std::uint64_t each = n / producers;
  std::vector<tandem::join_handle<void>> handles;
  for (std::uint64_t p = 0; p < producers; ++p) handles.push_back(tandem::spawn(produce(tx, p * each, each)));
  { auto last = std::move(tx); }  // only the producers' copies keep the channel open
  for (auto& h : handles) co_await h;
  co_return co_await consumer;
}

}  // namespace

int main() {
  const auto n = static_cast<std::uint64_t>(bench::env_long("TANDEM_FAN_IN_N", 10'000'000)) / producers * producers;
  const auto capacity = static_cast<std::size_t>(bench::env_long("TANDEM_FAN_IN_CAP", 1024));
  const std::uint64_t want = n * (n - 1) / 2;
  for (const std::size_t workers : bench::thread_counts("TANDEM_WORKER_THREADS")) {
    auto rt = tandem::runtime::builder().worker_threads(workers).build();
    auto [st, got] = bench::measure([&] { return rt.block_on(fan_in(n, capacity)); });
    bench::check("mpsc_fan_in", got, want);
    bench::report("mpsc_fan_in", "tandem", workers, std::to_string(n), st,
                  {{"producers", std::to_string(producers)},
                   {"capacity", std::to_string(capacity)},
                   {"ns_per_message", bench::fixed(st.median_ms * 1e6 / static_cast<double>(n), 1)},
                   {"checksum", std::to_string(got)}});
  }
}
