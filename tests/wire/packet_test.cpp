#include "synack/wire/packet.hpp"

#include <array>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "support/hex.hpp"
#include "synack/wire/ipv4.hpp"

namespace synack::wire {
namespace {

using test::from_hex;
using test::to_hex;

// Both built by scapy, an independent encoder: checksums included.
constexpr const char* kSynV4 =
    "4500003c123440004006a484c0000201c00002029c4000501a2b3c4d00000000a002faf0d21a0000020405b40402080a000003e8"
    "0000000001030307";
constexpr const char* kDataV6 =
    "600000000021064020010db800000000000000000000000120010db80000000000000000000000029c4000501a2b3c4d11223344"
    "501801f6b999000068656c6c6f2c20776f726c6421";

TEST(TcpPacketView, ParsesIpv4AndVerifiesChecksums) {
  const auto b = from_hex(kSynV4);
  auto p = TcpPacketView::parse(b);
  ASSERT_TRUE(p) << to_string(p.error());
  EXPECT_EQ(p->version(), IpVersion::v4);
  EXPECT_EQ(p->ip().src.to_string(), "192.0.2.1");
  EXPECT_EQ(p->ip().ttl, 64);
  EXPECT_EQ(p->tcp().dst_port(), 80);
  const auto t = p->tuple_at_receiver();
  EXPECT_EQ(t.local.to_string(), "192.0.2.2:80");
  EXPECT_EQ(t.remote.to_string(), "192.0.2.1:40000");
}

TEST(TcpPacketView, ParsesIpv6AndVerifiesChecksums) {
  const auto b = from_hex(kDataV6);
  auto p = TcpPacketView::parse(b);
  ASSERT_TRUE(p) << to_string(p.error());
  EXPECT_EQ(p->version(), IpVersion::v6);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(p->tcp().payload().data()), p->tcp().payload().size()),
            "hello, world!");
}

TEST(TcpPacketView, EveryFlippedBitIsCaughtUnlessNoChecksumCoversIt) {
  // Flip each bit: parse must fail — except in the IPv6 traffic class, flow label and hop limit, which
  // no checksum covers (RFC 8200 has no header checksum) and where the packet stays well-formed.
  for (const char* hex : {kSynV4, kDataV6}) {
    const auto good = from_hex(hex);
    const bool v6 = good[0] == std::byte{0x60};
    for (std::size_t bit = 0; bit < good.size() * 8; ++bit) {
      auto b = good;
      const std::size_t byte = bit / 8;
      b[byte] ^= static_cast<std::byte>(1U << (bit % 8));
      const bool uncovered =
          v6 && ((byte == 0 && bit % 8 < 4) || byte == 1 || byte == 2 || byte == 3 || byte == 7);
      EXPECT_EQ(TcpPacketView::parse(b).has_value(), uncovered) << hex << " bit " << bit;
    }
  }
}

TEST(TcpPacketView, IgnorePolicySkipsChecksums) {
  auto b = from_hex(kSynV4);
  b[b.size() - 1] ^= std::byte{1};
  EXPECT_EQ(TcpPacketView::parse(b).error(), Error::tcp_bad_checksum);
  EXPECT_TRUE(TcpPacketView::parse(b, ChecksumPolicy::ignore));
  auto ip = from_hex(kSynV4);
  ip[8] = std::byte{1};
  EXPECT_EQ(TcpPacketView::parse(ip).error(), Error::ipv4_bad_checksum);
}

TEST(TcpPacketView, RejectsNonTcpFragmentsAndGarbage) {
  auto udp = from_hex(kSynV4);
  udp[9] = std::byte{17};
  EXPECT_EQ(TcpPacketView::parse(udp, ChecksumPolicy::ignore).error(), Error::ip_not_tcp);
  auto frag = from_hex(kSynV4);
  frag[6] = std::byte{0x20};
  EXPECT_EQ(TcpPacketView::parse(frag, ChecksumPolicy::ignore).error(), Error::ip_fragment);
  EXPECT_EQ(TcpPacketView::parse({}).error(), Error::ip_truncated);
  EXPECT_EQ(TcpPacketView::parse(from_hex("00")).error(), Error::ip_bad_version);
  auto short_tcp = from_hex(kSynV4);
  short_tcp.resize(30);
  short_tcp[3] = std::byte{30};
  EXPECT_EQ(TcpPacketView::parse(short_tcp, ChecksumPolicy::ignore).error(), Error::tcp_truncated);
}

// TcpPacketView::parse reads an IPv4 datagram with a 20-byte header in line. Its reference: the same
// checks made with the public pieces, in parse's documented order (Ipv4View::parse, the header checksum,
// fragment, protocol, TcpView::parse, the TCP checksum).
std::expected<FourTuple, Error> parse_by_pieces(Bytes datagram, ChecksumPolicy policy) {
  const auto v4 = Ipv4View::parse(datagram);
  if (!v4) return std::unexpected(v4.error());
  const bool verify = policy == ChecksumPolicy::verify;
  if (verify && !v4->header_checksum_ok()) return std::unexpected(Error::ipv4_bad_checksum);
  if (v4->is_fragment()) return std::unexpected(Error::ip_fragment);
  if (v4->protocol() != kProtocolTcp) return std::unexpected(Error::ip_not_tcp);
  const auto tcp = TcpView::parse(v4->payload());
  if (!tcp) return std::unexpected(tcp.error());
  if (verify && !tcp_checksum_ok(v4->src(), v4->dst(), v4->payload()))
    return std::unexpected(Error::tcp_bad_checksum);
  return FourTuple{{v4->dst(), tcp->dst_port()}, {v4->src(), tcp->src_port()}};
}

TEST(TcpPacketView, PlainIpv4_EveryByteValueInTheHeadersAgreesWithThePieces) {
  // Every value of every IPv4 header byte and of the TCP header's first 14 bytes (ports, sequence and
  // acknowledgment numbers, data offset), with and without checksums: the same error, or the same tuple,
  // TTL, ECN and segment. An IPv4 version/IHL byte other than 0x45 takes the general path (the pieces' twin).
  const auto good = from_hex(kSynV4);
  for (std::size_t at = 0; at < 34; ++at) {
    for (unsigned value = 0; value < 256; ++value) {
      if (at == 0 && value >> 4U != 4) continue;  // not IPv4: the pieces are IPv4's
      auto b = good;
      b[at] = static_cast<std::byte>(value);
      for (const auto policy : {ChecksumPolicy::verify, ChecksumPolicy::ignore}) {
        const auto got = TcpPacketView::parse(b, policy);
        const auto want = parse_by_pieces(b, policy);
        ASSERT_EQ(got.has_value(), want.has_value()) << "byte " << at << " = " << value;
        if (!got) {
          EXPECT_EQ(got.error(), want.error()) << "byte " << at << " = " << value;
          continue;
        }
        EXPECT_EQ(got->tuple_at_receiver(), *want) << "byte " << at << " = " << value;
        const Ipv4View v4 = *Ipv4View::parse(b);
        EXPECT_EQ(got->ip().ttl, v4.ttl());
        EXPECT_EQ(got->ip().ecn, v4.ecn());
        EXPECT_EQ(got->tcp().bytes().data(), v4.payload().data());
        EXPECT_EQ(got->tcp().bytes().size(), v4.payload().size());
      }
    }
  }
}

TEST(TcpPacketView, PlainIpv4_LinkPaddingPastTheTotalLengthIsNotTheSegments) {
  auto b = from_hex(kSynV4);
  const std::size_t size = b.size();
  b.resize(size + 6);  // an Ethernet minimum frame pads short datagrams
  const auto p = TcpPacketView::parse(b);
  ASSERT_TRUE(p) << to_string(p.error());
  EXPECT_EQ(p->tcp().bytes().size(), size - Ipv4View::kMinHeaderSize);
  b.resize(size - 1);  // shorter than its total length
  EXPECT_EQ(TcpPacketView::parse(b).error(), Error::ip_bad_total_length);
}

TEST(PeekTuple, EqualsTheParsedTupleForIpv4AndIpv6) {
  for (const char* hex : {kSynV4, kDataV6}) {
    const auto b = from_hex(hex);
    const auto p = TcpPacketView::parse(b);
    ASSERT_TRUE(p) << to_string(p.error());
    const auto peeked = peek_tuple_at_receiver(b);
    ASSERT_TRUE(peeked.has_value()) << hex;
    EXPECT_EQ(*peeked, p->tuple_at_receiver()) << hex;
  }
}

TEST(PeekTuple, Ipv4WithOptions_ReadsThePortsAfterThem) {
  // kSynV4 with IHL 6 and four bytes of IP options (NOPs + EOL) inserted before the TCP header.
  auto b = from_hex(kSynV4);
  b[0] = std::byte{0x46};
  b[3] = std::byte{64};  // total length 60 + 4
  const std::array<std::byte, 4> options{std::byte{1}, std::byte{1}, std::byte{1}, std::byte{0}};
  b.insert(b.begin() + 20, options.begin(), options.end());
  const auto p = TcpPacketView::parse(b, ChecksumPolicy::ignore);
  ASSERT_TRUE(p) << to_string(p.error());
  const auto peeked = peek_tuple_at_receiver(b);
  ASSERT_TRUE(peeked.has_value());
  EXPECT_EQ(*peeked, p->tuple_at_receiver());
}

TEST(PeekTuple, ShortOrNotTcp_IsNullopt) {
  EXPECT_FALSE(peek_tuple_at_receiver({}).has_value());
  auto udp = from_hex(kSynV4);
  udp[9] = std::byte{17};
  EXPECT_FALSE(peek_tuple_at_receiver(udp).has_value());
  auto bad_ihl = from_hex(kSynV4);
  bad_ihl[0] = std::byte{0x44};
  EXPECT_FALSE(peek_tuple_at_receiver(bad_ihl).has_value());
  auto cut = from_hex(kSynV4);
  cut.resize(22);
  EXPECT_FALSE(peek_tuple_at_receiver(cut).has_value());
}

TEST(EmitTcpPacket, MatchesAnIndependentEncoderIpv4) {
  TcpHeader h;
  h.src_port = 40000;
  h.dst_port = 80;
  h.seq = SeqNum(0x1a2b3c4d);
  h.flags = TcpFlags(TcpFlags::kSyn);
  h.window = 64240;
  h.options.mss = 1460;
  h.options.sack_permitted = true;
  h.options.timestamps = Timestamps{1000, 0};
  h.options.wscale = 7;
  std::array<std::byte, 128> out{};
  auto n = emit_tcp_packet(*IpAddress::parse("192.0.2.1"), *IpAddress::parse("192.0.2.2"), h, {}, out,
                           {.ttl = 64, .identification = 0x1234});
  ASSERT_TRUE(n);
  EXPECT_EQ(to_hex(Bytes(out).first(*n)), kSynV4);
}

TEST(EmitTcpPacket, MatchesAnIndependentEncoderIpv6) {
  TcpHeader h;
  h.src_port = 40000;
  h.dst_port = 80;
  h.seq = SeqNum(0x1a2b3c4d);
  h.ack = SeqNum(0x11223344);
  h.flags = TcpFlags(TcpFlags::kPsh | TcpFlags::kAck);
  h.window = 502;
  const std::string payload = "hello, world!";
  std::array<std::byte, 128> out{};
  auto n = emit_tcp_packet(*IpAddress::parse("2001:db8::1"), *IpAddress::parse("2001:db8::2"), h,
                           std::as_bytes(std::span(payload)), out);
  ASSERT_TRUE(n);
  EXPECT_EQ(to_hex(Bytes(out).first(*n)), kDataV6);
  EXPECT_EQ(*n, tcp_packet_size(IpVersion::v6, h, payload.size()));
}

TEST(EmitTcpPacket, SendHeaderMatchesAnIndependentEncoderIpv4) {
  SendHeader h;
  h.src_port = 40000;
  h.dst_port = 80;
  h.seq = SeqNum(0x1a2b3c4d);
  h.flags = TcpFlags(TcpFlags::kSyn);
  h.window = 64240;
  h.has_mss = true;
  h.mss = 1460;
  h.sack_permitted = true;
  h.has_timestamps = true;
  h.timestamps = Timestamps{1000, 0};
  h.set_window_scale(7);
  std::array<std::byte, 128> out{};
  auto n = emit_tcp_packet(*IpAddress::parse("192.0.2.1"), *IpAddress::parse("192.0.2.2"), h, {}, out,
                           {.ttl = 64, .identification = 0x1234});
  ASSERT_TRUE(n);
  EXPECT_EQ(to_hex(Bytes(out).first(*n)), kSynV4);
}

// The SendHeader path writes the bytes the TcpHeader path writes, for both families, with a payload,
// SACK blocks and IP parameters, and refuses the same things.
TEST(EmitTcpPacket, SendHeaderWritesWhatItsTcpHeaderWrites) {
  SendHeader h;
  h.src_port = 443;
  h.dst_port = 51000;
  h.seq = SeqNum(7);
  h.ack = SeqNum(0xfffffff0U);
  h.flags = TcpFlags(TcpFlags::kAck | TcpFlags::kPsh);
  h.window = 501;
  h.has_timestamps = true;
  h.timestamps = Timestamps{123456, 654321};
  h.sack_count = 2;
  h.sack[0] = {SeqNum(100), SeqNum(200)};
  h.sack[1] = {SeqNum(300), SeqNum(400)};
  const std::vector<std::byte> payload = from_hex("68656c6c6f2c20776f726c6421");
  const IpParams params{.ttl = 17, .ecn = 2, .dscp = 10, .identification = 99, .flow_label = 0x12345};
  for (const char* family : {"v4", "v6"}) {
    const bool v4 = std::string(family) == "v4";
    const IpAddress src = *IpAddress::parse(v4 ? "192.0.2.1" : "2001:db8::1");
    const IpAddress dst = *IpAddress::parse(v4 ? "198.51.100.7" : "2001:db8::2");
    std::array<std::byte, 256> a{};
    std::array<std::byte, 256> b{};
    const auto na = emit_tcp_packet(src, dst, h, payload, a, params);
    const auto nb = emit_tcp_packet(src, dst, h.to_header(), payload, b, params);
    ASSERT_TRUE(na) << family;
    ASSERT_TRUE(nb) << family;
    EXPECT_EQ(to_hex(Bytes(a).first(*na)), to_hex(Bytes(b).first(*nb))) << family;
    EXPECT_TRUE(TcpPacketView::parse(Bytes(a).first(*na))) << family;
    std::array<std::byte, 60> small{};
    const auto too_small = emit_tcp_packet(src, dst, h, payload, small, params);
    ASSERT_FALSE(too_small) << family;
    EXPECT_EQ(too_small.error(), Error::buffer_too_small) << family;
  }
  std::array<std::byte, 256> buffer{};
  const auto mixed = emit_tcp_packet(*IpAddress::parse("192.0.2.1"), *IpAddress::parse("2001:db8::2"), h,
                                     payload, buffer, params);
  ASSERT_FALSE(mixed);
  EXPECT_EQ(mixed.error(), Error::ip_bad_version);
}

TEST(EmitTcpPacket, RefusesMixedFamiliesAndSmallBuffers) {
  TcpHeader h;
  std::array<std::byte, 128> out{};
  EXPECT_EQ(
      emit_tcp_packet(*IpAddress::parse("192.0.2.1"), *IpAddress::parse("2001:db8::2"), h, {}, out).error(),
      Error::ip_bad_version);
  std::array<std::byte, 39> small{};
  EXPECT_EQ(
      emit_tcp_packet(*IpAddress::parse("192.0.2.1"), *IpAddress::parse("192.0.2.2"), h, {}, small).error(),
      Error::buffer_too_small);
  std::vector<std::byte> huge(70000);
  std::vector<std::byte> big_out(70100);
  EXPECT_EQ(emit_tcp_packet(*IpAddress::parse("192.0.2.1"), *IpAddress::parse("192.0.2.2"), h, huge, big_out)
                .error(),
            Error::payload_too_long);
}

TEST(EmitTcpPacket, ParseOfEmitEqualsTheValue) {
  TcpHeader h;
  h.src_port = 12345;
  h.dst_port = 443;
  h.seq = SeqNum(7);
  h.ack = SeqNum(9);
  h.flags = TcpFlags(TcpFlags::kFin | TcpFlags::kAck);
  h.window = 1234;
  h.options.timestamps = Timestamps{3, 4};
  for (const char* src : {"192.0.2.1", "2001:db8::1"}) {
    const auto s = *IpAddress::parse(src);
    const auto d = *IpAddress::parse(s.is_v4() ? "192.0.2.2" : "2001:db8::2");
    std::array<std::byte, 128> out{};
    auto n = emit_tcp_packet(s, d, h, {}, out);
    ASSERT_TRUE(n);
    auto p = TcpPacketView::parse(Bytes(out).first(*n));
    ASSERT_TRUE(p);
    auto back = TcpHeader::parse(p->tcp());
    ASSERT_TRUE(back);
    h.checksum = back->checksum;
    EXPECT_EQ(*back, h);
  }
}

}  // namespace
}  // namespace synack::wire
