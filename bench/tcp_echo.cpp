// tcp_echo: the anchors' TCP echo workload. A tandem echo server on loopback and a
// closed-loop load client: 64 connections, each writes a 64-byte message, reads the whole
// echo back, checks it, and repeats. One line per thread count, in the anchors' format:
// median_ms / min_ms / max_ms are per-request round-trip latencies, rps the median of
// the measurement windows (1 s warm-up, then ANCHOR_TCP_WINDOWS windows of 1 s, default 5).
//
//   bench_tcp_echo            server and this client (TANDEM_WORKER_THREADS workers each,
//                             else 1 and every core)
//   bench_tcp_echo --serve    the server alone, for the anchors' client
//                             (scripts/compare-with-anchors tcp_echo): prints
//                             `listening port=N impl=tandem threads=T` and serves until killed
#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string_view>
#include <system_error>
#include <vector>

#include <tandem/tandem.hpp>

#include "support/harness.hpp"

namespace net = tandem::net;

namespace {

constexpr std::size_t connections = 64;
constexpr std::size_t message_size = 64;

tandem::task<void> serve(net::tcp_stream stream) {
  stream.set_nodelay(true);
  std::array<std::byte, 4096> buffer;
  try {
    for (;;) {
      const std::size_t n = co_await stream.read(buffer);
      if (n == 0) co_return;
      co_await stream.write_all(std::span(buffer.data(), n));
    }
  } catch (const std::system_error&) {
  }
}

tandem::task<void> accept_connections(const net::tcp_listener& listener) {
  for (;;) tandem::spawn(serve(co_await listener.accept())).detach();
}

struct load_state {
  std::atomic<bool> stop{false};
  std::atomic<bool> measuring{false};
  std::atomic<std::uint64_t> requests{0};
  std::atomic<std::uint64_t> corrupted{0};
};

// One connection's closed loop; returns its measured round-trip latencies (ns).
tandem::task<std::vector<std::uint32_t>> drive_connection(std::uint16_t port, std::size_t index, load_state& state) {
  net::tcp_stream stream = co_await net::tcp_stream::connect(net::socket_address::loopback(port));
  stream.set_nodelay(true);
  std::array<std::byte, message_size> out;
  std::array<std::byte, message_size> in;
  for (std::size_t i = 0; i < message_size; ++i) out[i] = static_cast<std::byte>(i * 31 + index);
  std::vector<std::uint32_t> latencies;
  latencies.reserve(1 << 16);
  for (std::uint64_t sequence = std::uint64_t{index} << 40; !state.stop.load(std::memory_order_relaxed); ++sequence) {
    std::memcpy(out.data(), &sequence, sizeof sequence);
    const auto start = std::chrono::steady_clock::now();
    co_await stream.write_all(out);
    co_await stream.read_exact(in);
    const auto took = std::chrono::steady_clock::now() - start;
    if (in != out) state.corrupted.fetch_add(1, std::memory_order_relaxed);
    if (state.measuring.load(std::memory_order_relaxed)) {
      latencies.push_back(static_cast<std::uint32_t>(
          std::min<std::int64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(took).count(), UINT32_MAX)));
      state.requests.fetch_add(1, std::memory_order_relaxed);
    }
  }
  co_return latencies;
}

struct load_result {
  std::vector<std::uint32_t> latencies;
  std::vector<double> window_rps;
  std::uint64_t corrupted = 0;
};

tandem::task<load_result> generate_load(std::uint16_t port, int windows) {
  load_state state;
  std::vector<tandem::join_handle<std::vector<std::uint32_t>>> clients;
  for (std::size_t i = 0; i < connections; ++i) clients.push_back(tandem::spawn(drive_connection(port, i, state)));
  co_await tandem::sleep(std::chrono::seconds(1));
  state.measuring.store(true);
  load_result result;
  for (int w = 0; w < windows; ++w) {
    const std::uint64_t before = state.requests.load();
    const auto start = std::chrono::steady_clock::now();
    co_await tandem::sleep(std::chrono::seconds(1));
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    result.window_rps.push_back(static_cast<double>(state.requests.load() - before) / seconds);
  }
  state.stop.store(true);
  for (auto& client : clients) {
    auto latencies = co_await client;
    result.latencies.insert(result.latencies.end(), latencies.begin(), latencies.end());
  }
  result.corrupted = state.corrupted.load();
  co_return result;
}

tandem::task<std::uint16_t> open_server(net::tcp_listener& listener) {
  listener = net::tcp_listener::bind(net::socket_address::loopback(0));
  tandem::spawn(accept_connections(listener)).detach();
  co_return listener.local_addr().port();
}

void report(std::size_t threads, load_result result) {
  std::sort(result.latencies.begin(), result.latencies.end());
  std::sort(result.window_rps.begin(), result.window_rps.end());
  const auto& l = result.latencies;
  const auto ms = [](std::uint32_t ns) { return static_cast<double>(ns) / 1e6; };
  const double median_rps = result.window_rps[result.window_rps.size() / 2];
  std::printf(
      "bench=tcp_echo impl=tandem threads=%zu size=%zuconns_x%zuB median_ms=%.4f min_ms=%.4f max_ms=%.4f "
      "ms_are=rtt_latency rps=%.0f rps_min=%.0f rps_max=%.0f requests=%zu client=tandem verified=%s\n",
      threads, connections, message_size, ms(l[l.size() / 2]), ms(l.front()), ms(l.back()), median_rps,
      result.window_rps.front(), result.window_rps.back(), l.size(), result.corrupted == 0 ? "all" : "FAILED");
  std::fflush(stdout);
}

void run_with_own_client(std::size_t threads) {
  const int windows = static_cast<int>(std::max(1L, bench::env_long("ANCHOR_TCP_WINDOWS", 5)));
  tandem::runtime server = tandem::runtime::builder().worker_threads(threads).build();
  net::tcp_listener listener;
  const std::uint16_t port = server.block_on(open_server(listener));
  tandem::runtime client = tandem::runtime::builder().worker_threads(threads).build();
  report(threads, client.block_on(generate_load(port, windows)));
  server.block_on([](net::tcp_listener& open) -> tandem::task<void> {
    open = net::tcp_listener();  // closed on the runtime that registered it
    co_return;
  }(listener));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && std::string_view(argv[1]) == "--serve") {
    tandem::runtime server;
    net::tcp_listener listener;
    const std::uint16_t port = server.block_on(open_server(listener));
    std::printf("listening port=%u impl=tandem threads=%zu\n", port, server.num_workers());
    std::fflush(stdout);
    server.block_on([]() -> tandem::task<void> { co_await tandem::signal::ctrl_c(); }());
    return 0;
  }
  for (std::size_t threads : bench::thread_counts("TANDEM_WORKER_THREADS")) run_with_own_client(threads);
}
