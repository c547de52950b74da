// ping_pong: 1,000,000 round trips between two tasks over two bounded mpsc channels of
// capacity ANCHOR_PINGPONG_CAP (default 1): the pinger sends i and awaits the reply, the
// ponger echoes (the anchors' tokio ping_pong). checksum = sum of the replies.
// Workers: TANDEM_WORKER_THREADS, else 1 and all cores. Size: ANCHOR_PINGPONG_N.
#include <cstdint>

#include <tandem/runtime.hpp>
#include <tandem/sync/mpsc.hpp>

#include "support/harness.hpp"

namespace {

tandem::task<void> ponger(tandem::mpsc::receiver<std::uint64_t> pings, tandem::mpsc::sender<std::uint64_t> pongs) {
  while (auto x = co_await pings.recv()) co_await pongs.send(*x);
}

tandem::task<std::uint64_t> pinger(tandem::mpsc::sender<std::uint64_t> pings,
                                   tandem::mpsc::receiver<std::uint64_t> pongs, std::uint64_t n) {
  std::uint64_t sum = 0;
  for (std::uint64_t i = 0; i < n; ++i) {
    co_await pings.send(i);
    sum += *co_await pongs.recv();
  }
  co_return sum;  // `pings` goes with this frame: the ponger sees the end
}

tandem::task<std::uint64_t> ping_pong(std::uint64_t n, std::size_t capacity) {
  auto [ping_tx, ping_rx] = tandem::mpsc::channel<std::uint64_t>(capacity);
  auto [pong_tx, pong_rx] = tandem::mpsc::channel<std::uint64_t>(capacity);
  auto echo = tandem::spawn(ponger(std::move(ping_rx), std::move(pong_tx)));
  auto main = tandem::spawn(pinger(std::move(ping_tx), std::move(pong_rx), n));
  const std::uint64_t sum = co_await main;
  co_await echo;
  co_return sum;
}

}  // namespace

int main() {
  const auto n = static_cast<std::uint64_t>(bench::env_long("ANCHOR_PINGPONG_N", 1'000'000));
  const auto capacity = static_cast<std::size_t>(bench::env_long("ANCHOR_PINGPONG_CAP", 1));
  const std::uint64_t want = n * (n - 1) / 2;
  for (const std::size_t workers : bench::thread_counts("TANDEM_WORKER_THREADS")) {
    auto rt = tandem::runtime::builder().worker_threads(workers).build();
    auto [st, got] = bench::measure([&] { return rt.block_on(ping_pong(n, capacity)); });
    bench::check("ping_pong", got, want);
    bench::report("ping_pong", "tandem", workers, std::to_string(n), st,
                  {{"capacity", std::to_string(capacity)},
                   {"ns_per_roundtrip", bench::fixed(st.median_ms * 1e6 / static_cast<double>(n), 1)},
                   {"checksum", std::to_string(got)}});
  }
}
