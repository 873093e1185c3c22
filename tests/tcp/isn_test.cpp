// RFC 6528 ISNs: pinned by injected key and time; the statistical test shows consecutive ISNs to the
// same peer reveal nothing beyond the clock term.
#include "synack/tcp/isn.hpp"

#include <array>
#include <bit>
#include <cmath>
#include <cstring>
#include <vector>

#include <gtest/gtest.h>
#include <sodium.h>

namespace synack::tcp {
namespace {

IsnGenerator::Key test_key() {
  IsnGenerator::Key k{};
  for (std::size_t i = 0; i < k.size(); ++i) k[i] = static_cast<std::byte>(i + 1);
  return k;
}

wire::FourTuple tuple(std::uint16_t local_port, std::uint16_t remote_port = 443) {
  return {{wire::IpAddress::v4(0xC0000201U), local_port}, {wire::IpAddress::v4(0xC6336402U), remote_port}};
}

// Independent computation of F with libsodium over the documented input layout.
std::uint32_t expected_f(const IsnGenerator::Key& key, const wire::FourTuple& t) {
  std::array<unsigned char, 13> in{192, 0, 2, 1, 0, 0, 198, 51, 100, 2, 0, 0, 0};
  in[4] = static_cast<unsigned char>(t.local.port >> 8U);
  in[5] = static_cast<unsigned char>(t.local.port & 0xFFU);
  in[10] = static_cast<unsigned char>(t.remote.port >> 8U);
  in[11] = static_cast<unsigned char>(t.remote.port & 0xFFU);
  std::array<unsigned char, 8> out{};
  std::array<unsigned char, 16> k{};
  std::memcpy(k.data(), key.data(), 16);
  crypto_shorthash(out.data(), in.data(), in.size(), k.data());
  return static_cast<std::uint32_t>(out[0]) | (static_cast<std::uint32_t>(out[1]) << 8U) |
         (static_cast<std::uint32_t>(out[2]) << 16U) | (static_cast<std::uint32_t>(out[3]) << 24U);
}

TEST(Isn, PinnedByInjectedKeyAndTime) {
  const auto key = test_key();
  const IsnGenerator gen(key);
  const Instant t = Instant::from_nanoseconds(4'000'000);  // 1000 ticks of 4 us
  EXPECT_EQ(IsnGenerator::timer_term(t), 1000U);
  EXPECT_EQ(gen.secret_term(tuple(40000)), expected_f(key, tuple(40000)));
  EXPECT_EQ(gen.isn(t, tuple(40000)).raw(), 1000U + expected_f(key, tuple(40000)));
  // Same key and time, same ISN: reproducible without any test-only branch.
  EXPECT_EQ(IsnGenerator(key).isn(t, tuple(40000)), gen.isn(t, tuple(40000)));
}

TEST(Isn, ClockTermTicksEvery4Microseconds) {
  const IsnGenerator gen(test_key());
  const Instant t = Instant::from_nanoseconds(123'456'000);
  EXPECT_EQ(gen.isn(t + std::chrono::microseconds(4), tuple(1)) - gen.isn(t, tuple(1)), 1);
  EXPECT_EQ(gen.isn(t + std::chrono::microseconds(3), tuple(1)) - gen.isn(t, tuple(1)), 0);
  EXPECT_EQ(gen.isn(t + std::chrono::seconds(1), tuple(1)) - gen.isn(t, tuple(1)), 250'000);
}

TEST(Isn, KeyChangesF) {
  auto k2 = test_key();
  k2[0] = std::byte{0xFF};
  EXPECT_NE(IsnGenerator(test_key()).secret_term(tuple(1)), IsnGenerator(k2).secret_term(tuple(1)));
}

// Consecutive connections to the same peer (successive local ports, the clock term removed): the ISN
// differences must look uniform. Chi-square over the top 4 bits (16 cells) and each bit ~50 % set.
TEST(Isn, ConsecutiveIsnsRevealNothingBeyondClock) {
  const IsnGenerator gen(test_key());
  constexpr int kSamples = 20000;
  std::array<int, 16> cells{};
  std::array<int, 32> bit_counts{};
  Instant t = Instant::from_nanoseconds(1'000'000'000);
  wire::SeqNum prev = gen.isn(t, tuple(30000));
  for (int i = 1; i <= kSamples; ++i) {
    t += std::chrono::microseconds(40);  // connections 40 us apart: M advances by exactly 10
    const wire::SeqNum cur = gen.isn(t, tuple(static_cast<std::uint16_t>(30000 + i)));
    const std::uint32_t diff = cur.raw() - prev.raw() - 10U;  // remove the clock term
    ++cells[diff >> 28U];
    for (unsigned b = 0; b < 32; ++b) bit_counts[b] += static_cast<int>((diff >> b) & 1U);
    prev = cur;
  }
  double chi2 = 0;
  const double expected = kSamples / 16.0;
  for (int c : cells) chi2 += (c - expected) * (c - expected) / expected;
  EXPECT_LT(chi2, 37.7);  // 15 degrees of freedom, p = 0.001
  for (int b = 0; b < 32; ++b) {
    const double frac = bit_counts[static_cast<std::size_t>(b)] / static_cast<double>(kSamples);
    EXPECT_NEAR(frac, 0.5, 0.02) << "bit " << b;
  }
}

// Without the key, an observer who knows M learns nothing: the same tuple under two keys differs in
// about half the bits.
TEST(Isn, DifferentKeysUncorrelated) {
  int total_bits = 0;
  for (std::uint16_t p = 1; p <= 1000; ++p) {
    auto k2 = test_key();
    k2[15] = std::byte{0x80};
    total_bits += std::popcount(IsnGenerator(test_key()).secret_term(tuple(p)) ^
                                IsnGenerator(k2).secret_term(tuple(p)));
  }
  EXPECT_NEAR(total_bits / 1000.0, 16.0, 0.6);
}

// The hash is written out in isn.cpp: both halves of its output, for IPv4 and IPv6 tuples and many keys
// (every byte of an IPv4 address varied: the IPv4 blocks are built from the address words), must be what
// libsodium's SipHash-2-4 gives for the documented input layout.
TEST(Isn, TermsAreSipHash24OfTheTupleForBothFamilies) {
  for (unsigned seed = 0; seed < 64; ++seed) {
    IsnGenerator::Key key{};
    for (std::size_t i = 0; i < key.size(); ++i)
      key[i] = static_cast<std::byte>((std::size_t{seed} * 37U + i * 101U) & 0xFFU);
    const bool v6 = (seed & 1U) != 0;
    std::array<std::byte, 16> a{};
    std::array<std::byte, 16> b{};
    for (std::size_t i = 0; i < 16; ++i) {
      a[i] = static_cast<std::byte>((seed + i * 7U) & 0xFFU);
      b[i] = static_cast<std::byte>((std::size_t{seed} * 3U + i * 13U + 1U) & 0xFFU);
    }
    const auto lport = static_cast<std::uint16_t>(1000U + seed * 997U);
    const auto rport = static_cast<std::uint16_t>(443U + seed);
    const wire::FourTuple t =
        v6 ? wire::FourTuple{{wire::IpAddress::v6(a), lport}, {wire::IpAddress::v6(b), rport}}
           : wire::FourTuple{{wire::IpAddress::v4(0xC0000200U + seed * 0x01030507U), lport},
                             {wire::IpAddress::v4(0xC6336400U ^ (seed * 0x0B0D1113U)), rport}};
    std::vector<unsigned char> in;
    const auto put = [&](const wire::Endpoint& e) {
      for (std::byte x : e.address.bytes()) in.push_back(static_cast<unsigned char>(x));
      in.push_back(static_cast<unsigned char>(e.port >> 8U));
      in.push_back(static_cast<unsigned char>(e.port & 0xFFU));
    };
    put(t.local);
    put(t.remote);
    in.push_back(0);
    std::array<unsigned char, 8> out{};
    std::array<unsigned char, 16> k{};
    std::memcpy(k.data(), key.data(), 16);
    crypto_shorthash(out.data(), in.data(), in.size(), k.data());
    std::uint64_t want = 0;
    for (std::size_t i = 0; i < 8; ++i) want |= static_cast<std::uint64_t>(out[i]) << (8U * i);
    const auto got = IsnGenerator(key).terms(t);
    EXPECT_EQ(got.secret, static_cast<std::uint32_t>(want)) << "seed " << seed;
    EXPECT_EQ(got.ts_offset, static_cast<std::uint32_t>(want >> 32U)) << "seed " << seed;
  }
}

}  // namespace
}  // namespace synack::tcp
