// Explicit Congestion Notification (RFC 3168): negotiation on the handshake (§6.1.1), ECT on new data only
// (§6.1.2, §6.1.4-5), the receiver's ECE echo until CWR (§6.1.3) and the sender's response to ECE at most
// once per window (§6.1.2). Active opens, listeners and SYN cookies.
#include <algorithm>
#include <vector>

#include "fixture.hpp"
#include "synack/tcp/listener.hpp"
#include "synack/tcp/syn_cookie.hpp"

namespace synack::tcp::testing {
namespace {

inline constexpr std::uint16_t E = TcpFlags::kEce;
inline constexpr std::uint16_t C = TcpFlags::kCwr;

/// A segment we sent, with the IP ECN field the Stack would write for it.
struct SentEcn {
  wire::TcpHeader h;
  std::size_t payload = 0;
  std::uint8_t ecn = 0;
};

class EcnTest : public EngineTest {
 protected:
  std::vector<SentEcn> drain_ecn() {
    std::vector<SentEcn> out;
    while (auto o = conn->poll_transmit(now)) {
      out.push_back(SentEcn{o->header.to_header(), o->payload.size(), o->ecn});
      if (out.size() > 10000) break;
    }
    return out;
  }
  /// SYN-SENT with ECN asked for, then the peer's SYN-ACK with `flags`.
  void active_with_syn_ack(std::uint16_t flags) {
    config.ecn = EcnMode::on;
    conn = Connection::open_active(config, tuple, make_offer(config, wire::IpVersion::v4), iss, 0, now);
    const auto syn = drain_ecn();
    ASSERT_EQ(syn.size(), 1U);
    ASSERT_EQ(syn[0].h.flags, TcpFlags(S | E | C));
    now += 10ms;
    auto h = seg(flags, peer_iss, iss + 1, 1024);
    h.options = peer_syn_options(peer_tsval);
    deliver(h);
    ASSERT_EQ(conn->state(), State::established);
  }
  /// ESTABLISHED with ECN in use; the handshake's ACK drained.
  void ecn_established() {
    active_with_syn_ack(S | A | E);
    const auto ack = drain_ecn();
    ASSERT_EQ(ack.size(), 1U);
    ASSERT_EQ(ack[0].h.flags, TcpFlags(A));  // no ECE, no CWR on the third segment
    ASSERT_TRUE(conn->info().negotiated.ecn);
    deliver(seg(A, peer_next(), our_next(), 1024));
    ASSERT_TRUE(drain_ecn().empty());
  }
  void deliver_ecn(const wire::TcpHeader& h, const std::vector<std::byte>& payload, std::uint8_t ip_ecn) {
    conn->on_segment(now, h, wire::Bytes(payload), ip_ecn);
  }
};

using EcnSynSent = EcnTest;
using EcnEstablished = EcnTest;

// RFC 3168 §6.1.1: "an ECN-setup SYN packet" has ECE and CWR set.
TEST_F(EcnSynSent, EcnOn_SynCarriesEceAndCwr) {
  active_with_syn_ack(S | A | E);
  EXPECT_TRUE(conn->info().negotiated.ecn);
}

// §6.1.1.1: no answer to an ECN-setup SYN -> the retransmission is a plain SYN, and a SYN-ACK with ECE then
// does not turn ECN on.
TEST_F(EcnSynSent, SynTimeout_RetransmissionWithoutEcnFlags) {
  config.ecn = EcnMode::on;
  conn = Connection::open_active(config, tuple, make_offer(config, wire::IpVersion::v4), iss, 0, now);
  ASSERT_EQ(drain_ecn().at(0).h.flags, TcpFlags(S | E | C));
  run_until(conn->next_deadline());
  const auto again = drain_ecn();
  ASSERT_EQ(again.size(), 1U);
  EXPECT_EQ(again[0].h.flags, TcpFlags(S));
  auto h = seg(S | A | E, peer_iss, iss + 1, 1024);
  h.options = peer_syn_options(peer_tsval);
  deliver(h);
  ASSERT_EQ(conn->state(), State::established);
  EXPECT_FALSE(conn->info().negotiated.ecn);
}

TEST_F(EcnSynSent, EcnPassive_SynCarriesNoEcnFlags) {
  ASSERT_EQ(config.ecn, EcnMode::passive);  // the default, as Linux's tcp_ecn = 2
  conn = Connection::open_active(config, tuple, make_offer(config, wire::IpVersion::v4), iss, 0, now);
  const auto syn = drain_ecn();
  ASSERT_EQ(syn.size(), 1U);
  EXPECT_EQ(syn[0].h.flags, TcpFlags(S));
  EXPECT_EQ(syn[0].ecn, ecn::kNotEct);  // §6.1.1: never ECT on a SYN
}

TEST_F(EcnSynSent, PerConnectionOverride_AsksAlthoughConfigIsPassive) {
  OfferOverrides ov;
  ov.ecn = true;
  conn = Connection::open_active(config, tuple, make_offer(config, wire::IpVersion::v4, ov), iss, 0, now);
  const auto syn = drain_ecn();
  ASSERT_EQ(syn.size(), 1U);
  EXPECT_EQ(syn[0].h.flags, TcpFlags(S | E | C));
}

// §6.1.1: ECN is in use only when the SYN-ACK is an ECN-setup SYN-ACK (ECE set, CWR clear).
TEST_F(EcnSynSent, SynAckWithoutEce_NoEcn) {
  active_with_syn_ack(S | A);
  EXPECT_FALSE(conn->info().negotiated.ecn);
  (void)drain_ecn();
  ASSERT_EQ(conn->send(bytes_of(100)).value(), 100U);
  const auto data = drain_ecn();
  ASSERT_EQ(data.size(), 1U);
  EXPECT_EQ(data[0].ecn, ecn::kNotEct);
}

TEST_F(EcnSynSent, SynAckWithEceAndCwr_IsNotEcnSetup) {
  active_with_syn_ack(S | A | E | C);  // a reflected ECN-setup SYN: agrees to nothing
  EXPECT_FALSE(conn->info().negotiated.ecn);
}

// §6.1.2 and §6.1.4-5: ECT(0) on new data; never on pure ACKs or retransmissions.
TEST_F(EcnEstablished, Ecn_NewDataIsEct0_PureAckAndRetransmissionAreNot) {
  ecn_established();
  ASSERT_EQ(conn->send(bytes_of(1000)).value(), 1000U);
  const auto data = drain_ecn();
  ASSERT_EQ(data.size(), 1U);
  EXPECT_EQ(data[0].payload, 1000U);
  EXPECT_EQ(data[0].ecn, ecn::kEct0);
  // The peer's data is answered by a pure ACK: Not-ECT.
  deliver_ecn(seg(A, peer_next(), our_next() - 1000), bytes_of(10), ecn::kEct0);
  const auto ack = drain_ecn();
  ASSERT_EQ(ack.size(), 1U);
  EXPECT_EQ(ack[0].payload, 0U);
  EXPECT_EQ(ack[0].ecn, ecn::kNotEct);
  // The retransmission after an RTO: Not-ECT.
  run_until(conn->next_deadline());
  const auto rtx = drain_ecn();
  ASSERT_FALSE(rtx.empty());
  EXPECT_EQ(rtx[0].payload, 1000U);
  EXPECT_EQ(rtx[0].ecn, ecn::kNotEct);
}

// §6.1.3: CE on a received segment -> ECE on every ACK until a segment with CWR arrives.
TEST_F(EcnEstablished, CeReceived_AcksCarryEceUntilCwr) {
  ecn_established();
  deliver_ecn(seg(A, peer_next(), our_next()), bytes_of(100), ecn::kCe);
  auto out = drain_ecn();
  ASSERT_EQ(out.size(), 1U);  // at once: the sender hears of the mark without a delayed ACK
  EXPECT_EQ(out[0].h.flags, TcpFlags(A | E));
  EXPECT_EQ(conn->info().ecn_ce_received, 1U);
  deliver_ecn(seg(A, peer_next(), our_next()), bytes_of(100), ecn::kEct0);
  out = drain_ecn();
  ASSERT_FALSE(out.empty());
  EXPECT_TRUE(out.back().h.flags.ece());  // still: no CWR yet
  deliver_ecn(seg(A | C, peer_next(), our_next()), bytes_of(100), ecn::kEct0);
  out = drain_ecn();
  ASSERT_FALSE(out.empty());
  EXPECT_FALSE(out.back().h.flags.ece());
}

TEST_F(EcnEstablished, CeWithCwrOnTheSameSegment_KeepsEchoing) {
  ecn_established();
  deliver_ecn(seg(A, peer_next(), our_next()), bytes_of(100), ecn::kCe);
  (void)drain_ecn();
  deliver_ecn(seg(A | C, peer_next(), our_next()), bytes_of(100), ecn::kCe);  // a newer mark
  const auto out = drain_ecn();
  ASSERT_FALSE(out.empty());
  EXPECT_TRUE(out.back().h.flags.ece());
}

TEST_F(EcnEstablished, NoEcn_CeIsNotEchoed) {
  active_with_syn_ack(S | A);
  (void)drain_ecn();
  deliver_ecn(seg(A, peer_next(), our_next()), bytes_of(100), ecn::kCe);
  const auto out = drain_ecn();
  ASSERT_FALSE(out.empty());
  EXPECT_FALSE(out.back().h.flags.ece());
  EXPECT_EQ(conn->info().ecn_ce_received, 0U);
}

// §6.1.2: ECE halves the congestion window (ssthresh = cwnd = max(FlightSize / 2, 2*SMSS)) at most once per
// window of data; the next new data segment carries CWR.
TEST_F(EcnEstablished, EceReceived_CwndHalvedOncePerWindow_CwrOnNextNewData) {
  ecn_established();
  const std::uint32_t smss = conn->info().smss;
  ASSERT_EQ(conn->send(bytes_of(100'000)).value(), 100'000U);
  const auto burst = drain_ecn();  // the initial window
  ASSERT_GE(burst.size(), 4U);
  const auto flight = static_cast<std::uint32_t>(conn->info().snd_nxt - conn->info().snd_una);
  // Three quarters of the flight are acknowledged with ECE: room under the halved window for new data.
  const std::uint32_t acked = flight / 4 * 3 / smss * smss;
  deliver(seg(A | E, peer_next(), conn->info().snd_una + acked));
  EXPECT_EQ(conn->info().ecn_reductions, 1U);
  const std::uint32_t halved = std::max(flight / 2, 2 * smss);
  EXPECT_EQ(conn->info().ssthresh, halved);
  EXPECT_EQ(conn->info().cwnd, halved);  // and no growth for the ACK that carried ECE
  auto out = drain_ecn();
  ASSERT_FALSE(out.empty());
  EXPECT_TRUE(out[0].h.flags.cwr());
  EXPECT_EQ(out[0].ecn, ecn::kEct0);
  for (std::size_t i = 1; i < out.size(); ++i) EXPECT_FALSE(out[i].h.flags.cwr());
  // More ECE within the same window: no second reduction.
  deliver(seg(A | E, peer_next(), conn->info().snd_una + smss));
  EXPECT_EQ(conn->info().ecn_reductions, 1U);
  // Once everything outstanding at the reduction is acknowledged, a new ECE reduces again.
  (void)drain_ecn();
  deliver(seg(A, peer_next(), conn->info().snd_nxt));
  (void)drain_ecn();
  deliver(seg(A | E, peer_next(), conn->info().snd_una + smss));
  EXPECT_EQ(conn->info().ecn_reductions, 2U);
}

TEST_F(EcnEstablished, EceWithoutEcnNegotiated_IsIgnored) {
  active_with_syn_ack(S | A);
  (void)drain_ecn();
  ASSERT_EQ(conn->send(bytes_of(20'000)).value(), 20'000U);
  (void)drain_ecn();
  const std::uint32_t cwnd = conn->info().cwnd;
  deliver(seg(A | E, peer_next(), conn->info().snd_una + 1000));
  EXPECT_EQ(conn->info().ecn_reductions, 0U);
  EXPECT_GE(conn->info().cwnd, cwnd);
}

// --- passive opens: the listener ---------------------------------------------------------------------

IsnGenerator::Key isn_key() {
  IsnGenerator::Key k{};
  k[0] = std::byte{7};
  return k;
}

SynCookies::Key cookie_key() {
  SynCookies::Key k{};
  k[1] = std::byte{9};
  return k;
}

class EcnListenTest : public EngineTest {
 protected:
  IsnGenerator isn_gen{isn_key()};
  SynCookies cookies{cookie_key()};
  std::optional<Listener> listener;
  wire::FourTuple at = test_tuple();  // local = listener side

  void listen(SynCookieMode mode = SynCookieMode::never) {
    config.syn_cookies = mode;
    listener.emplace(config, at.local, 4);
    listener->set_syn_cookies(&cookies);
  }
  wire::TcpHeader syn(std::uint16_t flags, bool timestamps = true) {
    auto h = seg(flags, peer_iss, SeqNum{0});
    h.options = peer_syn_options(peer_tsval);
    if (!timestamps) h.options.timestamps.reset();
    return h;
  }
  ListenerReply on(const wire::TcpHeader& h) { return listener->on_segment(now, at, h, {}, isn_gen); }
  wire::TcpHeader final_ack(const wire::TcpHeader& sa) const {
    wire::TcpHeader h;
    h.src_port = at.remote.port;
    h.dst_port = at.local.port;
    h.seq = peer_iss + 1;
    h.ack = sa.seq + 1;
    h.flags = TcpFlags(A);
    h.window = 1000;
    if (sa.options.timestamps)
      h.options.timestamps = wire::Timestamps{peer_tsval + 1, sa.options.timestamps->value};
    return h;
  }
  /// SYN with `flags` into the queue; the SYN-ACK's flags and whether the connection uses ECN.
  std::pair<TcpFlags, bool> handshake(std::uint16_t flags) {
    const ListenerReply r = on(syn(flags));
    EXPECT_EQ(r.kind, ListenerReply::Kind::send_syn_ack);
    const wire::TcpHeader sa = listener->syn_ack(now, r.slot);
    const wire::TcpHeader ack = final_ack(sa);
    EXPECT_EQ(listener->on_half_open_segment(now, r.slot, ack).kind, ListenerReply::Kind::complete);
    return {sa.flags, listener->passive_open(r.slot, ack).negotiated.ecn};
  }
};

using EcnListen = EcnListenTest;

// §6.1.1: an ECN-setup SYN gets an ECN-setup SYN-ACK (ECE, not CWR) unless ECN is off.
TEST_F(EcnListen, EcnSetupSyn_Passive_SynAckCarriesEce) {
  listen();
  const auto [flags, ecn] = handshake(S | E | C);
  EXPECT_EQ(flags, TcpFlags(S | A | E));
  EXPECT_TRUE(ecn);
}

// An AccECN SYN (AE, CWR, ECE) is an ECN-setup SYN to an RFC 3168 listener, which answers with RFC 3168's
// SYN-ACK (ECE alone): the AccECN client falls back to classic ECN (draft-ietf-tcpm-accurate-ecn §3.1.2).
TEST_F(EcnListen, AccEcnSyn_AnsweredAsClassicEcn) {
  listen();
  const auto [flags, ecn] = handshake(S | E | C | TcpFlags::kAe);
  EXPECT_EQ(flags, TcpFlags(S | A | E));
  EXPECT_TRUE(ecn);
}

TEST_F(EcnListen, EcnSetupSyn_EcnOff_PlainSynAck) {
  config.ecn = EcnMode::off;
  listen();
  const auto [flags, ecn] = handshake(S | E | C);
  EXPECT_EQ(flags, TcpFlags(S | A));
  EXPECT_FALSE(ecn);
}

TEST_F(EcnListen, SynWithEceOnly_IsNotEcnSetup) {
  listen();
  const auto [flags, ecn] = handshake(S | E);
  EXPECT_EQ(flags, TcpFlags(S | A));
  EXPECT_FALSE(ecn);
}

TEST_F(EcnListen, PlainSyn_PlainSynAck) {
  config.ecn = EcnMode::on;
  listen();
  const auto [flags, ecn] = handshake(S);
  EXPECT_EQ(flags, TcpFlags(S | A));
  EXPECT_FALSE(ecn);
}

// SYN cookies: with timestamps the ECN agreement rides in the TSval's ECN bit (covered by the MAC); without
// them there is no room, so the cookie SYN-ACK agrees to no ECN rather than to one it cannot remember.
TEST_F(EcnListen, CookieWithTimestamps_KeepsEcn) {
  listen(SynCookieMode::always);
  const ListenerReply r = on(syn(S | E | C, true));
  ASSERT_EQ(r.kind, ListenerReply::Kind::send_cookie_syn_ack);
  const wire::TcpHeader sa = listener->syn_ack(r.cookie, r.cookie_ts_val);
  EXPECT_EQ(sa.flags, TcpFlags(S | A | E));
  const wire::TcpHeader ack = final_ack(sa);
  const ListenerReply done = on(ack);
  ASSERT_EQ(done.kind, ListenerReply::Kind::complete_cookie);
  EXPECT_TRUE(listener->passive_open(done.cookie, ack).negotiated.ecn);
}

TEST_F(EcnListen, CookieWithoutTimestamps_AgreesToNoEcn) {
  listen(SynCookieMode::always);
  const ListenerReply r = on(syn(S | E | C, false));
  ASSERT_EQ(r.kind, ListenerReply::Kind::send_cookie_syn_ack);
  const wire::TcpHeader sa = listener->syn_ack(r.cookie, r.cookie_ts_val);
  EXPECT_EQ(sa.flags, TcpFlags(S | A));
  const wire::TcpHeader ack = final_ack(sa);
  const ListenerReply done = on(ack);
  ASSERT_EQ(done.kind, ListenerReply::Kind::complete_cookie);
  EXPECT_FALSE(listener->passive_open(done.cookie, ack).negotiated.ecn);
}

TEST_F(EcnListen, CookieWithTimestamps_NoEcnAsked_NoEcn) {
  listen(SynCookieMode::always);
  const ListenerReply r = on(syn(S, true));
  const wire::TcpHeader sa = listener->syn_ack(r.cookie, r.cookie_ts_val);
  EXPECT_EQ(sa.flags, TcpFlags(S | A));
  const ListenerReply done = on(final_ack(sa));
  ASSERT_EQ(done.kind, ListenerReply::Kind::complete_cookie);
  EXPECT_FALSE(listener->passive_open(done.cookie, final_ack(sa)).negotiated.ecn);
}

}  // namespace
}  // namespace synack::tcp::testing
