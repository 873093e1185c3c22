// Accurate ECN (RFC 9768) as synack supports it: the handshake codepoints (§3.1.1-§3.1.2), the SYN
// retransmission rule (§3.1.4.1), the ACE field as the CE packet counter on every ACK (§3.2.2), and the
// sender's response to an increase of the counter (once per window, as for ECE). Active opens and
// listeners; no AccECN option.
#include "synack/tcp/accecn.hpp"

#include <array>
#include <vector>

#include "fixture.hpp"
#include "synack/tcp/listener.hpp"

namespace synack::tcp::testing {
namespace {

inline constexpr std::uint16_t E = TcpFlags::kEce;
inline constexpr std::uint16_t C = TcpFlags::kCwr;
inline constexpr std::uint16_t AE = TcpFlags::kAe;

/// The flags of a SYN-ACK (or ACK) whose ACE field is `ace`.
std::uint16_t with(std::uint16_t flags, std::uint8_t ace) {
  return accecn::with_ace(flags, ace);
}

struct Out {
  wire::TcpHeader h;
  std::size_t payload = 0;
  std::uint8_t ecn = 0;
};

class AccEcnTest : public EngineTest {
 protected:
  std::vector<Out> drain_out() {
    std::vector<Out> out;
    while (auto o = conn->poll_transmit(now)) {
      out.push_back(Out{o->header.to_header(), o->payload.size(), o->ecn});
      if (out.size() > 10000) break;
    }
    return out;
  }
  void open_accecn() {
    config.ecn = EcnMode::accecn;
    conn = Connection::open_active(config, tuple, make_offer(config, wire::IpVersion::v4), iss, 0, now);
  }
  /// SYN-SENT in AccECN mode, then a SYN-ACK with `flags` arriving with IP-ECN `ip_ecn`.
  void syn_ack(std::uint16_t flags, std::uint8_t ip_ecn = ecn::kNotEct) {
    open_accecn();
    const auto syn = drain_out();
    ASSERT_EQ(syn.size(), 1U);
    now += 10ms;
    auto h = seg(flags, peer_iss, iss + 1, 1024);
    h.options = peer_syn_options(peer_tsval);
    conn->on_segment(now, h, {}, ip_ecn);
    ASSERT_EQ(conn->state(), State::established);
  }
  /// ESTABLISHED in AccECN mode (SYN-ACK 0b010); the handshake's ACK drained.
  void accecn_established() {
    syn_ack(with(S | A, 0b010));
    ASSERT_TRUE(conn->info().negotiated.accecn);
    const auto ack = drain_out();
    ASSERT_EQ(ack.size(), 1U);
    ASSERT_EQ(accecn::ace(ack[0].h.flags), 0b010);
    deliver(seg(with(A, 5), peer_next(), our_next(), 1024));  // a window update (scaled)
    ASSERT_TRUE(drain_out().empty());
  }
  void deliver_ip(const wire::TcpHeader& h, const std::vector<std::byte>& payload, std::uint8_t ip_ecn) {
    conn->on_segment(now, h, wire::Bytes(payload), ip_ecn);
  }
};

using AccEcnSynSent = AccEcnTest;
using AccEcnEstablished = AccEcnTest;

// RFC 9768 §3.1.1: "the TCP client ... MUST set both the ECE and CWR flags and the AE flag" on the SYN.
TEST_F(AccEcnSynSent, AccEcnMode_SynCarriesAeCwrEce_NotEct) {
  open_accecn();
  const auto syn = drain_out();
  ASSERT_EQ(syn.size(), 1U);
  EXPECT_EQ(syn[0].h.flags, TcpFlags(S | AE | C | E));
  EXPECT_EQ(syn[0].ecn, ecn::kNotEct);
}

TEST_F(AccEcnSynSent, PerConnectionOverride_AsksForAccEcnAlthoughConfigIsPassive) {
  OfferOverrides ov;
  ov.accecn = true;
  conn = Connection::open_active(config, tuple, make_offer(config, wire::IpVersion::v4, ov), iss, 0, now);
  const auto syn = drain_out();
  ASSERT_EQ(syn.size(), 1U);
  EXPECT_EQ(syn[0].h.flags, TcpFlags(S | AE | C | E));
}

// §3.1.2 Table 2: SYN-ACK codepoints 010, 011, 100 and 110 agree to AccECN; §3.2.2.1 Table 3: the ACK
// of the SYN-ACK feeds back the SYN-ACK's IP-ECN (Not-ECT 010, ECT(1) 011, ECT(0) 100, CE 110); later
// ACKs carry r.cep, which starts at 5 (§3.2.1) and counts a CE-marked SYN-ACK (§3.2.2.2: 6).
TEST_F(AccEcnSynSent, SynAckAccEcnCodepoint_AccEcnFirstAckFeedsBackIpEcn) {
  const std::uint8_t codepoints[] = {0b010, 0b011, 0b100, 0b110};
  const std::uint8_t ip[] = {ecn::kNotEct, ecn::kEct1, ecn::kEct0, ecn::kCe};
  const std::uint8_t expected[] = {0b010, 0b011, 0b100, 0b110};
  for (std::size_t i = 0; i < 4; ++i) {
    syn_ack(with(S | A, codepoints[i]), ip[i]);
    EXPECT_TRUE(conn->info().negotiated.ecn);
    EXPECT_TRUE(conn->info().negotiated.accecn);
    const auto ack = drain_out();
    ASSERT_EQ(ack.size(), 1U);
    EXPECT_EQ(accecn::ace(ack[0].h.flags), expected[i]) << i;
    ASSERT_EQ(conn->send(bytes_of(100)).value(), 100U);
    const auto data = drain_out();
    ASSERT_EQ(data.size(), 1U);
    EXPECT_EQ(accecn::ace(data[0].h.flags), ip[i] == ecn::kCe ? 6 : 5) << i;
    EXPECT_EQ(data[0].ecn, ecn::kEct0);
  }
}

// §3.1.3: the reserved 101 (the ECN nonce's) -> AccECN, "as if it fed back that the IP-ECN field on the
// SYN had arrived unchanged".
TEST_F(AccEcnSynSent, SynAckReserved101_AccEcn) {
  syn_ack(S | A | AE | E);
  EXPECT_TRUE(conn->info().negotiated.accecn);
  const auto ack = drain_out();
  ASSERT_EQ(ack.size(), 1U);
  EXPECT_EQ(accecn::ace(ack[0].h.flags), 0b010);
}

// §3.1.2 Table 2: 001 (RFC 3168's SYN-ACK) -> classic ECN feedback; RFC 3168 from then on.
TEST_F(AccEcnSynSent, SynAckClassic_FallsBackToRfc3168) {
  syn_ack(S | A | E);
  EXPECT_TRUE(conn->info().negotiated.ecn);
  EXPECT_FALSE(conn->info().negotiated.accecn);
  const auto ack = drain_out();
  ASSERT_EQ(ack.size(), 1U);
  EXPECT_EQ(ack[0].h.flags, TcpFlags(A));
  // RFC 3168 feedback from now on: a CE mark is echoed with ECE.
  deliver_ip(seg(A, peer_next(), our_next()), bytes_of(10), ecn::kCe);
  const auto echo = drain_out();
  ASSERT_EQ(echo.size(), 1U);
  EXPECT_EQ(echo[0].h.flags, TcpFlags(A | E));
}

// §3.1.2 Table 2: 000 -> no ECN; 111 (a server that reflects the flags: "Broken") -> no ECN.
TEST_F(AccEcnSynSent, SynAckWithoutEcnOrReflected_NoEcn) {
  for (const std::uint16_t flags : std::array<std::uint16_t, 2>{S | A, S | A | AE | C | E}) {
    syn_ack(flags);
    EXPECT_FALSE(conn->info().negotiated.ecn);
    EXPECT_FALSE(conn->info().negotiated.accecn);
    const auto ack = drain_out();
    ASSERT_EQ(ack.size(), 1U);
    EXPECT_EQ(ack[0].h.flags, TcpFlags(A));
    ASSERT_EQ(conn->send(bytes_of(100)).value(), 100U);
    EXPECT_EQ(drain_out().at(0).ecn, ecn::kNotEct);
  }
}

// §3.1.4.1: the first retransmission of an AccECN SYN still requests AccECN; later ones go without the
// three flags (a path that drops them).
TEST_F(AccEcnSynSent, SynTimeout_FirstRetransmissionKeepsAccEcn_SecondHasNoEcnFlags) {
  open_accecn();
  ASSERT_EQ(drain_out().at(0).h.flags, TcpFlags(S | AE | C | E));
  run_until(conn->next_deadline());
  EXPECT_EQ(drain_out().at(0).h.flags, TcpFlags(S | AE | C | E));
  run_until(conn->next_deadline());
  EXPECT_EQ(drain_out().at(0).h.flags, TcpFlags(S));
  auto h = seg(with(S | A, 0b010), peer_iss, iss + 1, 1024);
  h.options = peer_syn_options(peer_tsval);
  deliver(h);
  ASSERT_EQ(conn->state(), State::established);
  EXPECT_FALSE(conn->info().negotiated.accecn);
  EXPECT_FALSE(conn->info().negotiated.ecn);
}

// §3.2: r.cep counts CE-marked packets; §3.2.2.2: every ACK carries it in ACE (mod 8). §3.2.2.5.1: a CE
// on data is acknowledged at once. No ECE echo and no CWR semantics in AccECN mode (§3.1.5).
TEST_F(AccEcnEstablished, CeReceived_AceCountsEveryMark) {
  accecn_established();
  deliver_ip(seg(A | with(0, 5), peer_next(), our_next()), bytes_of(100), ecn::kCe);
  auto out = drain_out();
  ASSERT_EQ(out.size(), 1U);
  EXPECT_EQ(accecn::ace(out[0].h.flags), 6);
  deliver_ip(seg(A | with(0, 5), peer_next(), our_next()), bytes_of(100), ecn::kCe);
  deliver_ip(seg(A | with(0, 5), peer_next(), our_next()), bytes_of(100), ecn::kCe);
  deliver_ip(seg(A | with(0, 5), peer_next(), our_next()), bytes_of(100), ecn::kEct0);
  out = drain_out();
  ASSERT_FALSE(out.empty());
  EXPECT_EQ(accecn::ace(out.back().h.flags), 0);  // 5 + 3 = 8: the field wraps
  EXPECT_EQ(conn->info().ecn_ce_received, 3U);
  // A segment with "CWR" (ACE bit 1) does not stop anything: there is no echo to stop.
  deliver_ip(seg(A | C, peer_next(), our_next()), bytes_of(100), ecn::kEct0);
  out = drain_out();
  if (!out.empty()) {
    EXPECT_EQ(accecn::ace(out.back().h.flags), 0);
  }
}

// §3.2.2.2: an increase of the peer's ACE counter is congestion feedback; §3.1.5: the response is RFC
// 3168's (at most once per window) and the host "MUST NOT set CWR to indicate" it (the bit is ACE's).
TEST_F(AccEcnEstablished, AceIncrease_CwndReducedOncePerWindow_NoCwrFlag) {
  accecn_established();
  const std::uint32_t smss = conn->info().smss;
  ASSERT_EQ(conn->send(bytes_of(100'000)).value(), 100'000U);
  const auto burst = drain_out();
  ASSERT_GE(burst.size(), 4U);
  for (const Out& o : burst) EXPECT_EQ(accecn::ace(o.h.flags), accecn::kCepInit);
  const auto flight = static_cast<std::uint32_t>(conn->info().snd_nxt - conn->info().snd_una);
  // The ACE unchanged (5): no response.
  deliver(seg(with(A, 5), peer_next(), conn->info().snd_una + smss));
  EXPECT_EQ(conn->info().ecn_reductions, 0U);
  (void)drain_out();
  // ACE 7: two CE marks reported.
  const std::uint32_t acked = flight / 4 * 3 / smss * smss;
  deliver(seg(with(A, 7), peer_next(), conn->info().snd_una + acked));
  EXPECT_EQ(conn->info().ecn_reductions, 1U);
  EXPECT_EQ(conn->info().ecn_ce_delivered, 2U);
  const auto out = drain_out();
  ASSERT_FALSE(out.empty());
  for (const Out& o : out) EXPECT_EQ(accecn::ace(o.h.flags), accecn::kCepInit);  // no CWR
  // More within the same window: counted, no second reduction.
  deliver(seg(with(A, 0), peer_next(), conn->info().snd_una + smss));
  EXPECT_EQ(conn->info().ecn_reductions, 1U);
  EXPECT_EQ(conn->info().ecn_ce_delivered, 3U);
}

// §3.2.2.2: a superseded ACK (older than SND.UNA) carries a stale counter; it is not read.
TEST_F(AccEcnEstablished, StaleAck_AceNotRead) {
  accecn_established();
  ASSERT_EQ(conn->send(bytes_of(10'000)).value(), 10'000U);
  (void)drain_out();
  deliver(seg(with(A, 5), peer_next(), conn->info().snd_una + 2000));
  deliver(seg(with(A, 2), peer_next(), conn->info().snd_una - 1000));
  EXPECT_EQ(conn->info().ecn_ce_delivered, 0U);
}

// --- passive opens: the listener ---------------------------------------------------------------------

IsnGenerator::Key isn_key() {
  IsnGenerator::Key k{};
  k[0] = std::byte{7};
  return k;
}

class AccEcnListenTest : public EngineTest {
 protected:
  IsnGenerator isn_gen{isn_key()};
  std::optional<Listener> listener;
  wire::FourTuple at = test_tuple();  // local = listener side

  void listen(EcnMode mode = EcnMode::accecn) {
    config.ecn = mode;
    listener.emplace(config, at.local, 4);
  }
  wire::TcpHeader syn(std::uint16_t flags) {
    auto h = seg(flags, peer_iss, SeqNum{0});
    h.options = peer_syn_options(peer_tsval);
    return h;
  }
  wire::TcpHeader final_ack(const wire::TcpHeader& sa, std::uint8_t ace) const {
    wire::TcpHeader h;
    h.src_port = at.remote.port;
    h.dst_port = at.local.port;
    h.seq = peer_iss + 1;
    h.ack = sa.seq + 1;
    h.flags = TcpFlags(with(A, ace));
    h.window = 1000;
    if (sa.options.timestamps)
      h.options.timestamps = wire::Timestamps{peer_tsval + 1, sa.options.timestamps->value};
    return h;
  }
  /// An ACK from the client of a connection whose ISS is `server_iss`, with ACE `ace`.
  wire::TcpHeader ack_of(SeqNum server_iss, std::uint8_t ace) const {
    wire::TcpHeader sa;
    sa.seq = server_iss;
    return final_ack(sa, ace);
  }
  struct Done {
    TcpFlags syn_ack;
    Negotiated negotiated;
    PassiveOpen open;
  };
  /// SYN with `flags` and IP-ECN `ip_ecn` into the queue; the SYN-ACK, then a final ACK with `ace`.
  Done handshake(std::uint16_t flags, std::uint8_t ip_ecn = ecn::kNotEct, std::uint8_t ace = 0b010) {
    const ListenerReply r = listener->on_segment(now, at, syn(flags), {}, isn_gen, ip_ecn);
    EXPECT_EQ(r.kind, ListenerReply::Kind::send_syn_ack);
    const wire::TcpHeader sa = listener->syn_ack(now, r.slot);  // read back from the packed slot
    const wire::TcpHeader ack = final_ack(sa, ace);
    EXPECT_EQ(listener->on_half_open_segment(now, r.slot, ack).kind, ListenerReply::Kind::complete);
    const PassiveOpen open = listener->passive_open(r.slot, ack);
    listener->free_half_open(r.slot);
    return {sa.flags, open.negotiated, open};
  }
};

using AccEcnListen = AccEcnListenTest;

// RFC 9768 §3.1.1, Table 2's top block: the SYN-ACK to an AccECN SYN feeds back the SYN's IP-ECN field.
TEST_F(AccEcnListen, AccEcnSyn_SynAckFeedsBackSynIpEcn) {
  listen();
  const std::uint8_t ip[] = {ecn::kNotEct, ecn::kEct1, ecn::kEct0, ecn::kCe};
  const std::uint8_t expected[] = {0b010, 0b011, 0b100, 0b110};
  for (std::size_t i = 0; i < 4; ++i) {
    const Done d = handshake(S | AE | C | E, ip[i]);
    EXPECT_EQ(d.syn_ack, TcpFlags(with(S | A, expected[i]))) << i;
    EXPECT_TRUE(d.negotiated.accecn);
    EXPECT_TRUE(d.negotiated.ecn);
  }
}

// §3.1.3: "any combination other than (0,0,0), (0,1,1) or (1,1,1)" is negotiated as if it were 111.
TEST_F(AccEcnListen, OtherFlagCombinations_AnsweredAsAccEcn) {
  listen();
  for (const std::uint16_t flags :
       std::array<std::uint16_t, 5>{S | E, S | C, S | AE, S | AE | E, S | AE | C}) {
    const Done d = handshake(flags);
    EXPECT_EQ(d.syn_ack, TcpFlags(with(S | A, 0b010)));
    EXPECT_TRUE(d.negotiated.accecn);
  }
}

// §3.1.2 Table 2: an RFC 3168 SYN (011) to an AccECN server gets RFC 3168's SYN-ACK (001); 000 none.
TEST_F(AccEcnListen, ClassicOrPlainSyn_Rfc3168OrNoEcn) {
  listen();
  Done d = handshake(S | C | E);
  EXPECT_EQ(d.syn_ack, TcpFlags(S | A | E));
  EXPECT_TRUE(d.negotiated.ecn);
  EXPECT_FALSE(d.negotiated.accecn);
  d = handshake(S);
  EXPECT_EQ(d.syn_ack, TcpFlags(S | A));
  EXPECT_FALSE(d.negotiated.ecn);
}

// A listener that does not do AccECN (passive, on) answers an AccECN SYN with RFC 3168's SYN-ACK; with
// ECN off, with no ECN.
TEST_F(AccEcnListen, AccEcnSyn_ClassicListener_Rfc3168SynAck) {
  for (const EcnMode mode : {EcnMode::passive, EcnMode::on}) {
    listen(mode);
    const Done d = handshake(S | AE | C | E, ecn::kEct0);
    EXPECT_EQ(d.syn_ack, TcpFlags(S | A | E));
    EXPECT_FALSE(d.negotiated.accecn);
  }
  listen(EcnMode::off);
  EXPECT_EQ(handshake(S | AE | C | E).syn_ack, TcpFlags(S | A));
}

// §3.2.2.1 Table 4 Note 1: an ACK of the SYN-ACK with ACE 0b000: the server "MUST NOT set ECT on outgoing
// packets and MUST NOT respond to AccECN feedback"; its own feedback goes on.
TEST_F(AccEcnListen, FinalAckAceZero_NoEctButAccEcnFeedback) {
  listen();
  const Done d = handshake(S | AE | C | E, ecn::kNotEct, 0b000);
  EXPECT_TRUE(d.negotiated.accecn);
  EXPECT_FALSE(d.negotiated.ecn);
  conn = Connection::open_passive(config, d.open, now);
  ASSERT_EQ(conn->send(bytes_of(100)).value(), 100U);
  auto o = conn->poll_transmit(now);
  ASSERT_TRUE(o.has_value());
  EXPECT_EQ(o->ecn, ecn::kNotEct);
  EXPECT_EQ(accecn::ace(o->header.to_header().flags), accecn::kCepInit);
}

// §3.2.2.1: the final ACK's handshake encoding (which the Stack hands to the connection again when it
// carries data) is not read as a counter: no congestion feedback from it.
TEST_F(AccEcnListen, ServerConnection_HandshakeAceIsNotCounted) {
  listen();
  const Done d = handshake(S | AE | C | E, ecn::kNotEct, 0b010);
  conn = Connection::open_passive(config, d.open, now);
  auto ack = ack_of(d.open.iss, 0b010);
  conn->on_segment(now, ack, wire::Bytes(bytes_of(10)), ecn::kEct0);
  ASSERT_EQ(conn->send(bytes_of(5000)).value(), 5000U);
  while (conn->poll_transmit(now)) {
  }
  const std::uint32_t cwnd = conn->info().cwnd;
  ack = ack_of(d.open.iss, 5);
  ack.ack = d.open.iss + 1 + 1000;
  conn->on_segment(now, ack, {}, ecn::kNotEct);
  EXPECT_EQ(conn->info().ecn_ce_delivered, 0U);
  EXPECT_EQ(conn->info().ecn_reductions, 0U);
  EXPECT_GE(conn->info().cwnd, cwnd);
}

// §3.2.2.1 Table 4: an ACK of the SYN-ACK with ACE 0b110 (the SYN-ACK arrived CE) sets s.cep to 6, so
// the client's counter of 6 on later ACKs is no new mark.
TEST_F(AccEcnListen, FinalAckAceCe_SCepStartsAtSix) {
  listen();
  const Done d = handshake(S | AE | C | E, ecn::kNotEct, 0b110);
  EXPECT_EQ(d.open.accecn_s_cep, 6);
  conn = Connection::open_passive(config, d.open, now);
  ASSERT_EQ(conn->send(bytes_of(5000)).value(), 5000U);
  while (conn->poll_transmit(now)) {
  }
  auto ack = ack_of(d.open.iss, 6);
  ack.ack = d.open.iss + 1 + 1000;
  conn->on_segment(now, ack, {}, ecn::kNotEct);
  EXPECT_EQ(conn->info().ecn_ce_delivered, 0U);
  ack.flags = TcpFlags(with(A, 7));
  ack.ack = ack.ack + 1000;
  conn->on_segment(now, ack, {}, ecn::kNotEct);
  EXPECT_EQ(conn->info().ecn_ce_delivered, 1U);
  EXPECT_EQ(conn->info().ecn_reductions, 1U);
}

// §3.2.2.5.1 "Increment-Triggered ACKs": CE marks on packets without data are acknowledged once 3 arrived
// since the last ACK (n at least 3, at most 7).
TEST_F(AccEcnEstablished, CeOnPureAcks_AckedEveryThird) {
  accecn_established();
  deliver_ip(seg(with(A, 5), peer_next(), our_next()), {}, ecn::kCe);
  deliver_ip(seg(with(A, 5), peer_next(), our_next()), {}, ecn::kCe);
  EXPECT_TRUE(drain_out().empty());
  deliver_ip(seg(with(A, 5), peer_next(), our_next()), {}, ecn::kCe);
  const auto out = drain_out();
  ASSERT_EQ(out.size(), 1U);
  EXPECT_EQ(accecn::ace(out[0].h.flags), 0);  // 5 + 3
}

}  // namespace
}  // namespace synack::tcp::testing
