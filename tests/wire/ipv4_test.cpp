#include "synack/wire/ipv4.hpp"

#include <array>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "support/hex.hpp"

namespace synack::wire {
namespace {

using test::from_hex;

// A SYN from 192.0.2.1:40000 to 192.0.2.2:80 (scapy built it: an independent encoder).
constexpr const char* kSyn =
    "4500003c123440004006a484c0000201c00002029c4000501a2b3c4d00000000a002faf0d21a0000020405b40402080a000003e8"
    "0000000001030307";

TEST(Ipv4View, ParsesAKnownDatagram) {
  const auto bytes = from_hex(kSyn);
  auto v = Ipv4View::parse(bytes);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->header_length(), 20);
  EXPECT_EQ(v->total_length(), 60);
  EXPECT_EQ(v->identification(), 0x1234);
  EXPECT_TRUE(v->dont_fragment());
  EXPECT_FALSE(v->is_fragment());
  EXPECT_EQ(v->ttl(), 64);
  EXPECT_EQ(v->protocol(), kProtocolTcp);
  EXPECT_EQ(v->src().to_string(), "192.0.2.1");
  EXPECT_EQ(v->dst().to_string(), "192.0.2.2");
  EXPECT_TRUE(v->header_checksum_ok());
  EXPECT_EQ(v->payload().size(), 40U);
}

TEST(Ipv4View, TrimsLinkPaddingPastTotalLength) {
  auto bytes = from_hex(kSyn);
  bytes.resize(bytes.size() + 6);  // Ethernet pads short frames
  auto v = Ipv4View::parse(bytes);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->bytes().size(), 60U);
  EXPECT_EQ(v->payload().size(), 40U);
}

struct Malformed {
  std::string name;
  std::vector<std::byte> bytes;
  Error error;
};

std::vector<Malformed> malformed_cases() {
  std::vector<Malformed> cases;
  const auto good = from_hex(kSyn);
  for (std::size_t n = 0; n < 20; ++n) {
    cases.push_back({"truncated_to_" + std::to_string(n),
                     {good.begin(), good.begin() + static_cast<long>(n)},
                     Error::ip_truncated});
  }
  auto v6 = good;
  v6[0] = std::byte{0x65};
  cases.push_back({"version_6_nibble", v6, Error::ip_bad_version});
  for (int ihl : {0, 1, 4}) {
    auto b = good;
    b[0] = static_cast<std::byte>(0x40 | ihl);
    cases.push_back({"ihl_" + std::to_string(ihl), b, Error::ipv4_bad_header_length});
  }
  auto ihl_past_end = good;
  ihl_past_end[0] = std::byte{0x4F};  // 60-byte header in a 60-byte packet is fine; shrink the packet
  ihl_past_end.resize(40);
  cases.push_back({"ihl_past_end", ihl_past_end, Error::ipv4_bad_header_length});
  auto total_short = good;
  total_short[3] = std::byte{19};  // total length below the header length
  cases.push_back({"total_length_below_header", total_short, Error::ip_bad_total_length});
  auto total_long = good;
  total_long[3] = std::byte{61};  // one byte more than present
  cases.push_back({"total_length_past_end", total_long, Error::ip_bad_total_length});
  return cases;
}

TEST(Ipv4View, RejectsMalformedDatagrams) {
  for (const auto& c : malformed_cases()) {
    auto v = Ipv4View::parse(c.bytes);
    ASSERT_FALSE(v) << c.name;
    EXPECT_EQ(v.error(), c.error) << c.name << ": " << to_string(v.error());
  }
}

TEST(Ipv4View, DetectsFragments) {
  auto mf = from_hex(kSyn);
  mf[6] = std::byte{0x20};  // MF
  EXPECT_TRUE(Ipv4View::parse(mf)->is_fragment());
  auto offset = from_hex(kSyn);
  offset[7] = std::byte{0x01};
  EXPECT_TRUE(Ipv4View::parse(offset)->is_fragment());
}

TEST(Ipv4View, DetectsBadHeaderChecksum) {
  auto b = from_hex(kSyn);
  b[8] = std::byte{63};  // TTL changed, checksum not
  EXPECT_FALSE(Ipv4View::parse(b)->header_checksum_ok());
}

TEST(Ipv4Header, EmitsWhatTheViewReadsBack) {
  Ipv4Header h{.src = *IpAddress::parse("192.0.2.1"),
               .dst = *IpAddress::parse("192.0.2.2"),
               .protocol = 6,
               .ttl = 64,
               .dscp = 10,
               .ecn = 2,
               .identification = 0x1234,
               .dont_fragment = true,
               .payload_length = 40};
  std::array<std::byte, 60> out{};
  ASSERT_EQ(h.emit(out).value(), 20U);
  auto v = Ipv4View::parse(out);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->dscp(), 10);
  EXPECT_EQ(v->ecn(), 2);
  EXPECT_EQ(v->identification(), 0x1234);
  EXPECT_EQ(v->total_length(), 60);
  EXPECT_EQ(v->src(), h.src);
  EXPECT_EQ(v->dst(), h.dst);
  EXPECT_TRUE(v->header_checksum_ok());
}

TEST(Ipv4Header, RefusesSmallBufferAndWrongFamily) {
  Ipv4Header h{.src = *IpAddress::parse("192.0.2.1"), .dst = *IpAddress::parse("192.0.2.2")};
  std::array<std::byte, 19> small{};
  EXPECT_EQ(h.emit(small).error(), Error::buffer_too_small);
  h.dst = *IpAddress::parse("2001:db8::1");
  std::array<std::byte, 20> out{};
  EXPECT_EQ(h.emit(out).error(), Error::ip_bad_version);
}

}  // namespace
}  // namespace synack::wire
