// The anchors' input generator, map function and checksums (same values, so results
// and checksums line up with ../shared/anchors).
#pragma once

#include <cstddef>
#include <cstdint>

namespace bench {

inline std::uint64_t splitmix64(std::uint64_t seed, std::uint64_t i) {
  std::uint64_t z = seed + (i + 1) * 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// murmur3's fmix64: the "cheap but not trivial" map function.
inline std::uint64_t mix(std::uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ull;
  x ^= x >> 33;
  return x;
}

// Order-sensitive checksum of a sequence.
inline std::uint64_t hash_seq(const std::uint64_t* v, std::size_t n) {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (std::size_t i = 0; i < n; ++i) {
    h = (h ^ v[i]) * 0x00000100000001b3ull;
    h ^= h >> 29;
  }
  return h;
}

// Order-insensitive checksum of a multiset.
inline std::uint64_t hash_set(const std::uint64_t* v, std::size_t n) {
  std::uint64_t a = 0;
  for (std::size_t i = 0; i < n; ++i) a += mix(v[i]);
  return a;
}

}  // namespace bench
