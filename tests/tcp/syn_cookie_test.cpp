// SYN cookies (RFC 4987 §3.6) as a listener policy, and the LISTEN rules they change (RFC 9293
// §3.10.7.2): cookie round trips for every encodable SYN, validity in virtual time, secret rotation, and
// the ACKs that must create nothing.
#include "synack/tcp/syn_cookie.hpp"

#include "fixture.hpp"
#include "synack/tcp/listener.hpp"

namespace synack::tcp::testing {
namespace {

IsnGenerator::Key isn_key() {
  IsnGenerator::Key k{};
  k[3] = std::byte{42};
  return k;
}
SynCookies::Key cookie_key(unsigned char fill = 7) {
  SynCookies::Key k{};
  for (auto& b : k) b = std::byte{fill};
  return k;
}

wire::FourTuple v6_tuple() {
  std::array<std::byte, 16> a{std::byte{0x20}, std::byte{0x01}, std::byte{0x0d}, std::byte{0xb8}};
  std::array<std::byte, 16> b = a;
  a[15] = std::byte{1};
  b[15] = std::byte{2};
  return {{wire::IpAddress::v6(a), 40000}, {wire::IpAddress::v6(b), 80}};
}

class CookieTest : public EngineTest {
 protected:
  IsnGenerator isn_gen{isn_key()};
  SynCookies cookies{cookie_key()};
  std::optional<Listener> listener;
  wire::FourTuple at = test_tuple();  // local = listener side

  void listen(SynCookieMode mode, std::uint32_t backlog = 4) {
    config.syn_cookies = mode;
    listener.emplace(config, at.local, backlog);
    listener->set_syn_cookies(&cookies);
  }
  /// A SYN from the peer with the given options (timestamps as TSval `peer_tsval`).
  wire::TcpHeader syn(std::optional<std::uint16_t> mss, std::optional<std::uint8_t> ws, bool sack, bool ts,
                      SeqNum seq) const {
    wire::TcpHeader h;
    h.src_port = at.remote.port;
    h.dst_port = at.local.port;
    h.seq = seq;
    h.flags = TcpFlags(S);
    h.window = 65535;
    h.options.mss = mss;
    h.options.wscale = ws;
    h.options.sack_permitted = sack;
    if (ts) h.options.timestamps = wire::Timestamps{peer_tsval, 0};
    return h;
  }
  wire::TcpHeader linux_syn() const { return syn(1460, 7, true, true, peer_iss); }
  /// The peer's final ACK for SYN-ACK `sa` (timestamps echoing its TSval when it carried one).
  wire::TcpHeader final_ack(const wire::TcpHeader& sa, SeqNum seq) const {
    wire::TcpHeader h;
    h.src_port = at.remote.port;
    h.dst_port = at.local.port;
    h.seq = seq;
    h.ack = sa.seq + 1;
    h.flags = TcpFlags(A);
    h.window = 1000;
    if (sa.options.timestamps)
      h.options.timestamps = wire::Timestamps{peer_tsval + 1, sa.options.timestamps->value};
    return h;
  }
  ListenerReply on(const wire::TcpHeader& h) { return listener->on_segment(now, at, h, {}, isn_gen); }
  /// Sends `h` (a SYN) and returns the cookie SYN-ACK it gets.
  wire::TcpHeader cookie_syn_ack(const wire::TcpHeader& h) {
    const ListenerReply r = on(h);
    EXPECT_EQ(r.kind, ListenerReply::Kind::send_cookie_syn_ack);
    return listener->syn_ack(r.cookie, r.cookie_ts_val);
  }
  void expect_rst_nothing_created(const wire::TcpHeader& ack) {
    const ListenerReply r = on(ack);
    // RFC 9293 §3.10.7.2: "An acceptable reset segment should be formed for any arriving ACK-bearing
    // segment ... <SEQ=SEG.ACK><CTL=RST>".
    EXPECT_EQ(r.kind, ListenerReply::Kind::send_rst);
    EXPECT_EQ(r.rst_seq, ack.ack);
    EXPECT_FALSE(r.rst_ack);
    EXPECT_EQ(listener->syn_queue_size(), 0U);
    EXPECT_EQ(listener->syn_queue_slots(), 0U);
  }
};

using Listener_ = CookieTest;
using SynCookie = CookieTest;

// RFC 4987 §3.6: the connection a cookie builds has the options the SYN offered, within the table's
// resolution — for every MSS table entry (and one above it, which rounds down), window scale none, 0,
// 7 and 14, SACK on and off, timestamps on and off, IPv4 and IPv6.
TEST_F(SynCookie, RoundTrip_EveryMssWscaleSackTimestamps_V4AndV6) {
  const std::array<std::optional<std::uint8_t>, 4> shifts{std::nullopt, 0, 7, 14};
  int round_trips = 0;
  for (const wire::FourTuple& t : {test_tuple(), v6_tuple()}) {
    at = t;
    listen(SynCookieMode::always);
    const wire::IpVersion v = t.local.address.version();
    for (const std::uint16_t entry : SynCookies::mss_table(v)) {
      for (const std::uint16_t offered : {entry, static_cast<std::uint16_t>(entry + 1)}) {
        for (const auto ws : shifts) {
          for (const bool sack : {false, true}) {
            for (const bool ts : {false, true}) {
              SCOPED_TRACE(::testing::Message()
                           << "v6=" << t.local.address.is_v6() << " mss=" << offered
                           << " ws=" << (ws ? int{*ws} : -1) << " sack=" << sack << " ts=" << ts);
              const SeqNum seq{static_cast<std::uint32_t>(0x9000'0000U + offered * 131U +
                                                          static_cast<std::uint32_t>(round_trips))};
              const wire::TcpHeader s = syn(offered, ws, sack, ts, seq);
              const wire::TcpHeader sa = cookie_syn_ack(s);
              // The SYN-ACK answers exactly what the SYN offered (RFC 7323 §1.3, RFC 2018 §2).
              EXPECT_EQ(sa.ack, seq + 1);
              EXPECT_EQ(sa.options.wscale.has_value(), ws.has_value());
              EXPECT_EQ(sa.options.sack_permitted, sack);
              ASSERT_EQ(sa.options.timestamps.has_value(), ts);
              if (ts) {
                EXPECT_EQ(sa.options.timestamps->echo, peer_tsval);
              }
              EXPECT_EQ(listener->syn_queue_size(), 0U);

              const wire::TcpHeader ack = final_ack(sa, seq + 1);
              const ListenerReply r = on(ack);
              ASSERT_EQ(r.kind, ListenerReply::Kind::complete_cookie);
              EXPECT_EQ(r.cookie.peer_mss, entry);  // rounded down to the table
              const PassiveOpen open = listener->passive_open(r.cookie, ack);
              EXPECT_EQ(open.iss, sa.seq);
              EXPECT_EQ(open.irs, seq);
              // The same as a SYN-queue entry for a SYN with MSS `entry`.
              SynOptions as_entry;
              as_entry.mss = entry;
              as_entry.wscale = ws;
              as_entry.sack_permitted = sack;
              if (ts) as_entry.timestamps = wire::Timestamps{peer_tsval, 0};
              const Offer ours = answer_offer(make_offer(config, v), as_entry);
              EXPECT_EQ(open.negotiated, negotiate(ours, as_entry, v, config.min_send_mss));
              EXPECT_EQ(open.negotiated.snd_shift, ws);
              EXPECT_EQ(open.negotiated.sack, sack);
              EXPECT_EQ(open.negotiated.timestamps, ts);
              const Connection c = Connection::open_passive(config, open, now);
              EXPECT_EQ(c.state(), State::established);
              EXPECT_EQ(c.info().negotiated, open.negotiated);
              ++round_trips;
            }
          }
        }
      }
    }
    EXPECT_EQ(listener->syn_queue_slots(), 0U);
    EXPECT_EQ(listener->stats().syncookies_failed, 0U);
  }
  EXPECT_EQ(round_trips, 2 * 8 * 2 * 4 * 2 * 2);
}

// "Beat Linux": without timestamps the cookie still carries window scale and SACK.
TEST_F(Listener_, CookieAck_ValidCreatesConnectionWithSynOptions) {
  listen(SynCookieMode::always);
  const wire::TcpHeader sa = cookie_syn_ack(syn(1460, 7, true, false, peer_iss));
  EXPECT_FALSE(sa.options.timestamps);
  const wire::TcpHeader ack = final_ack(sa, peer_iss + 1);
  const ListenerReply r = on(ack);
  ASSERT_EQ(r.kind, ListenerReply::Kind::complete_cookie);
  const Connection c = Connection::open_passive(config, listener->passive_open(r.cookie, ack), now);
  EXPECT_EQ(c.info().negotiated.snd_shift, std::optional<std::uint8_t>(7));
  EXPECT_EQ(c.info().negotiated.rcv_shift, std::optional<std::uint8_t>(7));
  EXPECT_TRUE(c.info().negotiated.sack);
  EXPECT_FALSE(c.info().negotiated.timestamps);
  EXPECT_EQ(c.info().negotiated.send_mss, 1460);
  EXPECT_EQ(listener->stats().syncookies_sent, 1U);
  EXPECT_EQ(listener->stats().syncookies_recv, 1U);
  EXPECT_EQ(listener->stats().established, 1U);
}

// With timestamps the options ride in the TSval's low 6 bits; that TSval never runs ahead of the clock
// the connection then uses (RFC 7323 §5.4: TSvals must not go backwards).
TEST_F(SynCookie, WithTimestamps_TsValCarriesOptionsAndNeverRunsAhead) {
  listen(SynCookieMode::always);
  for (int i = 0; i < 200; ++i) {
    now += 7ms;
    const wire::TcpHeader sa =
        cookie_syn_ack(syn(1460, static_cast<std::uint8_t>(i % 15), i % 2 == 0, true, peer_iss));
    const std::uint32_t clock =
        static_cast<std::uint32_t>(now.nanoseconds() / 1'000'000) + isn_gen.timestamp_offset(at);
    const std::uint32_t ts_val = sa.options.timestamps->value;
    EXPECT_LT(clock - ts_val, 64U);
    EXPECT_EQ(ts_val & 0x0FU, static_cast<std::uint32_t>(i % 15));
    EXPECT_EQ((ts_val >> 4U) & 1U, i % 2 == 0 ? 1U : 0U);
    EXPECT_EQ((ts_val >> 5U) & 1U, 0U);  // ECN: the engine has none
  }
}

// A retransmitted SYN in the same tick gets the same cookie (the peer may take either SYN-ACK).
TEST_F(SynCookie, SameSynSameTick_SameIsn) {
  listen(SynCookieMode::always);
  const wire::TcpHeader a = cookie_syn_ack(linux_syn());
  now += 1s;
  const wire::TcpHeader b = cookie_syn_ack(linux_syn());
  EXPECT_EQ(a.seq, b.seq);
}

// Validity: a cookie made in tick c is accepted in ticks c and c + 1 (64-128 s), then refused.
TEST_F(SynCookie, AcceptedForOneFullTickAfterItsOwn) {
  listen(SynCookieMode::always);
  now = Instant::from_duration(SynCookies::kTick * 10 - 1ms);  // the last moment of tick 9
  const wire::TcpHeader sa = cookie_syn_ack(linux_syn());
  const wire::TcpHeader ack = final_ack(sa, peer_iss + 1);
  now = Instant::from_duration(SynCookies::kTick * 11 - 1ms);  // the last moment of tick 10
  EXPECT_EQ(on(ack).kind, ListenerReply::Kind::complete_cookie);
  now = Instant::from_duration(SynCookies::kTick * 11);  // tick 11: expired, even 1 ms later
  EXPECT_TRUE(cookies.check(now - 1ms, at, ack));
  EXPECT_FALSE(cookies.check(now, at, ack));
}

// RFC 4987 §3.6 / RFC 9293 §3.10.7.2: an expired cookie (a replay after its validity) creates nothing
// and gets <SEQ=SEG.ACK><CTL=RST>.
TEST_F(Listener_, CookieAckReplayedAfterExpiry_RstAndNothingCreated) {
  listen(SynCookieMode::always);
  const wire::TcpHeader sa = cookie_syn_ack(linux_syn());
  const wire::TcpHeader ack = final_ack(sa, peer_iss + 1);
  EXPECT_EQ(on(ack).kind, ListenerReply::Kind::complete_cookie);
  // Cookies keep flowing for other peers, so the ACK is still checked as a cookie.
  now += SynCookies::kTick * 2;
  at.remote.port = 40001;
  (void)cookie_syn_ack(linux_syn());
  at.remote.port = 40000;
  expect_rst_nothing_created(ack);
  EXPECT_EQ(listener->stats().syncookies_failed, 1U);
  EXPECT_EQ(listener->stats().syncookies_recv, 1U);
}

// Forged: random ISNs in the ACK field are refused (24 MAC bits without timestamps: 2^-24 per guess).
TEST_F(Listener_, CookieAckForged_RstAndNothingCreated) {
  listen(SynCookieMode::always);
  (void)cookie_syn_ack(linux_syn());  // cookies were sent: ACKs are checked
  std::uint64_t x = 0x0123456789ABCDEFULL;
  for (int i = 0; i < 2000; ++i) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    wire::TcpHeader ack;
    ack.src_port = at.remote.port;
    ack.dst_port = at.local.port;
    ack.seq = SeqNum(static_cast<std::uint32_t>(x >> 32U));
    ack.ack = SeqNum(static_cast<std::uint32_t>(x));
    ack.flags = TcpFlags(A);
    if (i % 2 == 0) ack.options.timestamps = wire::Timestamps{1, static_cast<std::uint32_t>(x >> 20U)};
    expect_rst_nothing_created(ack);
  }
  EXPECT_EQ(listener->stats().syncookies_failed, 2000U);
  EXPECT_EQ(listener->stats().established, 0U);
}

// Off by one either way in SEG.ACK (ISN, ISN + 2), or a SEG.SEQ that is not the SYN's + 1.
TEST_F(Listener_, CookieAckOffByOne_RstAndNothingCreated) {
  for (const bool ts : {false, true}) {
    listen(SynCookieMode::always);
    const wire::TcpHeader sa = cookie_syn_ack(syn(1460, 7, true, ts, peer_iss));
    wire::TcpHeader ack = final_ack(sa, peer_iss + 1);
    ack.ack = sa.seq;
    expect_rst_nothing_created(ack);
    ack.ack = sa.seq + 2;
    expect_rst_nothing_created(ack);
    ack = final_ack(sa, peer_iss + 2);
    expect_rst_nothing_created(ack);
    ack = final_ack(sa, peer_iss);
    expect_rst_nothing_created(ack);
    EXPECT_EQ(listener->stats().syncookies_failed, 4U);
    EXPECT_EQ(on(final_ack(sa, peer_iss + 1)).kind, ListenerReply::Kind::complete_cookie);
  }
}

// Options altered on the way back: the MAC covers the TSval bits too.
TEST_F(Listener_, CookieAckWithAlteredTsecrOptions_RstAndNothingCreated) {
  listen(SynCookieMode::always);
  const wire::TcpHeader sa = cookie_syn_ack(syn(1460, 7, true, true, peer_iss));
  wire::TcpHeader ack = final_ack(sa, peer_iss + 1);
  ack.options.timestamps->echo ^= 0x0EU;  // window scale 7 -> 9
  expect_rst_nothing_created(ack);
  ack = final_ack(sa, peer_iss + 1);
  ack.options.timestamps->echo |= 0x20U;  // the ECN bit
  expect_rst_nothing_created(ack);
  ack = final_ack(sa, peer_iss + 1);
  ack.options.timestamps.reset();  // timestamps offered, then dropped: the layout no longer matches
  expect_rst_nothing_created(ack);
}

// Wrong tuple: the cookie answered one 4-tuple; the same numbers from another port or address (or to
// another local port) are refused.
TEST_F(Listener_, CookieAckWrongTuple_RstAndNothingCreated) {
  listen(SynCookieMode::always);
  const wire::TcpHeader sa = cookie_syn_ack(linux_syn());
  const wire::TcpHeader ack = final_ack(sa, peer_iss + 1);
  const wire::FourTuple right = at;
  at.remote.port = 40001;
  expect_rst_nothing_created(ack);
  at = right;
  at.remote.address = wire::IpAddress::v4(0x0A000003U);
  expect_rst_nothing_created(ack);
  at = right;
  at.local.port = 81;
  expect_rst_nothing_created(ack);
  at = right;
  EXPECT_EQ(on(ack).kind, ListenerReply::Kind::complete_cookie);
}

// A different secret (another host, or a restart) refuses the cookie.
TEST_F(SynCookie, OtherSecret_Refused) {
  listen(SynCookieMode::always);
  const wire::TcpHeader ack = final_ack(cookie_syn_ack(linux_syn()), peer_iss + 1);
  SynCookies other{cookie_key(8)};
  EXPECT_FALSE(other.check(now, at, ack));
  EXPECT_TRUE(cookies.check(now, at, ack));
}

// Scheduled rotation: every kDefaultRotationTicks ticks; a cookie made just before a rotation is still
// accepted just after it (under the previous secret), and a cookie made after it too.
TEST_F(SynCookie, ScheduledRotation_PreviousSecretAcceptedForItsCookies) {
  listen(SynCookieMode::always);
  const Duration period = SynCookies::kTick * SynCookies::kDefaultRotationTicks;
  now = Instant::from_duration(period - 1s);
  const wire::TcpHeader before = final_ack(cookie_syn_ack(linux_syn()), peer_iss + 1);
  EXPECT_EQ(cookies.rotations(), 0U);
  now = Instant::from_duration(period + 1s);
  EXPECT_TRUE(cookies.check(now, at, before));
  EXPECT_EQ(cookies.rotations(), 1U);
  const wire::TcpHeader after = final_ack(cookie_syn_ack(linux_syn()), peer_iss + 1);
  EXPECT_NE(after.ack, before.ack);  // another secret, another tick
  EXPECT_TRUE(cookies.check(now, at, after));
  // Two rotations on, the cookie made under the first secret is gone (and expired anyway).
  now = Instant::from_duration(period * 2 + 1s);
  EXPECT_FALSE(cookies.check(now, at, before));
  EXPECT_EQ(cookies.rotations(), 2U);
}

// On-demand rotation: rekey() with fresh bits; cookies made before stay valid under the previous
// secret, new ones use the new secret; a second rekey retires the first secret.
TEST_F(SynCookie, Rekey_PreviousAcceptedUntilTheNextRekey) {
  listen(SynCookieMode::always);
  const wire::TcpHeader old_ack = final_ack(cookie_syn_ack(linux_syn()), peer_iss + 1);
  now += 5s;
  cookies.rekey(now, cookie_key(9));
  const wire::TcpHeader new_ack = final_ack(cookie_syn_ack(linux_syn()), peer_iss + 1);
  EXPECT_NE(old_ack.ack, new_ack.ack);
  EXPECT_TRUE(cookies.check(now, at, old_ack));
  EXPECT_TRUE(cookies.check(now, at, new_ack));
  cookies.rekey(now, cookie_key(10));
  EXPECT_FALSE(cookies.check(now, at, old_ack));
  EXPECT_TRUE(cookies.check(now, at, new_ack));
  EXPECT_EQ(cookies.rotations(), 2U);
}

// `when-full` (Linux tcp_syncookies = 1): the first `capacity` SYNs get entries, SYN capacity + 1 gets a
// cookie, and so does every SYN while the queue stays full.
TEST_F(Listener_, WhenFull_SwitchesToCookiesAtExactlyTheQueueBound) {
  config.syn_queue_capacity = 4;
  listen(SynCookieMode::when_full, 64);
  for (std::uint16_t i = 0; i < 4; ++i) {
    at.remote.port = static_cast<std::uint16_t>(41000 + i);
    EXPECT_EQ(on(linux_syn()).kind, ListenerReply::Kind::send_syn_ack);
  }
  EXPECT_EQ(listener->syn_queue_size(), 4U);
  for (std::uint16_t i = 4; i < 10; ++i) {
    at.remote.port = static_cast<std::uint16_t>(41000 + i);
    EXPECT_EQ(on(linux_syn()).kind, ListenerReply::Kind::send_cookie_syn_ack);
  }
  EXPECT_EQ(listener->syn_queue_size(), 4U);
  EXPECT_EQ(listener->stats().syncookies_sent, 6U);
  EXPECT_EQ(listener->stats().syn_queue_full_drops, 0U);
  // The cookie connections complete although the queue is still full.
  at.remote.port = 41009;
  const ListenerReply r = on(final_ack(cookie_syn_ack(linux_syn()), peer_iss + 1));
  EXPECT_EQ(r.kind, ListenerReply::Kind::complete_cookie);
}

// `when-full` sends no cookie while the queue has room, so an ACK to the listener is not a cookie
// candidate: a plain RST, not counted as a failed cookie.
TEST_F(Listener_, WhenFullNoCookieSent_AckGetsRstUnchecked) {
  listen(SynCookieMode::when_full);
  const wire::TcpHeader ack = seg(A, peer_iss + 1, SeqNum{777});
  expect_rst_nothing_created(ack);
  EXPECT_EQ(listener->stats().syncookies_failed, 0U);
}

// `never`: past the bound SYNs are dropped and counted.
TEST_F(Listener_, Never_DropsPastTheBound) {
  config.syn_queue_capacity = 4;
  listen(SynCookieMode::never, 64);
  for (std::uint16_t i = 0; i < 6; ++i) {
    at.remote.port = static_cast<std::uint16_t>(41000 + i);
    EXPECT_EQ(on(linux_syn()).kind, i < 4 ? ListenerReply::Kind::send_syn_ack : ListenerReply::Kind::none);
  }
  EXPECT_EQ(listener->stats().syn_queue_full_drops, 2U);
  EXPECT_EQ(listener->stats().syncookies_sent, 0U);
}

// `always` (Linux tcp_syncookies = 2): no half-open entry is ever created, not even storage for one.
TEST_F(Listener_, Always_NeverCreatesAnEntry) {
  listen(SynCookieMode::always, 64);
  for (std::uint16_t i = 0; i < 100; ++i) {
    at.remote.port = static_cast<std::uint16_t>(41000 + i);
    EXPECT_EQ(on(linux_syn()).kind, ListenerReply::Kind::send_cookie_syn_ack);
  }
  EXPECT_EQ(listener->syn_queue_size(), 0U);
  EXPECT_EQ(listener->syn_queue_slots(), 0U);
  EXPECT_EQ(listener->next_deadline(), Instant::max());
  EXPECT_EQ(listener->stats().syncookies_sent, 100U);
}

// An MSS below the table cannot be rounded down (we would send segments larger than the peer takes):
// such a SYN falls back to the SYN queue, even under `always`.
TEST_F(Listener_, AlwaysMssBelowTable_FallsBackToQueueEntry) {
  listen(SynCookieMode::always);
  EXPECT_EQ(on(syn(200, 7, true, true, peer_iss)).kind, ListenerReply::Kind::send_syn_ack);
  EXPECT_EQ(listener->syn_queue_size(), 1U);
  EXPECT_EQ(listener->stats().syncookies_sent, 0U);
}

// A SYN without MSS: RFC 9293 §3.7.1's default (536), the table's first entry; nothing lost.
TEST_F(Listener_, CookieSynWithoutMss_DefaultMss) {
  listen(SynCookieMode::always);
  const wire::TcpHeader sa = cookie_syn_ack(syn(std::nullopt, std::nullopt, false, false, peer_iss));
  const wire::TcpHeader ack = final_ack(sa, peer_iss + 1);
  const ListenerReply r = on(ack);
  ASSERT_EQ(r.kind, ListenerReply::Kind::complete_cookie);
  EXPECT_EQ(listener->passive_open(r.cookie, ack).negotiated.send_mss, 536);
}

// The accept queue bound holds for cookies too (Linux ListenOverflows): the ACK is dropped, no RST.
TEST_F(Listener_, CookieAckAcceptQueueFull_DroppedAndCounted) {
  listen(SynCookieMode::always, 1);
  const wire::TcpHeader ack = final_ack(cookie_syn_ack(linux_syn()), peer_iss + 1);
  ASSERT_TRUE(listener->push_accept(1));
  EXPECT_EQ(on(ack).kind, ListenerReply::Kind::none);
  EXPECT_EQ(listener->stats().accept_queue_full_drops, 1U);
  EXPECT_EQ(listener->stats().syncookies_recv, 1U);
  // Room again: the same cookie (the peer's next segment) completes.
  (void)listener->pop_accept();
  EXPECT_EQ(on(ack).kind, ListenerReply::Kind::complete_cookie);
}

// Handshake RTT: with timestamps TSecr dates the SYN-ACK (up to 63 ms early, so the sample errs long);
// without them there is no sample and the RTO stays RFC 6298's initial 1 s.
TEST_F(Listener_, CookieRtt_FromTsecrOrNone) {
  listen(SynCookieMode::always);
  const wire::TcpHeader sa_ts = cookie_syn_ack(linux_syn());
  const wire::TcpHeader sa_plain = cookie_syn_ack(syn(1460, 7, true, false, peer_iss + 100));
  now += 100ms;
  const wire::TcpHeader ack_ts = final_ack(sa_ts, peer_iss + 1);
  ListenerReply r = on(ack_ts);
  ASSERT_EQ(r.kind, ListenerReply::Kind::complete_cookie);
  const PassiveOpen with_ts = listener->passive_open(r.cookie, ack_ts);
  EXPECT_TRUE(with_ts.rtt_sample);
  EXPECT_GE(now - with_ts.syn_received_at, 100ms);
  EXPECT_LT(now - with_ts.syn_received_at, 164ms);
  const wire::TcpHeader ack_plain = final_ack(sa_plain, peer_iss + 101);
  r = on(ack_plain);
  ASSERT_EQ(r.kind, ListenerReply::Kind::complete_cookie);
  const PassiveOpen plain = listener->passive_open(r.cookie, ack_plain);
  EXPECT_FALSE(plain.rtt_sample);
  const Connection c = Connection::open_passive(config, plain, now);
  EXPECT_EQ(c.info().rto, config.initial_rto);
}

TEST(SynCookieMode_, ParseAndPrint) {
  for (const SynCookieMode m : {SynCookieMode::never, SynCookieMode::when_full, SynCookieMode::always}) {
    EXPECT_EQ(parse_syn_cookie_mode(to_string(m)), m);
  }
  EXPECT_FALSE(parse_syn_cookie_mode("sometimes"));
  EXPECT_EQ(Config{}.syn_cookies, SynCookieMode::when_full);
}

}  // namespace
}  // namespace synack::tcp::testing
