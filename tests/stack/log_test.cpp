// The log hook (Stack::set_log_hook): every state transition with its cause, drops with their reason.
#include <string>
#include <vector>

#include "pair.hpp"
#include "synack/tcp/transition.hpp"

namespace synack::stack::testing {
namespace {

using tcp::State;
using tcp::Trigger;

struct Seen {
  State from;
  State to;
  std::string why;
  ConnectionId id;
};

class Log : public ::testing::Test {
 protected:
  Stack a{config_for(addr_a()), key(1), 1};
  Stack b{config_for(addr_b()), key(2), 2};
  Pair pair{a, b};
  std::vector<LogRecord> ra;
  std::vector<LogRecord> rb;

  void SetUp() override {
    a.set_log_hook([this](const LogRecord& r) { ra.push_back(r); });
    b.set_log_hook([this](const LogRecord& r) { rb.push_back(r); });
  }
  static std::vector<Seen> transitions(const std::vector<LogRecord>& records) {
    std::vector<Seen> out;
    for (const LogRecord& r : records) {
      if (r.kind == LogKind::transition) {
        out.push_back({r.transition.from, r.transition.to, tcp::describe(r.transition), r.connection});
      }
    }
    return out;
  }
  static const LogRecord* find_reason(const std::vector<LogRecord>& records, std::string_view reason) {
    for (const LogRecord& r : records) {
      if (r.reason == reason) return &r;
    }
    return nullptr;
  }
};

TEST_F(Log, HandshakeAndClose_EveryTransitionWithItsCause) {
  const auto l = b.listen({addr_b(), 80});
  const ConnectionId c = *a.connect(pair.now(), {addr_a(), 40000}, {addr_b(), 80});
  pair.run_until([&] { return a.info(c)->state == State::established; });
  pair.run_for(50ms);
  const ConnectionId s = *b.accept(*l);
  ASSERT_FALSE(a.shutdown_write(pair.now(), c));
  pair.run_for(100ms);
  ASSERT_FALSE(b.close(pair.now(), s));
  pair.run_for(100ms);

  const auto ta = transitions(ra);
  ASSERT_EQ(ta.size(), 5U);
  EXPECT_EQ(ta[0].from, State::closed);
  EXPECT_EQ(ta[0].to, State::syn_sent);
  EXPECT_EQ(ta[0].why, "OPEN");
  EXPECT_EQ(ta[1].to, State::established);
  EXPECT_EQ(ta[1].why, "rcv SYN,ACK");
  EXPECT_EQ(ta[1].id, c);  // filed under the connection once the stack holds it
  EXPECT_EQ(ta[2].to, State::fin_wait_1);
  EXPECT_EQ(ta[2].why, "CLOSE");
  EXPECT_EQ(ta[3].to, State::fin_wait_2);
  EXPECT_EQ(ta[3].why, "rcv ACK (ACK of FIN)");
  EXPECT_EQ(ta[4].to, State::time_wait);
  EXPECT_EQ(ta[4].why, "rcv FIN,ACK");

  const auto tb = transitions(rb);
  ASSERT_EQ(tb.size(), 4U);
  EXPECT_EQ(tb[0].from, State::closed);
  EXPECT_EQ(tb[0].to, State::established);
  EXPECT_EQ(tb[0].why, "handshake completed in the listener");
  EXPECT_EQ(tb[1].to, State::close_wait);
  EXPECT_EQ(tb[1].why, "rcv FIN,ACK");
  EXPECT_EQ(tb[1].id, s);
  EXPECT_EQ(tb[2].to, State::last_ack);
  EXPECT_EQ(tb[2].why, "CLOSE");
  EXPECT_EQ(tb[3].from, State::last_ack);
  EXPECT_EQ(tb[3].to, State::closed);
  EXPECT_EQ(tb[3].why, "rcv ACK (ACK of FIN)");
  // No drop on a clean exchange.
  for (const auto* records : {&ra, &rb}) {
    for (const LogRecord& r : *records) EXPECT_NE(r.kind, LogKind::drop) << r.reason;
  }
}

TEST_F(Log, SynSent_RstAck_TransitionNamesTheErrorAndThePeerLogsNoListener) {
  const ConnectionId c = *a.connect(pair.now(), {addr_a(), 40001}, {addr_b(), 81});
  pair.run_for(1s);
  const auto ta = transitions(ra);
  ASSERT_EQ(ta.size(), 2U);
  EXPECT_EQ(ta[1].from, State::syn_sent);
  EXPECT_EQ(ta[1].to, State::closed);
  EXPECT_EQ(ta[1].why, "rcv RST,ACK (connection refused)");
  EXPECT_EQ(ta[1].id, c);
  const LogRecord* drop = find_reason(rb, "SynackNoListener");
  ASSERT_NE(drop, nullptr);
  EXPECT_EQ(drop->kind, LogKind::drop);
  EXPECT_EQ(drop->count, 1U);
  EXPECT_EQ(drop->tuple.local, (wire::Endpoint{addr_b(), 81}));
  EXPECT_EQ(drop->tuple.remote, (wire::Endpoint{addr_a(), 40001}));
}

TEST_F(Log, SynSent_RetriesExhausted_TimeoutTransition) {
  pair.filter = [](bool, const wire::TcpPacketView&) { return true; };  // the path drops everything
  (void)a.connect(pair.now(), {addr_a(), 40002}, {addr_b(), 80});
  pair.run_for(200s);
  const auto ta = transitions(ra);
  ASSERT_EQ(ta.size(), 2U);
  EXPECT_EQ(ta[1].to, State::closed);
  EXPECT_EQ(ta[1].why, "SYN retransmissions exhausted (connection timed out)");
}

TEST_F(Log, BadChecksum_DroppedWithItsReason) {
  (void)b.listen({addr_b(), 80});
  (void)a.connect(pair.now(), {addr_a(), 40003}, {addr_b(), 80});
  std::array<std::byte, 2048> buf{};
  const auto n = a.poll_transmit(pair.now(), buf);
  ASSERT_TRUE(n);
  buf[*n - 1] ^= std::byte{0xFF};  // the SYN's last option byte: the TCP checksum no longer matches
  b.on_packet(pair.now(), wire::Bytes(buf.data(), *n));
  const LogRecord* drop = find_reason(rb, "TcpInCsumErrors");
  ASSERT_NE(drop, nullptr);
  EXPECT_EQ(drop->kind, LogKind::drop);
  EXPECT_EQ(drop->at, pair.now());
  EXPECT_EQ(drop->tuple.remote, (wire::Endpoint{addr_a(), 40003}));
}

TEST_F(Log, HookRemoved_NothingMoreIsReported) {
  a.set_log_hook({});
  (void)a.connect(pair.now(), {addr_a(), 40004}, {addr_b(), 82});
  pair.run_for(1s);
  EXPECT_TRUE(ra.empty());
  EXPECT_FALSE(rb.empty());  // b's hook still sees its drop
}

TEST(TransitionDescribe, TimersNameTheirTimer) {
  EXPECT_EQ(tcp::describe({State::time_wait, State::closed, Trigger::timeout, {}, std::nullopt}),
            "timeout 2MSL");
  EXPECT_EQ(tcp::describe({State::fin_wait_2, State::closed, Trigger::timeout, {}, std::nullopt}),
            "FIN-WAIT-2 timeout");
  EXPECT_EQ(tcp::describe({State::established, State::closed, Trigger::timeout, {}, tcp::Error::timed_out}),
            "retransmissions exhausted (connection timed out)");
  EXPECT_EQ(tcp::describe({State::syn_sent, State::syn_received, Trigger::segment,
                           wire::TcpFlags{wire::TcpFlags::kSyn}, std::nullopt}),
            "rcv SYN (simultaneous open)");
  EXPECT_EQ(tcp::describe({State::established, State::closed, Trigger::abort, {}, std::nullopt}), "ABORT");
}

}  // namespace
}  // namespace synack::stack::testing
