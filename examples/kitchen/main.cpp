// The kitchen: the article's examples in order, each section printing what the article shows with the
// time of every line (kitchen.hpp holds the sections, docs/guide.md explains them).
#include <algorithm>
#include <iostream>

#include <tandem/par/pool.hpp>
#include <tandem/runtime.hpp>

#include "kitchen.hpp"

int main() {
  kitchen::journal out(std::cout);
  tandem::runtime runtime;
  std::cout << "tandem's kitchen: " << runtime.num_workers() << " async workers, "
            << tandem::par::current_num_threads() << " par threads\n";

  kitchen::one_chef_three_pots(runtime, out);
  kitchen::pots_spawned(runtime, out);
  kitchen::chef_who_never_looks_up(out);
  kitchen::kitchen_hand_takes_the_chopping(out);
  const auto results = kitchen::many_chefs_chopping(out);
  kitchen::front_desk_and_back_kitchen(runtime, out);
  kitchen::measured_advice(runtime, out);

  const bool all_right =
      std::ranges::all_of(results, [](std::uint64_t result) { return result == kitchen::heavy_result; });
  return all_right ? 0 : 1;
}
