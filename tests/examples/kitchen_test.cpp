// examples/kitchen: the article's sections run in this process and checked where the outcome does not
// depend on how busy the machine is: the order of the lines, the results, and time bounds wide enough for
// sanitizer builds on two cores (a sleep never ends early, so lower bounds are exact).
#include "../../examples/kitchen/kitchen.hpp"

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include <tandem/runtime.hpp>

namespace {

using namespace std::chrono_literals;

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// The index of the first line that contains `needle`, or lines.size() when none does.
std::size_t find_line(const std::vector<std::string>& lines, std::string_view needle) {
  const auto found =
      std::ranges::find_if(lines, [&](const std::string& line) { return line.find(needle) != line.npos; });
  return static_cast<std::size_t>(found - lines.begin());
}

std::size_t count_lines(const std::vector<std::string>& lines, std::string_view needle) {
  return static_cast<std::size_t>(
      std::ranges::count_if(lines, [&](const std::string& line) { return line.find(needle) != line.npos; }));
}

struct pot_lines {
  std::size_t last_start = 0;
  std::size_t first_end = 0;
};

// Where the pots A, B and C started and ended; each must have printed both lines.
pot_lines find_pots(const std::vector<std::string>& lines) {
  pot_lines pots{0, lines.size()};
  for (const char name : {'A', 'B', 'C'}) {
    const std::size_t start = find_line(lines, std::string("task ") + name + " start");
    const std::size_t end = find_line(lines, std::string("task ") + name + " end");
    EXPECT_LT(start, lines.size()) << "no start line for task " << name;
    EXPECT_LT(end, lines.size()) << "no end line for task " << name;
    pots.last_start = std::max(pots.last_start, start);
    pots.first_end = std::min(pots.first_end, end);
  }
  return pots;
}

class Kitchen : public ::testing::Test {
 protected:
  std::vector<std::string> lines() const { return lines_of(printed_.str()); }

  // Three 100 ms pots that waited at once: each started before any ended, and all of them
  // took little more than one.
  void expect_pots_overlapped(std::chrono::milliseconds took, const char* why) const {
    const pot_lines pots = find_pots(lines());
    EXPECT_LT(pots.last_start, pots.first_end) << printed_.str();
    EXPECT_GE(took, 100ms);
    EXPECT_LT(took, 250ms) << why;
  }

  std::ostringstream printed_;
  kitchen::journal out_{printed_};
  tandem::runtime runtime_;
};

TEST_F(Kitchen, JoinWaitsForThreePotsAtOnce) {
  expect_pots_overlapped(kitchen::one_chef_three_pots(runtime_, out_),
                         "three 100 ms sleeps in one join must overlap");
}

TEST_F(Kitchen, SpawnedPotsWaitAtOnceToo) {
  expect_pots_overlapped(kitchen::pots_spawned(runtime_, out_), "three spawned 100 ms sleeps must overlap");
}

TEST_F(Kitchen, LoopWithoutAwaitDelaysTheOnlyWorker) {
  const auto late = kitchen::chef_who_never_looks_up(out_);
  const auto printed = lines();
  const pot_lines pots = find_pots(printed);
  // The pots are due 100 ms after they start; the worker is free again 300 ms after the chopping starts.
  EXPECT_GE(late, 190ms) << printed_.str();
  EXPECT_LT(find_line(printed, "chopping ends"), pots.first_end) << printed_.str();
}

TEST_F(Kitchen, BlockingPoolLeavesThePotsOnTime) {
  const auto late = kitchen::kitchen_hand_takes_the_chopping(out_);
  const auto printed = lines();
  const pot_lines pots = find_pots(printed);
  EXPECT_LT(pots.last_start, pots.first_end) << printed_.str();
  const std::size_t result = find_line(printed, "computation result: 499500000");
  EXPECT_LT(result, pots.first_end) << "the heavy task runs while the pots wait\n" << printed_.str();
  // Section 3's mistake makes them 200 ms late.
  EXPECT_LT(late, 150ms) << printed_.str();
}

TEST_F(Kitchen, ParallelResultsComeInInputOrder) {
  const std::vector<std::uint64_t> results = kitchen::many_chefs_chopping(out_);
  EXPECT_EQ(results, std::vector<std::uint64_t>(5, kitchen::heavy_result));
  const auto printed = lines();
  EXPECT_EQ(count_lines(printed, "computation result: 499500000"), 5u) << printed_.str();
  EXPECT_LT(find_line(printed, "results: [499500000, 499500000, 499500000, 499500000, 499500000]"),
            printed.size())
      << printed_.str();
}

TEST_F(Kitchen, FrontDeskAnswersWhileTheRowsAreProcessed) {
  const kitchen::service_report report = kitchen::front_desk_and_back_kitchen(runtime_, out_);

  kitchen::picture expected = kitchen::test_card(kitchen::picture_width, kitchen::picture_height);
  for (std::size_t y = 0; y < expected.height; ++y) {
    kitchen::soften_row(std::span(expected.pixels).subspan(y * expected.width, expected.width));
  }
  std::uint64_t checksum = 0;
  for (const std::uint8_t pixel : expected.pixels) checksum += pixel;
  EXPECT_EQ(report.checksum, checksum);

  // The desk starts while the rows are on the par pool and answers once before it looks again.
  EXPECT_GE(report.desk.calls_answered, 1);
  const auto printed = lines();
  EXPECT_LT(find_line(printed, "the rows go to the par pool"), find_line(printed, "every row is done"))
      << printed_.str();
}

TEST_F(Kitchen, WaitingOnParHoldsACorePerJob) {
  const kitchen::advice_report report = kitchen::measured_advice(runtime_, out_);
  EXPECT_GT(report.tiny_loop_nanoseconds, 0);
  EXPECT_GT(report.tiny_par_nanoseconds, 0);
  EXPECT_GT(report.heavy_loop_nanoseconds, 0);
  EXPECT_GT(report.heavy_par_nanoseconds, 0);
  EXPECT_EQ(report.waiting_jobs, 4 * tandem::par::current_num_threads());
  EXPECT_GE(report.waiting.spawned, 50ms);
  EXPECT_GE(report.waiting.blocking, 50ms);
  // Four jobs per par thread: some thread sleeps through at least four of them, one after another.
  EXPECT_GE(report.waiting.parallel, 200ms);
}

}  // namespace
