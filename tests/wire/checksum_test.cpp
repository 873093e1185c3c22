#include "synack/wire/checksum.hpp"

#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "support/hex.hpp"
#include "synack/wire/ip_address.hpp"

namespace synack::wire {
namespace {

using test::from_hex;

TEST(Checksum, Rfc1071Example) {
  // RFC 1071 §3: the sum of 0001 f203 f4f5 f6f7 is ddf2; the checksum is its complement.
  const auto bytes = from_hex("0001f203f4f5f6f7");
  ChecksumAccumulator acc;
  acc.add(bytes);
  EXPECT_EQ(acc.folded(), 0xddf2);
  EXPECT_EQ(internet_checksum(bytes), 0x220d);
}

TEST(Checksum, KnownIpv4Header) {
  // A textbook IPv4 header whose checksum field holds b861.
  auto header = from_hex("450000730000400040110000c0a80001c0a800c7");
  EXPECT_EQ(internet_checksum(header), 0xb861);
  header[10] = std::byte{0xb8};
  header[11] = std::byte{0x61};
  EXPECT_EQ(internet_checksum(header), 0);  // a correct header sums to all ones
}

TEST(Checksum, OddLengthPadsWithZero) {
  EXPECT_EQ(internet_checksum(from_hex("01")), static_cast<std::uint16_t>(~0x0100));
  EXPECT_EQ(internet_checksum(from_hex("0102 03")), static_cast<std::uint16_t>(~(0x0102 + 0x0300)));
}

TEST(Checksum, EmptyIsAllOnes) {
  EXPECT_EQ(internet_checksum({}), 0xFFFF);
}

TEST(Checksum, PiecesOfAnyLengthSumLikeTheWhole) {
  std::mt19937 rng(7);
  for (int round = 0; round < 200; ++round) {
    std::vector<std::byte> data(rng() % 200);
    for (auto& b : data) b = static_cast<std::byte>(rng());
    ChecksumAccumulator pieces;
    std::size_t i = 0;
    while (i < data.size()) {
      const std::size_t n = std::min<std::size_t>(rng() % 7, data.size() - i);
      pieces.add(Bytes(data).subspan(i, n));
      i += n;
    }
    EXPECT_EQ(pieces.checksum(), internet_checksum(data)) << "round " << round;
  }
}

TEST(Checksum, IncrementalUpdateMatchesRecompute) {
  // RFC 1624 eqn. 3, including the -0/+0 corner eqn. 2 got wrong.
  std::mt19937 rng(11);
  for (int round = 0; round < 1000; ++round) {
    std::vector<std::byte> data(20);
    for (auto& b : data) b = static_cast<std::byte>(rng());
    const std::uint16_t before = internet_checksum(data);
    const std::uint16_t old_value = load_be16(data, 6);
    const auto new_value = static_cast<std::uint16_t>(round == 0 ? 0 : rng());
    store_be16(data, 6, new_value);
    EXPECT_EQ(checksum_update(before, old_value, new_value), internet_checksum(data));
  }
}

TEST(Checksum, IncrementalUpdateOfThirtyTwoBitField) {
  auto data = from_hex("4500003c123440004006a484c0000201c0000202");
  EXPECT_EQ(internet_checksum(data), 0);
  const std::uint32_t old_dst = load_be32(data, 16);
  const std::uint32_t new_dst = 0xC0000263;  // 192.0.2.99
  store_be32(data, 16, new_dst);
  const std::uint16_t updated = checksum_update(load_be16(data, 10), old_dst, new_dst);
  store_be16(data, 10, updated);
  EXPECT_EQ(internet_checksum(data), 0);
}

TEST(Checksum, PseudoHeaderIpv4MatchesManualLayout) {
  // RFC 9293 §3.1: source, destination, zero, PTCL, TCP length.
  ChecksumAccumulator acc;
  acc.add_pseudo_header(*IpAddress::parse("192.0.2.1"), *IpAddress::parse("192.0.2.2"), 6, 40);
  ChecksumAccumulator manual;
  manual.add(from_hex("c0000201 c0000202 00 06 0028"));
  EXPECT_EQ(acc.folded(), manual.folded());
}

TEST(Checksum, PseudoHeaderIpv6MatchesManualLayout) {
  const auto src = *IpAddress::parse("2001:db8::1");
  const auto dst = *IpAddress::parse("2001:db8::2");
  ChecksumAccumulator acc;
  acc.add_pseudo_header(src, dst, 6, 40);
  ChecksumAccumulator manual;
  manual.add(from_hex("20010db8000000000000000000000001 20010db8000000000000000000000002 00000028 00000006"));
  EXPECT_EQ(acc.folded(), manual.folded());
}

}  // namespace
}  // namespace synack::wire
