/// @file
/// The project's one pseudo-random generator: xoshiro256** seeded through splitmix64, so whatever draws
/// from it (the simulator's links and stacks, the impairment decorators, the tests' lossy pairs) is a pure
/// function of its seed. Each consumer takes its own stream (Rng(seed, stream)) so adding a draw in one
/// place does not shift every other one. Not for secrets: ISNs, SYN cookies and hash seeds come from
/// libsodium's keyed MACs and the OS CSPRNG.
#pragma once

#include <cstdint>

namespace synack {

/// An unsigned 128-bit integer (GCC/Clang extension), for below()'s multiply-shift.
__extension__ typedef unsigned __int128 Uint128;  // NOLINT(modernize-use-using): __extension__ needs typedef

/// splitmix64 (Steele, Lea, Flood 2014): one step of the generator, used to expand seeds.
[[nodiscard]] constexpr std::uint64_t splitmix64(std::uint64_t& state) noexcept {
  std::uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30U)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27U)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31U);
}

/// xoshiro256** (Blackman, Vigna 2018).
class Rng {
 public:
  /// The generator for `stream` of `seed`: the state is four splitmix64 outputs from seed ^ (stream × an odd
  /// constant), so streams of one seed are independent in practice.
  constexpr explicit Rng(std::uint64_t seed, std::uint64_t stream = 0) noexcept {
    std::uint64_t sm = seed ^ (stream * 0xD1B54A32D192ED03ULL);
    for (auto& word : s_) word = splitmix64(sm);
  }

  /// The next 64 random bits.
  constexpr std::uint64_t next() noexcept {
    const std::uint64_t result = rotl(s_[1] * 5U, 7) * 9U;
    const std::uint64_t t = s_[1] << 17U;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }
  /// Uniform in [0, 1) with 53 random bits.
  constexpr double uniform() noexcept { return static_cast<double>(next() >> 11U) * 0x1.0p-53; }
  /// True with probability p (p <= 0 never, p >= 1 always; one draw either way).
  constexpr bool chance(double p) noexcept {
    const double u = uniform();
    return u < p;
  }
  /// Uniform in [0, bound) (0 when bound is 0); Lemire's multiply-shift, bias < 2^-64 * bound.
  constexpr std::uint64_t below(std::uint64_t bound) noexcept {
    if (bound == 0) {
      (void)next();
      return 0;
    }
    return static_cast<std::uint64_t>((static_cast<Uint128>(next()) * bound) >> 64U);
  }

 private:
  static constexpr std::uint64_t rotl(std::uint64_t x, int k) noexcept {
    return (x << static_cast<unsigned>(k)) | (x >> static_cast<unsigned>(64 - k));
  }
  std::uint64_t s_[4]{};
};

}  // namespace synack
