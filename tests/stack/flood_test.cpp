// The listener under a low-rate spoofed SYN attack, in virtual time: SYNs from addresses that never
// answer, at 10 per second for 90 s, against a 256-entry SYN queue, while a legitimate client connects
// once a second. Without pruning, the queue is full after 25.6 s and stays full (each entry lives 63 s
// through its SYN-ACK retries), and the client is locked out until the first entries expire.
#include "pair.hpp"

namespace synack::stack::testing {
namespace {

std::vector<std::byte> spoofed_syn(std::uint32_t n) {
  wire::TcpHeader h;
  h.src_port = static_cast<std::uint16_t>(1024 + (n * 7919U) % 60000U);
  h.dst_port = 80;
  h.seq = wire::SeqNum{n * 2654435761U};
  h.flags = wire::TcpFlags(wire::TcpFlags::kSyn);
  h.window = 65535;
  h.options.mss = 1460;
  // 203.0.113.0/24 and 198.51.100.0/24: nobody there answers the SYN-ACKs.
  const std::uint32_t src = (n % 2 == 0 ? 0xCB007100U : 0xC6336400U) | (1U + (n / 2) % 254U);
  std::vector<std::byte> out(128);
  out.resize(*wire::emit_tcp_packet(wire::IpAddress::v4(src), addr_b(), h, {}, out));
  return out;
}

struct Outcome {
  int attempted = 0;
  int established = 0;
  std::uint64_t pruned = 0;
  std::uint64_t cookies = 0;
};

Outcome low_rate_attack(tcp::SynCookieMode mode) {
  StackConfig cb = config_for(addr_b());
  cb.tcp.syn_queue_capacity = 256;
  cb.tcp.syn_cookies = mode;
  Stack a{config_for(addr_a()), key(1), 1};
  Stack b{cb, key(2), 2};
  Pair pair{a, b};
  const auto l = b.listen({addr_b(), 80}, 1024);
  Outcome o;
  std::uint32_t spoofed = 0;
  std::vector<ConnectionId> clients;
  for (int second = 0; second < 90; ++second) {
    for (int i = 0; i < 10; ++i) {
      b.on_packet(pair.now(), spoofed_syn(spoofed++));
      pair.run_for(100ms);
      while (auto s = b.accept(*l)) (void)b.abort(pair.now(), *s);
    }
    // The legitimate client: one connection a second, given 3 s (its first SYN retransmission is at 1 s).
    const auto c = a.connect(pair.now(), {addr_a(), 0}, {addr_b(), 80});
    if (!c) continue;
    ++o.attempted;
    pair.run_until([&] { return a.info(*c) && a.info(*c)->state == tcp::State::established; }, 3s);
    if (a.info(*c) && a.info(*c)->state == tcp::State::established) ++o.established;
    (void)a.abort(pair.now(), *c);
  }
  o.pruned = b.stats().syn_queue_pruned;
  o.cookies = b.stats().syncookies_sent;
  return o;
}

// Cookies off: pruning alone keeps the listener open to legitimate clients.
TEST(LowRateSynAttack, CookiesNever_PruningKeepsEveryLegitimateConnection) {
  const Outcome o = low_rate_attack(tcp::SynCookieMode::never);
  EXPECT_EQ(o.attempted, 90);
  EXPECT_EQ(o.established, o.attempted);
  EXPECT_GT(o.pruned, 0U);
  EXPECT_EQ(o.cookies, 0U);
}

// The default: cookies once the queue is full; every legitimate connection completes too.
TEST(LowRateSynAttack, CookiesWhenFull_EveryLegitimateConnection) {
  const Outcome o = low_rate_attack(tcp::SynCookieMode::when_full);
  EXPECT_EQ(o.attempted, 90);
  EXPECT_EQ(o.established, o.attempted);
}

// A full SYN queue's SYN-ACK retransmissions come due together; a control queue smaller than the burst
// holds the rest back (they stay due) instead of dropping them: every entry's first retransmission goes
// out, none is counted as a control-queue drop.
TEST(SynFlood, SynAckRetransmissionsDueTogether_ControlQueueFull_HeldBackNotDropped) {
  StackConfig cb = config_for(addr_b());
  cb.tcp.syn_queue_capacity = 100;
  cb.control_queue = 8;
  Stack b{cb, key(2), 2};
  ASSERT_TRUE(b.listen({addr_b(), 80}, 16));
  Instant now = Instant::from_nanoseconds(1'000'000);
  std::array<std::byte, 256> buf{};
  std::size_t first = 0;
  for (std::uint32_t n = 0; n < 100; ++n) {
    b.on_packet(now, spoofed_syn(n));
    while (b.poll_transmit(now, buf)) ++first;  // the driver drains after each datagram
  }
  EXPECT_EQ(first, 100U);
  EXPECT_EQ(b.stats().control_queue_drops, 0U);
  // All 100 retransmissions are due at the same instant (1 s later): the driver's loop.
  now = b.next_deadline();
  std::size_t retransmitted = 0;
  for (int round = 0; round < 100 && b.next_deadline() <= now; ++round) {
    b.on_timeout(now);
    while (b.poll_transmit(now, buf)) ++retransmitted;
  }
  EXPECT_EQ(retransmitted, 100U);
  EXPECT_EQ(b.stats().control_queue_drops, 0U);
  EXPECT_GT(b.next_deadline(), now);
}

// A SYN that arrives while the control queue is full is dropped before it takes an entry (its SYN-ACK
// could not be sent): counted as a control-queue drop, not as a listener SYN.
TEST(SynFlood, SynWhileControlQueueFull_DroppedBeforeTheListener) {
  StackConfig cb = config_for(addr_b());
  cb.control_queue = 4;
  Stack b{cb, key(2), 2};
  const auto l = b.listen({addr_b(), 80}, 16);
  const Instant now = Instant::from_nanoseconds(1);
  for (std::uint32_t n = 0; n < 6; ++n) b.on_packet(now, spoofed_syn(n));
  EXPECT_EQ(b.stats().control_queue_drops, 2U);
  EXPECT_EQ(b.stats().listen_syns, 4U);
  EXPECT_EQ(b.listener(*l)->syn_queue_size(), 4U);
}

}  // namespace
}  // namespace synack::stack::testing
