// How the Stack files a connection's deadline in its timer wheel: refiled when it moves earlier, taken out
// when no timer is left, and left in place when it moves later (the earlier entry then fires nothing and
// refiles the connection). Datagrams are moved by hand, so every instant is chosen by the test.
#include "pair.hpp"

namespace synack::stack::testing {
namespace {

class TimerFiling : public ::testing::Test {
 protected:
  Stack a{config_for(addr_a()), key(1), 1};
  Stack b{config_for(addr_b()), key(2), 2};
  Instant t0 = Instant::from_nanoseconds(1'000'000'000);
  std::array<std::byte, 2048> buf{};

  /// Every datagram `from` has to send at `now`, delivered to `to` at once; returns how many.
  std::size_t move(Stack& from, Stack& to, Instant now) {
    std::size_t n = 0;
    while (const auto size = from.poll_transmit(now, buf)) {
      to.on_packet(now, wire::Bytes(buf.data(), *size));
      ++n;
    }
    return n;
  }
  /// The datagram `from` sends next, kept rather than delivered.
  std::vector<std::byte> take(Stack& from, Instant now) {
    const auto size = from.poll_transmit(now, buf);
    if (!size) return {};
    return {buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(*size)};
  }
};

TEST_F(TimerFiling, SynSent_SynAckStopsRetransmitTimer_ConnectionLeavesWheel) {
  (void)b.listen({addr_b(), 80});
  const ConnectionId c = *a.connect(t0, {addr_a(), 40000}, {addr_b(), 80});
  const std::vector<std::byte> syn = take(a, t0);  // the SYN leaves: its retransmission timer runs
  ASSERT_FALSE(syn.empty());
  EXPECT_EQ(a.next_deadline(), t0 + a.tcp_config().initial_rto);  // filed now
  b.on_packet(t0, syn);
  EXPECT_EQ(move(b, a, t0), 1U);  // SYN-ACK
  ASSERT_EQ(a.info(c)->state, tcp::State::established);
  EXPECT_EQ(a.next_deadline(), Instant::max());  // no timer left: not a stale entry
}

TEST_F(TimerFiling, FinWait1_FinAckingOurFinEntersTimeWait_EarlierEntryFiresNothingAndRefiles) {
  const auto l = b.listen({addr_b(), 80});
  const ConnectionId c = *a.connect(t0, {addr_a(), 40000}, {addr_b(), 80});
  while (move(a, b, t0) + move(b, a, t0) != 0) {
  }
  const ConnectionId s = *b.accept(*l);
  ASSERT_FALSE(a.shutdown_write(t0, c));  // the user keeps `c`: TIME-WAIT stays a connection
  const std::vector<std::byte> fin_a = take(a, t0);
  ASSERT_FALSE(fin_a.empty());
  const Instant filed = a.next_deadline();  // the FIN's retransmission timer, filed
  ASSERT_LT(filed, Instant::max());
  const Instant t1 = t0 + 10ms;
  b.on_packet(t1, fin_a);
  ASSERT_FALSE(b.shutdown_write(t1, s));  // b's FIN leaves with its ACK of a's FIN: one FIN|ACK
  EXPECT_EQ(move(b, a, t1), 1U);
  ASSERT_EQ(a.info(c)->state, tcp::State::time_wait);
  EXPECT_EQ(move(a, b, t1), 1U);  // a's ACK of b's FIN
  (void)events_of(a);
  const Instant time_wait_end = t1 + a.tcp_config().time_wait_length();
  ASSERT_LT(filed, time_wait_end);
  EXPECT_EQ(a.next_deadline(), filed);  // a later deadline: the earlier entry stays
  a.on_timeout(filed);
  EXPECT_EQ(move(a, b, filed), 0U);  // no retransmission of the acknowledged FIN
  EXPECT_FALSE(a.poll_event().has_value());
  EXPECT_EQ(a.info(c)->state, tcp::State::time_wait);
  EXPECT_EQ(a.next_deadline(), time_wait_end);
}

TEST_F(TimerFiling, Closing_AckOfFinEntersTimeWait_EarlierEntryFiresNothingAndRefiles) {
  const auto l = b.listen({addr_b(), 80});
  const ConnectionId c = *a.connect(t0, {addr_a(), 40000}, {addr_b(), 80});
  while (move(a, b, t0) + move(b, a, t0) != 0) {
  }
  const ConnectionId s = *b.accept(*l);
  ASSERT_EQ(a.info(c)->state, tcp::State::established);
  // Simultaneous close (RFC 9293 Figure 13): both FINs cross, both sides pass through CLOSING. The user
  // keeps `c` (shutdown_write, not close), so TIME-WAIT stays a connection in the wheel.
  ASSERT_FALSE(a.shutdown_write(t0, c));
  ASSERT_FALSE(b.shutdown_write(t0, s));
  const std::vector<std::byte> fin_a = take(a, t0);
  const std::vector<std::byte> fin_b = take(b, t0);
  ASSERT_FALSE(fin_a.empty());
  ASSERT_FALSE(fin_b.empty());
  const Instant filed = a.next_deadline();  // the FIN's retransmission timer, filed
  ASSERT_LT(filed, Instant::max());
  const Instant t1 = t0 + 10ms;
  a.on_packet(t1, fin_b);
  b.on_packet(t1, fin_a);
  ASSERT_EQ(a.info(c)->state, tcp::State::closing);
  while (move(a, b, t1) + move(b, a, t1) != 0) {
  }
  ASSERT_EQ(a.info(c)->state, tcp::State::time_wait);
  (void)events_of(a);
  // 2 MSL from t1 replaced the FIN's timer: a later deadline, so the earlier entry stays.
  const Instant time_wait_end = t1 + a.tcp_config().time_wait_length();
  ASSERT_LT(filed, time_wait_end);
  EXPECT_EQ(a.next_deadline(), filed);
  // It fires early: nothing is sent, nothing happens to the connection, and its real deadline is filed.
  a.on_timeout(filed);
  EXPECT_FALSE(a.poll_transmit(filed, buf).has_value());
  EXPECT_FALSE(a.poll_event().has_value());
  EXPECT_EQ(a.info(c)->state, tcp::State::time_wait);
  EXPECT_EQ(a.next_deadline(), time_wait_end);
  // And TIME-WAIT ends when it should.
  a.on_timeout(time_wait_end);
  EXPECT_TRUE(has_event(events_of(a), EventKind::closed));
  EXPECT_EQ(a.next_deadline(), Instant::max());
}

}  // namespace
}  // namespace synack::stack::testing
