// Stress: the reactor under aborts, closes and timeouts racing readiness. Runs under TSan
// (and ASan) in CI, where a task woken through a freed node, a registration freed while
// an event for it is dispatched, or a lost wake shows up as a report, a crash or a hang.
//
// - Echo connections, 32 at a time on 4 workers: some clients are aborted mid-read or
//   mid-write, some server tasks are aborted mid-echo (closing their socket while the
//   client's data keeps arriving), some clients read through short timeouts. Every
//   connection nobody aborted must echo every byte intact.
// - Direct races: a byte arriving (a wake in flight) while the reading task is aborted;
//   room appearing for a blocked writer while it is aborted; timeouts firing while the
//   awaited byte arrives (no byte may be lost or duplicated).
// Both end with every task joined, no descriptor left open and nothing left registered.
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <exception>
#include <mutex>
#include <string>
#include <system_error>
#include <vector>

#include <gtest/gtest.h>

#include <tandem/combine.hpp>
#include <tandem/errors.hpp>
#include <tandem/net/tcp_listener.hpp>
#include <tandem/net/tcp_stream.hpp>
#include <tandem/runtime.hpp>
#include <tandem/spawn.hpp>
#include <tandem/sync/notify.hpp>
#include <tandem/time/sleep.hpp>
#include <tandem/time/timeout.hpp>

#include "support/loopback.hpp"
#include "support/process_resources.hpp"
#include "support/random.hpp"
#include "support/runtimes.hpp"
#include "support/sanitizers.hpp"
#include "support/sync_waiting.hpp"

namespace {

using namespace std::chrono_literals;
using tandem::join_handle;
using tandem::task;
using tandem::net::socket_address;
using tandem::net::tcp_listener;
using tandem::net::tcp_stream;
using test_support::registered_sockets;
using test_support::runtime_flavor;
using test_support::splitmix64;
using flavor = tandem::runtime::flavor;

constexpr auto generous = 60s;
constexpr std::size_t connections_per_wave = 32;
#ifdef TANDEM_TEST_SANITIZED
constexpr auto time_budget = 700ms;
#else
constexpr auto time_budget = 500ms;
#endif

class io_stress : public test_support::flavored_test {};

std::byte stream_byte(std::uint64_t connection, std::uint64_t index) {
  return static_cast<std::byte>(splitmix64(connection, index / 8) >> (8 * (index % 8)));
}

// ---------------------------------------------------------------------------------------
// Echo connections with aborts on both sides.

enum class fate : unsigned {
  plain,          // must echo everything; reads and writes in turn
  client_abort,   // the client task is aborted at a random moment
  short_timeouts, // must echo everything; every read is bounded by a short timeout
  server_abort,   // the server's task for it is aborted at a random moment
  split,          // must echo everything; a writer task and the reading task at once
};

fate fate_of(std::uint64_t id) {
  return static_cast<fate>(id % 5);
}

struct client_report {
  bool complete = false;
  bool corrupted = false;
  std::size_t verified = 0;
  int error = 0;
};

constexpr std::size_t rounds_per_connection = 6;

std::size_t round_size(std::uint64_t id, std::size_t round) {
  return 1 + splitmix64(id ^ 0xabcdef, round) % 12'000;
}

// Reads and checks `size` echoed bytes starting at stream offset `at`.
task<void> read_echo(const tcp_stream& stream, std::uint64_t id, std::size_t at, std::size_t size, bool short_timeouts,
                     client_report& report) {
  std::array<std::byte, 4096> buffer;
  std::size_t done = 0;
  std::uint64_t attempt = 0;
  while (done < size) {
    const std::size_t want = std::min(buffer.size(), size - done);
    std::size_t n = 0;
    if (short_timeouts) {
      try {
        n = co_await tandem::timeout(std::chrono::microseconds(splitmix64(id, ++attempt) % 400),
                                     stream.read(std::span(buffer.data(), want)));
      } catch (const tandem::timed_out&) {
        continue;  // nothing was consumed: read again
      }
    } else {
      n = co_await stream.read(std::span(buffer.data(), want));
    }
    if (n == 0) throw tandem::end_of_stream("echo ended early");
    for (std::size_t i = 0; i < n; ++i) {
      if (buffer[i] != stream_byte(id, at + done + i)) {
        report.corrupted = true;
        co_return;
      }
    }
    done += n;
    report.verified += n;
  }
}

task<client_report> echo_client(std::uint16_t port, std::uint64_t id) {
  client_report report;
  try {
    tcp_stream stream = co_await tcp_stream::connect(socket_address::loopback(port));
    stream.set_nodelay(true);  // no Nagle / delayed-ACK stalls: more rounds, more races
    const std::array<std::uint64_t, 1> hello{id};
    co_await stream.write_all(std::as_bytes(std::span(hello)));
    std::size_t total = 0;
    for (std::size_t round = 0; round < rounds_per_connection; ++round) total += round_size(id, round);
    std::vector<std::byte> bytes(total);
    for (std::size_t i = 0; i < total; ++i) bytes[i] = stream_byte(id, i);

    if (fate_of(id) == fate::split) {
      auto [reader, writer] = std::move(stream).into_split();
      auto writing = tandem::spawn([](tandem::net::tcp_write_half writer, const std::vector<std::byte>& bytes,
                                      std::uint64_t id) -> task<void> {
        std::size_t at = 0;
        for (std::size_t round = 0; round < rounds_per_connection; ++round) {
          const std::size_t size = round_size(id, round);
          co_await writer.write_all(std::span(bytes).subspan(at, size));
          at += size;
        }
      }(std::move(writer), bytes, id));
      std::array<std::byte, 4096> buffer;
      std::exception_ptr failure;
      try {
        while (report.verified < total && !report.corrupted) {
          const std::size_t n =
              co_await reader.read(std::span(buffer.data(), std::min(buffer.size(), total - report.verified)));
          if (n == 0) throw tandem::end_of_stream("echo ended early");
          for (std::size_t i = 0; i < n; ++i) {
            if (buffer[i] != bytes[report.verified + i]) report.corrupted = true;
          }
          report.verified += n;
        }
      } catch (...) {
        failure = std::current_exception();
      }
      // The writer uses `bytes` (in this frame): it must be over before we leave.
      if (failure || report.corrupted) writing.abort();
      co_await test_support::join_or_cancelled(std::move(writing), generous);
      if (failure) std::rethrow_exception(failure);
    } else {
      std::size_t at = 0;
      for (std::size_t round = 0; round < rounds_per_connection && !report.corrupted; ++round) {
        const std::size_t size = round_size(id, round);
        co_await stream.write_all(std::span(bytes).subspan(at, size));
        co_await read_echo(stream, id, at, size, fate_of(id) == fate::short_timeouts, report);
        at += size;
      }
    }
    report.complete = !report.corrupted && report.verified == total;
  } catch (const std::system_error& error) {
    report.error = error.code().value();
  } catch (const tandem::end_of_stream&) {
    report.error = -1;
  }
  co_return report;
}

task<void> echo_handler(tcp_stream stream) {
  try {
    stream.set_nodelay(true);
    co_await test_support::echo_until_end(stream);
  } catch (const std::system_error&) {
    // The client went away (aborted): this connection ends.
  }
}

struct server_state {
  std::mutex mutex;
  std::vector<join_handle<void>> tasks;  // handlers and their killers
  std::atomic<std::size_t> accepted{0};
};

task<void> accept_loop(const tcp_listener& listener, server_state& state) {
  for (;;) {
    tcp_stream stream = co_await listener.accept();
    std::array<std::uint64_t, 1> hello{};
    try {
      co_await tandem::timeout(generous, stream.read_exact(std::as_writable_bytes(std::span(hello))));
    } catch (const std::exception&) {
      continue;  // a client aborted before it said who it is
    }
    const std::uint64_t id = hello[0];
    state.accepted.fetch_add(1);
    auto handler = tandem::spawn(echo_handler(std::move(stream)));
    std::lock_guard guard(state.mutex);
    if (fate_of(id) == fate::server_abort) {
      state.tasks.push_back(tandem::spawn([](join_handle<void> victim, std::uint64_t id) -> task<void> {
        co_await tandem::sleep(std::chrono::microseconds(splitmix64(id, 99) % 3000));
        co_await test_support::abort_and_join(std::move(victim), generous);
      }(std::move(handler), id)));
    } else {
      state.tasks.push_back(std::move(handler));
    }
  }
}

struct echo_totals {
  std::size_t waves = 0;
  std::size_t must_complete = 0;
  std::size_t completed = 0;
  std::size_t corrupted = 0;
  std::size_t incomplete_unaborted = 0;
  std::size_t clients_cancelled = 0;
  std::size_t server_aborted_broken = 0;
  std::size_t descriptors_before = 0;
  std::size_t descriptors_after = 0;
  std::size_t registered_before = 0;
  std::size_t registered_after = 0;
  std::string first_problem;
};

TEST_P(io_stress, echo_connections_survive_aborts_on_both_sides) {
  const echo_totals totals = runtime_.block_on([]() -> task<echo_totals> {
    echo_totals totals;
    totals.descriptors_before = test_support::open_descriptor_count();
    totals.registered_before = registered_sockets();
    {
      auto listener = tcp_listener::bind(socket_address::loopback(0));
      const std::uint16_t port = listener.local_addr().port();
      server_state server;
      auto acceptor = tandem::spawn(accept_loop(listener, server));
      std::exception_ptr failure;
      try {
        const auto deadline = std::chrono::steady_clock::now() + time_budget;
        std::uint64_t next_id = 0;
        while (totals.waves < 2 || std::chrono::steady_clock::now() < deadline) {
          ++totals.waves;
          std::vector<join_handle<client_report>> clients;
          std::vector<std::uint64_t> ids;
          for (std::size_t i = 0; i < connections_per_wave; ++i) {
            ids.push_back(next_id);
            clients.push_back(tandem::spawn(echo_client(port, next_id++)));
          }
          std::vector<join_handle<void>> aborters;
          for (std::size_t i = 0; i < clients.size(); ++i) {
            if (fate_of(ids[i]) != fate::client_abort) continue;
            aborters.push_back(tandem::spawn([](const join_handle<client_report>& victim, std::uint64_t id) -> task<void> {
              co_await tandem::sleep(std::chrono::microseconds(splitmix64(id, 7) % 4000));
              victim.abort();
            }(clients[i], ids[i])));
          }
          for (auto& aborter : aborters) co_await tandem::timeout(generous, std::move(aborter));
          for (std::size_t i = 0; i < clients.size(); ++i) {
            const fate f = fate_of(ids[i]);
            const bool must_complete = f != fate::client_abort && f != fate::server_abort;
            totals.must_complete += must_complete ? 1 : 0;
            client_report report;
            try {
              report = co_await tandem::timeout(generous, std::move(clients[i]));
            } catch (const tandem::task_cancelled&) {
              ++totals.clients_cancelled;
              if (must_complete) {
                ++totals.incomplete_unaborted;
                if (totals.first_problem.empty()) totals.first_problem = "connection " + std::to_string(ids[i]) + " cancelled";
              }
              continue;
            }
            if (report.corrupted) {
              ++totals.corrupted;
              if (totals.first_problem.empty())
                totals.first_problem = "connection " + std::to_string(ids[i]) + " corrupted after " +
                                       std::to_string(report.verified) + " bytes";
            }
            if (report.complete) ++totals.completed;
            if (must_complete && !report.complete) {
              ++totals.incomplete_unaborted;
              if (totals.first_problem.empty())
                totals.first_problem = "connection " + std::to_string(ids[i]) + " (fate " +
                                       std::to_string(static_cast<unsigned>(f)) + ") incomplete: errno " +
                                       std::to_string(report.error) + " after " + std::to_string(report.verified) +
                                       " bytes";
            }
            if (f == fate::server_abort && !report.complete) ++totals.server_aborted_broken;
          }
        }
      } catch (...) {
        failure = std::current_exception();
      }
      // The accept loop refers to `listener` and `server`: it must be over before they go.
      co_await test_support::abort_and_join(std::move(acceptor), generous);
      // Every client is gone, so every handler ends (its read sees the end or an error).
      std::vector<join_handle<void>> tasks;
      {
        std::lock_guard guard(server.mutex);
        tasks.swap(server.tasks);
      }
      for (auto& handler : tasks) {
        if (failure) handler.abort();  // clients may still be connected: do not wait for them
        co_await test_support::join_or_cancelled(std::move(handler), generous);
      }
      if (failure) std::rethrow_exception(failure);
    }
    totals.descriptors_after = test_support::open_descriptor_count();
    totals.registered_after = registered_sockets();
    co_return totals;
  }());
  std::printf("%zu waves of %zu connections: %zu complete, %zu clients cancelled, %zu broken by server aborts\n",
              totals.waves, connections_per_wave, totals.completed, totals.clients_cancelled,
              totals.server_aborted_broken);
  EXPECT_EQ(totals.corrupted, 0u) << totals.first_problem;
  EXPECT_EQ(totals.incomplete_unaborted, 0u) << totals.first_problem;
  EXPECT_GE(totals.completed, totals.must_complete);
  EXPECT_EQ(totals.descriptors_after, totals.descriptors_before);
  EXPECT_EQ(totals.registered_after, totals.registered_before);
}

// ---------------------------------------------------------------------------------------
// Direct races between wakes in flight, aborts (closing the socket) and timeouts.

struct race_totals {
  std::size_t iterations = 0;
  std::size_t readers_cancelled = 0;
  std::size_t readers_finished = 0;
  std::size_t writers_cancelled = 0;
  std::size_t timeouts = 0;
  std::size_t lost_or_wrong = 0;
  std::size_t bad_reads = 0;
};

// One racer: repeatedly makes a pair, then races something against an abort or a timeout.
// Pairs come from one listener per racer (accept order is then the connect order).
task<race_totals> racer(std::uint64_t seed, std::chrono::steady_clock::time_point deadline) {
  race_totals totals;
  auto listener = tcp_listener::bind(socket_address::loopback(0));
  for (std::uint64_t iteration = 0; iteration < 3 || std::chrono::steady_clock::now() < deadline; ++iteration) {
    ++totals.iterations;
    const std::uint64_t r = splitmix64(seed, iteration);
    test_support::tcp_pair pair = co_await test_support::connect_pair(listener);
    switch (iteration % 3) {
      case 0: {
        // A byte arrives for a reader (its wake may be in flight) while it is aborted.
        tandem::notify started;
        auto reader = tandem::spawn([](tcp_stream stream, tandem::notify& started) -> task<std::size_t> {
          std::array<char, 8> buffer;
          started.notify_one();
          co_return co_await stream.read(buffer);
        }(std::move(pair.server), started));
        co_await tandem::timeout(generous, started.notified());
        if ((r & 1) != 0) co_await tandem::yield_now();
        co_await pair.client.write_all(std::string_view("x"));
        if ((r & 2) != 0) co_await tandem::yield_now();
        reader.abort();
        try {
          if (co_await tandem::timeout(generous, std::move(reader)) != 1) ++totals.bad_reads;
          ++totals.readers_finished;
        } catch (const tandem::task_cancelled&) {
          ++totals.readers_cancelled;
        }
        break;
      }
      case 1: {
        // Room appears for a blocked writer (the client reads) while it is aborted.
        tandem::notify started;
        auto writer = tandem::spawn([](tcp_stream stream, tandem::notify& started) -> task<void> {
          // More than loopback buffers hold while nobody reads; shared, read-only.
          static const std::vector<std::byte> lots(4 << 20, std::byte{0x77});
          started.notify_one();
          co_await stream.write_all(lots);
        }(std::move(pair.server), started));
        co_await tandem::timeout(generous, started.notified());
        std::array<std::byte, 65'536> sink;
        // Some bytes have been sent by the time the first read returns (it waits for them).
        (void)co_await tandem::timeout(generous, pair.client.read(sink));
        if ((r & 1) != 0) (void)co_await tandem::timeout(generous, pair.client.read(sink));
        const bool cancelled = co_await test_support::abort_and_join(std::move(writer), generous);
        if (cancelled) ++totals.writers_cancelled;
        break;
      }
      case 2: {
        // Reads through very short timeouts while the bytes trickle in: each byte must
        // come exactly once, in order, whichever of timer and readiness wins.
        constexpr int count = 12;
        auto reader = tandem::spawn([](tcp_stream stream, std::uint64_t seed) -> task<std::pair<int, std::size_t>> {
          int received = 0;
          std::size_t timeouts = 0;
          bool in_order = true;
          std::uint64_t attempt = 0;
          while (received < count) {
            std::array<char, 4> buffer;
            std::size_t n = 0;
            try {
              n = co_await tandem::timeout(std::chrono::microseconds(splitmix64(seed, ++attempt) % 200),
                                           stream.read(buffer));
            } catch (const tandem::timed_out&) {
              ++timeouts;
              continue;
            }
            if (n == 0) break;
            for (std::size_t i = 0; i < n; ++i) in_order = in_order && buffer[i] == static_cast<char>('a' + received++);
          }
          co_return std::pair{in_order ? received : -1, timeouts};
        }(std::move(pair.server), r));
        for (int i = 0; i < count; ++i) {
          const char byte = static_cast<char>('a' + i);
          co_await pair.client.write_all(std::string_view(&byte, 1));
          if (((r >> i) & 1) != 0) co_await tandem::yield_now();
          if (((r >> (i + 16)) & 3) == 0) co_await tandem::sleep(std::chrono::microseconds(100));
        }
        const auto [received, timeouts] = co_await tandem::timeout(generous, std::move(reader));
        totals.timeouts += timeouts;
        if (received != count) ++totals.lost_or_wrong;
        break;
      }
    }
  }
  co_return totals;
}

TEST_P(io_stress, wakes_in_flight_race_aborts_and_timeouts) {
  constexpr std::size_t racers = 32;
  struct outcome {
    race_totals totals;
    std::size_t descriptors_before = 0;
    std::size_t descriptors_after = 0;
    std::size_t registered_before = 0;
    std::size_t registered_after = 0;
  };
  const outcome result = runtime_.block_on([]() -> task<outcome> {
    outcome result;
    result.descriptors_before = test_support::open_descriptor_count();
    result.registered_before = registered_sockets();
    const auto deadline = std::chrono::steady_clock::now() + time_budget;
    std::vector<join_handle<race_totals>> handles;
    for (std::size_t i = 0; i < racers; ++i) handles.push_back(tandem::spawn(racer(i * 7919 + 1, deadline)));
    for (auto& handle : handles) {
      const race_totals t = co_await tandem::timeout(generous, std::move(handle));
      result.totals.iterations += t.iterations;
      result.totals.readers_cancelled += t.readers_cancelled;
      result.totals.readers_finished += t.readers_finished;
      result.totals.writers_cancelled += t.writers_cancelled;
      result.totals.timeouts += t.timeouts;
      result.totals.lost_or_wrong += t.lost_or_wrong;
      result.totals.bad_reads += t.bad_reads;
    }
    result.descriptors_after = test_support::open_descriptor_count();
    result.registered_after = registered_sockets();
    co_return result;
  }());
  const race_totals& t = result.totals;
  std::printf("%zu races: readers %zu cancelled / %zu finished, %zu writers cancelled, %zu timeouts fired\n",
              t.iterations, t.readers_cancelled, t.readers_finished, t.writers_cancelled, t.timeouts);
  EXPECT_EQ(t.lost_or_wrong, 0u) << "a timed-out read lost or duplicated bytes";
  EXPECT_EQ(t.bad_reads, 0u);
  EXPECT_EQ(result.descriptors_after, result.descriptors_before);
  EXPECT_EQ(result.registered_after, result.registered_before);
}

INSTANTIATE_TEST_SUITE_P(flavors, io_stress,
                         ::testing::Values(runtime_flavor{flavor::multi_thread, 4, "multi_thread_4"},
                                           runtime_flavor{flavor::current_thread, 1, "current_thread"}),
                         test_support::flavor_name);

}  // namespace
