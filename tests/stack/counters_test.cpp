// Martian segments (RFC 1122 §3.2.1.3, RFC 1812 §5.3.7, RFC 4291) are discarded before any state and
// counted by reason; the operator's counters (StackStats, docs/engine.md "Counters") add up.
#include <vector>

#include "pair.hpp"
#include "synack/wire/martian.hpp"

namespace synack::stack::testing {
namespace {

using wire::SeqNum;
using wire::TcpFlags;

wire::IpAddress ip(const char* text) {
  return *wire::IpAddress::parse(text);
}

wire::TcpHeader hdr(std::uint16_t flags, std::uint32_t seq, std::uint32_t ack = 0) {
  wire::TcpHeader h;
  h.flags = TcpFlags(flags);
  h.seq = SeqNum{seq};
  h.ack = SeqNum{ack};
  h.window = 1000;
  return h;
}

std::vector<std::byte> datagram(wire::Endpoint from, wire::Endpoint to, wire::TcpHeader h) {
  h.src_port = from.port;
  h.dst_port = to.port;
  std::vector<std::byte> buf(2048);
  const auto n = wire::emit_tcp_packet(from.address, to.address, h, {}, buf);
  EXPECT_TRUE(n);
  buf.resize(n.value_or(0));
  return buf;
}

/// The datagrams a stack sends now, parsed headers.
std::vector<wire::TcpHeader> sent(Stack& s, Instant now) {
  std::vector<wire::TcpHeader> out;
  std::array<std::byte, 2048> buf{};
  while (const auto n = s.poll_transmit(now, buf)) {
    const auto view = wire::TcpPacketView::parse(wire::Bytes(buf.data(), *n));
    EXPECT_TRUE(view);
    if (!view) continue;
    const auto h = wire::TcpHeader::parse(view->tcp());
    EXPECT_TRUE(h);
    if (h) out.push_back(*h);
  }
  return out;
}

/// How many datagrams a stack sends now.
std::size_t drain(Stack& s, Instant now) {
  return sent(s, now).size();
}

// --- martians ----------------------------------------------------------------------------------------

class Martian : public ::testing::Test {
 protected:
  static StackConfig config() {
    StackConfig c;
    c.addresses = {ip("192.0.2.1"), ip("192.0.2.9"), ip("2001:db8::1")};
    return c;
  }
  void SetUp() override {
    v4_ = *s.listen({ip("192.0.2.1"), 80});
    v6_ = *s.listen({ip("2001:db8::1"), 80});
  }
  /// A SYN from `source` to our listener of its family; whether anything was sent back.
  std::size_t syn_from(const wire::IpAddress& source, std::uint16_t port = 40000) {
    const wire::Endpoint to{source.is_v4() ? ip("192.0.2.1") : ip("2001:db8::1"), 80};
    s.on_packet(now, datagram({source, port}, to, hdr(TcpFlags::kSyn, 1000)));
    return drain(s, now);
  }
  void expect_no_state() {
    EXPECT_EQ(s.listener(v4_)->syn_queue_size(), 0U);
    EXPECT_EQ(s.listener(v6_)->syn_queue_size(), 0U);
    EXPECT_EQ(s.connection_count(), 0U);
    EXPECT_EQ(s.stats().listen_syns, 0U);
    EXPECT_EQ(s.stats().no_listener, 0U);
    EXPECT_EQ(s.stats().resets_sent, 0U);
  }

  Stack s{config(), key(2), 1};
  ListenerId v4_;
  ListenerId v6_;
  Instant now = Instant::from_nanoseconds(1);
};

/// Each martian source class, IPv4 and IPv6: no SYN-ACK, no RST, no state, exactly its counter.
TEST_F(Martian, SynFromEachMartianSource_DroppedSilentlyAndCountedByReason) {
  struct Case {
    const char* source;
    std::uint64_t MartianStats::* counter;
  };
  const Case cases[] = {
      {"0.0.0.0", &MartianStats::zero_net},
      {"0.1.2.3", &MartianStats::zero_net},
      {"127.0.0.1", &MartianStats::loopback},
      {"127.1.2.3", &MartianStats::loopback},
      {"224.0.0.1", &MartianStats::multicast},
      {"239.1.2.3", &MartianStats::multicast},
      {"240.0.0.1", &MartianStats::broadcast_reserved},
      {"255.255.255.255", &MartianStats::broadcast_reserved},
      {"192.0.2.1", &MartianStats::own_address},  // land: source = destination
      {"192.0.2.9", &MartianStats::own_address},  // another of our addresses
      {"::", &MartianStats::v6_unspecified},
      {"::1", &MartianStats::v6_loopback},
      {"ff02::1", &MartianStats::v6_multicast},
      {"ff05::1:3", &MartianStats::v6_multicast},
      {"::ffff:c000:201", &MartianStats::v4_mapped},
      {"::ffff:7f00:1", &MartianStats::v4_mapped},
      {"2001:db8::1", &MartianStats::own_address},
  };
  for (const Case& c : cases) {
    const MartianStats before = s.stats().martian;
    EXPECT_EQ(syn_from(ip(c.source)), 0U) << c.source;
    MartianStats expected = before;
    ++(expected.*c.counter);
    const MartianStats after = s.stats().martian;
    EXPECT_EQ(after.total(), before.total() + 1) << c.source;
    EXPECT_EQ(after.*c.counter, expected.*c.counter) << c.source;
    expect_no_state();
  }
  EXPECT_EQ(s.stats().martian.total(), std::size(cases));
  EXPECT_EQ(s.stats().packets_out, 0U);
}

/// An ACK or RST from a martian source is not answered either (a closed port would send RST).
TEST_F(Martian, AckToClosedPortFromMartian_NotAnswered) {
  s.on_packet(now, datagram({ip("127.0.0.1"), 1}, {ip("192.0.2.1"), 81}, hdr(TcpFlags::kAck, 1, 2)));
  s.on_packet(now, datagram({ip("::1"), 1}, {ip("2001:db8::1"), 81}, hdr(TcpFlags::kAck, 1, 2)));
  EXPECT_EQ(drain(s, now), 0U);
  EXPECT_EQ(s.stats().martian.loopback, 1U);
  EXPECT_EQ(s.stats().martian.v6_loopback, 1U);
  expect_no_state();
}

/// TCP is unicast (RFC 1122 §4.2.3.10): a SYN to a multicast or broadcast destination is discarded and
/// counted as a martian destination, not as "not local".
TEST_F(Martian, SynToMulticastOrBroadcast_DroppedAsMartianDestination) {
  for (const char* to : {"224.0.0.1", "255.255.255.255", "ff02::1"}) {
    const wire::IpAddress from = ip(to).is_v4() ? ip("192.0.2.7") : ip("2001:db8::7");
    s.on_packet(now, datagram({from, 1}, {ip(to), 80}, hdr(TcpFlags::kSyn, 1)));
  }
  EXPECT_EQ(drain(s, now), 0U);
  EXPECT_EQ(s.stats().martian.destination, 3U);
  EXPECT_EQ(s.stats().not_local, 0U);
  expect_no_state();
}

/// The forwarder takes SYNs for any destination, but not for a multicast one nor from a martian source.
TEST_F(Martian, Forwarder_MartianSynMakesNoOffer) {
  s.set_forwarder(ForwarderConfig{});
  s.on_packet(now, datagram({ip("192.0.2.7"), 1}, {ip("239.0.0.1"), 80}, hdr(TcpFlags::kSyn, 1)));
  s.on_packet(now, datagram({ip("198.51.100.3"), 1}, {ip("198.51.100.3"), 80}, hdr(TcpFlags::kSyn, 1)));
  s.on_packet(now, datagram({ip("0.0.0.0"), 1}, {ip("198.51.100.3"), 80}, hdr(TcpFlags::kSyn, 1)));
  EXPECT_EQ(s.pending_offer_count(), 0U);
  EXPECT_FALSE(s.poll_event());
  EXPECT_EQ(s.stats().offers, 0U);
  EXPECT_EQ(s.stats().martian.destination, 1U);
  EXPECT_EQ(s.stats().martian.own_address, 1U);  // source = destination
  EXPECT_EQ(s.stats().martian.zero_net, 1U);
}

/// Legitimate documentation sources, IPv4 and IPv6, still get their SYN-ACK.
TEST_F(Martian, SynFromLegitimateSources_GetsSynAck) {
  EXPECT_EQ(syn_from(ip("192.0.2.2")), 1U);
  EXPECT_EQ(syn_from(ip("198.51.100.200")), 1U);
  EXPECT_EQ(syn_from(ip("2001:db8::2")), 1U);
  EXPECT_EQ(syn_from(ip("2001:db8:ffff::ffff:c000:201")), 1U);
  EXPECT_EQ(s.listener(v4_)->syn_queue_size(), 2U);
  EXPECT_EQ(s.listener(v6_)->syn_queue_size(), 2U);
  EXPECT_EQ(s.stats().martian.total(), 0U);
  EXPECT_EQ(s.stats().syn_acks_sent, 4U);
}

// --- counters ----------------------------------------------------------------------------------------

/// Every SYN that reaches a listener is answered from the SYN queue or dropped, each drop by reason.
TEST(Counters, SynsToFullSynQueue_SynsEqualSynAcksPlusDrops) {
  StackConfig cfg = config_for(addr_b());
  cfg.tcp.syn_queue_capacity = 3;
  cfg.tcp.syn_cookies = tcp::SynCookieMode::never;
  Stack s{cfg, key(2), 1};
  ASSERT_TRUE(s.listen({addr_b(), 80}, 16));
  const Instant now = Instant::from_nanoseconds(1);
  for (std::uint16_t p = 1; p <= 10; ++p)
    s.on_packet(now, datagram({addr_a(), p}, {addr_b(), 80}, hdr(TcpFlags::kSyn, 1000)));
  EXPECT_EQ(drain(s, now), 3U);
  const StackStats& st = s.stats();
  EXPECT_EQ(st.listen_syns, 10U);
  EXPECT_EQ(st.syn_acks_sent, 3U);
  EXPECT_EQ(st.syn_queue_full_drops, 7U);
  EXPECT_EQ(st.accept_queue_full_drops, 0U);
  EXPECT_EQ(st.listen_drops, 7U);
  EXPECT_EQ(st.listen_syns, st.syn_acks_sent + st.syn_queue_full_drops + st.accept_queue_full_drops);
}

// With cookies when the queue is full (the default, as Linux tcp_syncookies = 1): SYNs received =
// SYN-ACKs from the queue + cookies sent + drops.
TEST(Counters, SynsToFullSynQueueWithCookies_SynsEqualSynAcksPlusCookiesPlusDrops) {
  StackConfig cfg = config_for(addr_b());
  cfg.tcp.syn_queue_capacity = 3;
  Stack s{cfg, key(2), 1};
  ASSERT_TRUE(s.listen({addr_b(), 80}, 16));
  const Instant now = Instant::from_nanoseconds(1);
  for (std::uint16_t p = 1; p <= 10; ++p)
    s.on_packet(now, datagram({addr_a(), p}, {addr_b(), 80}, hdr(TcpFlags::kSyn, 1000)));
  EXPECT_EQ(drain(s, now), 10U);
  const StackStats& st = s.stats();
  EXPECT_EQ(st.listen_syns, 10U);
  EXPECT_EQ(st.syn_acks_sent, 3U);
  EXPECT_EQ(st.syncookies_sent, 7U);
  EXPECT_EQ(st.syn_queue_full_drops, 0U);
  EXPECT_EQ(st.listen_syns,
            st.syn_acks_sent + st.syncookies_sent + st.syn_queue_full_drops + st.accept_queue_full_drops);
}

/// A full accept queue drops SYNs and final ACKs (ListenOverflows), all of them ListenDrops too.
TEST(Counters, AcceptQueueFull_SynsAndFinalAcksCountedAsOverflowsAndDrops) {
  Stack a{config_for(addr_a()), key(1), 11};
  Stack b{config_for(addr_b()), key(2), 22};
  Pair pair{a, b};
  ASSERT_TRUE(b.listen({addr_b(), 80}, 1));
  ASSERT_TRUE(a.connect(pair.now(), {addr_a(), 0}, {addr_b(), 80}));
  pair.run_for(100ms);  // established, waiting in the accept queue (never accepted)
  ASSERT_EQ(b.stats().listen_syns, 1U);
  b.on_packet(pair.now(), datagram({addr_a(), 5000}, {addr_b(), 80}, hdr(TcpFlags::kSyn, 1000)));
  EXPECT_EQ(drain(b, pair.now()), 0U);
  const StackStats& st = b.stats();
  EXPECT_EQ(st.listen_syns, 2U);
  EXPECT_EQ(st.syn_acks_sent, 1U);
  EXPECT_EQ(st.accept_queue_full_drops, 1U);
  EXPECT_EQ(st.listen_drops, 1U);
  EXPECT_EQ(st.listen_syns, st.syn_acks_sent + st.listen_drops);
}

// --- a SYN taken by the listener before its flow lookup (StackCore::syn_before_lookup) ------------------

/// RFC 9293 §3.10.7.4: a retransmitted SYN belongs to its half-open entry, which answers it with its
/// SYN-ACK again. Taken ahead of the lookup, the SYN's second entry is withdrawn: one entry, one SYN
/// counted, the same ISN both times.
TEST(SynBeforeLookup, SynReceived_RetransmittedSyn_SameEntryAnswersCountedOnce) {
  Stack b{config_for(addr_b()), key(2), 22};
  const auto l = b.listen({addr_b(), 80});
  ASSERT_TRUE(l);
  const Instant t0 = Instant::from_nanoseconds(1'000'000'000);
  const auto syn = datagram({addr_a(), 5000}, {addr_b(), 80}, hdr(TcpFlags::kSyn, 1000));
  b.on_packet(t0, syn);
  const auto first = sent(b, t0);
  b.on_packet(t0 + 300ms, syn);
  const auto again = sent(b, t0 + 300ms);
  ASSERT_EQ(first.size(), 1U);
  ASSERT_EQ(again.size(), 1U);
  EXPECT_TRUE(again[0].flags.syn() && again[0].flags.ack());
  EXPECT_EQ(again[0].seq, first[0].seq);
  EXPECT_EQ(b.listener(*l)->syn_queue_size(), 1U);
  EXPECT_EQ(b.stats().listen_syns, 1U);
  EXPECT_EQ(b.stats().syn_acks_sent, 2U);
}

/// RFC 5961 §4.2 (RFC 9293 §3.10.7.4): a SYN for an established connection's tuple gets a challenge ACK
/// from the connection; the listener keeps no entry for it and does not count it.
TEST(SynBeforeLookup, Established_SynForItsTuple_ChallengeAckNoListenerEntry) {
  Stack b{config_for(addr_b()), key(2), 22};
  const auto l = b.listen({addr_b(), 80});
  ASSERT_TRUE(l);
  Instant now = Instant::from_nanoseconds(1'000'000'000);
  b.on_packet(now, datagram({addr_a(), 5000}, {addr_b(), 80}, hdr(TcpFlags::kSyn, 1000)));
  const auto syn_ack = sent(b, now);
  ASSERT_EQ(syn_ack.size(), 1U);
  b.on_packet(
      now, datagram({addr_a(), 5000}, {addr_b(), 80}, hdr(TcpFlags::kAck, 1001, (syn_ack[0].seq + 1).raw())));
  EXPECT_TRUE(sent(b, now).empty());
  ASSERT_EQ(b.connection_count(), 1U);
  now += 10ms;
  b.on_packet(now, datagram({addr_a(), 5000}, {addr_b(), 80}, hdr(TcpFlags::kSyn, 777777)));
  const auto answer = sent(b, now);
  ASSERT_EQ(answer.size(), 1U);
  EXPECT_FALSE(answer[0].flags.syn());
  EXPECT_TRUE(answer[0].flags.ack());
  EXPECT_EQ(answer[0].ack, SeqNum{1001});
  EXPECT_EQ(b.stats().challenge_acks, 1U);
  EXPECT_EQ(b.listener(*l)->syn_queue_size(), 0U);
  EXPECT_EQ(b.stats().listen_syns, 1U);
  EXPECT_EQ(b.stats().syn_acks_sent, 1U);
  EXPECT_EQ(b.connection_count(), 1U);
}

/// Segments for no listener are answered with RST and counted; every RST on the wire is counted.
TEST(Counters, SegmentsToClosedPort_CountedAsNoListenerAndOutRsts) {
  Stack s{config_for(addr_b()), key(2), 1};
  const Instant now = Instant::from_nanoseconds(1);
  s.on_packet(now, datagram({addr_a(), 1}, {addr_b(), 80}, hdr(TcpFlags::kSyn, 1)));
  s.on_packet(now, datagram({addr_a(), 1}, {addr_b(), 80}, hdr(TcpFlags::kAck, 1, 2)));
  s.on_packet(now, datagram({addr_a(), 1}, {addr_b(), 80}, hdr(TcpFlags::kRst, 1)));  // not answered
  EXPECT_EQ(drain(s, now), 2U);
  EXPECT_EQ(s.stats().no_listener, 3U);
  EXPECT_EQ(s.stats().resets_sent, 2U);
  EXPECT_EQ(s.stats().out_rsts, 2U);
}

/// malformed = malformed_header + malformed_option: a bad option is told apart from a bad header.
TEST(Counters, MalformedHeaderAndOption_CountedApart) {
  Stack s{config_for(addr_b()), key(2), 1};
  ASSERT_TRUE(s.listen({addr_b(), 80}));
  const Instant now = Instant::from_nanoseconds(1);
  const std::vector<std::byte> junk(60, std::byte{0x45});  // IPv4, total length past the end
  s.on_packet(now, junk);
  wire::TcpHeader syn = hdr(TcpFlags::kSyn, 1);
  syn.options.mss = 1460;
  std::vector<std::byte> d = datagram({addr_a(), 1}, {addr_b(), 80}, syn);
  // The MSS option's length byte (TCP offset 21) 4 -> 3 and the window's low byte (offset 15) + 1: the
  // same low byte of a 16-bit word, so the checksum still verifies and only the option is wrong.
  d[20 + 21] = std::byte{3};
  d[20 + 15] = static_cast<std::byte>(static_cast<std::uint8_t>(d[20 + 15]) + 1U);
  s.on_packet(now, d);
  EXPECT_EQ(drain(s, now), 0U);
  EXPECT_EQ(s.stats().bad_checksum, 0U);
  EXPECT_EQ(s.stats().malformed_header, 1U);
  EXPECT_EQ(s.stats().malformed_option, 1U);
  EXPECT_EQ(s.stats().malformed, 2U);
  EXPECT_EQ(s.listener(ListenerId{0})->syn_queue_size(), 0U);
}

/// Challenge ACKs, their rate limit, out-of-window and PAWS drops of every connection add up in the
/// stack, and equal what the connection reports itself.
class ConnectionCounters : public ::testing::Test {
 protected:
  void SetUp() override {
    pair.filter = [&](bool to_b, const wire::TcpPacketView& v) {
      const auto h = wire::TcpHeader::parse(v.tcp());
      if (to_b && h && h->options.timestamps) last_tsval_ = h->options.timestamps->value;
      return false;
    };
    const auto l = b.listen({addr_b(), 80});
    ASSERT_TRUE(l);
    ASSERT_TRUE(a.connect(pair.now(), {addr_a(), 0}, {addr_b(), 80}));
    pair.run_for(100ms);
    const auto c = b.accept(*l);
    ASSERT_TRUE(c);
    server_ = *c;
    tuple_ = b.info(server_)->tuple;
  }
  /// A segment from the client to the server connection, as if the client sent it.
  void to_server(wire::TcpHeader h, std::optional<std::uint32_t> tsval = std::nullopt) {
    const auto i = b.info(server_);
    ASSERT_TRUE(i);
    h.options.timestamps = wire::Timestamps{tsval.value_or(last_tsval_), 0};
    b.on_packet(pair.now(), datagram(tuple_.remote, tuple_.local, h));
  }

  Stack a{config_for(addr_a()), key(1), 11};
  Stack b{config_for(addr_b()), key(2), 22};
  Pair pair{a, b};
  ConnectionId server_;
  wire::FourTuple tuple_;
  std::uint32_t last_tsval_ = 0;
};

TEST_F(ConnectionCounters, ChallengeAcksOutOfWindowAndPaws_AddUpInStack) {
  const auto i = *b.info(server_);
  // Five in-window RSTs not at RCV.NXT (RFC 5961 §3.2): challenge ACKs, through the limiter.
  for (std::uint32_t k = 0; k < 5; ++k) to_server(hdr(TcpFlags::kRst, (i.rcv_nxt + 1 + k).raw()));
  // Two pure ACKs far outside the window: not acceptable, answered through the same limiter.
  for (std::uint32_t k = 0; k < 2; ++k)
    to_server(hdr(TcpFlags::kAck, (i.rcv_nxt + 1'000'000'000U).raw(), i.snd_nxt.raw()));
  // One ACK with an old TSval (RFC 7323 §5.3 PAWS).
  to_server(hdr(TcpFlags::kAck, i.rcv_nxt.raw(), i.snd_nxt.raw()), last_tsval_ - 1000);
  const auto after = *b.info(server_);
  const StackStats& st = b.stats();
  const tcp::Config& cfg = b.tcp_config();
  EXPECT_EQ(after.challenge_acks_sent + after.challenge_acks_suppressed, 8U);
  EXPECT_EQ(after.challenge_acks_sent, std::min<std::uint32_t>(8, cfg.challenge_ack_limit));
  EXPECT_EQ(st.challenge_acks, after.challenge_acks_sent);
  EXPECT_EQ(st.challenge_acks_suppressed, after.challenge_acks_suppressed);
  EXPECT_EQ(st.out_of_window, 2U);
  EXPECT_EQ(st.paws_rejected, 1U);
  EXPECT_EQ(b.info(server_)->state, tcp::State::established);
  // A fresh interval (RFC 5961 §7): the next one is answered again.
  pair.advance(cfg.challenge_ack_interval);
  to_server(hdr(TcpFlags::kRst, (i.rcv_nxt + 7).raw()));
  EXPECT_EQ(b.stats().challenge_acks, after.challenge_acks_sent + 1);
}

/// The counters of a connection are the stack's before it is released: they stay after it is gone.
TEST_F(ConnectionCounters, ConnectionReleased_StackKeepsItsCounts) {
  const auto i = *b.info(server_);
  to_server(hdr(TcpFlags::kRst, (i.rcv_nxt + 1).raw()));
  ASSERT_EQ(b.stats().challenge_acks, 1U);
  to_server(hdr(TcpFlags::kRst, i.rcv_nxt.raw()));  // exact: resets it
  ASSERT_TRUE(b.close(pair.now(), server_) == std::error_code{} || !b.info(server_));
  pair.run_for(1s);
  EXPECT_FALSE(b.info(server_));
  EXPECT_EQ(b.stats().challenge_acks, 1U);
}

}  // namespace
}  // namespace synack::stack::testing
