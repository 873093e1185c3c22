// Forwarder ("promiscuous") mode: every SYN becomes an offer the embedder accepts, refuses, drops or
// defers, before any state exists.
#include <algorithm>

#include "pair.hpp"

namespace synack::stack::testing {
namespace {

class Forwarder : public ::testing::Test {
 protected:
  Stack client{config_for(addr_a()), key(1), 1};
  Stack fwd{StackConfig{}, key(2), 2};  // owns no address: forwarding accepts any
  Pair pair{client, fwd};
  wire::Endpoint anywhere{wire::IpAddress::v4(0xC6336407U), 8443};

  void SetUp() override { fwd.set_forwarder(ForwarderConfig{}); }

  std::optional<SynOffer> wait_offer() {
    std::optional<SynOffer> o;
    pair.run_until(
        [&] {
          while (auto e = fwd.poll_event()) {
            if (e->kind == EventKind::syn_offer) o = fwd.offer(e->offer);
          }
          return o.has_value();
        },
        10s);
    return o;
  }
};

TEST_F(Forwarder, Offer_ShowsTupleAndOptionsBeforeAnyState) {
  const auto c = client.connect(pair.now(), {addr_a(), 0}, anywhere);
  ASSERT_TRUE(c);
  const auto o = wait_offer();
  ASSERT_TRUE(o);
  EXPECT_EQ(o->tuple.local, anywhere);
  EXPECT_EQ(o->tuple.remote.address, addr_a());
  EXPECT_EQ(o->options.mss, std::optional<std::uint16_t>(1460));
  EXPECT_EQ(o->options.wscale, std::optional<std::uint8_t>(7));
  EXPECT_TRUE(o->options.sack_permitted);
  EXPECT_TRUE(o->options.timestamps);
  EXPECT_EQ(fwd.connection_count(), 0U);
  EXPECT_EQ(fwd.pending_offer_count(), 1U);
}

TEST_F(Forwarder, Accept_EstablishesWithOfferId) {
  const auto c = client.connect(pair.now(), {addr_a(), 0}, anywhere);
  const auto o = wait_offer();
  ASSERT_TRUE(o);
  ASSERT_FALSE(fwd.decide(pair.now(), o->id, Verdict::accept));
  std::optional<Event> est;
  pair.run_until([&] {
    while (auto e = fwd.poll_event()) {
      if (e->kind == EventKind::established) est = e;
    }
    return est.has_value() && client.info(*c)->state == tcp::State::established;
  });
  ASSERT_TRUE(est);
  EXPECT_EQ(est->offer, o->id);
  EXPECT_EQ(fwd.info(est->connection)->tuple.local, anywhere);
  // Data flows through the forwarded connection.
  const std::vector<std::byte> data(3000, std::byte{9});
  ASSERT_EQ(client.send(*c, data).value(), 3000U);
  std::vector<std::byte> got;
  pair.run_until([&] {
    std::array<std::byte, 4096> buf{};
    if (auto n = fwd.recv(est->connection, buf); n && *n > 0)
      got.insert(got.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(*n));
    return got.size() == 3000;
  });
  EXPECT_EQ(got, data);
}

// RFC 3168 §6.1.1: an accepted offer agrees to ECN as a listener would — passive by default, never when the
// forwarder's Config::ecn is off.
TEST(ForwarderEcn, EcnSetupSyn_AcceptedOfferAgreesUnlessEcnIsOff) {
  for (const tcp::EcnMode fwd_mode : {tcp::EcnMode::passive, tcp::EcnMode::off}) {
    SCOPED_TRACE(tcp::to_string(fwd_mode));
    StackConfig cc = config_for(addr_a());
    cc.tcp.ecn = tcp::EcnMode::on;
    StackConfig fc;
    fc.tcp.ecn = fwd_mode;
    Stack client{cc, key(1), 1};
    Stack fwd{fc, key(2), 2};
    fwd.set_forwarder(ForwarderConfig{});
    Pair pair{client, fwd};
    const auto c = client.connect(pair.now(), {addr_a(), 0}, {wire::IpAddress::v4(0xC6336407U), 443});
    ASSERT_TRUE(c);
    std::optional<SynOffer> o;
    pair.run_until([&] {
      while (auto e = fwd.poll_event()) {
        if (e->kind == EventKind::syn_offer) o = fwd.offer(e->offer);
      }
      return o.has_value();
    });
    ASSERT_TRUE(o);
    EXPECT_EQ(o->options.ecn, fwd_mode != tcp::EcnMode::off);
    ASSERT_FALSE(fwd.decide(pair.now(), o->id, Verdict::accept));
    pair.run_until([&] { return client.info(*c)->state == tcp::State::established; });
    EXPECT_EQ(client.info(*c)->negotiated.ecn, fwd_mode != tcp::EcnMode::off);
  }
}

TEST_F(Forwarder, Refuse_ClientSeesRefused) {
  const auto c = client.connect(pair.now(), {addr_a(), 0}, anywhere);
  const auto o = wait_offer();
  ASSERT_FALSE(fwd.decide(pair.now(), o->id, Verdict::refuse));
  std::vector<Event> ec;
  pair.run_until([&] {
    for (auto& e : events_of(client)) ec.push_back(e);
    return has_event(ec, EventKind::refused);
  });
  EXPECT_TRUE(has_event(ec, EventKind::refused));
  EXPECT_EQ(fwd.stats().offers_refused, 1U);
  (void)c;
}

TEST_F(Forwarder, Drop_ClientRetransmitsAndGetsANewOffer) {
  (void)client.connect(pair.now(), {addr_a(), 0}, anywhere);
  const auto o = wait_offer();
  ASSERT_FALSE(fwd.decide(pair.now(), o->id, Verdict::drop));
  const auto again = wait_offer();  // the SYN retransmitted at 1 s
  ASSERT_TRUE(again);
  EXPECT_NE(again->id, o->id);
  EXPECT_EQ(fwd.stats().offers_dropped, 1U);
}

// Defer: decide later, e.g. after the embedder's own upstream connect succeeded. Retransmitted SYNs
// while deferred do not create new offers.
TEST_F(Forwarder, Defer_ThenAcceptAfterUpstreamConnect) {
  const auto c = client.connect(pair.now(), {addr_a(), 0}, anywhere);
  const auto o = wait_offer();
  pair.run_for(3500ms);  // two SYN retransmissions (1 s, 3 s) arrive meanwhile
  EXPECT_EQ(fwd.stats().offer_duplicate_syns, 2U);
  EXPECT_EQ(fwd.stats().offers, 1U);
  ASSERT_FALSE(fwd.decide(pair.now(), o->id, Verdict::accept));
  pair.run_until([&] { return client.info(*c)->state == tcp::State::established; });
  EXPECT_EQ(client.info(*c)->state, tcp::State::established);
}

TEST_F(Forwarder, DeferredOffersExpireAndAreCounted) {
  (void)client.connect(pair.now(), {addr_a(), 0}, anywhere);
  const auto o = wait_offer();
  ASSERT_FALSE(fwd.set_user_data(o->id, 77));
  std::vector<Event> ev;
  pair.run_for(5100ms);
  while (auto e = fwd.poll_event()) ev.push_back(*e);
  EXPECT_FALSE(fwd.offer(o->id));
  EXPECT_GE(fwd.stats().offers_expired, 1U);
  // The embedder hears of it, with its context, so it can release what it holds for the offer.
  const auto expired =
      std::find_if(ev.begin(), ev.end(), [](const Event& e) { return e.kind == EventKind::offer_expired; });
  ASSERT_NE(expired, ev.end());
  EXPECT_EQ(expired->offer, o->id);
  EXPECT_EQ(expired->user, 77U);
  EXPECT_EQ(fwd.decide(pair.now(), o->id, Verdict::accept), tcp::make_error_code(tcp::Error::offer_expired));
}

TEST_F(Forwarder, DecideTwice_SecondIsUnknownOffer) {
  (void)client.connect(pair.now(), {addr_a(), 0}, anywhere);
  const auto o = wait_offer();
  ASSERT_FALSE(fwd.decide(pair.now(), o->id, Verdict::drop));
  EXPECT_EQ(fwd.decide(pair.now(), o->id, Verdict::accept), tcp::make_error_code(tcp::Error::unknown_offer));
  EXPECT_EQ(fwd.decide(pair.now(), OfferId{}, Verdict::accept),
            tcp::make_error_code(tcp::Error::unknown_offer));
  EXPECT_EQ(fwd.set_user_data(o->id, 1), tcp::make_error_code(tcp::Error::unknown_offer));
}

// The offer's context follows it: accepted, its connection's events carry it.
TEST_F(Forwarder, UserData_OfferContextPassesToConnectionEvents) {
  const auto c = client.connect(pair.now(), {addr_a(), 0}, anywhere);
  const auto o = wait_offer();
  ASSERT_FALSE(fwd.set_user_data(o->id, 0xC0FFEE));
  ASSERT_FALSE(fwd.decide(pair.now(), o->id, Verdict::accept));
  std::optional<Event> est;
  pair.run_until([&] {
    while (auto e = fwd.poll_event()) {
      if (e->kind == EventKind::established) est = e;
    }
    return est.has_value();
  });
  ASSERT_TRUE(est);
  EXPECT_EQ(est->user, 0xC0FFEEU);
  EXPECT_EQ(fwd.user_data(est->connection), std::optional<std::uint64_t>(0xC0FFEE));
  ASSERT_FALSE(fwd.set_user_data(est->connection, 5));
  ASSERT_FALSE(client.abort(pair.now(), *c));
  std::optional<Event> reset;
  pair.run_until([&] {
    while (auto e = fwd.poll_event()) {
      if (e->kind == EventKind::reset) reset = e;
    }
    return reset.has_value();
  });
  ASSERT_TRUE(reset);
  EXPECT_EQ(reset->user, 5U);
}

// An accepted offer whose SYN-ACK is never answered: the half-open entry expires and says so (the
// embedder may have opened an upstream socket for it).
TEST_F(Forwarder, AcceptedHalfOpenExpires_EventWithOfferAndContext) {
  const auto o = [&] {
    wire::TcpHeader h;
    h.src_port = 4000;
    h.dst_port = 443;
    h.seq = wire::SeqNum{100};
    h.flags = wire::TcpFlags(wire::TcpFlags::kSyn);
    std::array<std::byte, 128> buf{};
    const auto n = wire::emit_tcp_packet(addr_c(), addr_b(), h, {}, buf);
    fwd.on_packet(pair.now(), wire::Bytes(buf.data(), *n));
    std::optional<OfferId> id;
    while (auto e = fwd.poll_event()) id = e->offer;
    return *id;
  }();
  ASSERT_FALSE(fwd.set_user_data(o, 9));
  ASSERT_FALSE(fwd.decide(pair.now(), o, Verdict::accept));
  std::optional<Event> gone;
  for (int i = 0; i < 200 && !gone; ++i) {
    pair.set_now(std::max(pair.now(), fwd.next_deadline()));
    fwd.on_timeout(pair.now());
    std::array<std::byte, 256> buf{};
    while (fwd.poll_transmit(pair.now(), buf)) {
    }
    while (auto e = fwd.poll_event()) {
      if (e->kind == EventKind::half_open_expired) gone = e;
    }
  }
  ASSERT_TRUE(gone);
  EXPECT_EQ(gone->offer, o);
  EXPECT_EQ(gone->user, 9U);
  EXPECT_EQ(fwd.stats().half_open_timeouts, 1U);
}

// An accepted offer whose SYN-ACK the client answers with an RST (a SYN scanner's habit): the half-open
// entry is gone and the event says so, as for an expiry (the embedder may hold an upstream socket).
TEST_F(Forwarder, AcceptedHalfOpen_ClientRst_HalfOpenExpiredEvent) {
  wire::TcpHeader h;
  h.src_port = 4001;
  h.dst_port = 443;
  h.seq = wire::SeqNum{100};
  h.flags = wire::TcpFlags(wire::TcpFlags::kSyn);
  std::array<std::byte, 128> buf{};
  auto n = wire::emit_tcp_packet(addr_c(), addr_b(), h, {}, buf);
  fwd.on_packet(pair.now(), wire::Bytes(buf.data(), *n));
  std::optional<OfferId> o;
  while (auto e = fwd.poll_event()) o = e->offer;
  ASSERT_TRUE(o);
  ASSERT_FALSE(fwd.set_user_data(*o, 11));
  ASSERT_FALSE(fwd.decide(pair.now(), *o, Verdict::accept));
  std::array<std::byte, 256> out{};
  while (fwd.poll_transmit(pair.now(), out)) {
  }
  // RFC 9293 §3.10.7.3 (SYN-RECEIVED): an RST with SEG.SEQ = RCV.NXT removes the entry.
  h.seq = wire::SeqNum{101};
  h.flags = wire::TcpFlags(wire::TcpFlags::kRst);
  n = wire::emit_tcp_packet(addr_c(), addr_b(), h, {}, buf);
  fwd.on_packet(pair.now(), wire::Bytes(buf.data(), *n));
  std::optional<Event> gone;
  while (auto e = fwd.poll_event()) {
    if (e->kind == EventKind::half_open_expired) gone = e;
  }
  ASSERT_TRUE(gone);
  EXPECT_EQ(gone->offer, *o);
  EXPECT_EQ(gone->user, 11U);
}

// A listener wins for its own address and port; other SYNs, even to the same port elsewhere, are offers.
TEST(ForwarderAndListener, ListenerWinsForItsAddressAndPort_OthersAreOffers) {
  Stack fwd{config_for(addr_b()), key(2), 2};
  fwd.set_forwarder(ForwarderConfig{});
  const auto l = fwd.listen({wire::IpAddress{}, 80}, 8);
  ASSERT_TRUE(l);
  const Instant now = Instant::from_nanoseconds(1);
  std::array<std::byte, 256> buf{};
  const auto syn = [&](wire::IpAddress dst, std::uint16_t port) {
    wire::TcpHeader h;
    h.src_port = 5000;
    h.dst_port = port;
    h.seq = wire::SeqNum{100};
    h.flags = wire::TcpFlags(wire::TcpFlags::kSyn);
    const auto n = wire::emit_tcp_packet(addr_a(), dst, h, {}, buf);
    fwd.on_packet(now, wire::Bytes(buf.data(), *n));
  };
  syn(addr_b(), 80);                          // the listener's
  syn(addr_b(), 81);                          // our address, no listener: forwarded
  syn(wire::IpAddress::v4(0xC6336407U), 80);  // the listener's port at another address: forwarded
  EXPECT_EQ(fwd.listener(*l)->syn_queue_size(), 1U);
  EXPECT_EQ(fwd.pending_offer_count(), 2U);
  EXPECT_EQ(fwd.stats().offers, 2U);
}

// close/shutdown/abort with their own `now`: a close in FIN-WAIT-2 (after shutdown_write, the FIN
// acknowledged) arms the orphan timer from that instant, not from the last one the stack saw.
TEST_F(Forwarder, CloseWithNow_FinWait2DeadlineFromThatInstant) {
  const auto c = client.connect(pair.now(), {addr_a(), 0}, anywhere);
  const auto o = wait_offer();
  ASSERT_FALSE(fwd.decide(pair.now(), o->id, Verdict::accept));
  pair.run_until([&] { return client.info(*c)->state == tcp::State::established; });
  ASSERT_FALSE(client.shutdown_write(pair.now(), *c));
  pair.run_until([&] { return client.info(*c)->state == tcp::State::fin_wait_2; });
  ASSERT_EQ(client.info(*c)->state, tcp::State::fin_wait_2);
  EXPECT_EQ(client.next_deadline(), Instant::max());  // not orphaned yet: no FIN-WAIT-2 timer
  // The client's stack last saw pair.now(); the user closes 30 s later.
  const Instant later = pair.now() + std::chrono::seconds(30);
  ASSERT_FALSE(client.close(later, *c));
  // FIN-WAIT-2 lasts fin_wait_2_timeout from the close (Linux tcp_fin_timeout, 60 s).
  EXPECT_EQ(client.next_deadline(), later + client.tcp_config().fin_wait_2_timeout);
}

TEST(ForwarderBounds, PendingOffersBounded) {
  Stack fwd{StackConfig{}, key(2), 2};
  ForwarderConfig fc;
  fc.max_pending = 4;
  fc.syn_cookies = tcp::SynCookieMode::never;
  fwd.set_forwarder(fc);
  const Instant now = Instant::from_nanoseconds(1);
  for (std::uint16_t p = 1; p <= 10; ++p) {
    wire::TcpHeader h;
    h.src_port = p;
    h.dst_port = 80;
    h.seq = wire::SeqNum{100};
    h.flags = wire::TcpFlags(wire::TcpFlags::kSyn);
    std::array<std::byte, 128> buf{};
    const auto n = wire::emit_tcp_packet(addr_a(), addr_b(), h, {}, buf);
    fwd.on_packet(now, wire::Bytes(buf.data(), *n));
  }
  EXPECT_EQ(fwd.pending_offer_count(), 4U);
  EXPECT_EQ(fwd.stats().offers_overflow, 6U);
  EXPECT_EQ(fwd.connection_count(), 0U);
}

// when_full (the default): past the bound each SYN gets a cookie SYN-ACK instead of being dropped.
TEST(ForwarderBounds, WhenFull_PastTheBoundSynsGetCookies) {
  Stack fwd{StackConfig{}, key(2), 2};
  ForwarderConfig fc;
  fc.max_pending = 4;
  fwd.set_forwarder(fc);
  const Instant now = Instant::from_nanoseconds(1);
  std::array<std::byte, 128> buf{};
  std::size_t synacks = 0;
  for (std::uint16_t p = 1; p <= 10; ++p) {
    wire::TcpHeader h;
    h.src_port = p;
    h.dst_port = 80;
    h.seq = wire::SeqNum{100};
    h.flags = wire::TcpFlags(wire::TcpFlags::kSyn);
    const auto n = wire::emit_tcp_packet(addr_a(), addr_b(), h, {}, buf);
    fwd.on_packet(now, wire::Bytes(buf.data(), *n));
    while (fwd.poll_transmit(now, buf)) ++synacks;
  }
  EXPECT_EQ(fwd.pending_offer_count(), 4U);
  EXPECT_EQ(fwd.stats().offers_overflow, 0U);
  EXPECT_EQ(fwd.stats().syncookies_sent, 6U);
  EXPECT_EQ(synacks, 6U);
  EXPECT_EQ(fwd.connection_count(), 0U);
}

// --- SYN cookies for offers (RFC 4987 §3.6; ForwarderConfig::syn_cookies) ---------------------------

class ForwarderCookies : public ::testing::Test {
 protected:
  Stack client{config_for(addr_a()), key(1), 1};
  Stack fwd{StackConfig{}, key(2), 2};
  Pair pair{client, fwd};
  wire::Endpoint anywhere{wire::IpAddress::v4(0xC6336407U), 8443};

  void forward(tcp::SynCookieMode mode, std::uint32_t max_pending) {
    ForwarderConfig fc;
    fc.max_pending = max_pending;
    fc.syn_cookies = mode;
    fwd.set_forwarder(fc);
  }
  /// A SYN from addr_c():port that no one will answer, straight into the forwarder.
  void spoofed_syn(std::uint16_t port) {
    wire::TcpHeader h;
    h.src_port = port;
    h.dst_port = 80;
    h.seq = wire::SeqNum{100};
    h.flags = wire::TcpFlags(wire::TcpFlags::kSyn);
    h.options.mss = 1460;
    std::array<std::byte, 128> buf{};
    const auto n = wire::emit_tcp_packet(addr_c(), addr_b(), h, {}, buf);
    fwd.on_packet(pair.now(), wire::Bytes(buf.data(), *n));
  }
  std::optional<SynOffer> wait_offer(Duration limit = 10s) {
    std::optional<SynOffer> o;
    pair.run_until(
        [&] {
          while (auto e = fwd.poll_event()) {
            if (e->kind == EventKind::syn_offer) o = fwd.offer(e->offer);
          }
          return o.has_value();
        },
        limit);
    return o;
  }
};

// when_full: with every offer slot taken by spoofed SYNs, a legitimate client still gets a SYN-ACK (a
// cookie); its final ACK becomes the offer (from the slots kept for proven clients), marked
// handshake_done, and accept completes it at once.
TEST_F(ForwarderCookies, WhenFull_OffersFull_CookieFinalAckBecomesOffer_AcceptCarriesData) {
  forward(tcp::SynCookieMode::when_full, 2);
  spoofed_syn(1);
  spoofed_syn(2);
  ASSERT_EQ(fwd.pending_offer_count(), 2U);
  while (fwd.poll_event()) {
  }
  const auto c = client.connect(pair.now(), {addr_a(), 0}, anywhere);
  ASSERT_TRUE(c);
  const auto o = wait_offer(2s);  // before the spoofed offers expire (5 s)
  ASSERT_TRUE(o);
  EXPECT_TRUE(o->handshake_done);
  EXPECT_EQ(o->tuple.local, anywhere);
  EXPECT_EQ(o->options.wscale, std::optional<std::uint8_t>(7));  // the cookie kept what the SYN offered
  EXPECT_TRUE(o->options.sack_permitted);
  EXPECT_EQ(client.info(*c)->state, tcp::State::established);  // the client is already there
  EXPECT_EQ(fwd.stats().syncookies_sent, 1U);
  EXPECT_EQ(fwd.stats().offers_cookie, 1U);
  EXPECT_EQ(fwd.stats().offers_overflow, 0U);
  EXPECT_EQ(fwd.connection_count(), 0U);

  ASSERT_FALSE(fwd.decide(pair.now(), o->id, Verdict::accept));
  std::optional<Event> est;
  while (auto e = fwd.poll_event()) {
    if (e->kind == EventKind::established) est = e;
  }
  ASSERT_TRUE(est);  // no SYN-ACK round trip: established at decide
  EXPECT_EQ(est->offer, o->id);
  const auto info = fwd.info(est->connection);
  ASSERT_TRUE(info);
  EXPECT_EQ(info->state, tcp::State::established);
  EXPECT_EQ(info->negotiated.snd_shift, 7U);
  EXPECT_TRUE(info->negotiated.sack);

  const std::vector<std::byte> data(3000, std::byte{9});
  ASSERT_EQ(client.send(*c, data).value(), 3000U);
  ASSERT_EQ(fwd.send(est->connection, data).value(), 3000U);
  std::vector<std::byte> got_fwd;
  std::vector<std::byte> got_client;
  pair.run_until([&] {
    std::array<std::byte, 4096> buf{};
    if (auto n = fwd.recv(est->connection, buf); n && *n > 0)
      got_fwd.insert(got_fwd.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(*n));
    if (auto n = client.recv(*c, buf); n && *n > 0)
      got_client.insert(got_client.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(*n));
    return got_fwd.size() == 3000 && got_client.size() == 3000;
  });
  EXPECT_EQ(got_fwd, data);
  EXPECT_EQ(got_client, data);
}

// never: past the bound SYNs are dropped, as before cookies existed.
TEST_F(ForwarderCookies, Never_OffersFull_SynDroppedNoSynAck) {
  forward(tcp::SynCookieMode::never, 2);
  spoofed_syn(1);
  spoofed_syn(2);
  spoofed_syn(3);
  EXPECT_EQ(fwd.stats().offers_overflow, 1U);
  EXPECT_EQ(fwd.stats().syncookies_sent, 0U);
  std::array<std::byte, 256> buf{};
  EXPECT_FALSE(fwd.poll_transmit(pair.now(), buf));
}

// always: no offer for the SYN; refusing after the handshake resets the client's established
// connection with <SEQ=SND.NXT><CTL=RST> (it sees a reset, not "refused").
TEST_F(ForwarderCookies, Always_NoOfferForSyn_RefuseAfterHandshakeResetsClient) {
  forward(tcp::SynCookieMode::always, 16);
  const auto c = client.connect(pair.now(), {addr_a(), 0}, anywhere);
  ASSERT_TRUE(c);
  const auto o = wait_offer(2s);
  ASSERT_TRUE(o);
  EXPECT_TRUE(o->handshake_done);
  EXPECT_EQ(fwd.stats().offers, 1U);  // the SYN itself made none
  ASSERT_FALSE(fwd.decide(pair.now(), o->id, Verdict::refuse));
  std::vector<Event> ec;
  pair.run_until([&] {
    for (auto& e : events_of(client)) ec.push_back(e);
    return has_event(ec, EventKind::reset);
  });
  EXPECT_TRUE(has_event(ec, EventKind::reset));
  EXPECT_FALSE(has_event(ec, EventKind::refused));
  EXPECT_EQ(fwd.stats().offers_refused, 1U);
  EXPECT_EQ(fwd.connection_count(), 0U);
}

// An ACK whose cookie fails (forged, off by one) creates no offer and is answered with
// <SEQ=SEG.ACK><CTL=RST>.
TEST_F(ForwarderCookies, Always_ForgedCookieAck_RstNoOffer) {
  forward(tcp::SynCookieMode::always, 16);
  spoofed_syn(7);
  std::array<std::byte, 256> buf{};
  const auto m = fwd.poll_transmit(pair.now(), buf);
  ASSERT_TRUE(m);
  const auto synack = *wire::TcpHeader::parse(wire::TcpPacketView::parse(wire::Bytes(buf.data(), *m))->tcp());
  ASSERT_EQ(synack.flags, wire::TcpFlags(wire::TcpFlags::kSyn | wire::TcpFlags::kAck));
  wire::TcpHeader ack;
  ack.src_port = 7;
  ack.dst_port = 80;
  ack.seq = wire::SeqNum{101};
  ack.ack = synack.seq + 2;  // off by one
  ack.flags = wire::TcpFlags(wire::TcpFlags::kAck);
  ack.window = 1000;
  const auto n = wire::emit_tcp_packet(addr_c(), addr_b(), ack, {}, buf);
  fwd.on_packet(pair.now(), wire::Bytes(buf.data(), *n));
  const auto r = fwd.poll_transmit(pair.now(), buf);
  ASSERT_TRUE(r);
  const auto rst = *wire::TcpHeader::parse(wire::TcpPacketView::parse(wire::Bytes(buf.data(), *r))->tcp());
  EXPECT_EQ(rst.flags, wire::TcpFlags(wire::TcpFlags::kRst));
  EXPECT_EQ(rst.seq, synack.seq + 2);
  EXPECT_EQ(fwd.stats().offers, 0U);
  EXPECT_EQ(fwd.stats().syncookies_failed, 1U);
}

// A cookie offer that is dropped (or expires) is forgotten; the client's next segment carries the same
// cookie and makes a new offer, which can still be accepted.
TEST_F(ForwarderCookies, Always_DropThenClientDataMakesNewOffer_Accept) {
  forward(tcp::SynCookieMode::always, 16);
  const auto c = client.connect(pair.now(), {addr_a(), 0}, anywhere);
  const auto o = wait_offer(2s);
  ASSERT_TRUE(o);
  ASSERT_FALSE(fwd.decide(pair.now(), o->id, Verdict::drop));
  EXPECT_EQ(fwd.stats().offers_dropped, 1U);
  const std::vector<std::byte> data(100, std::byte{3});
  ASSERT_EQ(client.send(*c, data).value(), 100U);
  const auto again = wait_offer(2s);
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->handshake_done);
  EXPECT_NE(again->id, o->id);
  ASSERT_FALSE(fwd.decide(pair.now(), again->id, Verdict::accept));
  std::optional<Event> est;
  while (auto e = fwd.poll_event()) {
    if (e->kind == EventKind::established) est = e;
  }
  ASSERT_TRUE(est);
  std::vector<std::byte> got;
  pair.run_until([&] {  // the data on the ACK that made the offer was not kept: retransmitted
    std::array<std::byte, 256> buf{};
    if (auto n = fwd.recv(est->connection, buf); n && *n > 0)
      got.insert(got.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(*n));
    return got.size() == 100;
  });
  EXPECT_EQ(got, data);
}

// Per-listener cookie mode (ListenOptions) overrides the stack's.
TEST(ListenOptions_, PerListenerCookieMode_OverridesStackConfig) {
  StackConfig cfg = config_for(addr_b());
  cfg.tcp.syn_cookies = tcp::SynCookieMode::never;
  Stack s{cfg, key(2), 1};
  const auto always =
      s.listen({addr_b(), 80}, ListenOptions{.backlog = 8, .syn_cookies = tcp::SynCookieMode::always});
  const auto plain = s.listen({addr_b(), 81}, 8);
  ASSERT_TRUE(always);
  ASSERT_TRUE(plain);
  EXPECT_EQ(s.listener(*always)->syn_cookie_mode(), tcp::SynCookieMode::always);
  EXPECT_EQ(s.listener(*plain)->syn_cookie_mode(), tcp::SynCookieMode::never);
  const Instant now = Instant::from_nanoseconds(1);
  std::array<std::byte, 256> buf{};
  for (const std::uint16_t port : {std::uint16_t{80}, std::uint16_t{81}}) {
    wire::TcpHeader h;
    h.src_port = 5000;
    h.dst_port = port;
    h.seq = wire::SeqNum{100};
    h.flags = wire::TcpFlags(wire::TcpFlags::kSyn);
    const auto n = wire::emit_tcp_packet(addr_a(), addr_b(), h, {}, buf);
    s.on_packet(now, wire::Bytes(buf.data(), *n));
  }
  EXPECT_EQ(s.stats().syncookies_sent, 1U);
  EXPECT_EQ(s.listener(*always)->syn_queue_size(), 0U);
  EXPECT_EQ(s.listener(*plain)->syn_queue_size(), 1U);
}

}  // namespace
}  // namespace synack::stack::testing
