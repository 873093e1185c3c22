// Closing: FIN either order, simultaneous close, half-close, abort, TIME-WAIT (RFC 9293 §3.6, §3.10.7.4).
#include "fixture.hpp"

namespace synack::tcp::testing {
namespace {

using Established = EngineTest;
using FinWait1 = EngineTest;
using FinWait2 = EngineTest;
using CloseWait = EngineTest;
using Closing = EngineTest;
using LastAck = EngineTest;
using TimeWait = EngineTest;
using Closed = EngineTest;

TEST_F(Established, ShutdownWrite_SendsFinAfterData) {
  established();
  (void)conn->send(bytes_of(10));
  ASSERT_FALSE(conn->shutdown_write());
  EXPECT_EQ(conn->state(), State::fin_wait_1);
  const Sent s = expect_one();
  EXPECT_EQ(s.payload.size(), 10U);
  EXPECT_TRUE(s.h.flags.fin());  // FIN rides on the last data segment
  EXPECT_EQ(conn->send(bytes_of(1)).error(), make_error_code(Error::shut_down));
}

TEST_F(FinWait1, AckOfFin_EntersFinWait2) {
  fin_wait_1();
  peer_acks_all();
  EXPECT_EQ(conn->state(), State::fin_wait_2);
}

TEST_F(FinWait1, FinRetransmittedOnRto) {
  fin_wait_1();
  run_until(conn->next_deadline());
  const Sent s = expect_one();
  EXPECT_TRUE(s.h.flags.fin());
  EXPECT_EQ(s.h.seq, iss + 1);
}

// Half-close: after our FIN we still receive data.
TEST_F(FinWait2, DataStillReceived_ThenFinEntersTimeWait) {
  fin_wait_2();
  const auto data = bytes_of(50);
  deliver(seg(A, peer_next(), our_next()), data);
  EXPECT_EQ(conn->readable(), 50U);
  (void)drain();
  deliver(seg(F | A, peer_next(), our_next()));
  EXPECT_EQ(conn->state(), State::time_wait);
  EXPECT_TRUE(conn->take_events() & event::kPeerClosed);
  EXPECT_EQ(expect_one().h.ack, peer_iss + 1 + 50 + 1);
}

// RFC 9293 §3.10.7.4: FIN in FIN-WAIT-1 not acknowledging ours -> CLOSING (simultaneous close).
TEST_F(FinWait1, Fin_EntersClosing_ThenAckEntersTimeWait) {
  fin_wait_1();
  deliver(seg(F | A, peer_next(), iss + 1));  // does not ACK our FIN
  EXPECT_EQ(conn->state(), State::closing);
  (void)drain();
  peer_acks_all();
  EXPECT_EQ(conn->state(), State::time_wait);
}

TEST_F(FinWait1, FinAckingOurFin_EntersTimeWaitDirectly) {
  fin_wait_1();
  deliver(seg(F | A, peer_next(), our_next()));
  EXPECT_EQ(conn->state(), State::time_wait);
}

// A connection its user closed (close(), not shutdown_write()) has no reader: the peer's FIN is
// acknowledged and moves the state on, but raises no end-of-stream events (peer_closed, readable).
TEST_F(FinWait1, FinAckingOurFinAfterClose_RaisesNoPeerClosedOrReadable) {
  fin_wait_1();
  conn->close(now);
  (void)conn->take_events();
  deliver(seg(F | A, peer_next(), our_next()));
  EXPECT_EQ(conn->state(), State::time_wait);
  EXPECT_EQ(conn->take_events() & (event::kPeerClosed | event::kReadable), 0);
  const Sent ack = expect_one();
  EXPECT_EQ(ack.h.ack, peer_iss + 2);  // the FIN is still acknowledged
}

// Half-close only (shutdown_write): the user still reads, so the same FIN raises both events.
TEST_F(FinWait1, FinAckingOurFinAfterShutdownWrite_RaisesPeerClosedAndReadable) {
  fin_wait_1();
  (void)conn->take_events();
  deliver(seg(F | A, peer_next(), our_next()));
  EXPECT_EQ(conn->state(), State::time_wait);
  EXPECT_EQ(conn->take_events() & (event::kPeerClosed | event::kReadable),
            event::kPeerClosed | event::kReadable);
}

// RFC 9293 §3.10.4 CLOSE with nothing queued: the FIN leaves as a control segment
// <SEQ=SND.NXT><ACK=RCV.NXT><CTL=FIN,ACK> with the timestamps, and is timed like data (§3.8.1): the
// retransmission timer runs until it is acknowledged.
TEST_F(Established, ShutdownWriteWithNothingQueued_SendsFinAloneAndArmsRetransmit) {
  established();
  ASSERT_EQ(conn->next_deadline(), Instant::max());
  ASSERT_FALSE(conn->shutdown_write());
  EXPECT_TRUE(conn->wants_transmit());
  const Sent s = expect_one();
  EXPECT_EQ(s.h.flags, TcpFlags(F | A));
  EXPECT_EQ(s.h.seq, iss + 1);
  EXPECT_EQ(s.h.ack, peer_iss + 1);
  EXPECT_TRUE(s.payload.empty());
  EXPECT_TRUE(s.h.options.timestamps.has_value());
  EXPECT_EQ(conn->snd_nxt(), iss + 2);
  EXPECT_EQ(conn->next_deadline(), now + conn->info().rto);
}

// Data sent and acknowledged before the close: the FIN follows it alone, at SND.NXT.
TEST_F(Established, ShutdownWriteAfterDataAcked_SendsFinAtSndNxt) {
  established();
  (void)conn->send(bytes_of(100));
  EXPECT_EQ(expect_one().payload.size(), 100U);
  peer_acks_all();
  ASSERT_FALSE(conn->shutdown_write());
  const Sent s = expect_one();
  EXPECT_EQ(s.h.flags, TcpFlags(F | A));
  EXPECT_EQ(s.h.seq, iss + 1 + 100);
  EXPECT_TRUE(s.payload.empty());
  peer_acks_all();
  EXPECT_EQ(conn->state(), State::fin_wait_2);
  EXPECT_EQ(conn->info().bytes_acked, 100U);
}

// Entering TIME-WAIT only moves the deadline later (the FIN's retransmission → 2 MSL): the earlier one,
// which the Stack has filed, is not reported as a change. When it fires, nothing is due and the real
// deadline is reported for refiling.
// The deadline moves later (2 MSL replaces the FIN's retransmission timer) and the change is reported: the
// Stack leaves the earlier deadline filed (tests/stack/timer_filing_test.cpp), so the engine's part is that
// an on_timeout() at that earlier instant does nothing.
TEST_F(FinWait1, FinAckingOurFin_ReportsLaterDeadline_EarlierTimeoutDoesNothing) {
  fin_wait_1();
  ASSERT_TRUE(conn->take_timers_changed());  // the Stack files the FIN's retransmission deadline
  const Instant filed = conn->next_deadline();
  now += 10ms;
  deliver(seg(F | A, peer_next(), our_next()));
  ASSERT_EQ(conn->state(), State::time_wait);
  const Instant expiry = now + config.time_wait_length();
  EXPECT_EQ(conn->next_deadline(), expiry);
  EXPECT_TRUE(conn->take_timers_changed());
  (void)expect_one();  // the ACK of the peer's FIN
  now = filed;         // the wheel fires at the deadline it holds
  conn->mark_timers_changed();
  conn->on_timeout(now);
  EXPECT_EQ(conn->state(), State::time_wait);
  expect_none();
  EXPECT_TRUE(conn->take_timers_changed());
  EXPECT_EQ(conn->next_deadline(), expiry);
}

// The same transition with a change the Stack has not filed yet: it is still reported.
TEST_F(FinWait1, FinAckingOurFinBeforeTimerFiled_ReportsChange) {
  fin_wait_1();
  deliver(seg(F | A, peer_next(), our_next()));
  ASSERT_EQ(conn->state(), State::time_wait);
  EXPECT_TRUE(conn->take_timers_changed());
  EXPECT_EQ(conn->next_deadline(), now + config.time_wait_length());
}

// RFC 9293 §3.10.7.4 LAST-ACK: an ACK of our data and FIN together closes, the data counted as acked.
TEST_F(LastAck, AckOfDataAndFin_ClosesWithDataCounted) {
  close_wait();
  (void)conn->send(bytes_of(20));
  ASSERT_FALSE(conn->shutdown_write());
  const Sent s = expect_one();
  EXPECT_EQ(s.payload.size(), 20U);
  EXPECT_TRUE(s.h.flags.fin());
  peer_acks_all();
  EXPECT_EQ(conn->state(), State::closed);
  EXPECT_TRUE(conn->take_events() & event::kClosed);
  EXPECT_EQ(conn->info().bytes_acked, 20U);
  EXPECT_EQ(conn->next_deadline(), Instant::max());
}

// LAST-ACK with only the FIN outstanding: its ACK ends the connection and stops the FIN's timer.
TEST_F(LastAck, AckOfFin_ClosesAndStopsTimer) {
  close_wait();
  ASSERT_FALSE(conn->shutdown_write());
  EXPECT_EQ(expect_one().h.flags, TcpFlags(F | A));
  ASSERT_EQ(conn->state(), State::last_ack);
  ASSERT_LT(conn->next_deadline(), Instant::max());
  peer_acks_all();
  EXPECT_EQ(conn->state(), State::closed);
  EXPECT_TRUE(conn->take_events() & event::kClosed);
  EXPECT_EQ(conn->next_deadline(), Instant::max());
  EXPECT_EQ(conn->snd_una(), conn->snd_nxt());
}

TEST_F(Established, Fin_EntersCloseWait_PeerClosedAndEof) {
  established();
  const auto data = bytes_of(20);
  deliver(seg(F | A, peer_next(), our_next()), data);
  EXPECT_EQ(conn->state(), State::close_wait);
  const std::uint8_t ev = conn->take_events();
  EXPECT_TRUE(ev & event::kPeerClosed);
  EXPECT_EQ(expect_one().h.ack, peer_iss + 1 + 20 + 1);
  std::vector<std::byte> out(100);
  EXPECT_EQ(conn->recv(out).value(), 20U);
  EXPECT_EQ(conn->recv(out).value(), 0U);  // end of stream
  // Half-close the other way: we can still send.
  EXPECT_EQ(conn->send(bytes_of(5)).value(), 5U);
  EXPECT_EQ(expect_one().payload.size(), 5U);
}

TEST_F(Established, OutOfOrderFin_WaitsForHole) {
  established();
  const auto data = bytes_of(20);
  const SeqNum base = peer_next();
  deliver(seg(F | A, base + 10, our_next()), wire::Bytes(data).subspan(10));
  EXPECT_EQ(conn->state(), State::established);
  deliver(seg(A, base, our_next()), wire::Bytes(data).first(10));
  EXPECT_EQ(conn->state(), State::close_wait);
  EXPECT_EQ(conn->rcv_nxt(), base + 21);
}

TEST_F(CloseWait, ShutdownWrite_LastAck_AckCloses) {
  close_wait();
  ASSERT_FALSE(conn->shutdown_write());
  EXPECT_EQ(conn->state(), State::last_ack);
  EXPECT_TRUE(expect_one().h.flags.fin());
  peer_acks_all();
  EXPECT_EQ(conn->state(), State::closed);
  EXPECT_TRUE(conn->take_events() & event::kClosed);
  EXPECT_FALSE(conn->error());
}

TEST_F(TimeWait, ExpiresAfterTwoMsl) {
  time_wait();
  const Instant entered = now;
  EXPECT_EQ(conn->next_deadline(), entered + 60s);
  run_until(entered + 59s);
  EXPECT_EQ(conn->state(), State::time_wait);
  run_until(entered + 60s);
  EXPECT_EQ(conn->state(), State::closed);
  EXPECT_TRUE(conn->take_events() & event::kClosed);
}

TEST_F(TimeWait, LengthConfigurable) {
  config.time_wait = 5s;
  time_wait();
  EXPECT_EQ(conn->next_deadline(), now + 5s);
}

TEST_F(TimeWait, DefaultsToTwiceMsl) {
  config.msl = 10s;
  time_wait();
  EXPECT_EQ(conn->next_deadline(), now + 20s);
}

// RFC 9293 §3.10.7.4: a retransmitted FIN in TIME-WAIT is acknowledged and restarts the 2 MSL timer.
TEST_F(TimeWait, RetransmittedFin_AckedAndTimerRestarted) {
  time_wait();
  now += 10s;
  deliver(seg(F | A, peer_next() - 1, our_next()));
  EXPECT_EQ(expect_one().h.ack, peer_next());
  EXPECT_EQ(conn->next_deadline(), now + 60s);
  EXPECT_EQ(conn->state(), State::time_wait);
}

// RFC 6191 / Linux: a new SYN may reuse a TIME-WAIT tuple when its sequence number is past RCV.NXT or
// its timestamp is newer; otherwise it does not.
TEST_F(TimeWait, NewSyn_AcceptedOnlyWhenNewer) {
  time_wait();
  auto newer = seg(S, peer_next() + 100000, SeqNum{0});
  newer.options.timestamps = wire::Timestamps{peer_tsval + 1000, 0};
  EXPECT_TRUE(conn->time_wait_accepts_syn(newer));
  auto older = seg(S, peer_next(), SeqNum{0});
  older.options.timestamps = wire::Timestamps{1, 0};
  EXPECT_FALSE(conn->time_wait_accepts_syn(older));
  peer_timestamps = false;
  EXPECT_TRUE(conn->time_wait_accepts_syn(seg(S, peer_next() + 1, SeqNum{0})));
  EXPECT_FALSE(conn->time_wait_accepts_syn(seg(S, peer_next() - 1, SeqNum{0})));
}

TEST_F(TimeWait, SynInWindow_GetsChallengeAck) {
  time_wait();
  deliver(seg(S, peer_next(), SeqNum{0}));
  EXPECT_EQ(expect_one().h.flags, TcpFlags(A));
  EXPECT_EQ(conn->state(), State::time_wait);
}

TEST_F(Established, Abort_SendsRstAndCloses) {
  established();
  conn->abort();
  const Sent rst = expect_one();
  EXPECT_EQ(rst.h.flags, TcpFlags(R));
  EXPECT_EQ(rst.h.seq, our_next());
  EXPECT_EQ(conn->state(), State::closed);
}

// RFC 2525 §2.17 / Linux: close() with unread data aborts with RST.
TEST_F(Established, CloseWithUnreadData_SendsRst) {
  established();
  deliver(seg(A, peer_next(), our_next()), bytes_of(10));
  (void)drain();
  conn->close(now);
  EXPECT_EQ(expect_one().h.flags, TcpFlags(R));
  EXPECT_EQ(conn->state(), State::closed);
}

TEST_F(FinWait2, Orphaned_TimesOut) {
  fin_wait_1();
  conn->close(now);
  peer_acks_all();
  ASSERT_EQ(conn->state(), State::fin_wait_2);
  run_until(now + 61s);
  EXPECT_EQ(conn->state(), State::closed);
}

TEST_F(FinWait2, DataAfterClose_AnsweredWithRst) {
  fin_wait_1();
  conn->close(now);
  peer_acks_all();
  deliver(seg(A, peer_next(), our_next()), bytes_of(10));
  EXPECT_EQ(expect_one().h.flags, TcpFlags(R));
  EXPECT_EQ(conn->state(), State::closed);
}

TEST_F(LastAck, ExactRst_Closes) {
  close_wait();
  ASSERT_FALSE(conn->shutdown_write());
  (void)drain();
  deliver(seg(R, peer_next(), SeqNum{0}));
  EXPECT_EQ(conn->state(), State::closed);
}

TEST_F(Closed, SegmentsIgnored) {
  established();
  conn->abort();
  (void)drain();
  deliver(seg(A, peer_next(), our_next()), bytes_of(10));
  expect_none();
  EXPECT_EQ(conn->send(bytes_of(1)).error(), make_error_code(Error::not_connected));
}

TEST(StateNames, RfcSpelling) {
  EXPECT_EQ(to_string(State::syn_received), "SYN-RECEIVED");
  EXPECT_EQ(to_string(State::time_wait), "TIME-WAIT");
  EXPECT_EQ(make_error_code(Error::refused).category().name(), std::string("synack.tcp"));
  EXPECT_NE(make_error_code(Error::refused), make_error_code(Error::timed_out));
}

}  // namespace
}  // namespace synack::tcp::testing
