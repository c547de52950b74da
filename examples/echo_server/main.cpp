// A TCP echo server: every connection gets back what it sends. It shuts down cleanly on
// Ctrl-C (SIGINT).
//
//   echo_server [--port N]      N = 0 (the default) picks a free port
//
// Prints `listening port=N impl=tandem threads=T` once it accepts (the load client of
// the benchmarks reads the port from it). Workers: TANDEM_WORKER_THREADS, else one per core.
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <system_error>

#include <tandem/tandem.hpp>

namespace net = tandem::net;

namespace {

tandem::task<void> serve(net::tcp_stream stream) {
  stream.set_nodelay(true);
  std::array<std::byte, 4096> buffer;
  try {
    for (;;) {
      const std::size_t n = co_await stream.read(buffer);
      if (n == 0) co_return;  // the client closed its side
      co_await stream.write_all(std::span(buffer.data(), n));
    }
  } catch (const std::system_error&) {
    // A reset connection ends its own task only.
  }
}

// Out of descriptors (EMFILE / ENFILE), the connection waits in the queue: accepting
// again at once would fail again at once, so give the open ones time to close.
bool out_of_descriptors(const std::system_error& error) {
  return error.code().value() == EMFILE || error.code().value() == ENFILE;
}

tandem::task<void> accept_connections(const net::tcp_listener& listener) {
  for (;;) {
    bool back_off = false;
    try {
      tandem::spawn(serve(co_await listener.accept())).detach();
    } catch (const std::system_error& error) {
      std::fprintf(stderr, "echo_server: %s\n", error.what());
      back_off = out_of_descriptors(error);
    }
    if (back_off) co_await tandem::sleep(std::chrono::milliseconds(100));
  }
}

tandem::task<int> run_server(std::uint16_t port, std::size_t workers) {
  const auto listener = net::tcp_listener::bind(net::socket_address::loopback(port));
  std::printf("listening port=%u impl=tandem threads=%zu\n", listener.local_addr().port(), workers);
  std::fflush(stdout);
  co_await tandem::select(accept_connections(listener), tandem::signal::ctrl_c());
  std::printf("echo_server: interrupted, shutting down\n");
  co_return 0;
}

std::uint16_t parse_port(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view argument = argv[i];
    if (argument == "--port" && i + 1 < argc) return static_cast<std::uint16_t>(std::stoul(argv[++i]));
    if (argument != "--port") {
      std::fprintf(stderr, "usage: echo_server [--port N]\n");
      std::exit(2);
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::uint16_t port = parse_port(argc, argv);
  tandem::runtime runtime;
  return runtime.block_on(run_server(port, runtime.num_workers()));
}
