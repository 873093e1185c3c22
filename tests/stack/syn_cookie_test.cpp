// SYN cookies through the Stack (RFC 4987 §3.6): a client Stack against a cookie listener completes the
// handshake and moves data both ways with no half-open entry and no flow-table entry on the server until
// the final ACK; forged ACKs are answered with RST (RFC 9293 §3.10.7.2) and counted.
#include "pair.hpp"

namespace synack::stack::testing {
namespace {

using wire::SeqNum;
using wire::TcpFlags;

struct Case {
  bool v6 = false;
  bool timestamps = true;
};

class CookieStack : public ::testing::TestWithParam<Case> {};

std::vector<std::byte> pattern(std::size_t n, unsigned seed) {
  std::vector<std::byte> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<std::byte>((i * 131U + seed) & 0xFFU);
  return v;
}

/// Sends `data` from (from, id) and reads it at (to, peer), stepping the pair; returns what arrived.
std::vector<std::byte> transfer(Pair& p, Stack& from, ConnectionId id, Stack& to, ConnectionId peer,
                                const std::vector<std::byte>& data) {
  std::vector<std::byte> got;
  std::size_t sent = 0;
  std::array<std::byte, 4096> buf{};
  (void)p.run_until(
      [&] {
        if (sent < data.size()) {
          const auto r = from.send(id, wire::Bytes(data.data() + sent, data.size() - sent));
          if (r) sent += *r;
        }
        while (auto r = to.recv(peer, buf)) {
          if (*r == 0) break;
          got.insert(got.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(*r));
        }
        return got.size() >= data.size();
      },
      120s);
  return got;
}

// A client Stack against `always`: every option the client offered is in effect on both sides, and
// 200 kB go each way.
TEST_P(CookieStack, Always_HandshakeAndDataBothWays) {
  const Case c = GetParam();
  const auto ca = c.v6 ? wire::IpAddress::parse("2001:db8::1").value() : addr_a();
  const auto cb = c.v6 ? wire::IpAddress::parse("2001:db8::2").value() : addr_b();
  StackConfig client_cfg = config_for(ca);
  client_cfg.tcp.timestamps = c.timestamps;
  StackConfig server_cfg = config_for(cb);
  server_cfg.tcp.syn_cookies = tcp::SynCookieMode::always;
  Stack a{client_cfg, key(1), 11};
  Stack b{server_cfg, key(2), 22};
  Pair p{a, b};
  const auto l = b.listen({cb, 80});
  ASSERT_TRUE(l);
  const auto client = a.connect(p.now(), {ca, 0}, {cb, 80});
  ASSERT_TRUE(client);
  // The SYN-ACK leaves no state on the server: no half-open entry, no connection, no flow.
  p.run_until([&] { return b.stats().syncookies_sent == 1; });
  EXPECT_EQ(b.listener(*l)->syn_queue_slots(), 0U);
  EXPECT_EQ(b.connection_count(), 0U);
  ASSERT_TRUE(p.run_until([&] { return b.listener(*l)->accept_queue_size() == 1; }));
  const auto server = b.accept(*l);
  ASSERT_TRUE(server);
  EXPECT_EQ(b.stats().syncookies_recv, 1U);
  EXPECT_EQ(b.stats().syncookies_failed, 0U);

  const tcp::Negotiated cn = a.info(*client)->negotiated;
  const tcp::Negotiated sn = b.info(*server)->negotiated;
  EXPECT_EQ(sn.snd_shift, std::optional<std::uint8_t>(7));  // the client's window scale survived
  EXPECT_EQ(sn.snd_shift, cn.rcv_shift);
  EXPECT_EQ(sn.rcv_shift, cn.snd_shift);
  EXPECT_TRUE(sn.sack);
  EXPECT_EQ(sn.sack, cn.sack);
  EXPECT_EQ(sn.timestamps, c.timestamps);
  EXPECT_EQ(sn.timestamps, cn.timestamps);
  EXPECT_EQ(sn.send_mss, cn.recv_mss);  // 1460 / 1440 are table entries: nothing rounded
  EXPECT_EQ(cn.send_mss, sn.recv_mss);

  const auto up = pattern(200'000, 1);
  EXPECT_EQ(transfer(p, a, *client, b, *server, up), up);
  const auto down = pattern(200'000, 2);
  EXPECT_EQ(transfer(p, b, *server, a, *client, down), down);
  EXPECT_EQ(a.info(*client)->data_retransmits, 0U);
  EXPECT_EQ(b.info(*server)->data_retransmits, 0U);
}

INSTANTIATE_TEST_SUITE_P(Families, CookieStack,
                         ::testing::Values(Case{false, true}, Case{false, false}, Case{true, true},
                                           Case{true, false}),
                         [](const ::testing::TestParamInfo<Case>& i) {
                           return std::string(i.param.v6 ? "V6" : "V4") +
                                  (i.param.timestamps ? "Timestamps" : "NoTimestamps");
                         });

// The final ACK lost: the client's first data segment carries the same cookie (SEG.ACK, SEG.SEQ - 1)
// and builds the connection, its data delivered (RFC 4987 §3.6: "the final ACK may carry data").
TEST(CookieStack_, FinalAckLost_FirstDataSegmentCompletes) {
  StackConfig server_cfg = config_for(addr_b());
  server_cfg.tcp.syn_cookies = tcp::SynCookieMode::always;
  Stack a{config_for(addr_a()), key(1), 11};
  Stack b{server_cfg, key(2), 22};
  Pair p{a, b};
  bool dropped = false;
  p.filter = [&](bool to_b, const wire::TcpPacketView& v) {
    const auto h = wire::TcpHeader::parse(v.tcp());
    if (to_b && !dropped && h->flags == TcpFlags(TcpFlags::kAck) && v.tcp().payload().empty()) {
      dropped = true;
      return true;
    }
    return false;
  };
  const auto l = b.listen({addr_b(), 80});
  const auto client = a.connect(p.now(), {addr_a(), 0}, {addr_b(), 80});
  ASSERT_TRUE(p.run_until([&] { return a.info(*client)->state == tcp::State::established; }));
  p.flush();
  EXPECT_TRUE(dropped);
  EXPECT_EQ(b.connection_count(), 0U);
  const std::array<std::byte, 5> hello{std::byte{'h'}, std::byte{'e'}, std::byte{'l'}, std::byte{'l'},
                                       std::byte{'o'}};
  ASSERT_EQ(a.send(*client, hello).value(), hello.size());
  ASSERT_TRUE(p.run_until([&] { return b.listener(*l)->accept_queue_size() == 1; }));
  const auto server = b.accept(*l);
  ASSERT_TRUE(server);
  std::array<std::byte, 16> buf{};
  EXPECT_EQ(b.recv(*server, buf).value(), hello.size());
  EXPECT_EQ(b.stats().syncookies_recv, 1U);
}

// `when-full` through the Stack: SYN capacity + 1 gets the first cookie; the queue stays at its bound.
TEST(CookieStack_, WhenFull_CookiesPastTheBoundEverySynAnswered) {
  StackConfig cfg = config_for(addr_b());
  cfg.tcp.syn_queue_capacity = 3;
  Stack s{cfg, key(2), 1};
  const auto l = s.listen({addr_b(), 80}, 16);
  ASSERT_TRUE(l);
  const Instant now = Instant::from_nanoseconds(1);
  std::array<std::byte, 2048> buf{};
  std::size_t synacks = 0;
  for (std::uint16_t port = 1; port <= 10; ++port) {
    wire::TcpHeader h;
    h.src_port = port;
    h.dst_port = 80;
    h.seq = SeqNum{1000};
    h.flags = TcpFlags(TcpFlags::kSyn);
    h.window = 1000;
    h.options.mss = 1460;
    const auto n = wire::emit_tcp_packet(addr_a(), addr_b(), h, {}, buf);
    s.on_packet(now, wire::Bytes(buf.data(), *n));
    EXPECT_EQ(s.stats().syncookies_sent, port <= 3 ? 0U : port - 3U);
    while (auto m = s.poll_transmit(now, buf)) {
      const auto v = wire::TcpPacketView::parse(wire::Bytes(buf.data(), *m));
      EXPECT_EQ(wire::TcpHeader::parse(v->tcp())->flags, TcpFlags(TcpFlags::kSyn | TcpFlags::kAck));
      ++synacks;
    }
  }
  EXPECT_EQ(synacks, 10U);
  EXPECT_EQ(s.listener(*l)->syn_queue_size(), 3U);
  EXPECT_EQ(s.stats().syn_queue_full_drops, 0U);
}

// RFC 9293 §3.10.7.2 for a forged cookie: <SEQ=SEG.ACK><CTL=RST>, nothing created, SyncookiesFailed.
TEST(CookieStack_, ForgedAck_RstNothingCreatedCounted) {
  StackConfig cfg = config_for(addr_b());
  cfg.tcp.syn_cookies = tcp::SynCookieMode::always;
  Stack s{cfg, key(2), 1};
  ASSERT_TRUE(s.listen({addr_b(), 80}));
  const Instant now = Instant::from_nanoseconds(1);
  std::array<std::byte, 2048> buf{};
  const auto send = [&](std::uint16_t flags, std::uint32_t seq, std::uint32_t ack) {
    wire::TcpHeader h;
    h.src_port = 5555;
    h.dst_port = 80;
    h.seq = SeqNum{seq};
    h.ack = SeqNum{ack};
    h.flags = TcpFlags(flags);
    h.window = 1000;
    h.options.mss = 1460;
    const auto n = wire::emit_tcp_packet(addr_a(), addr_b(), h, {}, buf);
    s.on_packet(now, wire::Bytes(buf.data(), *n));
  };
  send(TcpFlags::kSyn, 1000, 0);
  const auto m = s.poll_transmit(now, buf);
  ASSERT_TRUE(m);
  const auto synack = *wire::TcpHeader::parse(wire::TcpPacketView::parse(wire::Bytes(buf.data(), *m))->tcp());
  send(TcpFlags::kAck, 1001, synack.seq.raw() + 2);  // off by one
  const auto r = s.poll_transmit(now, buf);
  ASSERT_TRUE(r);
  const auto rst = *wire::TcpHeader::parse(wire::TcpPacketView::parse(wire::Bytes(buf.data(), *r))->tcp());
  EXPECT_EQ(rst.flags, TcpFlags(TcpFlags::kRst));
  EXPECT_EQ(rst.seq, synack.seq + 2);
  EXPECT_EQ(s.connection_count(), 0U);
  EXPECT_EQ(s.stats().syncookies_failed, 1U);
  EXPECT_EQ(s.stats().syncookies_recv, 0U);
}

}  // namespace
}  // namespace synack::stack::testing
