#include "synack/wire/ipv6.hpp"

#include <array>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "support/hex.hpp"

namespace synack::wire {
namespace {

using test::from_hex;

// PSH/ACK with "hello, world!" from [2001:db8::1]:40000 to [2001:db8::2]:80 (built by scapy).
constexpr const char* kData =
    "600000000021064020010db800000000000000000000000120010db80000000000000000000000029c4000501a2b3c4d11223344"
    "501801f6b999000068656c6c6f2c20776f726c6421";

std::vector<std::byte> header_with_next(std::uint8_t next, std::uint16_t payload) {
  auto b = from_hex(kData);
  b.resize(40);
  b[6] = static_cast<std::byte>(next);
  b[4] = static_cast<std::byte>(payload >> 8);
  b[5] = static_cast<std::byte>(payload & 0xFF);
  return b;
}

void append(std::vector<std::byte>& b, const std::vector<std::byte>& more) {
  b.insert(b.end(), more.begin(), more.end());
}

TEST(Ipv6View, ParsesAKnownPacket) {
  const auto bytes = from_hex(kData);
  auto v = Ipv6View::parse(bytes);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->payload_length(), 33);
  EXPECT_EQ(v->hop_limit(), 64);
  EXPECT_EQ(v->upper_protocol(), 6);
  EXPECT_EQ(v->upper_offset(), 40U);
  EXPECT_EQ(v->extension_count(), 0);
  EXPECT_EQ(v->src().to_string(), "2001:db8::1");
  EXPECT_EQ(v->dst().to_string(), "2001:db8::2");
  EXPECT_EQ(v->upper_payload().size(), 33U);
}

TEST(Ipv6View, WalksHopByHopRoutingFragmentAndDestinationOptions) {
  // hop-by-hop (8) → routing (8) → fragment (8, offset 0, M clear) → dest opts (16) → TCP (20)
  auto b = header_with_next(0, 8 + 8 + 8 + 16 + 20);
  append(b, from_hex("2b00 010400000000"));   // HbH: next=43, len 0, PadN
  append(b, from_hex("2c00 0000 00000000"));  // Routing: next=44, len 0, type 0, segments left 0
  append(b, from_hex("3c00 0000 12345678"));  // Fragment: next=60, offset 0, M=0, id
  append(b, from_hex("0601 010c000000000000000000000000"));  // DestOpts: next=6, len 1 (16 bytes)
  append(b, from_hex("9c4000501a2b3c4d1122334450180000 00000000"));
  auto v = Ipv6View::parse(b);
  ASSERT_TRUE(v) << to_string(v.error());
  EXPECT_EQ(v->extension_count(), 4);
  EXPECT_EQ(v->upper_protocol(), 6);
  EXPECT_EQ(v->upper_offset(), 40U + 40U);
  EXPECT_FALSE(v->is_fragment());
}

TEST(Ipv6View, MarksRealFragments) {
  auto b = header_with_next(44, 8 + 20);
  append(b, from_hex("0600 0001 12345678"));  // M flag set
  append(b, std::vector<std::byte>(20));
  auto v = Ipv6View::parse(b);
  ASSERT_TRUE(v);
  EXPECT_TRUE(v->is_fragment());
}

TEST(Ipv6View, RejectsMalformedPackets) {
  struct Case {
    std::string name;
    std::vector<std::byte> bytes;
    Error error;
  };
  std::vector<Case> cases;
  const auto good = from_hex(kData);
  for (std::size_t n : {0UL, 1UL, 20UL, 39UL}) {
    cases.push_back({"truncated_" + std::to_string(n),
                     {good.begin(), good.begin() + static_cast<long>(n)},
                     Error::ip_truncated});
  }
  auto v4 = good;
  v4[0] = std::byte{0x40};
  cases.push_back({"version_4", v4, Error::ip_bad_version});
  auto long_payload = good;
  long_payload[5] = std::byte{34};
  cases.push_back({"payload_length_past_end", long_payload, Error::ip_bad_total_length});
  // Extension chains that run off the end.
  auto hbh_no_room = header_with_next(0, 1);
  hbh_no_room.push_back(std::byte{6});
  cases.push_back({"hbh_header_cut_at_1_byte", hbh_no_room, Error::ipv6_extension_truncated});
  auto hbh_short = header_with_next(0, 4);
  append(hbh_short, from_hex("0600 0000"));
  cases.push_back({"hbh_shorter_than_8", hbh_short, Error::ipv6_extension_truncated});
  auto hbh_len = header_with_next(0, 8);
  append(hbh_len, from_hex("0605 000000000000"));  // claims 48 bytes
  cases.push_back({"hbh_length_past_end", hbh_len, Error::ipv6_extension_truncated});
  auto frag_short = header_with_next(44, 6);
  append(frag_short, from_hex("0600 0000 0000"));
  cases.push_back({"fragment_cut", frag_short, Error::ipv6_extension_truncated});
  auto ah_len = header_with_next(51, 8);
  append(ah_len, from_hex("0604 0000 00000000"));  // AH claims (4+2)*4 = 24 bytes
  cases.push_back({"ah_length_past_end", ah_len, Error::ipv6_extension_truncated});
  // Nine destination-options headers: one more than we walk.
  auto chain = header_with_next(60, 9 * 8);
  for (int i = 0; i < 9; ++i) append(chain, from_hex("3c00 010400000000"));
  cases.push_back({"chain_too_long", chain, Error::ipv6_extension_chain_too_long});
  auto esp = header_with_next(50, 8);
  append(esp, std::vector<std::byte>(8));
  cases.push_back({"esp", esp, Error::ipv6_unsupported_header});
  auto jumbo = header_with_next(0, 0);
  append(jumbo, from_hex("0600 c204 00010000"));
  cases.push_back({"jumbogram", jumbo, Error::ipv6_unsupported_header});

  for (const auto& c : cases) {
    auto v = Ipv6View::parse(c.bytes);
    ASSERT_FALSE(v) << c.name;
    EXPECT_EQ(v.error(), c.error) << c.name << ": " << to_string(v.error());
  }
}

TEST(Ipv6View, NoNextHeaderIsAnUpperProtocolOfItsOwn) {
  auto b = header_with_next(59, 0);
  auto v = Ipv6View::parse(b);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->upper_protocol(), 59);
}

TEST(Ipv6Header, EmitsWhatTheViewReadsBack) {
  Ipv6Header h{.src = *IpAddress::parse("2001:db8::1"),
               .dst = *IpAddress::parse("2001:db8::2"),
               .next_header = 6,
               .hop_limit = 17,
               .traffic_class = 0xB9,
               .flow_label = 0xABCDE,
               .payload_length = 0};
  std::array<std::byte, 40> out{};
  ASSERT_EQ(h.emit(out).value(), 40U);
  auto v = Ipv6View::parse(out);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->traffic_class(), 0xB9);
  EXPECT_EQ(v->ecn(), 1);
  EXPECT_EQ(v->flow_label(), 0xABCDEU);
  EXPECT_EQ(v->hop_limit(), 17);
  EXPECT_EQ(v->src(), h.src);
  EXPECT_EQ(v->dst(), h.dst);
}

}  // namespace
}  // namespace synack::wire
