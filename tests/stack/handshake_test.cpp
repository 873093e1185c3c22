// Handshakes between two Stacks, and a Stack against hand-built segments (RFC 9293 §3.5, §3.10.7.1-2,
// RFC 6298 schedule to the millisecond, RFC 5961 half-open recovery).
#include <set>

#include "pair.hpp"
#include "synack/tcp/isn.hpp"

namespace synack::stack::testing {
namespace {

using wire::SeqNum;
using wire::TcpFlags;

struct Raw {
  wire::TcpHeader h;
  std::vector<std::byte> payload;
};

/// Builds a datagram from `from` to `to` and feeds it to `stack`.
void inject(Stack& stack, Instant now, wire::Endpoint from, wire::Endpoint to, wire::TcpHeader h,
            wire::Bytes payload = {}) {
  h.src_port = from.port;
  h.dst_port = to.port;
  std::array<std::byte, 2048> buf{};
  const auto n = wire::emit_tcp_packet(from.address, to.address, h, payload, buf);
  ASSERT_TRUE(n);
  stack.on_packet(now, wire::Bytes(buf.data(), *n));
}

std::vector<Raw> output(Stack& stack, Instant now) {
  std::vector<Raw> v;
  std::array<std::byte, 2048> buf{};
  while (auto n = stack.poll_transmit(now, buf)) {
    const auto view = wire::TcpPacketView::parse(wire::Bytes(buf.data(), *n));
    EXPECT_TRUE(view);
    const auto h = wire::TcpHeader::parse(view->tcp());
    v.push_back(Raw{*h, std::vector<std::byte>(view->tcp().payload().begin(), view->tcp().payload().end())});
  }
  return v;
}

wire::TcpHeader hdr(std::uint16_t flags, std::uint32_t seq, std::uint32_t ack = 0) {
  wire::TcpHeader h;
  h.flags = TcpFlags(flags);
  h.seq = SeqNum{seq};
  h.ack = SeqNum{ack};
  h.window = 1000;
  return h;
}

class Handshake : public ::testing::Test {
 protected:
  Stack a{config_for(addr_a()), key(1), 11};
  Stack b{config_for(addr_b()), key(2), 22};
  Pair pair{a, b};
  wire::Endpoint server{addr_b(), 80};
};

TEST_F(Handshake, ActiveToListener_Establishes) {
  const auto l = b.listen(server, 8);
  ASSERT_TRUE(l);
  const auto c = a.connect(pair.now(), {addr_a(), 0}, server);
  ASSERT_TRUE(c);
  const Instant t0 = pair.now();
  std::vector<Event> ea;
  std::vector<Event> eb;
  pair.run_until([&] {
    for (auto& e : events_of(a)) ea.push_back(e);
    for (auto& e : events_of(b)) eb.push_back(e);
    return has_event(ea, EventKind::established) && has_event(eb, EventKind::acceptable);
  });
  EXPECT_TRUE(has_event(ea, EventKind::established));
  const auto s = b.accept(*l);
  ASSERT_TRUE(s);
  EXPECT_EQ(b.accept(*l).error(), tcp::make_error_code(tcp::Error::would_block));
  const auto ia = a.info(*c);
  const auto ib = b.info(*s);
  ASSERT_TRUE(ia && ib);
  EXPECT_EQ(ia->state, tcp::State::established);
  EXPECT_EQ(ib->state, tcp::State::established);
  EXPECT_EQ(ia->iss, ib->irs);
  EXPECT_EQ(ia->irs, ib->iss);
  EXPECT_EQ(ia->negotiated.send_mss, 1460);
  EXPECT_EQ(ia->negotiated.snd_shift, std::optional<std::uint8_t>(7));
  EXPECT_TRUE(ia->negotiated.sack && ia->negotiated.timestamps);
  EXPECT_EQ(*ia->syn_sent_at, t0);
  EXPECT_EQ(*ia->established_at, t0 + 20ms);  // one RTT
  EXPECT_EQ(*ib->established_at, t0 + 30ms);
  EXPECT_EQ(ia->syn_retransmits, 0U);
  EXPECT_EQ(ib->synack_retransmits, 0U);
  EXPECT_EQ(ia->tuple.remote, server);
  // Quiet once established: nothing more on the wire.
  const std::uint64_t sent = pair.sent();
  pair.run_for(30s);
  EXPECT_EQ(pair.sent(), sent);
}

/// Everything `from` has to send, each datagram in its own buffer.
std::vector<std::vector<std::byte>> drain(Stack& from, Instant now) {
  std::vector<std::vector<std::byte>> v;
  std::array<std::byte, 2048> buf{};
  while (auto n = from.poll_transmit(now, buf)) v.emplace_back(buf.begin(), buf.begin() + *n);
  return v;
}

/// Hands `datagrams` (and one garbage datagram in their middle) to `to` with one on_packets() call.
void deliver_burst(Stack& to, Instant now, const std::vector<std::vector<std::byte>>& datagrams) {
  static const std::array<std::byte, 3> kGarbage{std::byte{0x45}, std::byte{0}, std::byte{1}};
  std::vector<wire::Bytes> views;
  for (const auto& d : datagrams) {
    if (views.size() == datagrams.size() / 2) views.emplace_back(kGarbage.data(), kGarbage.size());
    views.emplace_back(d.data(), d.size());
  }
  to.on_packets(now, views);
}

TEST_F(Handshake, BurstsThroughOnPackets_AllEstablishGarbageCounted) {
  // 40 handshakes whose datagrams cross in bursts (more than on_packets' 16 prefetched at once).
  const auto l = b.listen(server, 64);
  ASSERT_TRUE(l);
  constexpr int kCount = 40;
  for (int i = 0; i < kCount; ++i) {
    ASSERT_TRUE(a.connect(pair.now(), {addr_a(), static_cast<std::uint16_t>(40000 + i)}, server));
  }
  const auto syns = drain(a, pair.now());
  ASSERT_EQ(syns.size(), static_cast<std::size_t>(kCount));
  deliver_burst(b, pair.now(), syns);
  const auto syn_acks = drain(b, pair.now());
  ASSERT_EQ(syn_acks.size(), static_cast<std::size_t>(kCount));
  deliver_burst(a, pair.now(), syn_acks);
  deliver_burst(b, pair.now(), drain(a, pair.now()));
  int established = 0;
  for (const auto& e : events_of(a)) established += e.kind == EventKind::established ? 1 : 0;
  EXPECT_EQ(established, kCount);
  int accepted = 0;
  while (b.accept(*l)) ++accepted;
  EXPECT_EQ(accepted, kCount);
  EXPECT_EQ(a.stats().malformed, 1U);
  EXPECT_EQ(b.stats().malformed, 2U);
}

TEST_F(Handshake, OptionsOff_NegotiatedOff) {
  ASSERT_TRUE(b.listen(server));
  ConnectOptions o;
  o.offer.window_scaling = false;
  o.offer.timestamps = false;
  o.offer.sack_permitted = false;
  o.offer.mss = 1000;
  const auto c = a.connect(pair.now(), {addr_a(), 0}, server, o);
  pair.run_until([&] { return a.info(*c)->state == tcp::State::established; });
  const auto i = a.info(*c);
  ASSERT_EQ(i->state, tcp::State::established);
  EXPECT_FALSE(i->negotiated.snd_shift);
  EXPECT_FALSE(i->negotiated.timestamps);
  EXPECT_FALSE(i->negotiated.sack);
  EXPECT_EQ(i->negotiated.recv_mss, 1000);
}

TEST_F(Handshake, Ipv6_Establishes) {
  const auto v6a = wire::IpAddress::parse("2001:db8::1").value();
  const auto v6b = wire::IpAddress::parse("2001:db8::2").value();
  Stack a6{config_for(v6a), key(3), 1};
  Stack b6{config_for(v6b), key(4), 2};
  Pair p6{a6, b6};
  ASSERT_TRUE(b6.listen({v6b, 443}));
  const auto c = a6.connect(p6.now(), {v6a, 0}, {v6b, 443});
  ASSERT_TRUE(c);
  p6.run_until([&] { return a6.info(*c)->state == tcp::State::established; });
  EXPECT_EQ(a6.info(*c)->negotiated.send_mss, 1440);
}

TEST_F(Handshake, SimultaneousOpen_BothEstablish) {
  const wire::Endpoint ea{addr_a(), 5000};
  const wire::Endpoint eb{addr_b(), 6000};
  const auto ca = a.connect(pair.now(), ea, eb);
  const auto cb = b.connect(pair.now(), eb, ea);
  ASSERT_TRUE(ca && cb);
  pair.run_until([&] {
    return a.info(*ca)->state == tcp::State::established && b.info(*cb)->state == tcp::State::established;
  });
  EXPECT_EQ(a.info(*ca)->state, tcp::State::established);
  EXPECT_EQ(b.info(*cb)->state, tcp::State::established);
  EXPECT_EQ(a.info(*ca)->iss, b.info(*cb)->irs);
  EXPECT_EQ(b.info(*cb)->iss, a.info(*ca)->irs);
  // Quiet afterwards: no SYN-ACK ping-pong.
  const std::uint64_t sent = pair.sent();
  pair.run_for(5s);
  EXPECT_EQ(pair.sent(), sent);
}

TEST_F(Handshake, SimultaneousOpen_OneSynAckLost_StillEstablishes) {
  const wire::Endpoint ea{addr_a(), 5000};
  const wire::Endpoint eb{addr_b(), 6000};
  int dropped = 0;
  pair.filter = [&](bool to_b, const wire::TcpPacketView& v) {
    return to_b && v.tcp().flags().syn() && v.tcp().flags().ack() && dropped++ == 0;
  };
  const auto ca = a.connect(pair.now(), ea, eb);
  const auto cb = b.connect(pair.now(), eb, ea);
  pair.run_until(
      [&] {
        return a.info(*ca)->state == tcp::State::established && b.info(*cb)->state == tcp::State::established;
      },
      10s);
  EXPECT_EQ(a.info(*ca)->state, tcp::State::established);
  EXPECT_EQ(b.info(*cb)->state, tcp::State::established);
}

// RFC 9293 §3.10.7.1: a SYN to a port with no listener gets <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>,
// and the client reports "refused", not "timed out".
TEST_F(Handshake, SynToClosedPort_RefusedQuickly) {
  const auto c = a.connect(pair.now(), {addr_a(), 0}, {addr_b(), 81});
  const Instant t0 = pair.now();
  std::vector<Event> ea;
  pair.run_until([&] {
    for (auto& e : events_of(a)) ea.push_back(e);
    return has_event(ea, EventKind::refused);
  });
  EXPECT_TRUE(has_event(ea, EventKind::refused));
  EXPECT_FALSE(has_event(ea, EventKind::timed_out));
  EXPECT_EQ(pair.now() - t0, 20ms);
  EXPECT_EQ(b.stats().resets_sent, 1U);
  const auto refused =
      std::find_if(ea.begin(), ea.end(), [](const Event& e) { return e.kind == EventKind::refused; });
  EXPECT_EQ(refused->error, tcp::make_error_code(tcp::Error::refused));
  (void)c;
}

TEST(ClosedPort, Syn_RstSeqZeroAckSeqPlusLen) {
  Stack s{config_for(addr_b()), key(2), 1};
  const Instant now = Instant::from_nanoseconds(1);
  const std::vector<std::byte> data(10);
  inject(s, now, {addr_a(), 1234}, {addr_b(), 80}, hdr(TcpFlags::kSyn, 1000), data);
  const auto out = output(s, now);
  ASSERT_EQ(out.size(), 1U);
  EXPECT_EQ(out[0].h.flags, TcpFlags(TcpFlags::kRst | TcpFlags::kAck));
  EXPECT_EQ(out[0].h.seq, SeqNum{0});
  EXPECT_EQ(out[0].h.ack, SeqNum{1011});  // SYN + 10 bytes
}

TEST(ClosedPort, Ack_RstWithSeqFromAck_RstIgnored) {
  Stack s{config_for(addr_b()), key(2), 1};
  const Instant now = Instant::from_nanoseconds(1);
  inject(s, now, {addr_a(), 1234}, {addr_b(), 80}, hdr(TcpFlags::kAck, 1000, 777));
  auto out = output(s, now);
  ASSERT_EQ(out.size(), 1U);
  EXPECT_EQ(out[0].h.flags, TcpFlags(TcpFlags::kRst));
  EXPECT_EQ(out[0].h.seq, SeqNum{777});
  inject(s, now, {addr_a(), 1234}, {addr_b(), 80}, hdr(TcpFlags::kRst, 1000));
  EXPECT_TRUE(output(s, now).empty());
}

TEST(ListenerStack, Ack_SendsRstWithSeqFromAck) {
  Stack s{config_for(addr_b()), key(2), 1};
  ASSERT_TRUE(s.listen({addr_b(), 80}));
  const Instant now = Instant::from_nanoseconds(1);
  inject(s, now, {addr_a(), 1234}, {addr_b(), 80}, hdr(TcpFlags::kAck, 1000, 4321));
  const auto out = output(s, now);
  ASSERT_EQ(out.size(), 1U);
  EXPECT_EQ(out[0].h.flags, TcpFlags(TcpFlags::kRst));
  EXPECT_EQ(out[0].h.seq, SeqNum{4321});
}

// The exact-address listener outranks the wildcard one on its port, and only for its own address: it
// takes no SYN for another address of the host, nor any once it is closed.
TEST(ListenerStack, ExactAndWildcard_SynGoesToExactOnlyForItsAddressAndWhileOpen) {
  StackConfig cfg = config_for(addr_b());
  cfg.addresses.push_back(addr_c());
  Stack s{cfg, key(2), 1};
  const auto exact = s.listen({addr_b(), 80}, 16);
  const auto wildcard = s.listen({wire::IpAddress{}, 80}, 16);
  ASSERT_TRUE(exact && wildcard);
  const Instant now = Instant::from_nanoseconds(1);
  const auto queued = [&](ListenerId l) { return s.listener_info(l) ? s.listener_info(l)->syn_queue : 99U; };
  inject(s, now, {addr_a(), 1}, {addr_b(), 80}, hdr(TcpFlags::kSyn, 1000));
  EXPECT_EQ(queued(*exact), 1U);
  EXPECT_EQ(queued(*wildcard), 0U);
  inject(s, now, {addr_a(), 2}, {addr_c(), 80}, hdr(TcpFlags::kSyn, 1000));  // same port, other address
  EXPECT_EQ(queued(*exact), 1U);
  EXPECT_EQ(queued(*wildcard), 1U);
  inject(s, now, {addr_a(), 3}, {addr_b(), 80}, hdr(TcpFlags::kSyn, 1000));
  EXPECT_EQ(queued(*exact), 2U);
  ASSERT_FALSE(s.close_listener(now, *exact));
  inject(s, now, {addr_a(), 4}, {addr_b(), 80}, hdr(TcpFlags::kSyn, 1000));
  EXPECT_EQ(queued(*wildcard), 2U);
  EXPECT_EQ(output(s, now).size(), 2U);  // the wildcard's SYN-ACKs: the closed listener's went with it
}

TEST(ListenerStack, BacklogFull_SynsDroppedAndCounted) {
  StackConfig cfg = config_for(addr_b());
  cfg.tcp.syn_queue_capacity = 3;
  cfg.tcp.syn_cookies = tcp::SynCookieMode::never;  // when-full answers with cookies instead
  Stack s{cfg, key(2), 1};
  ASSERT_TRUE(s.listen({addr_b(), 80}, 16));
  const Instant now = Instant::from_nanoseconds(1);
  for (std::uint16_t p = 1; p <= 10; ++p)
    inject(s, now, {addr_a(), p}, {addr_b(), 80}, hdr(TcpFlags::kSyn, 1000));
  EXPECT_EQ(output(s, now).size(), 3U);  // three SYN-ACKs
  EXPECT_EQ(s.stats().syn_queue_full_drops, 7U);
}

TEST(Malformed, GarbageAndBadChecksumCountedNeverCrash) {
  Stack s{config_for(addr_b()), key(2), 1};
  const Instant now = Instant::from_nanoseconds(1);
  std::vector<std::byte> junk(60, std::byte{0x45});
  s.on_packet(now, junk);
  s.on_packet(now, {});
  wire::TcpHeader h = hdr(TcpFlags::kSyn, 1);
  h.src_port = 1;
  h.dst_port = 80;
  std::array<std::byte, 100> buf{};
  const auto n = wire::emit_tcp_packet(addr_a(), addr_b(), h, {}, buf);
  buf[*n - 1] ^= std::byte{0xFF};  // corrupt the TCP header (checksum no longer matches)
  s.on_packet(now, wire::Bytes(buf.data(), *n));
  EXPECT_EQ(s.stats().packets_in, 3U);
  EXPECT_EQ(s.stats().malformed + s.stats().bad_checksum, 3U);
  EXPECT_GE(s.stats().bad_checksum, 1U);
  EXPECT_TRUE(output(s, now).empty());
}

TEST(NotLocal, SegmentsToOtherAddressesDropped) {
  Stack s{config_for(addr_b()), key(2), 1};
  const Instant now = Instant::from_nanoseconds(1);
  inject(s, now, {addr_a(), 1}, {wire::IpAddress::v4(0x0A0000FFU), 80}, hdr(TcpFlags::kSyn, 1));
  EXPECT_EQ(s.stats().not_local, 1U);
  EXPECT_TRUE(output(s, now).empty());
}

// Linux's schedule: SYNs at 0, 1, 3, 7, 15, 31, 63 s, ETIMEDOUT at 127 s — checked to the millisecond.
TEST_F(Handshake, NoAnswer_SynScheduleToTheMillisecond) {
  std::vector<std::int64_t> syn_ms;
  const Instant t0 = pair.now();
  a.set_observer([&](const SegmentRecord& r) {
    if (r.direction == Direction::out && r.header.flags.syn()) {
      syn_ms.push_back(std::chrono::duration_cast<std::chrono::milliseconds>(r.at - t0).count());
    }
  });
  pair.filter = [](bool to_b, const wire::TcpPacketView&) { return to_b; };  // a black hole
  const auto c = a.connect(pair.now(), {addr_a(), 0}, server);
  std::vector<Event> ea;
  pair.run_until(
      [&] {
        for (auto& e : events_of(a)) ea.push_back(e);
        return has_event(ea, EventKind::timed_out);
      },
      1000s);
  EXPECT_EQ(syn_ms, (std::vector<std::int64_t>{0, 1000, 3000, 7000, 15000, 31000, 63000}));
  EXPECT_EQ(std::chrono::duration_cast<std::chrono::milliseconds>(pair.now() - t0).count(), 127000);
  EXPECT_TRUE(has_event(ea, EventKind::timed_out));
  EXPECT_FALSE(has_event(ea, EventKind::refused));
  EXPECT_FALSE(a.info(*c).has_value() && a.info(*c)->state != tcp::State::closed);
}

TEST_F(Handshake, SynRetriesConfigurable_ThreeRetries) {
  StackConfig cfg = config_for(addr_a());
  cfg.tcp.syn_retries = 3;
  Stack a3{cfg, key(1), 1};
  Pair p{a3, b};
  p.filter = [](bool to_b, const wire::TcpPacketView&) { return to_b; };
  const Instant t0 = p.now();
  (void)a3.connect(p.now(), {addr_a(), 0}, server);
  std::vector<Event> ea;
  p.run_until(
      [&] {
        for (auto& e : events_of(a3)) ea.push_back(e);
        return has_event(ea, EventKind::timed_out);
      },
      1000s);
  EXPECT_EQ(p.now() - t0, 15s);  // 1 + 2 + 4 + 8
}

TEST_F(Handshake, LostSyn_RetransmittedAfterOneSecond) {
  ASSERT_TRUE(b.listen(server));
  int dropped = 0;
  pair.filter = [&](bool to_b, const wire::TcpPacketView& v) {
    return to_b && v.tcp().flags().syn() && dropped++ == 0;
  };
  const Instant t0 = pair.now();
  const auto c = a.connect(pair.now(), {addr_a(), 0}, server);
  pair.run_until([&] { return a.info(*c)->state == tcp::State::established; });
  EXPECT_EQ(pair.now() - t0, 1020ms);
  EXPECT_EQ(a.info(*c)->syn_retransmits, 1U);
  EXPECT_FALSE(a.info(*c)->srtt);  // Karn: no sample from the retransmitted SYN
}

TEST_F(Handshake, LostSynAck_RetransmittedByListener) {
  const auto l = b.listen(server);
  int dropped = 0;
  pair.filter = [&](bool to_b, const wire::TcpPacketView& v) {
    return !to_b && v.tcp().flags().syn() && dropped++ == 0;
  };
  const auto c = a.connect(pair.now(), {addr_a(), 0}, server);
  const Instant t0 = pair.now();
  pair.run_until([&] { return a.info(*c)->state == tcp::State::established; });
  // The client's SYN retransmission at 1 s is a duplicate SYN: the listener answers it at once.
  EXPECT_EQ(pair.now() - t0, 1020ms);
  pair.run_for(100ms);
  const auto s = b.accept(*l);
  ASSERT_TRUE(s);
  EXPECT_EQ(b.info(*s)->state, tcp::State::established);
}

TEST_F(Handshake, LostFinalAck_DataCompletesHandshake) {
  const auto l = b.listen(server);
  bool dropped = false;
  pair.filter = [&](bool to_b, const wire::TcpPacketView& v) {
    if (to_b && !dropped && v.tcp().flags().ack() && !v.tcp().flags().syn() && v.tcp().payload().empty()) {
      dropped = true;
      return true;
    }
    return false;
  };
  const auto c = a.connect(pair.now(), {addr_a(), 0}, server);
  pair.run_until([&] { return a.info(*c)->state == tcp::State::established; });
  const std::vector<std::byte> data(100, std::byte{7});
  ASSERT_EQ(a.send(*c, data).value(), 100U);
  std::optional<ConnectionId> s;
  std::size_t got = 0;
  pair.run_until(
      [&] {
        if (!s) {
          if (auto x = b.accept(*l)) s = *x;
        }
        std::array<std::byte, 256> buf{};
        if (s) got += b.recv(*s, buf).value_or(0);
        return got == data.size();
      },
      5s);
  EXPECT_TRUE(dropped);
  ASSERT_TRUE(s);
  EXPECT_EQ(got, data.size());
  EXPECT_EQ(b.info(*s)->state, tcp::State::established);
}

// RFC 9293 §3.5.1 with RFC 5961: one side forgot the connection (restart) and reconnects from the same
// port; the other answers the new SYN with a challenge ACK, the restarted side resets with
// SEQ = SEG.ACK, and the SYN retransmitted after 1 s opens a fresh connection.
TEST_F(Handshake, HalfOpenDiscoveryAndRecovery) {
  const auto l = b.listen(server);
  const wire::Endpoint client{addr_a(), 40000};
  const auto c = a.connect(pair.now(), client, server);
  pair.run_until([&] { return a.info(*c)->state == tcp::State::established; });
  pair.run_for(100ms);
  const auto old_server = b.accept(*l);
  ASSERT_TRUE(old_server);
  (void)events_of(b);

  Stack a2{config_for(addr_a()), key(9), 99};  // the client host restarted: no state
  Pair p2{a2, b};
  p2.set_now(pair.now() + 10s);
  const auto c2 = a2.connect(p2.now(), client, server);
  ASSERT_TRUE(c2);
  std::vector<Event> eb;
  p2.run_until(
      [&] {
        for (auto& e : events_of(b)) eb.push_back(e);
        return a2.info(*c2)->state == tcp::State::established;
      },
      10s);
  EXPECT_EQ(a2.info(*c2)->state, tcp::State::established);
  EXPECT_TRUE(has_event(eb, EventKind::reset));  // the stale server side was reset
  EXPECT_EQ(b.info(*old_server)->state, tcp::State::closed);
  EXPECT_EQ(a2.info(*c2)->syn_retransmits, 1U);
}

TEST_F(Handshake, ConnectErrors) {
  EXPECT_EQ(a.connect(pair.now(), {addr_b(), 1}, server).error(),
            tcp::make_error_code(tcp::Error::address_not_local));
  ASSERT_TRUE(a.connect(pair.now(), {addr_a(), 1}, server));
  EXPECT_EQ(a.connect(pair.now(), {addr_a(), 1}, server).error(),
            tcp::make_error_code(tcp::Error::address_in_use));
  EXPECT_EQ(b.listen({addr_b(), 80}).has_value(), true);
  EXPECT_EQ(b.listen({addr_b(), 80}).error(), tcp::make_error_code(tcp::Error::address_in_use));
}

// connect() builds the connection before it reads the flow table (the lookup's miss overlaps the
// construction), so a taken tuple is refused only after that: RFC 9293 §3.10.1 (OPEN on an existing
// connection: "connection already exists"). The refused call leaves no trace: no event, no datagram, no
// slot, no flow entry; the existing connection carries on, and the slot serves the next connect.
TEST_F(Handshake, Closed_ConnectToTakenTuple_RefusedWithoutTrace) {
  const Instant now = pair.now();
  const auto first = a.connect(now, {addr_a(), 1}, server);
  ASSERT_TRUE(first);
  ASSERT_EQ(a.connection_count(), 1U);
  EXPECT_EQ(a.connect(now, {addr_a(), 1}, server).error(), tcp::make_error_code(tcp::Error::address_in_use));
  EXPECT_EQ(a.connection_count(), 1U);
  EXPECT_TRUE(events_of(a).empty());
  const auto out = output(a, now);
  ASSERT_EQ(out.size(), 1U);  // the first connection's SYN only
  EXPECT_EQ(out[0].h.src_port, 1U);
  EXPECT_EQ(a.info(*first)->state, tcp::State::syn_sent);
  const auto next = a.connect(now, {addr_a(), 2}, server);
  ASSERT_TRUE(next);
  EXPECT_EQ(a.connection_count(), 2U);
  EXPECT_EQ(a.info(*next)->tuple.local.port, 2U);
  EXPECT_EQ(a.info(*first)->tuple.local.port, 1U);
  EXPECT_EQ(output(a, now).size(), 1U);  // the second one's SYN
}

// Stack::connect over a span is connect() for each request in order: the same results (ids, each error),
// the same connections and the same SYNs byte for byte, whether a request names its tuple (hashed and
// prefetched ahead), draws a port, picks the address or is refused; a tuple taken earlier in the same
// burst is refused as taken. Only as many requests as there are results are handled.
TEST(ConnectBurst, Closed_BurstOfConnects_SameAsOneByOne) {
  const wire::Endpoint server{addr_b(), 80};
  std::vector<ConnectRequest> requests;
  for (std::uint16_t p = 100; p < 120; ++p)
    requests.push_back({{addr_a(), p}, server, {}});                         // > 16: two rounds
  requests.insert(requests.begin() + 3, {{addr_a(), 5}, server, {}});        // taken before
  requests.insert(requests.begin() + 7, {{addr_a(), 101}, server, {}});      // taken in the burst
  requests.push_back({{addr_a(), 0}, server, {}});                           // ephemeral port
  requests.push_back({{wire::IpAddress::v4(0), 130}, server, {}});           // the owned address
  requests.push_back({{addr_c(), 131}, server, {}});                         // not ours
  requests.push_back({{addr_a(), 132}, {addr_b(), 0}, {}});                  // no remote port
  requests.push_back({{addr_a(), 133}, {wire::IpAddress::v6({}), 80}, {}});  // mixed families
  Stack burst{config_for(addr_a()), key(1), 7};
  Stack single{config_for(addr_a()), key(1), 7};
  const Instant now = Instant::from_nanoseconds(5'000'000);
  ASSERT_TRUE(burst.connect(now, {addr_a(), 5}, server));
  ASSERT_TRUE(single.connect(now, {addr_a(), 5}, server));
  std::vector<std::expected<ConnectionId, std::error_code>> results(requests.size());
  ASSERT_EQ(burst.connect(now, requests, results), requests.size());
  std::size_t refused = 0;
  for (std::size_t i = 0; i < requests.size(); ++i) {
    const auto& r = requests[i];
    const auto one = single.connect(now, r.local, r.remote, r.options);
    EXPECT_EQ(results[i].has_value(), one.has_value()) << i;
    if (one && results[i]) {
      EXPECT_EQ(*results[i], *one) << i;
    } else if (!one && !results[i]) {
      EXPECT_EQ(results[i].error(), one.error()) << i;
    }
    refused += one ? 0U : 1U;
  }
  EXPECT_EQ(refused, 5U);  // taken before, taken in the burst, not ours, no remote port, mixed families
  EXPECT_EQ(results[3].error(), tcp::make_error_code(tcp::Error::address_in_use));
  EXPECT_EQ(results[7].error(), tcp::make_error_code(tcp::Error::address_in_use));
  EXPECT_EQ(burst.connection_count(), single.connection_count());
  std::array<std::byte, 2048> x{};
  std::array<std::byte, 2048> y{};
  std::size_t syns = 0;
  for (;;) {
    const auto m = burst.poll_transmit(now, x);
    const auto n = single.poll_transmit(now, y);
    ASSERT_EQ(m.has_value(), n.has_value());
    if (!m) break;
    ASSERT_EQ(*m, *n);
    EXPECT_TRUE(std::equal(x.begin(), x.begin() + *m, y.begin())) << syns;
    ++syns;
  }
  EXPECT_EQ(syns, single.connection_count());
  // Each connection was filed under its tuple's own hash: connect() one by one finds every one taken.
  for (const auto& r : results) {
    if (!r) continue;
    const auto tuple = burst.info(*r)->tuple;
    EXPECT_EQ(burst.connect(now, tuple.local, tuple.remote).error(),
              tcp::make_error_code(tcp::Error::address_in_use));
  }

  // Fewer results than requests: only that many are connected.
  const std::vector<ConnectRequest> more{{{addr_a(), 140}, server, {}}, {{addr_a(), 141}, server, {}}};
  std::array<std::expected<ConnectionId, std::error_code>, 1> one_result;
  const std::size_t before = burst.connection_count();
  EXPECT_EQ(burst.connect(now, more, one_result), 1U);
  EXPECT_TRUE(one_result[0]);
  EXPECT_EQ(burst.connection_count(), before + 1);
}

// With the log on (a transition sink watching connections as they are built), the lookup comes before
// the construction: a refused connect logs nothing, and above all no transition of the tuple's owner.
TEST_F(Handshake, Closed_ConnectToTakenTupleWithLog_LogsNothing) {
  std::vector<LogRecord> log;
  a.set_log_hook([&](const LogRecord& r) { log.push_back(r); });
  const Instant now = pair.now();
  ASSERT_TRUE(a.connect(now, {addr_a(), 1}, server));
  const std::size_t logged = log.size();
  ASSERT_GE(logged, 1U);  // CLOSED -> SYN-SENT
  EXPECT_EQ(a.connect(now, {addr_a(), 1}, server).error(), tcp::make_error_code(tcp::Error::address_in_use));
  EXPECT_EQ(log.size(), logged);
  EXPECT_EQ(a.connection_count(), 1U);
}

// With every slot in use, a taken tuple is still named as taken; any other tuple gets no_resources.
TEST(ConnectLimits, Closed_ConnectAtMaxConnections_TakenTupleNamedFirst) {
  for (const bool logged : {false, true}) {  // the lookup after the construction, and before it
    StackConfig cfg = config_for(addr_a());
    cfg.max_connections = 1;
    Stack a{cfg, key(1), 7};
    if (logged) a.set_log_hook([](const LogRecord&) {});
    const Instant now = Instant::from_nanoseconds(5'000'000);
    const wire::Endpoint server{addr_b(), 80};
    ASSERT_TRUE(a.connect(now, {addr_a(), 1}, server));
    EXPECT_EQ(a.connect(now, {addr_a(), 1}, server).error(), tcp::make_error_code(tcp::Error::address_in_use))
        << logged;
    EXPECT_EQ(a.connect(now, {addr_a(), 2}, server).error(), tcp::make_error_code(tcp::Error::no_resources))
        << logged;
    EXPECT_EQ(a.connection_count(), 1U);
  }
}

// connect() with port 0 draws a port from [ephemeral_low, ephemeral_high] and, when the tuple is busy,
// draws again: every free port of a range of four is found, then the fifth connect fails. Each SYN's
// ISN is RFC 6528's for the tuple finally chosen, not for a busy one drawn before it.
TEST(EphemeralPort, BusyPortsRedrawn_IsnOfTheChosenTuple) {
  StackConfig cfg = config_for(addr_a());
  cfg.ephemeral_low = 40000;
  cfg.ephemeral_high = 40003;
  Stack a{cfg, key(1), 7};
  const tcp::IsnGenerator isn{key(1)};
  const Instant now = Instant::from_nanoseconds(5'000'000);
  const wire::Endpoint server{addr_b(), 80};
  std::set<std::uint16_t> ports;
  for (int i = 0; i < 4; ++i) {
    const auto c = a.connect(now, {addr_a(), 0}, server);
    ASSERT_TRUE(c) << i;
    const wire::FourTuple tuple = a.info(*c)->tuple;
    EXPECT_GE(tuple.local.port, 40000);
    EXPECT_LE(tuple.local.port, 40003);
    ports.insert(tuple.local.port);
    const auto out = output(a, now);
    ASSERT_EQ(out.size(), 1U);
    EXPECT_TRUE(out[0].h.flags.syn());
    EXPECT_EQ(out[0].h.src_port, tuple.local.port);
    EXPECT_EQ(out[0].h.seq, isn.isn(now, tuple)) << "port " << tuple.local.port;
  }
  EXPECT_EQ(ports.size(), 4U);
  EXPECT_EQ(a.connect(now, {addr_a(), 0}, server).error(), tcp::make_error_code(tcp::Error::address_in_use));
}

}  // namespace
}  // namespace synack::stack::testing

namespace synack::stack::testing {
namespace {

// A Stack moves: a listener, a half-open entry and then a connection survive the move, and the moved-to
// Stack completes the handshake and carries data (its state stays where it was; only its owner moved).
TEST(MovedStack, MidHandshake_MovedServerCompletesAndCarriesData) {
  Stack a{config_for(addr_a()), key(1), 1};
  std::optional<Stack> b_first;
  b_first.emplace(config_for(addr_b()), key(2), 2);
  const auto l = b_first->listen({addr_b(), 80}, 8);
  ASSERT_TRUE(l);
  Instant now = Instant::from_nanoseconds(1'000'000);
  const auto c = a.connect(now, {addr_a(), 0}, {addr_b(), 80});
  ASSERT_TRUE(c);
  std::array<std::byte, 2048> buf{};
  while (auto n = a.poll_transmit(now, buf)) b_first->on_packet(now, wire::Bytes(buf.data(), *n));  // SYN
  ASSERT_EQ(b_first->listener_info(*l)->syn_queue, 1U);

  Stack b = std::move(*b_first);  // the half-open entry moves with it
  b_first.reset();
  ASSERT_EQ(b.listener_info(*l)->syn_queue, 1U);
  Pair pair{a, b};
  pair.set_now(now);
  pair.run_until([&] { return a.info(*c) && a.info(*c)->state == tcp::State::established; });
  std::optional<ConnectionId> server;
  pair.run_until([&] {
    if (auto s = b.accept(*l)) server = *s;
    return server.has_value();
  });
  ASSERT_TRUE(server);
  const std::vector<std::byte> hello(100, std::byte{7});
  ASSERT_EQ(a.send(*c, hello).value(), 100U);
  std::vector<std::byte> got;
  pair.run_until([&] {
    std::array<std::byte, 256> in{};
    if (auto n = b.recv(*server, in); n && *n > 0)
      got.insert(got.end(), in.begin(), in.begin() + static_cast<std::ptrdiff_t>(*n));
    return got.size() == 100;
  });
  EXPECT_EQ(got, hello);

  // Move-assigning over it again: the connection goes with the new owner.
  Stack c2{config_for(addr_b()), key(3), 3};
  c2 = std::move(b);
  EXPECT_EQ(c2.info(*server)->state, tcp::State::established);
  EXPECT_EQ(c2.listener_info(*l)->local, (wire::Endpoint{addr_b(), 80}));
}

}  // namespace
}  // namespace synack::stack::testing
