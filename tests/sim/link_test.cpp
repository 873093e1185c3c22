// The simulated link: delays, seeded impairments, scripted fates, bandwidth.
#include "synack/sim/link.hpp"

#include <array>
#include <optional>
#include <vector>

#include <gtest/gtest.h>

#include "synack/sim/random.hpp"
#include "synack/wire/packet.hpp"

namespace synack::sim {
namespace {

using namespace std::chrono_literals;
using wire::TcpFlags;

const wire::IpAddress kClient = wire::IpAddress::v4(0xC0000201U);
const wire::IpAddress kServer = wire::IpAddress::v4(0xC0000202U);

std::vector<std::byte> datagram(std::uint16_t flags, std::uint32_t seq = 1000, std::size_t payload = 0,
                                std::uint16_t src_port = 40000) {
  wire::TcpHeader h;
  h.src_port = src_port;
  h.dst_port = 80;
  h.seq = wire::SeqNum(seq);
  h.ack = wire::SeqNum((flags & TcpFlags::kAck) != 0 ? 5000U : 0U);
  h.flags = TcpFlags(flags);
  h.window = 65535;
  if ((flags & TcpFlags::kSyn) != 0) h.options.mss = 1460;
  std::vector<std::byte> data(payload, std::byte{0x61});
  std::vector<std::byte> out(1500);
  const auto n = wire::emit_tcp_packet(kClient, kServer, h, data, out);
  out.resize(n.value_or(0));
  return out;
}

// A data datagram with the IP ECN field `ecn` (IPv4, or IPv6 when `v6`).
std::vector<std::byte> ecn_datagram(std::uint8_t ecn, bool v6 = false) {
  wire::TcpHeader h;
  h.src_port = 40000;
  h.dst_port = 80;
  h.seq = wire::SeqNum(1000);
  h.ack = wire::SeqNum(5000);
  h.flags = TcpFlags(TcpFlags::kAck);
  h.window = 65535;
  std::vector<std::byte> data(1000, std::byte{0x61});
  std::vector<std::byte> out(1500);
  wire::IpParams ip;
  ip.ecn = ecn;
  std::array<std::byte, 16> a{std::byte{0x20}, std::byte{0x01}, std::byte{0x0d}, std::byte{0xb8}};
  std::array<std::byte, 16> b = a;
  a[15] = std::byte{1};
  b[15] = std::byte{2};
  const auto n = v6 ? wire::emit_tcp_packet(wire::IpAddress::v6(a), wire::IpAddress::v6(b), h, data, out, ip)
                    : wire::emit_tcp_packet(kClient, kServer, h, data, out, ip);
  out.resize(n.value_or(0));
  return out;
}

TEST(Rng, SameSeedSameStreamSameNumbers) {
  Rng a(42, 1), b(42, 1), c(42, 2), d(43, 1);
  for (int i = 0; i < 100; ++i) {
    const auto x = a.next();
    EXPECT_EQ(x, b.next());
    EXPECT_NE(x, c.next());
    EXPECT_NE(x, d.next());
  }
}

TEST(Rng, UniformAndBelowStayInRange) {
  Rng r(7);
  for (int i = 0; i < 10000; ++i) {
    const double u = r.uniform();
    EXPECT_GE(u, 0.0);
    EXPECT_LT(u, 1.0);
    EXPECT_LT(r.below(10), 10U);
  }
  EXPECT_FALSE(r.chance(0.0));
  EXPECT_TRUE(r.chance(1.0));
}

TEST(Link, CleanLinkDeliversAfterTheFixedDelay) {
  Impairments imp;
  imp.delay = 25ms;
  Link link(imp, 1, 1);
  const auto d = datagram(TcpFlags::kSyn);
  const auto out = link.send(Instant::from_duration(1s), d);
  EXPECT_EQ(out.fate, Fate::delivered);
  ASSERT_TRUE(out.arrival);
  EXPECT_EQ(*out.arrival, Instant::from_duration(1025ms));
  EXPECT_EQ(link.next_delivery(), Instant::from_duration(1025ms));
  EXPECT_FALSE(link.pop_due(Instant::from_duration(1024ms)));
  const auto got = link.pop_due(Instant::from_duration(1025ms));
  ASSERT_TRUE(got);
  EXPECT_EQ(*got, d);
  EXPECT_EQ(link.next_delivery(), Instant::max());
}

TEST(Link, LossRateFollowsTheProbability) {
  Impairments imp;
  imp.loss = 0.1;
  Link link(imp, 9, 1);
  const auto d = datagram(TcpFlags::kAck);
  int dropped = 0;
  for (int i = 0; i < 20000; ++i) dropped += link.send(Instant{}, d).fate == Fate::dropped ? 1 : 0;
  EXPECT_NEAR(dropped / 20000.0, 0.1, 0.01);
  EXPECT_EQ(link.stats().dropped, static_cast<std::uint64_t>(dropped));
  EXPECT_EQ(link.in_flight(), static_cast<std::size_t>(20000 - dropped));
}

TEST(Link, SameSeedSameFates) {
  Impairments imp;
  imp.loss = 0.3;
  imp.duplicate = 0.1;
  imp.corrupt = 0.1;
  imp.reorder = 0.1;
  imp.jitter = 3ms;
  Link a(imp, 5, 1), b(imp, 5, 1);
  const auto d = datagram(TcpFlags::kAck);
  for (int i = 0; i < 1000; ++i) {
    const auto x = a.send(Instant::from_duration(1ms * i), d);
    const auto y = b.send(Instant::from_duration(1ms * i), d);
    EXPECT_EQ(x.fate, y.fate);
    EXPECT_EQ(x.arrival, y.arrival);
  }
  while (true) {
    auto x = a.pop_due(Instant::max() - 1ns);
    auto y = b.pop_due(Instant::max() - 1ns);
    ASSERT_EQ(x.has_value(), y.has_value());
    if (!x) break;
    EXPECT_EQ(*x, *y);
  }
}

TEST(Link, CorruptionIsCaughtByTheReceiversChecksum) {
  Impairments imp;
  imp.corrupt = 1.0;
  Link link(imp, 3, 1);
  for (int i = 0; i < 500; ++i) {
    const auto d = datagram(TcpFlags::kAck | TcpFlags::kPsh, 1000U + static_cast<std::uint32_t>(i), 100);
    EXPECT_EQ(link.send(Instant{}, d).fate, Fate::corrupted);
    const auto got = link.pop_due(Instant::from_duration(1s));
    ASSERT_TRUE(got);
    EXPECT_NE(*got, d);
    // The IP header is untouched; the TCP checksum fails.
    EXPECT_TRUE(std::equal(d.begin(), d.begin() + 20, got->begin()));
    EXPECT_FALSE(wire::TcpPacketView::parse(*got).has_value()) << "corruption " << i << " went unnoticed";
  }
}

TEST(Link, DuplicateArrivesTwice) {
  Impairments imp;
  imp.duplicate = 1.0;
  Link link(imp, 3, 1);
  const auto d = datagram(TcpFlags::kSyn);
  EXPECT_EQ(link.send(Instant{}, d).fate, Fate::duplicated);
  EXPECT_TRUE(link.pop_due(Instant::from_duration(10ms)));
  EXPECT_TRUE(link.pop_due(Instant::from_duration(10ms)));
  EXPECT_FALSE(link.pop_due(Instant::from_duration(10ms)));
}

TEST(Link, ReorderedSegmentIsHeldBackPastTheNextOne) {
  Impairments imp;
  imp.reorder = 0.5;
  Link link(imp, 11, 1);
  // Find a held-back segment followed by one that is not: the second arrives first.
  std::optional<SendOutcome> late;
  for (std::uint32_t i = 0; i < 64; ++i) {
    const auto out = link.send(Instant::from_duration(1ms * i), datagram(TcpFlags::kAck, i));
    if (out.reordered) {
      EXPECT_EQ(*out.arrival, Instant::from_duration(1ms * i + 21ms));  // delay + delay + 1 ms
      late = out;
    } else if (late) {
      EXPECT_LT(*out.arrival, *late->arrival);
      return;
    }
  }
  FAIL() << "no reordering in 64 draws at p = 0.5";
}

TEST(Link, BandwidthSerialisesDatagrams) {
  Impairments imp;
  imp.delay = 0ms;
  imp.bandwidth_bps = 8'000'000;  // 1 byte per microsecond
  Link link(imp, 1, 1);
  const auto d = datagram(TcpFlags::kAck, 1, 960);  // 20 + 20 + 960 = 1000 bytes -> 1 ms
  ASSERT_EQ(d.size(), 1000U);
  EXPECT_EQ(*link.send(Instant{}, d).arrival, Instant::from_duration(1ms));
  EXPECT_EQ(*link.send(Instant{}, d).arrival, Instant::from_duration(2ms));
  EXPECT_EQ(*link.send(Instant::from_duration(5ms), d).arrival, Instant::from_duration(6ms));
}

TEST(Link, ScriptDropsTheNthSynOfEachConnection) {
  Impairments imp;
  imp.script.push_back({ScriptRule::Match::nth_syn, 2, Fate::dropped});
  Link link(imp, 1, 1);
  const auto syn_a = datagram(TcpFlags::kSyn, 1, 0, 40000);
  const auto syn_b = datagram(TcpFlags::kSyn, 1, 0, 40001);
  EXPECT_EQ(link.send(Instant{}, syn_a).fate, Fate::delivered);
  EXPECT_EQ(link.send(Instant{}, syn_b).fate, Fate::delivered);
  EXPECT_EQ(link.send(Instant{}, syn_a).fate, Fate::dropped);
  EXPECT_EQ(link.send(Instant{}, syn_b).fate, Fate::dropped);
  EXPECT_EQ(link.send(Instant{}, syn_a).fate, Fate::delivered);
}

TEST(Link, ScriptDropsEverySynAckAndTheFinalAck) {
  Impairments imp;
  imp.script.push_back({ScriptRule::Match::every_syn_ack, 1, Fate::dropped});
  imp.script.push_back({ScriptRule::Match::final_ack, 1, Fate::dropped});
  Link link(imp, 1, 1);
  EXPECT_EQ(link.send(Instant{}, datagram(TcpFlags::kSyn | TcpFlags::kAck)).fate, Fate::dropped);
  EXPECT_EQ(link.send(Instant{}, datagram(TcpFlags::kSyn | TcpFlags::kAck)).fate, Fate::dropped);
  EXPECT_EQ(link.send(Instant{}, datagram(TcpFlags::kAck)).fate, Fate::dropped);    // the final ACK
  EXPECT_EQ(link.send(Instant{}, datagram(TcpFlags::kAck)).fate, Fate::delivered);  // a later ACK
}

TEST(Link, ScriptCorruptsTheNthSegment) {
  Impairments imp;
  imp.script.push_back({ScriptRule::Match::nth_segment, 3, Fate::corrupted});
  Link link(imp, 1, 1);
  EXPECT_EQ(link.send(Instant{}, datagram(TcpFlags::kSyn)).fate, Fate::delivered);
  EXPECT_EQ(link.send(Instant{}, datagram(TcpFlags::kAck)).fate, Fate::delivered);
  EXPECT_EQ(link.send(Instant{}, datagram(TcpFlags::kAck)).fate, Fate::corrupted);
  EXPECT_EQ(link.send(Instant{}, datagram(TcpFlags::kAck)).fate, Fate::delivered);
}

TEST(Link, FateNames) {
  EXPECT_EQ(to_string(Fate::delivered), "delivered");
  EXPECT_EQ(to_string(Fate::dropped), "dropped");
  EXPECT_EQ(to_string(Fate::duplicated), "duplicated");
  EXPECT_EQ(to_string(Fate::corrupted), "corrupted");
}

}  // namespace
}  // namespace synack::sim

namespace synack::sim {
namespace {

// RFC 3168 §5 at a bottleneck: past the AQM threshold an ECN-capable datagram is marked CE (the IPv4
// header checksum mended), a Not-ECT one is dropped before it takes a place in the queue.
TEST(Link, AqmThreshold_EctMarkedCe_NotEctDropped) {
  for (const bool v6 : {false, true}) {
    Impairments imp;
    imp.delay = 1ms;
    imp.bandwidth_bps = 1'000'000;  // a 1,040-byte datagram takes 8.3 ms
    imp.aqm_threshold = 5ms;
    Link link(imp, 1, 0);
    EXPECT_EQ(link.send(Instant{}, ecn_datagram(0b10, v6)).fate, Fate::delivered);  // empty queue
    EXPECT_EQ(link.send(Instant{}, ecn_datagram(0b10, v6)).fate, Fate::marked);     // 8.3 ms ahead
    EXPECT_EQ(link.send(Instant{}, ecn_datagram(0b00, v6)).fate, Fate::dropped);    // Not-ECT
    EXPECT_EQ(link.send(Instant{}, ecn_datagram(0b01, v6)).fate, Fate::marked);     // ECT(1)
    EXPECT_EQ(link.stats().marked, 2U);
    EXPECT_EQ(link.stats().aqm_dropped, 1U);
    EXPECT_EQ(link.stats().dropped, 1U);
    std::vector<std::uint8_t> ecn;
    while (auto d = link.pop_due(Instant{} + 1s)) {
      const auto view = wire::TcpPacketView::parse(*d, wire::ChecksumPolicy::verify);
      ASSERT_TRUE(view) << "the IPv4 header checksum was mended";
      ecn.push_back(view->ip().ecn);
    }
    EXPECT_EQ(ecn, (std::vector<std::uint8_t>{0b10, 0b11, 0b11}));
  }
}

TEST(Link, NoAqm_QueueUnlimited_NothingMarked) {
  Impairments imp;
  imp.bandwidth_bps = 1'000'000;
  Link link(imp, 1, 0);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(link.send(Instant{}, ecn_datagram(0b10)).fate, Fate::delivered);
  EXPECT_EQ(link.stats().marked, 0U);
  EXPECT_EQ(to_string(Fate::marked), "marked");
}

}  // namespace
}  // namespace synack::sim
