// TIME-WAIT as a compact record: what the Stack keeps once the user has closed a connection in TIME-WAIT,
// and the RFC 9293 §3.10.7.4 rules still answered through it.
#include "pair.hpp"

namespace synack::stack::testing {
namespace {

class TimeWaitRecord : public ::testing::Test {
 protected:
  Stack a{config_for(addr_a()), key(1), 1};
  Stack b{config_for(addr_b()), key(2), 2};
  Pair pair{a, b};
  ConnectionId c;  // client, on a
  ConnectionId s;  // server, on b
  std::vector<Event> ea;

  void SetUp() override {
    const auto l = b.listen({addr_b(), 80});
    c = *a.connect(pair.now(), {addr_a(), 40000}, {addr_b(), 80});
    pair.run_until([&] { return a.info(c)->state == tcp::State::established; });
    pair.run_for(50ms);
    s = *b.accept(*l);
    (void)events_of(b);
  }
  /// The server closes first and the client answers: the server ends in TIME-WAIT with its user gone,
  /// so it is a record.
  void server_time_wait() {
    ASSERT_FALSE(b.close(pair.now(), s));
    pair.run_until([&] {
      for (auto& e : events_of(a)) ea.push_back(e);
      return has_event(ea, EventKind::peer_closed);
    });
    std::array<std::byte, 64> buf{};
    ASSERT_EQ(a.recv(c, buf).value_or(1), 0U);
    ASSERT_FALSE(a.close(pair.now(), c));
  }
  [[nodiscard]] std::vector<std::byte> segment_to_b(std::uint16_t flags, wire::SeqNum seq,
                                                    wire::SeqNum ack) const {
    wire::TcpHeader h;
    h.src_port = 40000;
    h.dst_port = 80;
    h.seq = seq;
    h.ack = ack;
    h.flags = wire::TcpFlags(flags);
    h.window = 1000;
    std::vector<std::byte> out(128);
    out.resize(*wire::emit_tcp_packet(addr_a(), addr_b(), h, {}, out));
    return out;
  }
  std::size_t drain_b() {
    std::array<std::byte, 256> buf{};
    std::size_t n = 0;
    while (b.poll_transmit(pair.now(), buf)) ++n;
    return n;
  }
};

TEST_F(TimeWaitRecord, UserClosed_BecomesRecord_IdStale_EndsAfterTwoMsl) {
  server_time_wait();
  pair.run_for(100ms);
  EXPECT_EQ(b.time_wait_count(), 1U);
  EXPECT_EQ(b.connection_count(), 1U);
  EXPECT_FALSE(b.info(s));  // the user closed it: the id went with the full connection
  EXPECT_EQ(a.connection_count(), 0U);
  pair.run_for(59s);
  EXPECT_EQ(b.time_wait_count(), 1U);
  pair.run_for(1s);
  EXPECT_EQ(b.time_wait_count(), 0U);
  EXPECT_EQ(b.connection_count(), 0U);
  EXPECT_EQ(b.next_deadline(), Instant::max());
}

// RFC 9293 §3.10.7.4 (TIME-WAIT, eighth): "The only thing that can arrive in this state is a
// retransmission of the remote FIN. Acknowledge it, and restart the 2 MSL timeout."
TEST_F(TimeWaitRecord, RetransmittedFin_AckedAndTimerRestarted) {
  // Lose the server's ACK of the client's FIN once: the client (LAST-ACK) retransmits its FIN.
  int dropped = 0;
  pair.filter = [&](bool to_b, const wire::TcpPacketView& v) {
    const auto h = wire::TcpHeader::parse(v.tcp());
    if (!to_b && dropped == 0 && h && h->flags.ack() && !h->flags.fin() && a.info(c) &&
        a.info(c)->state == tcp::State::last_ack) {
      ++dropped;
      return true;
    }
    return false;
  };
  server_time_wait();
  pair.run_for(100ms);
  ASSERT_EQ(dropped, 1);
  ASSERT_EQ(b.time_wait_count(), 1U);
  ASSERT_EQ(a.connection_count(), 1U);  // LAST-ACK, waiting for the lost ACK
  const Instant began = pair.now();
  pair.run_until([&] { return a.connection_count() == 0; }, 10s);  // the retransmitted FIN is ACKed
  ASSERT_EQ(a.connection_count(), 0U);
  const Instant restarted = pair.now();
  EXPECT_GT(restarted - began, 50ms);  // the client's RTO (200 ms) after its first FIN
  EXPECT_EQ(b.time_wait_count(), 1U);
  // The record now ends 2 MSL after the retransmitted FIN arrived, not after the first FIN.
  pair.run_for((began + 60s) - pair.now());
  EXPECT_EQ(b.time_wait_count(), 1U);
  pair.run_for((restarted + 60s) - pair.now());
  EXPECT_EQ(b.time_wait_count(), 0U);
  EXPECT_EQ(b.connection_count(), 0U);
  EXPECT_EQ(b.next_deadline(), Instant::max());
}

// RFC 9293 §3.10.7.4 (TIME-WAIT, second check) with RFC 5961 §3.2: an RST exactly at RCV.NXT ends
// TIME-WAIT (as Linux with tcp_rfc1337 = 0); any other in-window RST gets a challenge ACK.
TEST_F(TimeWaitRecord, Rst_ExactEndsIt_InWindowGetsChallengeAck) {
  const wire::SeqNum rcv_nxt = b.info(s)->rcv_nxt + 1;  // past the client's FIN
  server_time_wait();
  pair.run_for(100ms);
  ASSERT_EQ(b.time_wait_count(), 1U);
  b.on_packet(pair.now(), segment_to_b(wire::TcpFlags::kRst, rcv_nxt + 10, wire::SeqNum{0}));
  EXPECT_EQ(drain_b(), 1U);  // the challenge ACK
  EXPECT_EQ(b.time_wait_count(), 1U);
  b.on_packet(pair.now(), segment_to_b(wire::TcpFlags::kRst, rcv_nxt, wire::SeqNum{0}));
  EXPECT_EQ(drain_b(), 0U);
  EXPECT_EQ(b.time_wait_count(), 0U);
  EXPECT_EQ(b.connection_count(), 0U);
  // The tuple is free: an ACK for it gets the RST a closed port sends.
  const std::uint64_t resets = b.stats().resets_sent;
  b.on_packet(pair.now(), segment_to_b(wire::TcpFlags::kAck, rcv_nxt, wire::SeqNum{1}));
  EXPECT_EQ(b.stats().resets_sent, resets + 1);
  pair.run_for(61s);
  EXPECT_EQ(b.next_deadline(), Instant::max());
}

// RFC 5961 §7: the per-connection challenge-ACK limit holds for a record too, although each segment
// rebuilds a connection from it: 20 in-window RSTs within one interval get challenge_ack_limit ACKs.
TEST_F(TimeWaitRecord, ChallengeAckLimit_SurvivesCompaction) {
  const wire::SeqNum rcv_nxt = b.info(s)->rcv_nxt + 1;
  server_time_wait();
  pair.run_for(100ms);
  ASSERT_EQ(b.time_wait_count(), 1U);
  std::size_t answered = 0;
  for (std::uint32_t i = 0; i < 20; ++i) {
    b.on_packet(pair.now(), segment_to_b(wire::TcpFlags::kRst, rcv_nxt + 10 + i, wire::SeqNum{0}));
    answered += drain_b();
    pair.advance(1ms);
  }
  EXPECT_EQ(answered, b.tcp_config().challenge_ack_limit);
  EXPECT_EQ(b.time_wait_count(), 1U);
  // The next interval has a fresh budget.
  pair.advance(b.tcp_config().challenge_ack_interval);
  b.on_packet(pair.now(), segment_to_b(wire::TcpFlags::kRst, rcv_nxt + 100, wire::SeqNum{0}));
  EXPECT_EQ(drain_b(), 1U);
}

// Linux tcp_max_tw_buckets: past the bound a closing connection skips TIME-WAIT, counted.
TEST(TimeWaitRecords, Overflow_ClosesWithoutTimeWait) {
  StackConfig cb = config_for(addr_b());
  cb.max_time_wait = 0;
  Stack a{config_for(addr_a()), key(1), 1};
  Stack b{cb, key(2), 2};
  Pair pair{a, b};
  const auto l = b.listen({addr_b(), 80});
  const ConnectionId c = *a.connect(pair.now(), {addr_a(), 40000}, {addr_b(), 80});
  pair.run_for(100ms);
  const ConnectionId s = *b.accept(*l);
  ASSERT_FALSE(b.close(pair.now(), s));
  pair.run_for(100ms);
  ASSERT_FALSE(a.close(pair.now(), c));
  pair.run_for(100ms);
  EXPECT_EQ(b.time_wait_count(), 0U);
  EXPECT_EQ(b.connection_count(), 0U);
  EXPECT_EQ(b.stats().time_wait_overflows, 1U);
}

// A SYN-SENT -> ... -> TIME-WAIT cycle repeated: records are reused, the stack's timers stay exact.
TEST(TimeWaitRecords, ManyRecords_ExpireInOrderAndAreReused) {
  Stack a{config_for(addr_a()), key(1), 1};
  Stack b{config_for(addr_b()), key(2), 2};
  Pair pair{a, b};
  const auto l = b.listen({addr_b(), 80});
  for (int round = 0; round < 3; ++round) {
    std::vector<ConnectionId> clients;
    for (int i = 0; i < 50; ++i) clients.push_back(*a.connect(pair.now(), {addr_a(), 0}, {addr_b(), 80}));
    pair.run_for(100ms);
    while (auto id = b.accept(*l)) (void)b.close(pair.now(), *id);  // server closes first: server TIME-WAIT
    pair.run_for(100ms);
    for (const ConnectionId c : clients) (void)a.close(pair.now(), c);
    pair.run_for(100ms);
    EXPECT_EQ(b.time_wait_count(), 50U);
    EXPECT_EQ(a.connection_count(), 0U);
    pair.run_for(60s);
    EXPECT_EQ(b.time_wait_count(), 0U);
    EXPECT_EQ(b.next_deadline(), Instant::max());
  }
}

// IPv6 records live in their own (64-byte) pool: the same life, the same rules.
TEST(TimeWaitRecords, Ipv6_RecordAnswersAStrayAckAndExpires) {
  std::array<std::byte, 16> x{};
  x[0] = std::byte{0x20};
  x[1] = std::byte{0x01};
  x[2] = std::byte{0x0d};
  x[3] = std::byte{0xb8};
  std::array<std::byte, 16> y = x;
  x[15] = std::byte{1};
  y[15] = std::byte{2};
  const wire::IpAddress a6 = wire::IpAddress::v6(x);
  const wire::IpAddress b6 = wire::IpAddress::v6(y);
  Stack a{config_for(a6), key(1), 1};
  Stack b{config_for(b6), key(2), 2};
  Pair pair{a, b};
  const auto l = b.listen({b6, 80});
  const ConnectionId c = *a.connect(pair.now(), {a6, 40000}, {b6, 80});
  pair.run_for(100ms);
  const ConnectionId s = *b.accept(*l);
  ASSERT_FALSE(b.close(pair.now(), s));
  pair.run_for(100ms);
  std::array<std::byte, 64> buf{};
  ASSERT_EQ(a.recv(c, buf).value_or(1), 0U);
  const wire::SeqNum a_next = a.info(c)->snd_nxt;
  ASSERT_FALSE(a.close(pair.now(), c));
  pair.run_for(100ms);
  ASSERT_EQ(b.time_wait_count(), 1U);
  ASSERT_EQ(a.connection_count(), 0U);
  // A stray ACK from the old incarnation: the record's rebuilt connection answers with an ACK
  // (RFC 9293 §3.10.7.4: not acceptable, or a duplicate) and stays in TIME-WAIT.
  wire::TcpHeader h;
  h.src_port = 40000;
  h.dst_port = 80;
  h.seq = a_next + 1000;
  h.ack = wire::SeqNum{1};
  h.flags = wire::TcpFlags(wire::TcpFlags::kAck);
  h.window = 1000;
  std::vector<std::byte> d(128);
  d.resize(*wire::emit_tcp_packet(a6, b6, h, {}, d));
  b.on_packet(pair.now(), d);
  std::array<std::byte, 256> out{};
  std::size_t answered = 0;
  while (b.poll_transmit(pair.now(), out)) ++answered;
  EXPECT_EQ(answered, 1U);
  EXPECT_EQ(b.time_wait_count(), 1U);
  pair.run_for(61s);
  EXPECT_EQ(b.time_wait_count(), 0U);
  EXPECT_EQ(b.next_deadline(), Instant::max());
}

}  // namespace
}  // namespace synack::stack::testing
