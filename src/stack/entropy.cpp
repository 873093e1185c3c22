// The OS CSPRNG, read here and nowhere in src/tcp or src/wire.
#include "synack/stack/entropy.hpp"

#include <cstdlib>

#include <sodium.h>

namespace synack::stack {

namespace {
void ensure_sodium() {
  if (sodium_init() < 0) std::abort();  // no usable randomness source: nothing safe to do
}
}  // namespace

std::array<std::byte, 16> random_isn_key() {
  ensure_sodium();
  std::array<std::byte, 16> key{};
  randombytes_buf(key.data(), key.size());
  return key;
}

std::uint64_t random_seed() {
  ensure_sodium();
  std::uint64_t seed = 0;
  randombytes_buf(&seed, sizeof seed);
  return seed;
}

}  // namespace synack::stack
