// Smallest program a user of an installed tandem writes. Built twice by scripts/check-consumer: through
// find_package(tandem) and through `pkg-config --cflags --libs tandem`. Exit status 0 means it works.
#include <tandem/tandem.hpp>

int main() {
  auto [a, b] = tandem::par::join([] { return 1; }, [] { return 2; });
  return a + b == 3 ? 0 : 1;
}
