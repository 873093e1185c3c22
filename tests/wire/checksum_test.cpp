#include "synack/wire/checksum.hpp"

#include <algorithm>
#include <array>
#include <random>
#include <utility>
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

// The reference for the fast sums below: RFC 1071 §4.1 word by word, carries folded at every step.
std::uint16_t textbook_checksum(Bytes bytes) {
  std::uint32_t sum = 0;
  for (std::size_t i = 0; i < bytes.size(); i += 2) {
    const unsigned hi = static_cast<std::uint8_t>(bytes[i]);
    const unsigned lo = i + 1 < bytes.size() ? static_cast<std::uint8_t>(bytes[i + 1]) : 0U;
    sum += (hi << 8U) | lo;
    sum = (sum & 0xFFFFU) + (sum >> 16U);
  }
  return static_cast<std::uint16_t>(~sum);
}

// Byte patterns that stress the deferred carries: all ones, almost all ones, and random.
std::vector<std::byte> pattern(std::mt19937& rng, std::size_t n, int kind) {
  std::vector<std::byte> v(n);
  for (auto& b : v) {
    switch (kind) {
      case 0:
        b = std::byte{0xFF};
        break;
      case 1:
        b = (rng() % 16 == 0) ? std::byte{0xFE} : std::byte{0xFF};
        break;
      case 2:
        b = std::byte{0x00};
        break;
      default:
        b = static_cast<std::byte>(rng());
        break;
    }
  }
  return v;
}

TEST(Checksum, AnyLengthAndAlignmentMatchesTextbook) {
  std::mt19937 rng(23);
  std::vector<std::byte> storage(2100);
  for (int kind = 0; kind < 4; ++kind) {
    for (std::size_t n = 0; n <= 130; ++n) {
      for (std::size_t offset = 0; offset < 8; ++offset) {
        const auto data = pattern(rng, n, kind);
        std::copy(data.begin(), data.end(), storage.begin() + static_cast<std::ptrdiff_t>(offset));
        const Bytes view = Bytes(storage).subspan(offset, n);
        ASSERT_EQ(internet_checksum(view), textbook_checksum(view)) << "kind " << kind << " n " << n;
      }
    }
  }
}

TEST(Checksum, LongCarryHeavyInputMatchesTextbook) {
  // 2 KiB of 0xFF: every 64-bit addition carries out.
  std::mt19937 rng(5);
  for (int kind = 0; kind < 4; ++kind) {
    for (const std::size_t n : {1459U, 1460U, 2047U, 2048U}) {
      const auto data = pattern(rng, n, kind);
      EXPECT_EQ(internet_checksum(data), textbook_checksum(data)) << "kind " << kind << " n " << n;
    }
  }
}

TEST(Checksum, AllOnesSumsToNegativeZero) {
  // One's-complement: all-ones words sum to 0xFFFF (-0), never to 0 (+0), so the checksum is 0.
  const std::vector<std::byte> ones(64, std::byte{0xFF});
  EXPECT_EQ(internet_checksum(ones), 0);
  ChecksumAccumulator acc;
  acc.add(ones);
  EXPECT_EQ(acc.folded(), 0xFFFF);
}

// The pseudo-header laid out as bytes, then the segment: the reference for upper_layer_checksum().
std::uint16_t upper_layer_reference(const IpAddress& src, const IpAddress& dst, std::uint8_t protocol,
                                    Bytes upper) {
  std::vector<std::byte> all(src.bytes().begin(), src.bytes().end());
  all.insert(all.end(), dst.bytes().begin(), dst.bytes().end());
  const auto len = static_cast<std::uint32_t>(upper.size());
  if (src.is_v4()) {
    for (const unsigned v : {0U, unsigned{protocol}, (len >> 8U) & 0xFFU, len & 0xFFU}) {
      all.push_back(static_cast<std::byte>(v));
    }
  } else {
    for (const unsigned v : {len >> 24U, (len >> 16U) & 0xFFU, (len >> 8U) & 0xFFU, len & 0xFFU, 0U, 0U, 0U,
                             unsigned{protocol}}) {
      all.push_back(static_cast<std::byte>(v));
    }
  }
  all.insert(all.end(), upper.begin(), upper.end());
  return textbook_checksum(all);
}

TEST(Checksum, UpperLayerOnePassMatchesPseudoHeaderLayout) {
  std::mt19937 rng(31);
  const IpAddress v4_src = *IpAddress::parse("192.0.2.1");
  const IpAddress v4_dst = *IpAddress::parse("198.51.100.7");
  const IpAddress v4_ones = IpAddress::v4(0xFFFFFFFFU);
  const IpAddress v6_src = *IpAddress::parse("2001:db8::1");
  const IpAddress v6_dst = *IpAddress::parse("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff");
  std::array<std::byte, 16> ff{};
  ff.fill(std::byte{0xFF});
  const IpAddress v6_ones = IpAddress::v6(ff);
  const std::pair<IpAddress, IpAddress> pairs[] = {
      {v4_src, v4_dst}, {v4_ones, v4_ones}, {v6_src, v6_dst}, {v6_ones, v6_ones}};
  std::vector<std::byte> storage(1600);
  for (const auto& [src, dst] : pairs) {
    for (int kind = 0; kind < 4; ++kind) {
      for (std::size_t n = 0; n <= 100; ++n) {
        const std::size_t offset = rng() % 8;
        const auto data = pattern(rng, n, kind);
        std::copy(data.begin(), data.end(), storage.begin() + static_cast<std::ptrdiff_t>(offset));
        const Bytes view = Bytes(storage).subspan(offset, n);
        const auto protocol = static_cast<std::uint8_t>(kind == 0 ? 0xFF : 6);
        ASSERT_EQ(upper_layer_checksum(src, dst, protocol, view),
                  upper_layer_reference(src, dst, protocol, view))
            << src.to_string() << " kind " << kind << " n " << n;
        // The accumulator's pseudo-header path gives the same sum, on a word boundary or not.
        ChecksumAccumulator acc;
        acc.add_pseudo_header(src, dst, protocol, static_cast<std::uint32_t>(n));
        acc.add(view);
        ASSERT_EQ(acc.checksum(), upper_layer_reference(src, dst, protocol, view));
      }
    }
  }
}

TEST(Checksum, PseudoHeaderAfterAnOddPieceMatchesBytes) {
  const auto src = *IpAddress::parse("192.0.2.1");
  const auto dst = *IpAddress::parse("192.0.2.2");
  ChecksumAccumulator acc;
  acc.add(from_hex("ab"));
  acc.add_pseudo_header(src, dst, 6, 40);
  ChecksumAccumulator manual;
  manual.add(from_hex("ab c0000201 c0000202 00 06 0028"));
  EXPECT_EQ(acc.folded(), manual.folded());
}

TEST(Checksum, UpperLayerOverACorrectPacketIsZero) {
  std::mt19937 rng(3);
  const auto src = *IpAddress::parse("2001:db8::1");
  const auto dst = *IpAddress::parse("2001:db8::2");
  auto segment = pattern(rng, 61, 3);
  segment[16] = segment[17] = std::byte{0};
  const std::uint16_t c = upper_layer_checksum(src, dst, 6, segment);
  store_be16(segment, 16, c);
  EXPECT_EQ(upper_layer_checksum(src, dst, 6, segment), 0);
}

}  // namespace
}  // namespace synack::wire
