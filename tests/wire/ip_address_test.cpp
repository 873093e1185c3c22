#include "synack/wire/ip_address.hpp"

#include <array>
#include <unordered_set>
#include <vector>

#include <gtest/gtest.h>

namespace synack::wire {
namespace {

TEST(IpAddress, ParsesAndPrintsBothFamilies) {
  EXPECT_EQ(IpAddress::parse("192.0.2.1")->to_string(), "192.0.2.1");
  EXPECT_EQ(IpAddress::parse("2001:db8::1")->to_string(), "2001:db8::1");
  EXPECT_EQ(IpAddress::parse("[2001:db8::1]")->to_string(), "2001:db8::1");
  EXPECT_TRUE(IpAddress::parse("192.0.2.1")->is_v4());
  EXPECT_TRUE(IpAddress::parse("::1")->is_v6());
}

TEST(IpAddress, RejectsGarbage) {
  for (const char* bad : {"", "1.2.3", "256.0.0.1", "2001:db8::g", "[]", "192.0.2.1:80", "example.com"}) {
    EXPECT_FALSE(IpAddress::parse(bad)) << bad;
  }
}

TEST(IpAddress, V4FromHostOrder) {
  EXPECT_EQ(IpAddress::v4(0xC0000201U), *IpAddress::parse("192.0.2.1"));
}

TEST(IpAddress, FamiliesNeverCompareEqual) {
  EXPECT_NE(*IpAddress::parse("0.0.0.0"), *IpAddress::parse("::"));
}

TEST(Endpoint, FormatsIpv6WithBrackets) {
  EXPECT_EQ((Endpoint{*IpAddress::parse("192.0.2.1"), 80}.to_string()), "192.0.2.1:80");
  EXPECT_EQ((Endpoint{*IpAddress::parse("2001:db8::2"), 443}.to_string()), "[2001:db8::2]:443");
}

TEST(FourTuple, HashSpreadsNeighbouringPorts) {
  std::unordered_set<std::size_t> hashes;
  const auto a = *IpAddress::parse("192.0.2.1");
  const auto b = *IpAddress::parse("192.0.2.2");
  for (std::uint16_t port = 1000; port < 2000; ++port)
    hashes.insert(hash_value(FourTuple{{a, 80}, {b, port}}));
  EXPECT_EQ(hashes.size(), 1000U);
  EXPECT_NE(hash_value(FourTuple{{a, 80}, {b, 1}}, 1), hash_value(FourTuple{{a, 80}, {b, 1}}, 2));
}

// Equality is usable at compile time and looks at every byte and the family.
static_assert(IpAddress::v4(0xC0000201U) == IpAddress::v4(0xC0000201U));
static_assert(IpAddress::v4(0xC0000201U) != IpAddress::v4(0xC0000202U));
static_assert(IpAddress::v4(0) != IpAddress::v6({}));

TEST(IpAddress, EqualityDependsOnEveryByte) {
  std::array<std::byte, 16> base{};
  for (std::size_t i = 0; i < 16; ++i) base[i] = static_cast<std::byte>(0x20 + i);
  const IpAddress a = IpAddress::v6(base);
  for (std::size_t i = 0; i < 16; ++i) {
    for (const unsigned bit : {0U, 7U}) {
      auto changed = base;
      changed[i] ^= static_cast<std::byte>(1U << bit);
      EXPECT_NE(a, IpAddress::v6(changed)) << "byte " << i;
      EXPECT_NE((Endpoint{a, 80}), (Endpoint{IpAddress::v6(changed), 80}));
    }
  }
  EXPECT_EQ(a, IpAddress::v6(base));
  EXPECT_EQ((FourTuple{{a, 80}, {a, 81}}), (FourTuple{{IpAddress::v6(base), 80}, {a, 81}}));
  EXPECT_NE((FourTuple{{a, 80}, {a, 81}}), (FourTuple{{a, 81}, {a, 80}}));
}

// The flow table takes its home slot from the low bits: tuples that differ a little (neighbouring ports,
// neighbouring addresses, either family) must spread evenly over them.
void expect_low_bits_spread(const std::vector<FourTuple>& tuples, std::uint64_t seed) {
  constexpr std::size_t kBuckets = 256;
  std::array<std::size_t, kBuckets> count{};
  std::unordered_set<std::uint32_t> low32;
  for (const auto& t : tuples) {
    const std::size_t h = hash_value(t, seed);
    ++count[h % kBuckets];
    low32.insert(static_cast<std::uint32_t>(h));
  }
  const double expected = static_cast<double>(tuples.size()) / kBuckets;
  double chi2 = 0;
  for (const std::size_t c : count)
    chi2 += (static_cast<double>(c) - expected) * (static_cast<double>(c) - expected) / expected;
  // 255 degrees of freedom: the 99.9th percentile is about 330.
  EXPECT_LT(chi2, 330.0) << "seed " << seed;
  EXPECT_GE(low32.size() + 2, tuples.size()) << "seed " << seed;  // a 32-bit collision or two at most
}

TEST(FourTuple, HashLowBitsSpreadForNeighbouringTuples) {
  const auto local4 = *IpAddress::parse("192.0.2.1");
  const auto local6 = *IpAddress::parse("2001:db8::1");
  for (const std::uint64_t seed : {0ULL, 1ULL, 0xDEADBEEFCAFEF00DULL}) {
    std::vector<FourTuple> ports;
    std::vector<FourTuple> addresses4;
    std::vector<FourTuple> addresses6;
    for (std::uint32_t i = 0; i < 16384; ++i) {
      ports.push_back({{local4, 80}, {*IpAddress::parse("198.51.100.9"), static_cast<std::uint16_t>(i)}});
      addresses4.push_back({{local4, 443}, {IpAddress::v4(0xCB007100U + i), 40000}});
      std::array<std::byte, 16> b{};
      b[0] = std::byte{0x20};
      b[1] = std::byte{0x01};
      b[2] = std::byte{0x0d};
      b[3] = std::byte{0xb8};
      b[14] = static_cast<std::byte>(i >> 8U);
      b[15] = static_cast<std::byte>(i & 0xFFU);
      addresses6.push_back({{local6, 443}, {IpAddress::v6(b), 40000}});
    }
    expect_low_bits_spread(ports, seed);
    expect_low_bits_spread(addresses4, seed);
    expect_low_bits_spread(addresses6, seed);
  }
}

TEST(FourTuple, HashDependsOnSeedAndDirection) {
  const FourTuple t{{*IpAddress::parse("192.0.2.1"), 80}, {*IpAddress::parse("192.0.2.2"), 1234}};
  EXPECT_NE(hash_value(t, 7), hash_value(t, 8));
  EXPECT_NE(hash_value(t, 7), hash_value(t.reversed(), 7));
  // A v4 address and the v6 address with the same leading bytes hash apart.
  std::array<std::byte, 16> b{};
  b[0] = std::byte{192};
  b[2] = std::byte{2};
  b[3] = std::byte{2};
  const FourTuple t6{t.local, {IpAddress::v6(b), 1234}};
  EXPECT_NE(hash_value(t, 7), hash_value(t6, 7));
}

}  // namespace
}  // namespace synack::wire
