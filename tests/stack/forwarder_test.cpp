// Forwarder ("promiscuous") mode: every SYN becomes an offer the embedder accepts, refuses, drops or
// defers, before any state exists.
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
  const auto c = client.connect(pair.now, {addr_a(), 0}, anywhere);
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
  const auto c = client.connect(pair.now, {addr_a(), 0}, anywhere);
  const auto o = wait_offer();
  ASSERT_TRUE(o);
  ASSERT_FALSE(fwd.decide(pair.now, o->id, Verdict::accept));
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

TEST_F(Forwarder, Refuse_ClientSeesRefused) {
  const auto c = client.connect(pair.now, {addr_a(), 0}, anywhere);
  const auto o = wait_offer();
  ASSERT_FALSE(fwd.decide(pair.now, o->id, Verdict::refuse));
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
  (void)client.connect(pair.now, {addr_a(), 0}, anywhere);
  const auto o = wait_offer();
  ASSERT_FALSE(fwd.decide(pair.now, o->id, Verdict::drop));
  const auto again = wait_offer();  // the SYN retransmitted at 1 s
  ASSERT_TRUE(again);
  EXPECT_NE(again->id, o->id);
  EXPECT_EQ(fwd.stats().offers_dropped, 1U);
}

// Defer: decide later, e.g. after the embedder's own upstream connect succeeded. Retransmitted SYNs
// while deferred do not create new offers.
TEST_F(Forwarder, Defer_ThenAcceptAfterUpstreamConnect) {
  const auto c = client.connect(pair.now, {addr_a(), 0}, anywhere);
  const auto o = wait_offer();
  pair.run_for(3500ms);  // two SYN retransmissions (1 s, 3 s) arrive meanwhile
  EXPECT_EQ(fwd.stats().offer_duplicate_syns, 2U);
  EXPECT_EQ(fwd.stats().offers, 1U);
  ASSERT_FALSE(fwd.decide(pair.now, o->id, Verdict::accept));
  pair.run_until([&] { return client.info(*c)->state == tcp::State::established; });
  EXPECT_EQ(client.info(*c)->state, tcp::State::established);
}

TEST_F(Forwarder, DeferredOffersExpireAndAreCounted) {
  (void)client.connect(pair.now, {addr_a(), 0}, anywhere);
  const auto o = wait_offer();
  pair.run_for(5100ms);
  EXPECT_FALSE(fwd.offer(o->id));
  EXPECT_GE(fwd.stats().offers_expired, 1U);
  EXPECT_EQ(fwd.decide(pair.now, o->id, Verdict::accept), tcp::make_error_code(tcp::Error::invalid_argument));
}

TEST(ForwarderBounds, PendingOffersBounded) {
  Stack fwd{StackConfig{}, key(2), 2};
  ForwarderConfig fc;
  fc.max_pending = 4;
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

}  // namespace
}  // namespace synack::stack::testing
