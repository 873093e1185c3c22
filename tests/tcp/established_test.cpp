// ESTABLISHED: RFC 5961 hardening, data transfer, flow control, retransmission (RFC 9293 §3.10.7.4,
// RFC 5961, RFC 6298, RFC 5681).
#include "fixture.hpp"

namespace synack::tcp::testing {
namespace {

using Established = EngineTest;
using CloseWait = EngineTest;

// RFC 5961 §3.2: only an RST with SEG.SEQ = RCV.NXT resets.
TEST_F(Established, ExactRst_Resets) {
  established();
  deliver(seg(R, peer_next(), SeqNum{0}));
  EXPECT_EQ(conn->state(), State::closed);
  EXPECT_EQ(conn->error(), make_error_code(Error::reset));
  EXPECT_TRUE(conn->take_events() & event::kError);
}

TEST_F(Established, InWindowRstNotExact_SendsChallengeAck) {
  established();
  deliver(seg(R, peer_next() + 10, SeqNum{0}));
  EXPECT_EQ(conn->state(), State::established);
  const Sent ack = expect_one();
  EXPECT_EQ(ack.h.flags, TcpFlags(A));
  EXPECT_EQ(ack.h.seq, our_next());
  EXPECT_EQ(ack.h.ack, peer_next());
  EXPECT_EQ(conn->info().challenge_acks_sent, 1U);
}

TEST_F(Established, OutOfWindowRst_IsDroppedSilently) {
  established();
  deliver(seg(R, peer_next() + 10'000'000, SeqNum{0}));
  EXPECT_EQ(conn->state(), State::established);
  expect_none();
}

// RFC 5961 §4.2: any SYN in a synchronized state gets a challenge ACK.
TEST_F(Established, Syn_SendsChallengeAck) {
  established();
  deliver(seg(S, peer_next() + 5, SeqNum{0}));
  EXPECT_EQ(conn->state(), State::established);
  const Sent ack = expect_one();
  EXPECT_EQ(ack.h.flags, TcpFlags(A));
  EXPECT_EQ(ack.h.ack, peer_next());
  deliver(seg(S, peer_iss, SeqNum{0}));  // at once: the per-connection limit (RFC 5961 §7) holds it
  EXPECT_TRUE(drain().empty());
  now += config.challenge_ack_interval;
  deliver(seg(S, peer_iss, SeqNum{0}));  // the old SYN again, next interval: out of window -> plain ACK
  EXPECT_EQ(expect_one().h.flags, TcpFlags(A));
  EXPECT_EQ(conn->state(), State::established);
}

// RFC 5961 §5.2: an ACK beyond SND.NXT is dropped with a challenge ACK; its data is not accepted.
TEST_F(Established, AckBeyondSndNxt_ChallengeAckAndDrop) {
  established();
  const auto data = bytes_of(10);
  deliver(seg(A, peer_next(), our_next() + 100), data);
  EXPECT_EQ(conn->readable(), 0U);
  EXPECT_EQ(expect_one().h.ack, peer_next());
  EXPECT_EQ(conn->info().challenge_acks_sent, 1U);
}

TEST_F(Established, AckBelowMaxWindow_ChallengeAckAndDrop) {
  established();
  const auto data = bytes_of(10);
  deliver(seg(A, peer_next(), our_next() - 1'000'000), data);
  EXPECT_EQ(conn->readable(), 0U);
  EXPECT_EQ(expect_one().h.flags, TcpFlags(A));
  EXPECT_EQ(conn->info().challenge_acks_sent, 1U);
}

// RFC 5961 §7: challenge ACKs are rate-limited per connection.
TEST_F(Established, ChallengeAcks_RateLimitedPerConnection) {
  config.challenge_ack_limit = 3;
  established();
  for (int i = 0; i < 5; ++i) {
    deliver(seg(S, peer_next() + 1, SeqNum{0}));
    (void)drain();
  }
  EXPECT_EQ(conn->info().challenge_acks_sent, 3U);
  EXPECT_EQ(conn->info().challenge_acks_suppressed, 2U);
  now += 1s;  // a new interval
  deliver(seg(S, peer_next() + 1, SeqNum{0}));
  EXPECT_EQ(expect_one().h.flags, TcpFlags(A));
  EXPECT_EQ(conn->info().challenge_acks_sent, 4U);
}

// RFC 9293 §3.10.7.4 fifth: "if the ACK bit is off, drop the segment".
TEST_F(Established, SegmentWithoutAck_IsDropped) {
  established();
  const auto data = bytes_of(10);
  deliver(seg(0, peer_next(), SeqNum{0}), data);
  EXPECT_EQ(conn->readable(), 0U);
  expect_none();
}

// RFC 9293 §3.10.7.4 first: unacceptable segment -> ACK, drop; state unchanged.
TEST_F(Established, OffWindowData_AckedAndDropped) {
  established();
  const auto data = bytes_of(10);
  deliver(seg(A, peer_next() + 1'000'000, our_next()), data);
  EXPECT_EQ(conn->readable(), 0U);
  EXPECT_EQ(expect_one().h.ack, peer_next());
  deliver(seg(A | F, peer_next() - 100, our_next()), data);  // old FIN
  EXPECT_EQ(conn->state(), State::established);
}

// RFC 5961 §7: replies to unacceptable segments without data are throttled per connection, so two
// desynchronized peers cannot exchange ACKs forever.
TEST_F(Established, OffWindowPureAcks_RepliesThrottled) {
  config.challenge_ack_limit = 2;
  established();
  int replies = 0;
  for (int i = 0; i < 6; ++i) {
    deliver(seg(A, peer_next() + 1'000'000, our_next()));
    replies += static_cast<int>(drain().size());
  }
  EXPECT_EQ(replies, 2);
  deliver(seg(A, peer_next() + 1'000'000, our_next()), bytes_of(10));  // with data: always answered
  EXPECT_EQ(drain().size(), 1U);
}

// RFC 7323 §5.3 PAWS.
TEST_F(Established, OldTimestamp_RejectedByPaws) {
  established();
  auto h = seg(A, peer_next(), our_next());
  h.options.timestamps = wire::Timestamps{1, 0};  // older than TS.Recent
  const auto data = bytes_of(10);
  deliver(h, data);
  EXPECT_EQ(conn->readable(), 0U);
  EXPECT_EQ(expect_one().h.flags, TcpFlags(A));
}

TEST_F(Established, Data_DeliveredAndAcked) {
  established();
  const auto data = bytes_of(100);
  deliver(seg(A | P, peer_next(), our_next()), data);
  EXPECT_TRUE(conn->take_events() & event::kReadable);
  const Sent ack = expect_one();
  EXPECT_EQ(ack.h.ack, peer_iss + 101);
  std::vector<std::byte> out(200);
  ASSERT_EQ(conn->recv(out).value(), 100U);
  EXPECT_TRUE(std::equal(data.begin(), data.end(), out.begin()));
  EXPECT_EQ(conn->recv(out).error(), make_error_code(Error::would_block));
}

TEST_F(Established, OutOfOrder_HeldAndReassembled) {
  established();
  const auto data = bytes_of(300);
  const SeqNum base = peer_next();
  deliver(seg(A, base + 200, our_next()), wire::Bytes(data).subspan(200, 100));
  deliver(seg(A, base + 100, our_next()), wire::Bytes(data).subspan(100, 100));
  EXPECT_EQ(conn->readable(), 0U);
  auto acks = drain();
  ASSERT_EQ(acks.size(), 1U);      // one ACK covers both (pending flag)
  EXPECT_EQ(acks[0].h.ack, base);  // duplicate ACK for the hole
  deliver(seg(A, base, our_next()), wire::Bytes(data).first(100));
  EXPECT_EQ(conn->readable(), 300U);
  EXPECT_EQ(expect_one().h.ack, base + 300);
  std::vector<std::byte> out(300);
  ASSERT_EQ(conn->recv(out).value(), 300U);
  EXPECT_EQ(out, data);
}

TEST_F(Established, OverlappingRetransmission_Trimmed) {
  established();
  const auto data = bytes_of(200);
  const SeqNum base = peer_next();
  deliver(seg(A, base, our_next()), wire::Bytes(data).first(100));
  deliver(seg(A, base + 50, our_next()), wire::Bytes(data).subspan(50, 150));
  std::vector<std::byte> out(300);
  ASSERT_EQ(conn->recv(out).value(), 200U);
  EXPECT_TRUE(std::equal(data.begin(), data.end(), out.begin()));
}

TEST_F(Established, Send_SegmentsToSendMss) {
  auto o = peer_syn_options();
  o.mss = 100;
  o.timestamps.reset();
  established(o, 1000);
  const auto data = bytes_of(250);
  ASSERT_EQ(conn->send(data).value(), 250U);
  const auto segs = drain();
  ASSERT_EQ(segs.size(), 3U);
  EXPECT_EQ(segs[0].payload.size(), 100U);
  EXPECT_EQ(segs[1].payload.size(), 100U);
  EXPECT_EQ(segs[2].payload.size(), 50U);
  EXPECT_TRUE(segs[2].h.flags.psh());
  EXPECT_EQ(segs[1].h.seq, iss + 101);
}

// RFC 6691 §2: the MSS option counts no TCP options, so with timestamps (12 bytes with padding) a full
// segment carries MSS - 12 payload bytes and the IP packet stays within the peer's MTU.
TEST_F(Established, SendWithTimestamps_PayloadIsMssLessOptions) {
  auto o = peer_syn_options();
  o.mss = 100;
  established(o, 1000);
  EXPECT_EQ(conn->info().smss, 88U);
  ASSERT_EQ(conn->send(bytes_of(250)).value(), 250U);
  const auto segs = drain();
  ASSERT_EQ(segs.size(), 3U);
  for (const Sent& s : segs) {
    EXPECT_LE(s.payload.size() + s.h.options.encoded_size(), 100U);
  }
  EXPECT_EQ(segs[0].payload.size(), 88U);
  EXPECT_EQ(segs[2].payload.size(), 250U - 2 * 88U);
}

// Flow control with the negotiated scale: window 4 << 7 = 512 bytes.
TEST_F(Established, FlowControl_RespectsScaledPeerWindow) {
  established(std::nullopt, 4);  // never more than 512 bytes: sender SWS avoidance does not hold back
  peer_acks_all(4);
  EXPECT_EQ(conn->snd_wnd(), 512U);
  const auto data = bytes_of(5000);
  (void)conn->send(data);
  std::size_t sent = 0;
  for (const Sent& s : drain()) sent += s.payload.size();
  EXPECT_EQ(sent, 512U);
  peer_acks_all(8);
  sent = 0;
  for (const Sent& s : drain()) sent += s.payload.size();
  EXPECT_EQ(sent, 1024U);
}

// Our advertised window is scaled by our shift.
TEST_F(Established, AdvertisedWindow_IsScaledByOurShift) {
  established();
  const auto data = bytes_of(10);
  deliver(seg(A, peer_next(), our_next()), data);
  const Sent ack = expect_one();
  EXPECT_EQ(ack.h.window, (config.recv_buffer - 10) >> 7U);
}

// RFC 6298 §5.4-5.6: on RTO retransmit the earliest unacknowledged segment, double the RTO.
TEST_F(Established, Rto_RetransmitsEarliestSegmentAndBacksOff) {
  established();
  const Duration rto0 = conn->info().rto;
  (void)conn->send(bytes_of(3000));
  const auto first = drain();
  ASSERT_GE(first.size(), 2U);
  run_until(conn->next_deadline());
  const auto rtx = drain();
  ASSERT_EQ(rtx.size(), 1U);
  EXPECT_EQ(rtx[0].h.seq, first[0].h.seq);
  EXPECT_EQ(rtx[0].payload, first[0].payload);
  EXPECT_EQ(conn->info().rto, 2 * rto0);
  EXPECT_EQ(conn->info().data_retransmits, 1U);
}

// Karn: an ACK covering a retransmitted segment gives no RTT sample.
TEST_F(Established, AckOfRetransmission_GivesNoSample) {
  established();
  const Duration srtt = *conn->info().srtt;
  (void)conn->send(bytes_of(100));
  (void)drain();
  run_until(conn->next_deadline());
  (void)drain();
  now += 5s;
  peer_acks_all();
  EXPECT_EQ(*conn->info().srtt, srtt);
}

// RFC 7323 §4 RTTM: with timestamps, TSecr gives an unambiguous sample even for a retransmission.
TEST_F(Established, AckWithTimestampEcho_GivesSampleAfterRetransmission) {
  established();
  (void)conn->send(bytes_of(100));
  const auto first = drain();
  run_until(conn->next_deadline());
  const auto rtx = drain();
  ASSERT_EQ(rtx.size(), 1U);
  const Duration backed_off = conn->info().rto;
  now += 30ms;
  auto ack = seg(A, peer_next(), our_next());
  ack.options.timestamps = wire::Timestamps{++peer_tsval, rtx[0].h.options.timestamps->value};
  deliver(ack);
  EXPECT_LT(conn->info().rto, backed_off);
  (void)first;
}

TEST_F(Established, AckOfNewData_GivesRttSample) {
  established();
  (void)conn->send(bytes_of(100));
  (void)drain();
  now += 40ms;
  peer_acks_all();
  EXPECT_NE(*conn->info().srtt, 10ms);
}

// RFC 5681 §3.2: three duplicate ACKs retransmit the first unacknowledged segment.
TEST_F(Established, ThreeDuplicateAcks_FastRetransmit) {
  established();
  (void)conn->send(bytes_of(5000));
  const auto first = drain();
  for (int i = 0; i < 2; ++i) {
    deliver(seg(A, peer_next(), iss + 1));
    expect_none();
  }
  deliver(seg(A, peer_next(), iss + 1));
  const auto rtx = drain();
  ASSERT_EQ(rtx.size(), 1U);
  EXPECT_EQ(rtx[0].h.seq, iss + 1);
  EXPECT_EQ(rtx[0].payload.size(), first[0].payload.size());
}

// A retransmission carries only bytes sent before, never data the window held back.
TEST_F(Established, Retransmission_NeverPastSndMax) {
  established(std::nullopt, 2);
  peer_acks_all(2);  // window 2 << 7 = 256 bytes
  (void)conn->send(bytes_of(1000));
  const auto first = drain();
  ASSERT_EQ(first.size(), 1U);
  EXPECT_EQ(first[0].payload.size(), 256U);
  run_until(conn->next_deadline());
  const auto rtx = drain();
  ASSERT_EQ(rtx.size(), 1U);
  EXPECT_EQ(rtx[0].h.seq, iss + 1);
  EXPECT_EQ(rtx[0].payload.size(), 256U);
  EXPECT_EQ(conn->snd_nxt(), iss + 257);
}

// A partial ACK in recovery retransmits the next hole at once.
TEST_F(Established, PartialAckInRecovery_RetransmitsNextHole) {
  established();
  (void)conn->send(bytes_of(5000));
  (void)drain();
  for (int i = 0; i < 3; ++i) deliver(seg(A, peer_next(), iss + 1));
  (void)drain();
  deliver(seg(A, peer_next(), iss + 1 + 1460));
  const auto rtx = drain();
  ASSERT_EQ(rtx.size(), 1U);
  EXPECT_EQ(rtx[0].h.seq, iss + 1 + 1460);
}

// RFC 9293 §3.8.6.1: zero window -> persist timer -> probe; the probe's answer reopens the window.
TEST_F(Established, ZeroWindow_PersistProbe) {
  established();
  peer_acks_all(0);
  EXPECT_EQ(conn->snd_wnd(), 0U);
  (void)conn->send(bytes_of(100));
  expect_none();
  ASSERT_NE(conn->next_deadline(), Instant::max());
  run_until(conn->next_deadline());
  const Sent probe = expect_one();
  EXPECT_EQ(probe.h.seq, iss);  // SND.UNA - 1
  EXPECT_TRUE(probe.payload.empty());
  peer_acks_all(100);
  const Sent data = expect_one();
  EXPECT_EQ(data.payload.size(), 100U);
}

// Our window is zero: data is not accepted but its ACK is processed (RFC 9293 "special allowance").
TEST_F(Established, OurZeroWindow_DataDroppedAckProcessed) {
  config.recv_buffer = 100;
  config.window_shift = 0;
  established();
  deliver(seg(A, peer_next(), our_next()), bytes_of(100));
  (void)drain();
  EXPECT_EQ(conn->rcv_wnd(), 0U);
  (void)conn->send(bytes_of(10));
  (void)drain();
  deliver(seg(A, peer_next(), our_next()), bytes_of(1));
  EXPECT_EQ(conn->readable(), 100U);
  EXPECT_EQ(conn->snd_una(), conn->snd_nxt());
  std::vector<std::byte> out(100);
  (void)conn->recv(out);
  const Sent update = expect_one();  // window update after reading
  EXPECT_GT(update.h.window, 0);
}

// RFC 9293 §3.8.6.2.2 receiver SWS avoidance: a reader taking less than min(half the buffer, one MSS)
// does not move the right edge we offer; once the gain reaches it, the new edge goes out at once.
TEST_F(Established, ReaderTakesFewBytes_RightEdgeHeldUntilWorthwhile) {
  config.recv_buffer = 16384;
  config.window_shift = 0;
  established();
  for (int i = 0; i < 11; ++i) deliver(seg(A, peer_next(), our_next()), bytes_of(1448));
  (void)drain();
  const std::uint32_t left = 16384 - 11 * 1448;  // 456 bytes still offered
  std::vector<std::byte> out(500);
  ASSERT_EQ(conn->recv(out).value(), 500U);
  expect_none();  // no window update for 500 bytes
  (void)conn->send(bytes_of(10));
  const Sent data = expect_one();
  EXPECT_EQ(data.h.window, left);  // the old edge, not 956
  out.resize(1000);
  ASSERT_EQ(conn->recv(out).value(), 1000U);
  const Sent update = expect_one();  // 1500 bytes of gain >= min(8192, 1460): update now
  EXPECT_EQ(update.h.window, left + 1500U);
}

// A window the peer already has in hand is never pulled back by rounding to the window scale
// (RFC 7323 §2.4): the held edge is rounded up when the buffer has the room.
TEST_F(Established, HeldEdgeWithScaling_RoundedUpNotShrunk) {
  config.recv_buffer = 16384;
  established();  // our shift 7
  deliver(seg(A, peer_next(), our_next()), bytes_of(1000));
  const Sent ack = expect_one();
  const SeqNum edge = peer_next() + (static_cast<std::uint32_t>(ack.h.window) << 7U);
  std::vector<std::byte> out(100);
  ASSERT_EQ(conn->recv(out).value(), 100U);
  deliver(seg(A, peer_next(), our_next()), bytes_of(100));
  const Sent next = expect_one();
  EXPECT_GE(peer_next() + (static_cast<std::uint32_t>(next.h.window) << 7U), edge);
}

// The same, after the peer's FIN: no window update, since no more data can come (and a peer that has
// closed its socket would answer it with RST).
TEST_F(CloseWait, ReadingOpensWindow_NoWindowUpdate) {
  config.recv_buffer = 100;
  config.window_shift = 0;
  established();
  deliver(seg(A, peer_next(), our_next()), bytes_of(60));
  deliver(seg(F | A, peer_next(), our_next()));
  ASSERT_EQ(conn->state(), State::close_wait);
  (void)drain();  // the ACKs of the data and the FIN
  EXPECT_EQ(conn->rcv_wnd(), 40U);
  std::vector<std::byte> out(100);
  EXPECT_EQ(conn->recv(out).value(), 60U);  // the window grows by 60, past the update threshold
  expect_none();
}

TEST_F(Established, DataRetriesExhausted_TimedOut) {
  config.data_retries = 3;
  established();
  (void)conn->send(bytes_of(10));
  (void)drain();
  run_until(now + 1000s);
  EXPECT_EQ(conn->state(), State::closed);
  EXPECT_EQ(conn->error(), make_error_code(Error::timed_out));
}

TEST_F(Established, SendBufferFull_AcceptsPartially_WritableAfterAck) {
  config.send_buffer = 1000;
  established();
  EXPECT_EQ(conn->send(bytes_of(1500)).value(), 1000U);
  (void)drain();
  (void)conn->take_events();
  peer_acks_all();
  EXPECT_TRUE(conn->take_events() & event::kWritable);
}

}  // namespace
}  // namespace synack::tcp::testing

namespace synack::tcp::testing {
namespace {

class Sack : public EngineTest {
 protected:
  /// Peer data at `k` segments of 1000 bytes past RCV.NXT; returns our ACK.
  Sent deliver_at(std::uint32_t k, SeqNum base) {
    deliver(seg(A, base + k * 1000U, our_next()), bytes_of(1000, k));
    return expect_one();
  }
};

// RFC 2018 §4: an out-of-order segment is acknowledged with a SACK block covering it.
TEST_F(Sack, Established_OutOfOrderSegment_AckCarriesSackBlock) {
  established();
  const SeqNum base = peer_next();
  const Sent ack = deliver_at(1, base);
  EXPECT_EQ(ack.h.ack, base);
  ASSERT_EQ(ack.h.options.sack.size(), 1U);
  EXPECT_EQ(ack.h.options.sack.blocks()[0].left, base + 1000);
  EXPECT_EQ(ack.h.options.sack.blocks()[0].right, base + 2000);
}

// RFC 2018 §4: the first block holds the segment that triggered the ACK; earlier blocks follow.
TEST_F(Sack, Established_SecondHole_LatestBlockFirst) {
  established();
  const SeqNum base = peer_next();
  (void)deliver_at(4, base);
  (void)deliver_at(2, base);
  const Sent ack = deliver_at(7, base);
  ASSERT_EQ(ack.h.options.sack.size(), 3U);
  EXPECT_EQ(ack.h.options.sack.blocks()[0].left, base + 7000);
  EXPECT_EQ(ack.h.options.sack.blocks()[1].left, base + 2000);
  EXPECT_EQ(ack.h.options.sack.blocks()[2].left, base + 4000);
  // A segment that extends an existing block puts that block first again.
  const Sent again = deliver_at(5, base);
  ASSERT_EQ(again.h.options.sack.size(), 3U);
  EXPECT_EQ(again.h.options.sack.blocks()[0].left, base + 4000);
  EXPECT_EQ(again.h.options.sack.blocks()[0].right, base + 6000);
}

// With timestamps (12 bytes) three blocks fit in the 40-byte option space; without them, four.
TEST_F(Sack, Established_ManyHoles_BlocksThatFit) {
  established();
  const SeqNum base = peer_next();
  Sent ack;
  for (std::uint32_t k : {1U, 3U, 5U, 7U, 9U}) ack = deliver_at(k, base);
  EXPECT_EQ(ack.h.options.sack.size(), 3U);
  EXPECT_LE(ack.h.options.encoded_size(), 40U);
}

TEST_F(Sack, Established_ManyHolesNoTimestamps_FourBlocks) {
  auto o = peer_syn_options();
  o.timestamps.reset();
  established(o);
  const SeqNum base = peer_next();
  Sent ack;
  for (std::uint32_t k : {1U, 3U, 5U, 7U, 9U}) ack = deliver_at(k, base);
  EXPECT_EQ(ack.h.options.sack.size(), 4U);
  EXPECT_LE(ack.h.options.encoded_size(), 40U);
}

// Once the hole is filled nothing is out of order: no SACK option.
TEST_F(Sack, Established_HoleFilled_NoBlocks) {
  established();
  const SeqNum base = peer_next();
  (void)deliver_at(1, base);
  const Sent ack = deliver_at(0, base);
  EXPECT_EQ(ack.h.ack, base + 2000);
  EXPECT_TRUE(ack.h.options.sack.empty());
}

// SACK not negotiated (the peer's SYN-ACK lacked SACK-permitted): never a SACK option.
TEST_F(Sack, Established_NotNegotiated_NoBlocks) {
  auto o = peer_syn_options();
  o.sack_permitted = false;
  established(o);
  const Sent ack = deliver_at(1, peer_next());
  EXPECT_TRUE(ack.h.options.sack.empty());
}

// A data segment carrying a SACK block gives up payload so header + options + data stay within MSS.
TEST_F(Sack, Established_DataSegmentWithSack_PayloadShrinksToFit) {
  established();
  (void)deliver_at(1, peer_next());
  (void)conn->send(bytes_of(3000));
  const auto out = drain();
  ASSERT_FALSE(out.empty());
  ASSERT_EQ(out[0].h.options.sack.size(), 1U);
  EXPECT_EQ(out[0].payload.size(), 1448U - 12U);
  EXPECT_LE(out[0].payload.size() + out[0].h.options.encoded_size(), 1460U);
}

}  // namespace
}  // namespace synack::tcp::testing
