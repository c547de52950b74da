// The kitchen: the examples of the article "Concurrency and Parallelism in Rust: The Basics", in tandem.
// One chef juggling pots while the water boils is concurrency (the async runtime); many chefs chopping at
// the same moment is parallelism (par).
//
// Each section prints through a journal and returns what it measured: examples/kitchen/main.cpp runs them
// in order, tests/examples/kitchen_test.cpp runs each on its own and checks what is deterministic.
// docs/guide.md quotes the regions between `// [guide:<name>]` and `// [end guide:<name>]` word for word,
// and tests/examples/guide_test.cpp fails when the two drift apart, so edit both together.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <iomanip>
#include <mutex>
#include <numeric>
#include <optional>
#include <ostream>
#include <span>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <tandem/combine.hpp>
#include <tandem/par/compute.hpp>
#include <tandem/par/iter.hpp>
#include <tandem/par/pool.hpp>
#include <tandem/runtime.hpp>
#include <tandem/spawn.hpp>
#include <tandem/spawn_blocking.hpp>
#include <tandem/task.hpp>
#include <tandem/time/sleep.hpp>

namespace kitchen {

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

// What the article's heavy task computes: the sum of i / 1000 for every i below a million.
inline constexpr std::uint64_t heavy_result = 499'500'000;

inline std::chrono::milliseconds since(steady::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() - start);
}

inline std::string with_decimals(double value, int decimals) {
  std::ostringstream text;
  text << std::fixed << std::setprecision(decimals) << value;
  return text.str();
}

// Prints lines from any thread, each stamped with the milliseconds since its section began, so the
// output shows which pots waited together and which waited in line.
class journal {
 public:
  explicit journal(std::ostream& out) : out_(out) {}

  // A section's heading; the stamps of its lines count from here.
  void section(std::string_view heading) {
    std::lock_guard lock(mutex_);
    out_ << '\n' << heading << '\n';
    start_ = steady::now();
  }

  // One stamped line: `parts` streamed one after another.
  template <class... Parts>
  void say(const Parts&... parts) {
    std::ostringstream line;
    (line << ... << parts);
    std::lock_guard lock(mutex_);
    out_ << "  [" << std::setw(4) << since(start_).count() << " ms] " << line.str() << '\n';
    // Each line shows when it happened, also when the output goes through a pipe.
    out_.flush();
  }

  // A line without a stamp: what the section showed.
  template <class... Parts>
  void note(const Parts&... parts) {
    std::ostringstream line;
    (line << ... << parts);
    std::lock_guard lock(mutex_);
    out_ << "  -> " << line.str() << '\n';
    out_.flush();
  }

 private:
  std::ostream& out_;
  std::mutex mutex_;
  steady::time_point start_ = steady::now();
};

// [guide:heavy]
// The article's CPU-bound job: a million divisions, and no waiting anywhere.
inline std::uint64_t heavy_sum() {
  std::uint64_t result = 0;
  for (std::uint64_t i = 0; i < 1'000'000; ++i) result += i / 1000;
  return result;
}

inline std::uint64_t run_heavy_task(journal& out) {
  const std::uint64_t result = heavy_sum();
  out.say("computation result: ", result);
  return result;
}
// [end guide:heavy]

// CPU work for `length` of wall-clock time, whatever the build's speed: it stands for a long computation,
// and the time it takes must not depend on optimization or sanitizers.
inline std::uint64_t chop_for(std::chrono::milliseconds length) {
  std::uint64_t batches = 0;
  for (const auto until = steady::now() + length; steady::now() < until;)
    batches += heavy_sum() / heavy_result;
  return batches;
}

// 1. Concurrency in one task -------------------------------------------------------------------------

// [guide:join]
inline tandem::task<> run_task(journal& out, char name) {
  out.say("task ", name, " start");
  co_await tandem::sleep(100ms);  // the water boils: the worker tends the other pots meanwhile
  out.say("task ", name, " end");
}

inline tandem::task<> three_pots(journal& out) {
  co_await tandem::join(run_task(out, 'A'), run_task(out, 'B'), run_task(out, 'C'));
}
// [end guide:join]

// Returns how long the three 100 ms waits took together.
inline std::chrono::milliseconds one_chef_three_pots(tandem::runtime& runtime, journal& out) {
  out.section("== 1. One chef, three pots: concurrency in one task (tandem::join) ==");
  const auto start = steady::now();
  runtime.block_on(three_pots(out));
  const auto took = since(start);
  out.note("three 100 ms waits took ", took.count(), " ms together, not 300: while one pot boils, the chef",
           " tends the next");
  return took;
}

// 2. The same pots as tasks of their own ------------------------------------------------------------

// [guide:spawn]
inline tandem::task<> three_spawned_pots(journal& out) {
  auto a = tandem::spawn(run_task(out, 'A'));  // each runs at once, on any worker
  auto b = tandem::spawn(run_task(out, 'B'));
  auto c = tandem::spawn(run_task(out, 'C'));
  co_await tandem::join(std::move(a), std::move(b), std::move(c));
}
// [end guide:spawn]

// Returns how long the three spawned 100 ms waits took together.
inline std::chrono::milliseconds pots_spawned(tandem::runtime& runtime, journal& out) {
  out.section("== 2. Three pots handed out: each a task of its own (tandem::spawn) ==");
  const auto start = steady::now();
  runtime.block_on(three_spawned_pots(out));
  const auto took = since(start);
  out.note("together in ", took.count(), " ms again; spawned tasks may also run on ", runtime.num_workers(),
           " workers at once, where join keeps its branches on one");
  return took;
}

// 3. The mistake: CPU work with no await point ------------------------------------------------------

// [guide:mistake]
inline tandem::task<> chop_without_looking_up(journal& out) {
  out.say("chopping starts: 300 ms of CPU work with no co_await in it");
  const std::uint64_t batches = chop_for(300ms);  // this worker runs nothing else meanwhile
  out.say("chopping ends after ", batches, " batches");
  co_return;  // makes this a task; with no co_await, once it starts it keeps its worker to the end
}

inline tandem::task<std::chrono::milliseconds> pots_beside_the_chopping(journal& out) {
  const auto start = steady::now();
  auto a = tandem::spawn(run_task(out, 'A'));
  auto b = tandem::spawn(run_task(out, 'B'));
  auto c = tandem::spawn(run_task(out, 'C'));
  co_await tandem::yield_now();  // the pots go on the stove first
  auto chopping = tandem::spawn(chop_without_looking_up(out));
  co_await tandem::join(std::move(a), std::move(b), std::move(c));
  const auto late = since(start) - 100ms;
  co_await chopping;
  co_return late;
}
// [end guide:mistake]

// Returns how late the 100 ms waits ended.
inline std::chrono::milliseconds chef_who_never_looks_up(journal& out) {
  out.section("== 3. The mistake: a chef who never looks up from the chopping board (one worker) ==");
  // [guide:one_worker]
  tandem::runtime one_worker = tandem::runtime::builder().worker_threads(1).build();
  const std::chrono::milliseconds late = one_worker.block_on(pots_beside_the_chopping(out));
  // [end guide:one_worker]
  out.note("the 100 ms waits ended ", late.count(), " ms late: their timers were due, but the only worker",
           " was chopping and never reached an await point");
  return late;
}

// 4. The fix: the blocking pool ----------------------------------------------------------------------

// [guide:spawn_blocking]
inline tandem::task<std::chrono::milliseconds> pots_and_a_kitchen_hand(journal& out) {
  const auto start = steady::now();
  auto chopping = tandem::spawn_blocking([] { return chop_for(300ms); });  // section 3's chopping
  auto heavy = tandem::spawn_blocking([&out] { return run_heavy_task(out); });
  auto a = tandem::spawn(run_task(out, 'A'));
  auto b = tandem::spawn(run_task(out, 'B'));
  auto c = tandem::spawn(run_task(out, 'C'));
  co_await tandem::join(std::move(heavy), std::move(a), std::move(b), std::move(c));
  const auto late = since(start) - 100ms;
  const std::uint64_t batches = co_await chopping;
  out.say("the blocking pool chopped ", batches, " batches");
  co_return late;
}
// [end guide:spawn_blocking]

// Returns how late the 100 ms waits ended.
inline std::chrono::milliseconds kitchen_hand_takes_the_chopping(journal& out) {
  out.section("== 4. The fix: a kitchen hand takes the chopping (tandem::spawn_blocking, one worker) ==");
  tandem::runtime one_worker = tandem::runtime::builder().worker_threads(1).build();
  const std::chrono::milliseconds late = one_worker.block_on(pots_and_a_kitchen_hand(out));
  out.note("the same single worker, and the waits ended ", late.count(), " ms late: the CPU work ran on",
           " threads of the blocking pool while the worker kept tending the pots");
  return late;
}

// 5. Parallelism: many chefs chopping at once --------------------------------------------------------

// Returns the results in input order.
inline std::vector<std::uint64_t> many_chefs_chopping(journal& out) {
  out.section("== 5. Many chefs chopping at once: parallelism (tandem::par::iter) ==");
  std::vector<std::optional<std::size_t>> ran_on(5);
  // [guide:par_iter]
  auto chop = [&](int task) {
    ran_on[task - 1] = tandem::par::current_thread_index();
    return run_heavy_task(out);
  };
  std::vector<std::uint64_t> results = tandem::par::iter({1, 2, 3, 4, 5}).map(chop).collect<std::vector>();
  // [end guide:par_iter]
  std::ostringstream listed;
  for (std::size_t i = 0; i < results.size(); ++i) listed << (i == 0 ? "" : ", ") << results[i];
  out.say("results: [", listed.str(), "]");
  std::ostringstream where;
  for (std::size_t i = 0; i < ran_on.size(); ++i) {
    where << (i == 0 ? "" : ", ") << "task " << i + 1 << " on ";
    if (ran_on[i]) {
      where << "par thread " << *ran_on[i];
    } else {
      where << "the calling thread";
    }
  }
  out.note(where.str());
  out.note("the par pool has ", tandem::par::current_num_threads(), " threads, one per core; idle threads",
           " steal the tasks not yet started, and collect keeps the input order");
  return results;
}

// 6. The article's real-world case in small: an image service ----------------------------------------

// A grayscale picture, stored row after row.
struct picture {
  std::size_t width = 0;
  std::size_t height = 0;
  std::vector<std::uint8_t> pixels;
};

inline picture test_card(std::size_t width, std::size_t height) {
  picture card{width, height, std::vector<std::uint8_t>(width * height)};
  for (std::size_t y = 0; y < height; ++y) {
    for (std::size_t x = 0; x < width; ++x)
      card.pixels[y * width + x] = static_cast<std::uint8_t>(x * 7 ^ y * 13);
  }
  return card;
}

// Passes of a three-pixel blur along one row. Each pixel takes its already blurred left neighbour, so a
// row is worked through in order; rows do not depend on each other, so each may go to a different core.
inline void soften_row(std::span<std::uint8_t> row) {
  for (int pass = 0; pass < 64; ++pass) {
    for (std::size_t x = 1; x + 1 < row.size(); ++x) {
      row[x] = static_cast<std::uint8_t>((row[x - 1] + 2 * row[x] + row[x + 1]) / 4);
    }
  }
}

// Softens every row on the par pool; returns the sum of the pixels, to compare with a sequential run.
inline std::uint64_t soften(picture& image) {
  tandem::par::iter(image.pixels).chunks(image.width).for_each([](std::span<std::uint8_t> row) {
    soften_row(row);
  });
  return tandem::par::iter(image.pixels).map([](std::uint8_t pixel) { return std::uint64_t{pixel}; }).sum();
}

struct desk_log {
  int calls_answered = 0;
  std::chrono::milliseconds longest_wait{0};
};

struct service_report {
  std::uint64_t checksum = 0;
  desk_log desk;
};

// [guide:compute]
inline tandem::task<std::uint64_t> develop(journal& out, picture& image, bool& kitchen_busy) {
  out.say("the rows go to the par pool");
  const std::uint64_t checksum = co_await tandem::par::compute([&image] { return soften(image); });
  out.say("every row is done, checksum ", checksum);
  kitchen_busy = false;
  co_return checksum;
}

inline tandem::task<desk_log> front_desk(journal& out, const bool& kitchen_busy) {
  desk_log log;
  auto last = steady::now();
  while (kitchen_busy) {
    co_await tandem::sleep(10ms);  // a customer calls every 10 ms
    log.longest_wait = std::max(log.longest_wait, since(last));
    last = steady::now();
    if (++log.calls_answered % 5 == 0) out.say("front desk: ", log.calls_answered, " calls answered");
  }
  co_return log;
}

inline tandem::task<service_report> image_service(journal& out, picture& image) {
  // Both branches of one join run on one thread, one at a time: they share this flag without a lock.
  bool kitchen_busy = true;
  auto [checksum, desk] =
      co_await tandem::join(develop(out, image, kitchen_busy), front_desk(out, kitchen_busy));
  co_return service_report{checksum, desk};
}
// [end guide:compute]

// The size of section 6's picture.
inline constexpr std::size_t picture_width = 1024;
inline constexpr std::size_t picture_height = 1024;

inline service_report front_desk_and_back_kitchen(tandem::runtime& runtime, journal& out) {
  out.section(
      "== 6. The image service: rows on every core while the front desk answers (tandem::par::compute) ==");
  picture image = test_card(picture_width, picture_height);
  const service_report report = runtime.block_on(image_service(out, image));
  out.note("the front desk answered ", report.desk.calls_answered, " calls, never waiting more than ",
           report.desk.longest_wait.count(), " ms, while ", image.height,
           " rows took every core of the par pool");
  return report;
}

// 7. When each tool pays, measured ------------------------------------------------------------------

// Tells the compiler the value is used and memory may have changed, so a timed loop is not folded away.
template <class T>
void keep(const T& value) {
  asm volatile("" : : "r,m"(value) : "memory");
}

template <class F>
double nanoseconds_per_call(int calls, F f) {
  const auto start = steady::now();
  for (int i = 0; i < calls; ++i) keep(f());
  return std::chrono::duration<double, std::nano>(steady::now() - start).count() / calls;
}

struct waiting_times {
  std::chrono::milliseconds spawned{0};
  std::chrono::milliseconds blocking{0};
  std::chrono::milliseconds parallel{0};
};

// [guide:waiting]
inline tandem::task<> wait_for_the_oven() {
  co_await tandem::sleep(50ms);
}

inline tandem::task<waiting_times> time_the_waiting(std::size_t jobs) {
  waiting_times times;

  auto start = steady::now();
  std::vector<tandem::join_handle<void>> tasks;
  for (std::size_t i = 0; i < jobs; ++i) tasks.push_back(tandem::spawn(wait_for_the_oven()));
  for (auto& task : tasks) co_await task;
  times.spawned = since(start);

  start = steady::now();
  std::vector<tandem::result_handle<void>> threads;
  for (std::size_t i = 0; i < jobs; ++i) {
    threads.push_back(tandem::spawn_blocking([] { std::this_thread::sleep_for(50ms); }));
  }
  for (auto& thread : threads) co_await thread;
  times.blocking = since(start);

  start = steady::now();
  co_await tandem::par::compute([jobs] {
    tandem::par::range(std::size_t{0}, jobs).for_each([](std::size_t) { std::this_thread::sleep_for(50ms); });
  });
  times.parallel = since(start);

  co_return times;
}
// [end guide:waiting]

struct advice_report {
  double tiny_loop_nanoseconds = 0;
  double tiny_par_nanoseconds = 0;
  double heavy_loop_nanoseconds = 0;
  double heavy_par_nanoseconds = 0;
  std::size_t waiting_jobs = 0;
  waiting_times waiting;
};

inline advice_report measured_advice(tandem::runtime& runtime, journal& out) {
  out.section("== 7. When each tool pays: the article's closing advice, measured ==");
  advice_report report;

  std::vector<std::uint64_t> numbers(1000);
  std::iota(numbers.begin(), numbers.end(), 1);
  // [guide:tiny]
  auto square = [](std::uint64_t x) { return x * x; };
  report.tiny_loop_nanoseconds = nanoseconds_per_call(5'000, [&] {
    std::uint64_t total = 0;
    for (std::uint64_t x : numbers) total += square(x);
    return total;
  });
  report.tiny_par_nanoseconds =
      nanoseconds_per_call(5'000, [&] { return tandem::par::iter(numbers).map(square).sum(); });
  // [end guide:tiny]
  out.say("1,000 squares summed: plain loop ", with_decimals(report.tiny_loop_nanoseconds / 1000, 2),
          " µs, par::iter ", with_decimals(report.tiny_par_nanoseconds / 1000, 2), " µs per call (",
          with_decimals(report.tiny_par_nanoseconds / report.tiny_loop_nanoseconds, 2), "x)");
  out.note("a loop this small is done before another thread could wake up: sharing it cannot gain");

  report.heavy_loop_nanoseconds = nanoseconds_per_call(5, [] {
    std::uint64_t total = 0;
    for (int task = 1; task <= 5; ++task) total += heavy_sum();
    return total;
  });
  report.heavy_par_nanoseconds = nanoseconds_per_call(5, [] {
    return tandem::par::iter({1, 2, 3, 4, 5}).map([](int) { return heavy_sum(); }).sum();
  });
  out.say("5 heavy tasks: plain loop ", with_decimals(report.heavy_loop_nanoseconds / 1e6, 2),
          " ms, par::iter ", with_decimals(report.heavy_par_nanoseconds / 1e6, 2), " ms on ",
          tandem::par::current_num_threads(), " threads (",
          with_decimals(report.heavy_par_nanoseconds / report.heavy_loop_nanoseconds, 2), "x)");
  out.note("a million divisions per item is worth sharing: the time falls toward the loop's divided by the",
           " number of free cores");

  report.waiting_jobs = 4 * tandem::par::current_num_threads();
  report.waiting = runtime.block_on(time_the_waiting(report.waiting_jobs));
  out.say(report.waiting_jobs, " jobs that wait 50 ms each: spawn ", report.waiting.spawned.count(),
          " ms, spawn_blocking ", report.waiting.blocking.count(), " ms, par ",
          report.waiting.parallel.count(), " ms");
  out.note(
      "waiting belongs on the async runtime: a sleeping task holds no thread; spawn_blocking holds a",
      " thread per job, and par a core per job: ", report.waiting_jobs / tandem::par::current_num_threads(),
      " rounds of 50 ms at least on ", tandem::par::current_num_threads(), " par threads");
  return report;
}

}  // namespace kitchen
