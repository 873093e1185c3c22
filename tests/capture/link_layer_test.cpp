// Tests for wire::decapsulate(): every supported link type, VLAN stacks, truncation at every length,
// non-IP payloads and unknown link types.
#include "synack/wire/link_layer.hpp"

#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "frames.hpp"

namespace synack::wire {
namespace {

using capture::testing::ByteVector;
using capture::testing::ethernet;
using capture::testing::ipv4_datagram;
using capture::testing::ipv6_datagram;
using capture::testing::loopback;
using capture::testing::sll;
using capture::testing::sll2;
using capture::testing::VlanTag;

Bytes as_bytes(const ByteVector& v) {
  return Bytes(v.data(), v.size());
}

// A frame that decapsulates to `datagram` after `header_length` bytes.
struct GoodCase {
  std::string name;
  std::uint32_t linktype;
  ByteVector frame;
  ByteVector datagram;
  IpVersion version;
  std::size_t header_length;
  std::uint8_t vlan_tags;
};

std::vector<GoodCase> good_cases() {
  const ByteVector v4 = ipv4_datagram(40);
  const ByteVector v6 = ipv6_datagram(60);
  const VlanTag q{ethertype::kVlan, 0x0064};
  const VlanTag ad{ethertype::kQinQ, 0x00C8};
  const VlanTag old{ethertype::kQinQOld, 0x012C};
  return {
      {"RawDlt12Ipv4", dlt::kRaw, v4, v4, IpVersion::v4, 0, 0},
      {"RawDlt12Ipv6", dlt::kRaw, v6, v6, IpVersion::v6, 0, 0},
      {"RawDlt14Ipv4", dlt::kRawAlt, v4, v4, IpVersion::v4, 0, 0},
      {"RawDlt14Ipv6", dlt::kRawAlt, v6, v6, IpVersion::v6, 0, 0},
      {"LinktypeRaw101Ipv4", dlt::kLinktypeRaw, v4, v4, IpVersion::v4, 0, 0},
      {"LinktypeRaw101Ipv6", dlt::kLinktypeRaw, v6, v6, IpVersion::v6, 0, 0},
      {"DltIpv4", dlt::kIpv4, v4, v4, IpVersion::v4, 0, 0},
      {"DltIpv6", dlt::kIpv6, v6, v6, IpVersion::v6, 0, 0},
      {"EthernetIpv4", dlt::kEn10Mb, ethernet(ethertype::kIpv4, v4), v4, IpVersion::v4, 14, 0},
      {"EthernetIpv6", dlt::kEn10Mb, ethernet(ethertype::kIpv6, v6), v6, IpVersion::v6, 14, 0},
      {"EthernetWithVlanTag", dlt::kEn10Mb, ethernet(ethertype::kIpv4, v4, {q}), v4, IpVersion::v4, 18, 1},
      {"EthernetWithTwoVlanTags", dlt::kEn10Mb, ethernet(ethertype::kIpv6, v6, {ad, q}), v6, IpVersion::v6,
       22, 2},
      {"EthernetWithOldQinQTags", dlt::kEn10Mb, ethernet(ethertype::kIpv4, v4, {old, q}), v4, IpVersion::v4,
       22, 2},
      {"EthernetWithFourVlanTags", dlt::kEn10Mb, ethernet(ethertype::kIpv6, v6, {ad, old, q, q}), v6,
       IpVersion::v6, 30, 4},
      {"LinuxSllIpv4", dlt::kLinuxSll, sll(ethertype::kIpv4, v4), v4, IpVersion::v4, 16, 0},
      {"LinuxSllIpv6", dlt::kLinuxSll, sll(ethertype::kIpv6, v6), v6, IpVersion::v6, 16, 0},
      {"LinuxSll2Ipv4", dlt::kLinuxSll2, sll2(ethertype::kIpv4, v4), v4, IpVersion::v4, 20, 0},
      {"LinuxSll2Ipv6", dlt::kLinuxSll2, sll2(ethertype::kIpv6, v6), v6, IpVersion::v6, 20, 0},
      {"NullLittleEndianIpv4", dlt::kNull, loopback(2, true, v4), v4, IpVersion::v4, 4, 0},
      {"NullBigEndianIpv4", dlt::kNull, loopback(2, false, v4), v4, IpVersion::v4, 4, 0},
      {"NullLinuxAf10Ipv6", dlt::kNull, loopback(10, true, v6), v6, IpVersion::v6, 4, 0},
      {"NullBsdAf24Ipv6", dlt::kNull, loopback(24, false, v6), v6, IpVersion::v6, 4, 0},
      {"NullFreeBsdAf28Ipv6", dlt::kNull, loopback(28, true, v6), v6, IpVersion::v6, 4, 0},
      {"NullDarwinAf30Ipv6", dlt::kNull, loopback(30, true, v6), v6, IpVersion::v6, 4, 0},
      {"LoopIpv4", dlt::kLoop, loopback(2, false, v4), v4, IpVersion::v4, 4, 0},
      {"LoopAf24Ipv6", dlt::kLoop, loopback(24, false, v6), v6, IpVersion::v6, 4, 0},
  };
}

class LinkLayerGood : public ::testing::TestWithParam<GoodCase> {};

TEST_P(LinkLayerGood, FindsDatagram) {
  const GoodCase& c = GetParam();
  const auto result = decapsulate(c.linktype, as_bytes(c.frame));
  ASSERT_TRUE(result.has_value()) << to_string(result.error());
  EXPECT_EQ(result->version, c.version);
  EXPECT_EQ(result->header_length, c.header_length);
  EXPECT_EQ(result->vlan_tags, c.vlan_tags);
  EXPECT_EQ(ByteVector(result->datagram.begin(), result->datagram.end()), c.datagram);
  EXPECT_EQ(result->datagram.data(), c.frame.data() + c.header_length)
      << "the datagram is a view, not a copy";
  EXPECT_TRUE(is_supported_linktype(c.linktype));
}

// Every prefix that ends inside the link header is link_truncated; the header alone is a (empty) success.
TEST_P(LinkLayerGood, TruncatedAtEveryLength_ReportsLinkTruncated) {
  const GoodCase& c = GetParam();
  for (std::size_t length = 0; length < c.frame.size(); ++length) {
    SCOPED_TRACE("length " + std::to_string(length));
    const auto result = decapsulate(c.linktype, as_bytes(c.frame).first(length));
    if (length < c.header_length || length == 0) {
      ASSERT_FALSE(result.has_value());
      EXPECT_EQ(result.error(), Error::link_truncated);
    } else {
      ASSERT_TRUE(result.has_value()) << to_string(result.error());
      EXPECT_EQ(result->datagram.size(), length - c.header_length);
      EXPECT_EQ(result->version, c.version);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(LinkLayer, LinkLayerGood, ::testing::ValuesIn(good_cases()),
                         [](const ::testing::TestParamInfo<GoodCase>& case_info) {
                           return case_info.param.name;
                         });

// A frame that must fail with `error`.
struct BadCase {
  std::string name;
  std::uint32_t linktype;
  ByteVector frame;
  Error error;
};

std::vector<BadCase> bad_cases() {
  const ByteVector v4 = ipv4_datagram(40);
  const ByteVector v6 = ipv6_datagram(60);
  const ByteVector arp(28, std::byte{0x01});
  const VlanTag q{ethertype::kVlan, 0x0064};
  ByteVector version5 = v4;
  version5[0] = std::byte{0x55};
  ByteVector version0 = v4;
  version0[0] = std::byte{0x00};
  return {
      {"EthernetArp", dlt::kEn10Mb, ethernet(ethertype::kArp, arp), Error::link_not_ip},
      {"EthernetArpBehindVlanTag", dlt::kEn10Mb, ethernet(ethertype::kArp, arp, {q}), Error::link_not_ip},
      {"Ethernet8023LengthField", dlt::kEn10Mb, ethernet(0x0040, arp), Error::link_not_ip},
      {"EthernetFiveVlanTags", dlt::kEn10Mb, ethernet(ethertype::kIpv4, v4, {q, q, q, q, q}),
       Error::link_not_ip},
      {"EthernetVlanTagCutShort", dlt::kEn10Mb, ethernet(ethertype::kVlan, ByteVector(3, std::byte{0})),
       Error::link_truncated},
      {"LinuxSllArp", dlt::kLinuxSll, sll(ethertype::kArp, arp), Error::link_not_ip},
      {"LinuxSll2Arp", dlt::kLinuxSll2, sll2(ethertype::kArp, arp), Error::link_not_ip},
      {"LinuxSll8022Frame", dlt::kLinuxSll, sll(0x0004, arp), Error::link_not_ip},
      {"NullUnknownAf", dlt::kNull, loopback(7, true, v4), Error::link_not_ip},
      {"NullAf2InBothHalves", dlt::kNull, loopback(0x02000002, true, v4), Error::link_not_ip},
      {"LoopLittleEndianAfIsNotAccepted", dlt::kLoop, loopback(2, true, v4), Error::link_not_ip},
      {"RawVersion5", dlt::kRaw, version5, Error::link_not_ip},
      {"RawVersion0", dlt::kLinktypeRaw, version0, Error::link_not_ip},
      {"RawEmpty", dlt::kRaw, {}, Error::link_truncated},
      {"DltIpv4CarryingIpv6", dlt::kIpv4, v6, Error::link_not_ip},
      {"DltIpv6CarryingIpv4", dlt::kIpv6, v4, Error::link_not_ip},
      {"UnknownLinktype", 9999, ethernet(ethertype::kIpv4, v4), Error::link_unsupported},
      {"UnknownLinktypeEmptyFrame", 147, {}, Error::link_unsupported},
      {"Ieee80211Unsupported", 105, ethernet(ethertype::kIpv4, v4), Error::link_unsupported},
  };
}

class LinkLayerBad : public ::testing::TestWithParam<BadCase> {};

TEST_P(LinkLayerBad, Rejected) {
  const BadCase& c = GetParam();
  const auto result = decapsulate(c.linktype, as_bytes(c.frame));
  ASSERT_FALSE(result.has_value()) << "found a datagram at offset " << result->header_length;
  EXPECT_EQ(result.error(), c.error) << to_string(result.error());
}

INSTANTIATE_TEST_SUITE_P(LinkLayer, LinkLayerBad, ::testing::ValuesIn(bad_cases()),
                         [](const ::testing::TestParamInfo<BadCase>& case_info) {
                           return case_info.param.name;
                         });

TEST(LinkLayer, EthernetWithTwoVlanTags_FindsIpv6) {
  const ByteVector v6 = ipv6_datagram(80);
  const ByteVector frame =
      ethernet(ethertype::kIpv6, v6, {{ethertype::kQinQ, 0x0010}, {ethertype::kVlan, 0x0020}});
  const auto result = decapsulate(dlt::kEn10Mb, as_bytes(frame));
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->version, IpVersion::v6);
  EXPECT_EQ(result->vlan_tags, 2);
  EXPECT_EQ(result->header_length, 22U);
  EXPECT_EQ(result->datagram.size(), v6.size());
}

TEST(LinkLayer, EthernetPadding_StaysInDatagramForTheIpLayerToTrim) {
  ByteVector v4 = ipv4_datagram(20);
  ByteVector frame = ethernet(ethertype::kIpv4, v4);
  frame.resize(60, std::byte{0});  // minimum Ethernet frame without FCS
  const auto result = decapsulate(dlt::kEn10Mb, as_bytes(frame));
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->datagram.size(), 46U);
}

TEST(LinkLayer, LinuxSllWithVlanTag_WalksTheTag) {
  const ByteVector v4 = ipv4_datagram(40);
  ByteVector tagged;
  capture::testing::append_be16(tagged, 0x0064);
  capture::testing::append_be16(tagged, ethertype::kIpv4);
  capture::testing::append(tagged, v4);
  const ByteVector frame = sll(ethertype::kVlan, tagged);
  const auto result = decapsulate(dlt::kLinuxSll, as_bytes(frame));
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->header_length, 20U);
  EXPECT_EQ(result->vlan_tags, 1);
}

TEST(LinkLayer, UnknownLinktypes_AreNotSupported) {
  for (std::uint32_t linktype : {2U, 9U, 105U, 127U, 147U, 0xFFFFFFFFU}) {
    EXPECT_FALSE(is_supported_linktype(linktype)) << linktype;
  }
}

}  // namespace
}  // namespace synack::wire
