// Active open: CLOSED -> SYN-SENT -> ESTABLISHED, simultaneous open, SYN retransmission (RFC 9293
// §3.5, §3.10.7.3; RFC 6298; RFC 5961).
#include "fixture.hpp"

namespace synack::tcp::testing {
namespace {

using SynSent = EngineTest;
using SynReceived = EngineTest;

TEST_F(SynSent, Closed_Connect_SendsSynWithOffer) {
  conn = Connection::open_active(config, tuple, make_offer(config, wire::IpVersion::v4), iss, 0, now);
  const Sent syn = expect_one();
  EXPECT_EQ(syn.h.flags, TcpFlags(S));
  EXPECT_EQ(syn.h.seq, iss);
  EXPECT_EQ(syn.h.options.mss, std::optional<std::uint16_t>(1460));
  EXPECT_EQ(syn.h.options.wscale, std::optional<std::uint8_t>(7));
  EXPECT_TRUE(syn.h.options.sack_permitted);
  ASSERT_TRUE(syn.h.options.timestamps);
  EXPECT_EQ(syn.h.options.timestamps->echo, 0U);
  // RFC 7323 §2.2: the SYN's window is not scaled.
  EXPECT_EQ(syn.h.window, 65535);
  EXPECT_EQ(conn->state(), State::syn_sent);
  EXPECT_EQ(conn->next_deadline(), now + 1s);  // RFC 6298 §2.1: initial RTO 1 s
}

TEST_F(SynSent, SynAck_Establishes) {
  closed_to_syn_sent();
  now += 25ms;
  auto h = seg(S | A, peer_iss, iss + 1, 2000);
  h.options = peer_syn_options();
  deliver(h);
  const Sent ack = expect_one();
  EXPECT_EQ(ack.h.flags, TcpFlags(A));
  EXPECT_EQ(ack.h.seq, iss + 1);
  EXPECT_EQ(ack.h.ack, peer_iss + 1);
  EXPECT_EQ(conn->state(), State::established);
  EXPECT_TRUE(conn->take_events() & event::kEstablished);
  const ConnectionInfo i = conn->info();
  EXPECT_EQ(i.irs, peer_iss);
  EXPECT_EQ(i.negotiated.send_mss, 1460);
  EXPECT_EQ(i.negotiated.snd_shift, std::optional<std::uint8_t>(7));
  EXPECT_TRUE(i.negotiated.sack);
  EXPECT_TRUE(i.negotiated.timestamps);
  ASSERT_TRUE(i.established_at);
  EXPECT_EQ(*i.established_at, now);
  // RFC 7323 §2.2: the SYN-ACK's window is taken unscaled.
  EXPECT_EQ(conn->snd_wnd(), 2000U);
  // First SYN not retransmitted: its RTT is a sample.
  ASSERT_TRUE(i.srtt);
  EXPECT_EQ(*i.srtt, 25ms);
}

// RFC 9293 §3.10.7.3: SEG.ACK =< ISS or > SND.NXT -> <SEQ=SEG.ACK><CTL=RST>.
TEST_F(SynSent, BadAck_SendsRstWithSeqFromAck) {
  closed_to_syn_sent();
  deliver(seg(S | A, peer_iss, iss + 7));
  const Sent rst = expect_one();
  EXPECT_EQ(rst.h.flags, TcpFlags(R));
  EXPECT_EQ(rst.h.seq, iss + 7);
  EXPECT_EQ(conn->state(), State::syn_sent);
  deliver(seg(A, peer_iss, iss));  // SEG.ACK = ISS is bad too
  EXPECT_EQ(expect_one().h.seq, iss);
}

TEST_F(SynSent, BadAckWithRst_IsDropped) {
  closed_to_syn_sent();
  deliver(seg(R | A, peer_iss, iss + 7));
  expect_none();
  EXPECT_EQ(conn->state(), State::syn_sent);
}

// RFC 9293 §3.10.7.3: "If the ACK bit is off ... drop the segment" for RST; RFC 5961 leaves SYN-SENT so.
TEST_F(SynSent, RstWithoutAck_IsIgnored) {
  closed_to_syn_sent();
  deliver(seg(R, iss + 1, SeqNum{0}));
  expect_none();
  EXPECT_EQ(conn->state(), State::syn_sent);
  EXPECT_FALSE(conn->error());
}

TEST_F(SynSent, RstAcknowledgingSyn_IsRefused) {
  closed_to_syn_sent();
  deliver(seg(R | A, SeqNum{0}, iss + 1));
  EXPECT_EQ(conn->state(), State::closed);
  EXPECT_EQ(conn->error(), make_error_code(Error::refused));
  EXPECT_NE(conn->error(), make_error_code(Error::timed_out));
  EXPECT_TRUE(conn->take_events() & event::kError);
}

TEST_F(SynSent, AckWithoutSyn_IsDropped) {
  closed_to_syn_sent();
  deliver(seg(A, peer_iss, iss + 1));
  expect_none();
  EXPECT_EQ(conn->state(), State::syn_sent);
}

// RFC 6298 §5 / Linux: SYNs at 0, 1, 3, 7, 15, 31, 63 s; ETIMEDOUT at 127 s.
TEST_F(SynSent, RetransmissionSchedule_MatchesLinux) {
  const Instant t0 = now;
  closed_to_syn_sent();
  std::vector<Duration> sent_at;
  const wire::TcpOptions first_options = [&] {
    auto o = peer_syn_options();
    return o;
  }();
  (void)first_options;
  while (conn->state() == State::syn_sent) {
    now = conn->next_deadline();
    conn->on_timeout(now);
    for (const Sent& s : drain()) {
      EXPECT_EQ(s.h.flags, TcpFlags(S));
      EXPECT_EQ(s.h.seq, iss);
      sent_at.push_back(now - t0);
    }
  }
  const std::vector<Duration> expected{1s, 3s, 7s, 15s, 31s, 63s};
  EXPECT_EQ(sent_at, expected);
  EXPECT_EQ(now - t0, 127s);
  EXPECT_EQ(conn->error(), make_error_code(Error::timed_out));
  EXPECT_EQ(conn->info().syn_retransmits, 6U);
}

TEST_F(SynSent, SynRetriesConfigurable) {
  config.syn_retries = 2;
  const Instant t0 = now;
  closed_to_syn_sent();
  run_until(now + 1000s);
  EXPECT_EQ(conn->state(), State::closed);
  EXPECT_EQ(conn->error(), make_error_code(Error::timed_out));
  (void)t0;
  EXPECT_EQ(conn->info().syn_retransmits, 2U);
}

TEST_F(SynSent, RetransmittedSyn_CarriesSameOptions) {
  closed_to_syn_sent();
  advance(1s);
  const Sent again = expect_one();
  EXPECT_EQ(again.h.options.mss, std::optional<std::uint16_t>(1460));
  EXPECT_EQ(again.h.options.wscale, std::optional<std::uint8_t>(7));
  EXPECT_TRUE(again.h.options.sack_permitted);
  EXPECT_TRUE(again.h.options.timestamps);
}

// Karn (RFC 6298 §3) and §5.7: no sample from a retransmitted SYN; the RTO becomes 3 s.
TEST_F(SynSent, RetransmittedSyn_GivesNoRttSample) {
  closed_to_syn_sent();
  advance(1s);
  (void)drain();
  now += 50ms;
  auto h = seg(S | A, peer_iss, iss + 1);
  h.options = peer_syn_options();
  deliver(h);
  EXPECT_EQ(conn->state(), State::established);
  EXPECT_FALSE(conn->info().srtt);
  EXPECT_EQ(conn->info().rto, 3s);
}

// The SYN-ACK arrives after the retransmission timer fired but before the SYN went out again: nothing
// of the handshake is resent and queued data goes out from ISS + 1.
TEST_F(SynSent, SynAckBetweenTimeoutAndRetransmission_Establishes) {
  closed_to_syn_sent();
  (void)conn->send(bytes_of(10));
  run_until(now + 1s);  // timer fired, SYN pending again
  auto h = seg(S | A, peer_iss, iss + 1);
  h.options = peer_syn_options();
  deliver(h);
  EXPECT_EQ(conn->state(), State::established);
  const auto out = drain();
  ASSERT_EQ(out.size(), 1U);
  EXPECT_FALSE(out[0].h.flags.syn());
  EXPECT_EQ(out[0].h.seq, iss + 1);
  EXPECT_EQ(out[0].payload.size(), 10U);
}

// Simultaneous open (RFC 9293 §3.5 Figure 8): crossing SYNs, SYN-ACK reusing our ISN.
TEST_F(SynSent, SynWithoutAck_SimultaneousOpen_SendsSynAckWithSameIsn) {
  closed_to_syn_sent();
  auto h = seg(S, peer_iss, SeqNum{0});
  h.options = peer_syn_options();
  deliver(h);
  EXPECT_EQ(conn->state(), State::syn_received);
  const Sent synack = expect_one();
  EXPECT_EQ(synack.h.flags, TcpFlags(S | A));
  EXPECT_EQ(synack.h.seq, iss);
  EXPECT_EQ(synack.h.ack, peer_iss + 1);
  EXPECT_EQ(synack.h.options.mss, std::optional<std::uint16_t>(1460));
}

TEST_F(SynReceived, SimultaneousOpen_AckEstablishes) {
  closed_to_syn_sent();
  auto h = seg(S, peer_iss, SeqNum{0});
  h.options = peer_syn_options();
  deliver(h);
  (void)drain();
  auto synack = seg(S | A, peer_iss, iss + 1);
  synack.options = peer_syn_options();
  // The peer's SYN-ACK: a SYN in SYN-RECEIVED that is not a duplicate: here its ACK completes the open
  // after the peer also ACKs.
  deliver(seg(A, peer_iss + 1, iss + 1));
  EXPECT_EQ(conn->state(), State::established);
  EXPECT_TRUE(conn->take_events() & event::kEstablished);
}

// Simultaneous open, RFC 9293 §3.5 Figure 8: the peer's SYN-ACK (SEQ = IRS) acknowledges our SYN.
TEST_F(SynReceived, PeerSynAck_Establishes) {
  closed_to_syn_sent();
  auto syn = seg(S, peer_iss, SeqNum{0});
  syn.options = peer_syn_options();
  deliver(syn);
  (void)drain();
  auto synack = seg(S | A, peer_iss, iss + 1, 3000);
  synack.options = peer_syn_options(peer_tsval + 1);
  deliver(synack);
  EXPECT_EQ(conn->state(), State::established);
  EXPECT_EQ(conn->snd_wnd(), 3000U);  // not scaled: a SYN's window
  expect_none();                      // no answer needed
  // A SYN-ACK acknowledging something else is a bad ACK: RST <SEQ=SEG.ACK>.
}

TEST_F(SynReceived, PeerSynAckWithBadAck_SendsRst) {
  closed_to_syn_sent();
  deliver(seg(S, peer_iss, SeqNum{0}));
  (void)drain();
  deliver(seg(S | A, peer_iss, iss + 50));
  const Sent rst = expect_one();
  EXPECT_EQ(rst.h.flags, TcpFlags(R));
  EXPECT_EQ(rst.h.seq, iss + 50);
  EXPECT_EQ(conn->state(), State::syn_received);
}

// RFC 9293 §3.10.7.4 fifth, SYN-RECEIVED: unacceptable ACK -> <SEQ=SEG.ACK><CTL=RST>.
TEST_F(SynReceived, BadAck_SendsRstWithSeqFromAck) {
  closed_to_syn_sent();
  auto h = seg(S, peer_iss, SeqNum{0});
  deliver(h);
  (void)drain();
  deliver(seg(A, peer_iss + 1, iss + 99));
  const Sent rst = expect_one();
  EXPECT_EQ(rst.h.flags, TcpFlags(R));
  EXPECT_EQ(rst.h.seq, iss + 99);
  EXPECT_EQ(conn->state(), State::syn_received);
}

TEST_F(SynReceived, DuplicateSyn_RetransmitsSynAck) {
  closed_to_syn_sent();
  deliver(seg(S, peer_iss, SeqNum{0}));
  (void)drain();
  deliver(seg(S, peer_iss, SeqNum{0}));
  const Sent again = expect_one();
  EXPECT_EQ(again.h.flags, TcpFlags(S | A));
  EXPECT_EQ(again.h.seq, iss);
}

TEST_F(SynReceived, ExactRst_IsRefused) {
  closed_to_syn_sent();
  deliver(seg(S, peer_iss, SeqNum{0}));
  (void)drain();
  deliver(seg(R, peer_iss + 1, SeqNum{0}));
  EXPECT_EQ(conn->state(), State::closed);
  EXPECT_EQ(conn->error(), make_error_code(Error::refused));
}

TEST_F(SynReceived, SynAckRetransmitted_OnTimeout) {
  closed_to_syn_sent();
  deliver(seg(S, peer_iss, SeqNum{0}));
  (void)drain();
  run_until(conn->next_deadline());
  const Sent again = expect_one();
  EXPECT_EQ(again.h.flags, TcpFlags(S | A));
}

// The SYN-ACK may carry data: it is accepted after the SYN (RFC 9293 §3.10.7.3 "sixth step").
TEST_F(SynSent, SynAckWithData_DataDelivered) {
  closed_to_syn_sent();
  auto h = seg(S | A, peer_iss, iss + 1);
  h.options = peer_syn_options();
  const auto data = bytes_of(10);
  deliver(h, data);
  EXPECT_EQ(conn->readable(), 10U);
  EXPECT_EQ(expect_one().h.ack, peer_iss + 11);
}

TEST_F(SynSent, PeerWithoutOptions_NoScalingNoTimestamps) {
  closed_to_syn_sent();
  peer_timestamps = false;
  auto h = seg(S | A, peer_iss, iss + 1, 5000);
  deliver(h);
  const Sent ack = expect_one();
  EXPECT_FALSE(ack.h.options.timestamps);
  const Negotiated n = conn->info().negotiated;
  EXPECT_EQ(n.send_mss, 536);
  EXPECT_FALSE(n.snd_shift);
  EXPECT_FALSE(n.rcv_shift);
  EXPECT_FALSE(n.sack);
  EXPECT_FALSE(n.timestamps);
  // Without scaling our window field is the plain window (capped at 65535).
  EXPECT_EQ(ack.h.window, 65535);
}

// RFC 9293 §3.10.4: a FIN asked for during the handshake waits for ESTABLISHED and the queued data.
TEST_F(SynSent, ShutdownWrite_FinQueuedUntilEstablished) {
  closed_to_syn_sent();
  (void)conn->send(bytes_of(10));
  ASSERT_FALSE(conn->shutdown_write());
  EXPECT_EQ(conn->state(), State::syn_sent);
  expect_none();
  auto h = seg(S | A, peer_iss, iss + 1);
  h.options = peer_syn_options();
  deliver(h);
  EXPECT_EQ(conn->state(), State::fin_wait_1);
  const auto out = drain();
  ASSERT_EQ(out.size(), 1U);
  EXPECT_EQ(out[0].h.seq, iss + 1);
  EXPECT_EQ(out[0].payload, bytes_of(10));
  EXPECT_TRUE(out[0].h.flags.fin());
}

TEST_F(SynReceived, ShutdownWrite_FinQueuedUntilEstablished) {
  closed_to_syn_sent();
  deliver(seg(S, peer_iss, SeqNum{0}));
  (void)drain();
  (void)conn->send(bytes_of(5));
  ASSERT_FALSE(conn->shutdown_write());
  EXPECT_EQ(conn->state(), State::syn_received);
  deliver(seg(A, peer_iss + 1, iss + 1));
  EXPECT_EQ(conn->state(), State::fin_wait_1);
  const auto out = drain();
  ASSERT_EQ(out.size(), 1U);
  EXPECT_EQ(out[0].payload, bytes_of(5));  // not one byte eaten by the SYN's sequence number
  EXPECT_TRUE(out[0].h.flags.fin());
}

TEST_F(SynSent, UserClose_DeletesTcb) {
  closed_to_syn_sent();
  conn->close(now);
  EXPECT_EQ(conn->state(), State::closed);
  EXPECT_EQ(conn->next_deadline(), Instant::max());
}

}  // namespace
}  // namespace synack::tcp::testing
