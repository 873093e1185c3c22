// Accurate ECN (RFC 9768) and a Fast Open-hostile path in the simulator: two synack stacks negotiate
// AccECN and the bottleneck's CE marks reach the sender through the ACE counter; the scripted fate that
// drops SYNs with data or a Fast Open option (RFC 7413 §7.1) matches only those.
#include <array>
#include <optional>
#include <vector>

#include <gtest/gtest.h>

#include "synack/sim/link.hpp"
#include "synack/sim/simulation.hpp"
#include "synack/wire/packet.hpp"

namespace synack::sim {
namespace {

using namespace std::chrono_literals;
using wire::TcpFlags;

struct Seen {
  std::uint64_t marked = 0;            ///< client data segments the AQM marked CE
  std::uint64_t dropped = 0;           ///< client data segments dropped
  std::vector<std::uint16_t> ack_ace;  ///< the ACE field of the server's ACKs after the handshake
  std::optional<TcpFlags> syn, syn_ack;
};

Seen bulk(tcp::EcnMode client, tcp::EcnMode server, RunResult& r) {
  SimConfig c;
  c.scenario = "accecn-bulk";
  c.client.ecn = client;
  c.server.ecn = server;
  c.to_server.delay = c.to_client.delay = 10ms;
  c.to_server.bandwidth_bps = 10'000'000;
  c.to_server.aqm_threshold = 5ms;
  c.request_bytes = 256 * 1024;
  Seen seen;
  SimObserver obs;
  obs.on_segment = [&seen](std::uint32_t, const SegmentTrace& s) {
    const TcpFlags f = s.header.flags;
    if (f.syn()) {
      (f.ack() ? seen.syn_ack : seen.syn) = f;
      return;
    }
    if (s.dir == Direction::to_client) {
      seen.ack_ace.push_back(static_cast<std::uint16_t>((f.bits() >> 6U) & 7U));
      return;
    }
    if (s.payload_len == 0) return;
    if (s.fate == Fate::marked) ++seen.marked;
    if (s.fate == Fate::dropped) ++seen.dropped;
  };
  r = run(c, obs);
  return seen;
}

// RFC 9768 §3.1.1-§3.2.2: both AccECN: SYN AE+CWR+ECE, SYN-ACK 010 (a Not-ECT SYN), and the server's ACKs
// count the CE marks from 5 upwards (mod 8); the marks slow the sender, and nothing is lost.
TEST(SimAccEcn, BothAccEcn_AceCountsTheAqmMarks_NoLoss) {
  RunResult r;
  const Seen s = bulk(tcp::EcnMode::accecn, tcp::EcnMode::accecn, r);
  ASSERT_EQ(r.connections.size(), 1U);
  const ConnectionResult& c = r.connections[0];
  EXPECT_EQ(c.outcome, observe::Outcome::established);
  ASSERT_TRUE(c.negotiated.agreed.has_value());
  EXPECT_TRUE(c.negotiated.agreed->accecn);
  ASSERT_TRUE(s.syn && s.syn_ack);
  EXPECT_EQ(s.syn->bits() & 0x1C0U, 0x1C0U);
  EXPECT_EQ((s.syn_ack->bits() >> 6U) & 7U, 0b010U);
  EXPECT_GT(s.marked, 0U);
  EXPECT_EQ(s.dropped, 0U);
  EXPECT_EQ(c.data_retransmits, 0U);
  ASSERT_FALSE(s.ack_ace.empty());
  EXPECT_EQ(s.ack_ace.front(), 5U);  // r.cep starts at 5 (§3.2.1)
  // The last ACK's counter: 5 + every mark, mod 8.
  EXPECT_EQ(s.ack_ace.back(), (5U + s.marked) % 8U);
}

// §3.1.2 Table 2: a server that does RFC 3168 only answers 001; both use classic ECN.
TEST(SimAccEcn, ClientAccEcnServerClassic_FallsBackToRfc3168) {
  RunResult r;
  const Seen s = bulk(tcp::EcnMode::accecn, tcp::EcnMode::passive, r);
  ASSERT_EQ(r.connections.size(), 1U);
  ASSERT_TRUE(r.connections[0].negotiated.agreed.has_value());
  EXPECT_TRUE(r.connections[0].negotiated.agreed->ecn);
  EXPECT_FALSE(r.connections[0].negotiated.agreed->accecn);
  ASSERT_TRUE(s.syn_ack);
  EXPECT_EQ((s.syn_ack->bits() >> 6U) & 7U, 0b001U);
  EXPECT_GT(s.marked, 0U);
  EXPECT_EQ(s.dropped, 0U);
}

std::vector<std::byte> syn(std::size_t payload, std::optional<wire::FastOpenCookie> tfo, bool ack = false) {
  wire::TcpHeader h;
  h.src_port = 40000;
  h.dst_port = 80;
  h.seq = wire::SeqNum(1000);
  h.ack = wire::SeqNum(ack ? 5000U : 0U);
  h.flags = TcpFlags(ack ? (TcpFlags::kSyn | TcpFlags::kAck) : TcpFlags::kSyn);
  h.window = 65535;
  h.options.mss = 1460;
  h.options.fast_open = tfo;
  std::vector<std::byte> data(payload, std::byte{0x61});
  std::vector<std::byte> out(1500);
  const auto n =
      wire::emit_tcp_packet(wire::IpAddress::v4(0xC0000201U), wire::IpAddress::v4(0xC0000202U), h, data, out);
  out.resize(n.value_or(0));
  return out;
}

// RFC 7413 §7.1: a middlebox that drops SYNs carrying data or the Fast Open option; plain SYNs and a
// SYN-ACK with a cookie pass.
TEST(Link, ScriptTfoSyn_DropsSynsWithDataOrTheOption) {
  Impairments imp;
  imp.script.push_back({ScriptRule::Match::tfo_syn, 1, Fate::dropped});
  Link link(imp, 1, 1);
  const std::array<std::byte, 8> bytes{std::byte{1}, std::byte{2}, std::byte{3}, std::byte{4},
                                       std::byte{5}, std::byte{6}, std::byte{7}, std::byte{8}};
  const auto cookie = wire::FastOpenCookie::make(bytes);
  const auto request = wire::FastOpenCookie::make({});
  ASSERT_TRUE(cookie && request);
  EXPECT_EQ(link.send(Instant{}, syn(0, request)).fate, Fate::dropped);
  EXPECT_EQ(link.send(Instant{}, syn(5, cookie)).fate, Fate::dropped);
  EXPECT_EQ(link.send(Instant{}, syn(5, std::nullopt)).fate, Fate::dropped);
  EXPECT_EQ(link.send(Instant{}, syn(0, std::nullopt)).fate, Fate::delivered);
  EXPECT_EQ(link.send(Instant{}, syn(0, cookie, true)).fate, Fate::delivered);
}

}  // namespace
}  // namespace synack::sim
