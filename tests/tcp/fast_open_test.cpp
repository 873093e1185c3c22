// TCP Fast Open (RFC 7413) in the engine: cookies, the client's cache, the listener's verdicts and the
// connection's SYN with data (client) and SYN-RECEIVED with data (server).
#include "synack/tcp/fast_open.hpp"

#include "fixture.hpp"
#include "synack/tcp/listener.hpp"

namespace synack::tcp::testing {
namespace {

FastOpenKeys::Key fixed(unsigned char fill) {
  FastOpenKeys::Key k{};
  for (auto& b : k) b = std::byte{fill};
  return k;
}

const wire::IpAddress kClient = wire::IpAddress::v4(0x0A000001U);
const wire::IpAddress kOther = wire::IpAddress::v4(0x0A000009U);

TEST(FastOpenKeys, Cookie_IsAMacOfTheClientAddress) {
  const FastOpenKeys keys{fixed(1)};
  const Instant t = Instant::from_nanoseconds(0);
  const auto c = keys.make(kClient);
  EXPECT_EQ(c.cookie().size(), FastOpenKeys::kCookieSize);
  EXPECT_EQ(keys.make(kClient), c);  // deterministic: no per-SYN state
  EXPECT_TRUE(keys.valid(t, kClient, c.cookie()));
  EXPECT_FALSE(keys.valid(t, kOther, c.cookie()));  // §4.1.2: bound to the address
  EXPECT_NE(FastOpenKeys{fixed(2)}.make(kClient), c);
  EXPECT_FALSE(keys.valid(t, kClient, c.cookie().first(4)));
}

TEST(FastOpenKeys, Rekey_PreviousSecretAcceptedForTheGracePeriodOnly) {
  FastOpenKeys keys{fixed(1)};
  const Instant t = Instant::from_nanoseconds(1'000'000'000);
  const auto old = keys.make(kClient);
  keys.rekey(t, fixed(2));
  EXPECT_NE(keys.make(kClient), old);
  EXPECT_TRUE(keys.valid(t + FastOpenKeys::kGrace - 1s, kClient, old.cookie()));
  EXPECT_FALSE(keys.valid(t + FastOpenKeys::kGrace, kClient, old.cookie()));
  keys.rekey(t, fixed(3));  // a second rotation retires the first secret at once
  EXPECT_FALSE(keys.valid(t, kClient, old.cookie()));
}

TEST(FastOpenCache, Bounded_OldestEntryGoesFirst) {
  FastOpenCache cache{2};
  const auto c = *wire::FastOpenCookie::make(wire::Bytes(fixed(7)).first(8));
  cache.store(wire::IpAddress::v4(1), c, 1460);
  cache.store(wire::IpAddress::v4(2), c, 1400);
  cache.store(wire::IpAddress::v4(3), c, 1300);
  EXPECT_EQ(cache.size(), 2U);
  EXPECT_EQ(cache.find(wire::IpAddress::v4(1)), nullptr);
  EXPECT_EQ(cache.find(wire::IpAddress::v4(3))->mss, 1300U);
}

TEST(FastOpenCache, Serialize_RoundTripsAndSkipsBadLines) {
  FastOpenCache cache;
  const auto c = *wire::FastOpenCookie::make(wire::Bytes(fixed(0xAB)).first(8));
  cache.store(kClient, c, 1460);
  cache.store(*wire::IpAddress::parse("2001:db8::1"), c, 1440);
  const std::string text = cache.serialize();
  EXPECT_EQ(text.substr(0, text.find('\n')), "10.0.0.1 1460 abababababababab");
  FastOpenCache back;
  EXPECT_EQ(back.parse(text + "garbage\n10.0.0.2 x 00\n10.0.0.3 1460 abc\n"), 3U);
  EXPECT_EQ(back.size(), 2U);
  EXPECT_EQ(back.find(kClient)->cookie, c);
}

TEST(FastOpenCache, Hostile_ExpiresAfterItsPeriod) {
  FastOpenCache cache;
  const Instant t = Instant::from_nanoseconds(5);
  cache.mark_hostile(t, kClient);
  EXPECT_TRUE(cache.hostile(t, kClient));
  EXPECT_FALSE(cache.hostile(t, kOther));
  EXPECT_FALSE(cache.hostile(t + FastOpenCache::kHostileFor, kClient));
}

class FastOpenListen : public EngineTest {
 protected:
  IsnGenerator isn_gen{IsnGenerator::Key{}};
  FastOpenKeys keys{fixed(4)};
  std::optional<Listener> listener;
  std::vector<std::uint64_t> live;

  void SetUp() override {
    listener.emplace(config, tuple.local, 8);
    listener->enable_fast_open(
        &keys, 1, [this](std::uint64_t h) { return std::find(live.begin(), live.end(), h) != live.end(); });
  }
  wire::TcpHeader syn(std::optional<wire::FastOpenCookie> foc) {
    auto h = seg(S, peer_iss, SeqNum{0});
    h.options = peer_syn_options();
    h.options.fast_open = foc;
    return h;
  }
  ListenerReply on_syn(std::optional<wire::FastOpenCookie> foc, std::size_t data) {
    const auto payload = bytes_of(data);
    return listener->on_segment(now, tuple, syn(foc), wire::Bytes(payload), isn_gen);
  }
  // (The fixture's tuple has local = our side; the client is tuple.remote.)
  wire::FastOpenCookie good() const { return keys.make(tuple.remote.address); }
};

TEST_F(FastOpenListen, Listen_SynWithCookieRequest_SynAckCarriesCookie) {
  const auto r = on_syn(wire::FastOpenCookie::make({}), 0);
  EXPECT_EQ(r.kind, ListenerReply::Kind::send_syn_ack);
  EXPECT_EQ(r.fast_open_cookie, ListenerReply::kFastOpenCookie);
}

TEST_F(FastOpenListen, Listen_ExperimentalRequest_AnsweredInTheSameForm) {
  const auto r = on_syn(wire::FastOpenCookie::make({}, true), 0);
  EXPECT_EQ(r.fast_open_cookie, ListenerReply::kFastOpenExperimental);
}

TEST_F(FastOpenListen, Listen_SynWithValidCookieAndData_CreatesConnectionAtOnce) {
  const auto r = on_syn(good(), 100);
  ASSERT_EQ(r.kind, ListenerReply::Kind::fast_open);
  EXPECT_EQ(listener->syn_queue_size(), 0U);  // no half-open entry: the connection is made now
  EXPECT_EQ(SeqNum(r.cookie.irs), peer_iss);
  EXPECT_EQ(listener->fast_open()->accepted, 1U);
}

TEST_F(FastOpenListen, Listen_SynWithValidCookieWithoutData_PlainHandshake) {
  const auto r = on_syn(good(), 0);
  EXPECT_EQ(r.kind, ListenerReply::Kind::send_syn_ack);
  EXPECT_EQ(r.fast_open_cookie, 0U);
}

TEST_F(FastOpenListen, Listen_SynWithInvalidCookie_PlainHandshakeWithFreshCookie) {
  std::array<std::byte, 8> bad{};
  const auto r = on_syn(wire::FastOpenCookie::make(bad), 100);
  EXPECT_EQ(r.kind, ListenerReply::Kind::send_syn_ack);
  EXPECT_EQ(r.fast_open_cookie, ListenerReply::kFastOpenCookie);
  EXPECT_EQ(listener->fast_open()->invalid, 1U);
}

TEST_F(FastOpenListen, Listen_QueueFull_FallsBackUntilAPendingConnectionCompletes) {
  ASSERT_EQ(on_syn(good(), 10).kind, ListenerReply::Kind::fast_open);
  listener->fast_open()->pending.push_back(7);
  live = {7};
  peer_iss = peer_iss + 100000;
  EXPECT_EQ(on_syn(good(), 10).kind, ListenerReply::Kind::send_syn_ack);  // §5.1: bounded
  EXPECT_EQ(listener->fast_open()->queue_overflows, 1U);
  live.clear();  // the pending one completed: room again
  tuple.remote.port = 40001;
  EXPECT_EQ(on_syn(good(), 10).kind, ListenerReply::Kind::fast_open);
}

TEST_F(FastOpenListen, Listen_FastOpenOff_OptionIgnored) {
  listener->enable_fast_open(&keys, 0, {});
  const auto r = on_syn(good(), 10);
  EXPECT_EQ(r.kind, ListenerReply::Kind::send_syn_ack);
  EXPECT_EQ(r.fast_open_cookie, 0U);
}

TEST_F(FastOpenListen, SynReceived_FastOpenConnection_SynAckAcksDataAndDataMayFollow) {
  const auto syn_h = syn(good());
  const auto data = bytes_of(100);
  const auto r = listener->on_segment(now, tuple, syn_h, wire::Bytes(data), isn_gen);
  ASSERT_EQ(r.kind, ListenerReply::Kind::fast_open);
  conn.emplace(
      Connection::open_fast_open(config, listener->passive_open(r.cookie, syn_h), wire::Bytes(data), now));
  EXPECT_EQ(conn->state(), State::syn_received);
  EXPECT_EQ(conn->readable(), 100U);  // RFC 7413 §4.2.2: delivered at once
  ASSERT_EQ(*conn->send(wire::Bytes(bytes_of(50))), 50U);
  auto out = drain();
  ASSERT_EQ(out.size(), 2U);
  EXPECT_EQ(out[0].h.flags, TcpFlags(S | A));
  EXPECT_EQ(out[0].h.ack, peer_iss + 1 + 100);
  EXPECT_EQ(out[1].payload.size(), 50U);  // sent before the final ACK
  const SeqNum our_iss(r.cookie.iss);
  // The final ACK acknowledges SYN-ACK and the data at once.
  deliver(seg(A, peer_iss + 101, our_iss + 51));
  EXPECT_EQ(conn->state(), State::established);
  EXPECT_EQ(conn->snd_una(), our_iss + 51);
  EXPECT_EQ(conn->info().bytes_acked, 50U);
}

TEST_F(FastOpenListen, SynReceived_SynAckTimesOut_RetransmittedWithTheDataAcked) {
  const auto syn_h = syn(good());
  const auto data = bytes_of(10);
  const auto r = listener->on_segment(now, tuple, syn_h, wire::Bytes(data), isn_gen);
  conn.emplace(
      Connection::open_fast_open(config, listener->passive_open(r.cookie, syn_h), wire::Bytes(data), now));
  (void)drain();
  run_until(now + 1100ms);
  const auto again = expect_one();
  EXPECT_EQ(again.h.flags, TcpFlags(S | A));
  EXPECT_EQ(again.h.ack, peer_iss + 11);
}

class FastOpenClient : public EngineTest {};

TEST_F(FastOpenClient, SynSent_WithCookie_SynCarriesOptionAndData) {
  conn = Connection::open_active(config, tuple, make_offer(config, wire::IpVersion::v4), iss, 0, now);
  ASSERT_EQ(*conn->send(wire::Bytes(bytes_of(300))), 300U);
  const auto cookie = *wire::FastOpenCookie::make(wire::Bytes(fixed(5)).first(8));
  conn->use_fast_open(cookie, 200);
  const auto s = expect_one();
  ASSERT_TRUE(s.h.options.fast_open);
  EXPECT_EQ(*s.h.options.fast_open, cookie);
  EXPECT_EQ(s.payload.size(), 200U);
  EXPECT_EQ(conn->snd_nxt(), iss + 201);
}

TEST_F(FastOpenClient, SynSent_SynAckAcksOnlySyn_DataRetransmittedAfterHandshake) {
  conn = Connection::open_active(config, tuple, make_offer(config, wire::IpVersion::v4), iss, 0, now);
  ASSERT_EQ(*conn->send(wire::Bytes(bytes_of(100))), 100U);
  conn->use_fast_open(*wire::FastOpenCookie::make(wire::Bytes(fixed(5)).first(8)), 100);
  (void)expect_one();
  auto sa = seg(S | A, peer_iss, iss + 1);
  sa.options = peer_syn_options();
  sa.options.fast_open = wire::FastOpenCookie::make(wire::Bytes(fixed(6)).first(8));
  deliver(sa);
  EXPECT_EQ(conn->state(), State::established);
  const auto out = drain();
  ASSERT_FALSE(out.empty());
  // RFC 7413 §4.2.2: what the SYN-ACK did not acknowledge goes again, from ISS + 1.
  EXPECT_EQ(out[0].h.seq, iss + 1);
  EXPECT_EQ(out[0].payload.size(), 100U);
  EXPECT_FALSE(conn->fast_open()->syn_data_acked);
  EXPECT_TRUE(conn->fast_open()->cookie_received);
}

TEST_F(FastOpenClient, SynSent_SynAckAcksData_NothingResent) {
  conn = Connection::open_active(config, tuple, make_offer(config, wire::IpVersion::v4), iss, 0, now);
  ASSERT_EQ(*conn->send(wire::Bytes(bytes_of(100))), 100U);
  conn->use_fast_open(*wire::FastOpenCookie::make(wire::Bytes(fixed(5)).first(8)), 100);
  (void)expect_one();
  auto sa = seg(S | A, peer_iss, iss + 101);
  sa.options = peer_syn_options();
  deliver(sa);
  const auto out = drain();
  ASSERT_EQ(out.size(), 1U);
  EXPECT_TRUE(out[0].payload.empty());  // the ACK of the SYN-ACK only
  EXPECT_TRUE(conn->fast_open()->syn_data_acked);
  EXPECT_EQ(conn->snd_una(), iss + 101);
}

TEST_F(FastOpenClient, SynSent_SynTimesOut_RetryCarriesNeitherDataNorOption) {
  conn = Connection::open_active(config, tuple, make_offer(config, wire::IpVersion::v4), iss, 0, now);
  ASSERT_EQ(*conn->send(wire::Bytes(bytes_of(100))), 100U);
  conn->use_fast_open(*wire::FastOpenCookie::make(wire::Bytes(fixed(5)).first(8)), 100);
  (void)expect_one();
  run_until(now + 1100ms);
  const auto retry = expect_one();
  EXPECT_EQ(retry.h.flags, TcpFlags(S));
  EXPECT_FALSE(retry.h.options.fast_open);  // RFC 7413 §7.1
  EXPECT_TRUE(retry.payload.empty());
  EXPECT_TRUE(conn->fast_open()->syn_timed_out);
}

}  // namespace
}  // namespace synack::tcp::testing
