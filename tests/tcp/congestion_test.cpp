// Congestion control: the window arithmetic (RFC 5681, RFC 6582, RFC 6928) and the engine driving it —
// initial window, slow start, fast retransmit and NewReno recovery, limited transmit, timeouts with
// go-back-N, restart after idle, sender silly-window avoidance.
#include "synack/tcp/congestion.hpp"

#include <numeric>

#include "fixture.hpp"

namespace synack::tcp::testing {
namespace {

constexpr std::uint32_t kSmss = 1448;  // 1460 less 12 bytes of timestamps (RFC 6691)
constexpr std::uint32_t kIw = 10 * kSmss;

std::size_t payload_bytes(const std::vector<Sent>& v) {
  return std::accumulate(v.begin(), v.end(), std::size_t{0},
                         [](std::size_t n, const Sent& s) { return n + s.payload.size(); });
}

// --- the arithmetic ------------------------------------------------------------------------------------

// RFC 6928 §2: IW = min(10*MSS, max(2*MSS, 14600)).
TEST(CongestionWindow, InitialWindow_Rfc6928) {
  EXPECT_EQ(Congestion::initial_window(1460, 10), 14600U);
  EXPECT_EQ(Congestion::initial_window(1448, 10), 14480U);
  EXPECT_EQ(Congestion::initial_window(536, 10), 5360U);
  EXPECT_EQ(Congestion::initial_window(2000, 10), 14600U);  // the 14600-byte cap
  EXPECT_EQ(Congestion::initial_window(8960, 10), 17920U);  // never below 2 segments
  EXPECT_EQ(Congestion::initial_window(1460, 1), 1460U);
}

// RFC 5681 §3.1: above ssthresh, one SMSS per window of acknowledged bytes.
TEST(CongestionWindow, CongestionAvoidance_OneSmssPerWindowAcked) {
  Congestion cc;
  cc.start(10000);
  cc.on_fast_retransmit(20000, 1000);  // ssthresh 10000, cwnd 13000
  cc.on_full_ack(20000, 1000);         // cwnd = min(ssthresh, flight + SMSS) = 10000
  ASSERT_EQ(cc.cwnd(), 10000U);
  ASSERT_FALSE(cc.in_slow_start());
  for (int i = 0; i < 9; ++i) cc.on_ack(1000, 1000, 10000);
  EXPECT_EQ(cc.cwnd(), 10000U);
  cc.on_ack(1000, 1000, 10000);
  EXPECT_EQ(cc.cwnd(), 11000U);
}

// RFC 3465 byte counting in slow start, and the switch to congestion avoidance at ssthresh.
TEST(CongestionWindow, SlowStart_GrowsByBytesAckedUpToSsthresh) {
  Congestion cc;
  cc.start(4000);
  cc.on_ack(3000, 1000, 4000);
  EXPECT_EQ(cc.cwnd(), 7000U);
  cc.on_timeout(8000, 1000, true);  // ssthresh 4000, cwnd 1000
  EXPECT_EQ(cc.ssthresh(), 4000U);
  EXPECT_EQ(cc.cwnd(), 1000U);
  cc.on_ack(5000, 1000, 1000);  // 3000 of it fill slow start to ssthresh, the rest counts toward CA
  EXPECT_EQ(cc.cwnd(), 4000U);
  EXPECT_FALSE(cc.in_slow_start());
}

// RFC 7661 §4.1 (Linux tcp_is_cwnd_limited): a window that was not used does not grow.
TEST(CongestionWindow, AppLimited_NoGrowth) {
  Congestion cc;
  cc.start(10000);
  cc.on_ack(1000, 1000, 1000);
  EXPECT_EQ(cc.cwnd(), 10000U);
}

// RFC 5681 §3.1: a second timeout of the same segment keeps ssthresh.
TEST(CongestionWindow, RepeatedTimeout_KeepsSsthresh) {
  Congestion cc;
  cc.start(20000);
  cc.on_timeout(20000, 1000, true);
  cc.on_timeout(1000, 1000, false);
  EXPECT_EQ(cc.ssthresh(), 10000U);
  EXPECT_EQ(cc.cwnd(), 1000U);
}

// --- the engine ----------------------------------------------------------------------------------------

class Congested : public EngineTest {
 protected:
  /// ESTABLISHED with a large peer window (1024 << 7) and `n` bytes queued; returns the first flight.
  std::vector<Sent> first_flight(std::size_t n = 100000) {
    established();
    data = bytes_of(n);
    EXPECT_EQ(conn->send(data).value(), n);
    return drain();
  }
  void dupack() { deliver(seg(A, peer_next(), conn->snd_una())); }
  void ack_to(SeqNum ack) { deliver(seg(A, peer_next(), ack)); }
  std::vector<std::byte> data;
};

// RFC 6928 §2: the first flight after the handshake is the initial window, ten full segments.
TEST_F(Congested, Established_FirstFlight_IsInitialWindow) {
  const auto flight = first_flight();
  ASSERT_EQ(flight.size(), 10U);
  for (const Sent& s : flight) EXPECT_EQ(s.payload.size(), kSmss);
  EXPECT_EQ(conn->info().cwnd, kIw);
  EXPECT_EQ(conn->info().ssthresh, Congestion::kInfinite);
}

// Slow start: an ACK of two segments frees two and adds two.
TEST_F(Congested, SlowStart_AckOfTwoSegments_SendsFour) {
  (void)first_flight();
  ack_to(iss + 1 + 2 * kSmss);
  EXPECT_EQ(conn->info().cwnd, kIw + 2 * kSmss);
  const auto next = drain();
  ASSERT_EQ(next.size(), 4U);
  EXPECT_EQ(next[0].h.seq, iss + 1 + kIw);
}

// RFC 7661 §4.1: an application-limited flow does not grow its window.
TEST_F(Congested, Established_AckOfAppLimitedFlight_WindowUnchanged) {
  (void)first_flight(1000);
  peer_acks_all();
  EXPECT_EQ(conn->info().cwnd, kIw);
}

// RFC 5681 §3.2 / RFC 6582 §3.2 steps 1-2: the third duplicate ACK retransmits the first segment and
// sets ssthresh = FlightSize / 2, cwnd = ssthresh + 3*SMSS.
TEST_F(Congested, Established_ThirdDupAck_HalvesWindowAndRetransmits) {
  config.limited_transmit = false;
  (void)first_flight();
  dupack();
  dupack();
  expect_none();
  dupack();
  const auto rtx = drain();
  ASSERT_EQ(rtx.size(), 1U);
  EXPECT_EQ(rtx[0].h.seq, iss + 1);
  EXPECT_EQ(rtx[0].payload.size(), kSmss);
  EXPECT_EQ(conn->info().ssthresh, kIw / 2);
  EXPECT_EQ(conn->info().cwnd, kIw / 2 + 3 * kSmss);
  EXPECT_EQ(conn->info().fast_retransmits, 1U);
}

// RFC 6582 §3.2 step 3-4: each further duplicate ACK inflates cwnd by SMSS; new data goes once the
// inflated window exceeds the flight.
TEST_F(Congested, FastRecovery_DupAcks_InflateWindowAndReleaseNewData) {
  config.limited_transmit = false;
  (void)first_flight();
  for (int i = 0; i < 3; ++i) dupack();
  (void)drain();  // the retransmission; cwnd = 7240 + 4344 = 11584 against a flight of 14480
  dupack();       // 13032
  dupack();       // 14480
  expect_none();
  dupack();  // 15928: one segment of room
  const auto out = drain();
  ASSERT_EQ(out.size(), 1U);
  EXPECT_EQ(out[0].h.seq, iss + 1 + kIw);
}

// RFC 6582 §3.2 step 5: a partial ACK retransmits the next hole and deflates cwnd by the bytes acked
// (plus SMSS back when at least SMSS was acked).
TEST_F(Congested, FastRecovery_PartialAck_DeflatesAndRetransmitsNextHole) {
  config.limited_transmit = false;
  (void)first_flight();
  for (int i = 0; i < 3; ++i) dupack();
  (void)drain();
  const std::uint32_t before = conn->info().cwnd;
  ack_to(iss + 1 + 2 * kSmss);
  EXPECT_EQ(conn->info().cwnd, before - 2 * kSmss + kSmss);
  const auto out = drain();
  ASSERT_GE(out.size(), 1U);
  EXPECT_EQ(out[0].h.seq, iss + 1 + 2 * kSmss);
  EXPECT_EQ(out[0].payload.size(), kSmss);
}

// RFC 6582 §3.2 step 5, full ACK: recovery ends with cwnd = min(ssthresh, max(FlightSize, SMSS) + SMSS).
TEST_F(Congested, FastRecovery_FullAck_ExitsWithReducedWindow) {
  config.limited_transmit = false;
  (void)first_flight(kIw);
  for (int i = 0; i < 3; ++i) dupack();
  (void)drain();
  peer_acks_all();
  EXPECT_EQ(conn->info().cwnd, 2 * kSmss);  // nothing in flight: SMSS + SMSS, below ssthresh
  EXPECT_EQ(conn->info().ssthresh, kIw / 2);
}

// RFC 3042: the first and second duplicate ACKs each let one new segment out; the third does not.
TEST_F(Congested, Established_FirstTwoDupAcks_LimitedTransmit) {
  (void)first_flight();
  dupack();
  auto out = drain();
  ASSERT_EQ(out.size(), 1U);
  EXPECT_EQ(out[0].h.seq, iss + 1 + kIw);
  dupack();
  out = drain();
  ASSERT_EQ(out.size(), 1U);
  EXPECT_EQ(out[0].h.seq, iss + 1 + kIw + kSmss);
  dupack();
  out = drain();
  ASSERT_EQ(out.size(), 1U);
  EXPECT_EQ(out[0].h.seq, iss + 1);  // the fast retransmission, nothing new
  EXPECT_EQ(conn->info().ssthresh, (kIw + 2 * kSmss) / 2);
}

// RFC 5681 §3.1 / RFC 6298 §5.4: a timeout collapses cwnd to one segment; slow start then resends the
// rest from SND.UNA (go-back-N), every resent segment counted as a retransmission.
TEST_F(Congested, Established_Rto_OneSegmentThenGoBackN) {
  (void)first_flight();
  run_until(conn->next_deadline());
  auto out = drain();
  ASSERT_EQ(out.size(), 1U);
  EXPECT_EQ(out[0].h.seq, iss + 1);
  EXPECT_EQ(conn->info().cwnd, kSmss);
  EXPECT_EQ(conn->info().ssthresh, kIw / 2);
  EXPECT_EQ(conn->info().timeouts, 1U);
  ack_to(iss + 1 + kSmss);
  out = drain();
  ASSERT_EQ(out.size(), 2U);
  EXPECT_EQ(out[0].h.seq, iss + 1 + kSmss);
  EXPECT_EQ(out[1].h.seq, iss + 1 + 2 * kSmss);
  EXPECT_EQ(conn->info().data_retransmits, 3U);
  EXPECT_EQ(conn->snd_nxt(), iss + 1 + kIw);  // SND.MAX: what an observer calls SND.NXT
}

// A second timeout of the same segment keeps ssthresh (RFC 5681 §3.1, note on eq. 4).
TEST_F(Congested, Established_SecondRto_KeepsSsthresh) {
  (void)first_flight();
  run_until(conn->next_deadline());
  (void)drain();
  run_until(conn->next_deadline());
  ASSERT_EQ(drain().size(), 1U);
  EXPECT_EQ(conn->info().ssthresh, kIw / 2);
  EXPECT_EQ(conn->info().cwnd, kSmss);
}

// During go-back-N an ACK carries SND.MAX, not the rewound SND.NXT: below the peer's RCV.NXT it would
// be dropped as an old duplicate, and two stacks doing this to each other deadlock.
TEST_F(Congested, GoBackN_PureAck_CarriesSndMax) {
  (void)first_flight();
  run_until(conn->next_deadline());
  (void)drain();
  deliver(seg(A, peer_next(), iss + 1), bytes_of(10));
  const Sent ack = expect_one();
  EXPECT_EQ(ack.h.seq, iss + 1 + kIw);
  EXPECT_EQ(ack.h.ack, peer_iss + 1 + 10);
}

// RFC 6582 §4.1: duplicate ACKs below the recovery point after a timeout start no fast retransmit.
TEST_F(Congested, AfterRto_DupAcksBelowRecoveryPoint_NoFastRetransmit) {
  (void)first_flight();
  run_until(conn->next_deadline());
  (void)drain();
  for (int i = 0; i < 4; ++i) {
    dupack();
    expect_none();
  }
  EXPECT_EQ(conn->info().fast_retransmits, 0U);
}

// RFC 5681 §4.1: after sending nothing for longer than an RTO, cwnd restarts from at most IW.
TEST_F(Congested, Established_IdleLongerThanRto_RestartsFromInitialWindow) {
  (void)first_flight(kIw);
  peer_acks_all();
  EXPECT_EQ(conn->info().cwnd, 2 * kIw);
  advance(conn->info().rto + 1ms);
  (void)conn->send(bytes_of(100000));
  EXPECT_EQ(drain().size(), 10U);
}

TEST_F(Congested, Established_IdleShorterThanRto_KeepsWindow) {
  (void)first_flight(kIw);
  peer_acks_all();
  advance(conn->info().rto / 2);
  (void)conn->send(bytes_of(100000));
  EXPECT_EQ(drain().size(), 20U);
}

// RFC 5681 §3.1: a SYN retransmitted more than once leaves an initial window of one segment (Linux:
// only after two or more retransmissions; see docs/engine.md).
TEST_F(Congested, SynSent_SynRetransmittedTwice_InitialWindowOneSegment) {
  closed_to_syn_sent();
  for (int i = 0; i < 2; ++i) {
    run_until(conn->next_deadline());
    ASSERT_EQ(expect_one().h.flags, TcpFlags(S));
  }
  now += 10ms;
  auto h = seg(S | A, peer_iss, iss + 1);
  h.options = peer_syn_options(peer_tsval);
  deliver(h);
  (void)drain();
  EXPECT_EQ(conn->info().cwnd, kSmss);
  (void)conn->send(bytes_of(100000));
  EXPECT_EQ(drain().size(), 1U);
}

TEST_F(Congested, SynSent_SynRetransmittedOnce_FullInitialWindow) {
  closed_to_syn_sent();
  run_until(conn->next_deadline());
  ASSERT_EQ(expect_one().h.flags, TcpFlags(S));
  auto h = seg(S | A, peer_iss, iss + 1);
  h.options = peer_syn_options(peer_tsval);
  deliver(h);
  (void)drain();
  EXPECT_EQ(conn->info().cwnd, kIw);
}

// A cwnd that is not a whole number of segments sends no runt while data is in flight: with an MSS of
// 2000 the initial window is 14600 = 7 segments + 600 bytes.
TEST_F(Congested, Established_CwndRemainderBelowSegment_NoRunt) {
  config.mtu = 9000;
  auto o = peer_syn_options();
  o.mss = 2000;
  o.timestamps.reset();
  established(o);
  (void)conn->send(bytes_of(100000));
  const auto out = drain();
  ASSERT_EQ(out.size(), 7U);
  for (const Sent& s : out) EXPECT_EQ(s.payload.size(), 2000U);
}

// RFC 9293 §3.8.6.2.1 sender SWS avoidance: a peer window below both a segment and half its largest
// window holds data back until the override timeout (the persist timer), which sends what fits.
TEST_F(Congested, Established_SmallWindowNothingInFlight_WaitsForOverrideTimeout) {
  (void)first_flight(kIw);
  peer_acks_all(8);  // window shrinks to 8 << 7 = 1024 bytes, far below half of 131072
  (void)conn->send(bytes_of(5000));
  expect_none();
  const Instant deadline = conn->next_deadline();
  ASSERT_LT(deadline, Instant::max());
  run_until(deadline);
  const auto out = drain();
  ASSERT_EQ(out.size(), 1U);
  EXPECT_EQ(out[0].payload.size(), 1024U);
}

// A window update that opens a full segment releases data at once; no timer needed.
TEST_F(Congested, Established_SmallWindowThenUpdate_SendsFullSegments) {
  (void)first_flight(kIw);
  peer_acks_all(8);
  (void)conn->send(bytes_of(5000));
  expect_none();
  peer_acks_all(1024);
  const auto out = drain();
  EXPECT_EQ(payload_bytes(out), 5000U);
}

// The Stack sends what wants_transmit promises: after a timeout the go-back-N segment is wanted.
TEST_F(Congested, Established_Rto_WantsTransmit) {
  (void)first_flight();
  run_until(conn->next_deadline());
  EXPECT_TRUE(conn->wants_transmit());
  (void)drain();
  EXPECT_FALSE(conn->wants_transmit());
}

}  // namespace
}  // namespace synack::tcp::testing
