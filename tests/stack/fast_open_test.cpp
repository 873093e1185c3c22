// TCP Fast Open (RFC 7413) through two Stacks: a (client, 10.0.0.1) connects with data to b's listener
// (10.0.0.2:80). Every segment on the path is recorded, so each test checks what went on the wire.
#include "synack/tcp/fast_open.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "pair.hpp"

namespace synack::stack::testing {
namespace {

struct Seen {
  bool to_b = false;
  wire::TcpHeader h;
  std::size_t payload = 0;
};

wire::Bytes bytes_of(std::string_view s) {
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

std::string read_all(Stack& s, ConnectionId id) {
  std::string out;
  std::array<std::byte, 4096> buf{};
  while (auto n = s.recv(id, buf)) {
    if (*n == 0) break;
    out.append(reinterpret_cast<const char*>(buf.data()), *n);
  }
  return out;
}

class FastOpen : public ::testing::Test {
 protected:
  FastOpen() : a{config_for(addr_a()), key(1), 1}, b{config_for(addr_b()), key(2), 2}, pair{a, b} {
    pair.filter = [this](bool to_b, const wire::TcpPacketView& v) {
      const auto h = wire::TcpHeader::parse(v.tcp());
      if (h) seen.push_back(Seen{to_b, *h, v.tcp().payload().size()});
      return drop && h && drop(to_b, *h, v.tcp().payload().size());
    };
  }

  /// One connection from a with `data` (fast open as asked); returns b's accepted connection once the
  /// data arrived.
  ConnectionId exchange(std::string_view data, bool fast_open = true) {
    seen.clear();
    ConnectOptions o;
    o.data = bytes_of(data);
    o.fast_open = fast_open;
    client = *a.connect(pair.now(), {addr_a(), 0}, {addr_b(), 80}, o);
    std::optional<ConnectionId> server;
    received.clear();
    EXPECT_TRUE(pair.run_until(
        [&] {
          if (!server) {
            if (auto c = b.accept(listener)) server = *c;
          }
          if (server) received += read_all(b, *server);
          return received.size() >= data.size();
        },
        10s));
    return server.value_or(ConnectionId{});
  }

  std::vector<Seen> syns() const {
    std::vector<Seen> v;
    for (const Seen& s : seen) {
      if (s.to_b && s.h.flags.syn()) v.push_back(s);
    }
    return v;
  }
  std::optional<Seen> syn_ack() const {
    for (const Seen& s : seen) {
      if (!s.to_b && s.h.flags.syn() && s.h.flags.ack()) return s;
    }
    return std::nullopt;
  }

  Stack a;
  Stack b;
  Pair pair;
  ListenerId listener =
      *b.listen({addr_b(), 80}, ListenOptions{.backlog = 0, .syn_cookies = std::nullopt, .fast_open = 16});
  ConnectionId client;
  std::string received;
  std::vector<Seen> seen;
  std::function<bool(bool, const wire::TcpHeader&, std::size_t)> drop;
};

TEST_F(FastOpen, Listen_SynWithCookieRequest_SynAckCarriesCookie) {
  (void)exchange("hello");
  const auto s = syns();
  ASSERT_EQ(s.size(), 1U);
  // RFC 7413 §4.1.1: no cookie cached — the SYN asks for one and carries no data.
  ASSERT_TRUE(s[0].h.options.fast_open);
  EXPECT_TRUE(s[0].h.options.fast_open->is_request());
  EXPECT_EQ(s[0].payload, 0U);
  const auto sa = syn_ack();
  ASSERT_TRUE(sa && sa->h.options.fast_open);
  EXPECT_EQ(sa->h.options.fast_open->cookie().size(), tcp::FastOpenKeys::kCookieSize);
  EXPECT_EQ(received, "hello");
  const tcp::FastOpenEntry* e = a.fast_open_cache().find(addr_b());
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->cookie, *sa->h.options.fast_open);
  EXPECT_GT(e->mss, 0U);
  const auto info = a.info(client);
  EXPECT_TRUE(info->fast_open.cookie_requested);
  EXPECT_TRUE(info->fast_open.cookie_received);
  EXPECT_EQ(b.listener_info(listener)->fast_open_cookies_sent, 1U);
}

TEST_F(FastOpen, Listen_SynWithValidCookieAndData_DeliversDataAtOnce) {
  (void)exchange("first");
  // The second connection: the server must see the data, accept the connection and answer before the
  // client's final ACK arrives — so hold that ACK back and look at the server meanwhile.
  bool held = true;
  drop = [&](bool to_b, const wire::TcpHeader& h, std::size_t) { return held && to_b && !h.flags.syn(); };
  seen.clear();
  ConnectOptions o;
  o.data = bytes_of("GET /");
  o.fast_open = true;
  client = *a.connect(pair.now(), {addr_a(), 0}, {addr_b(), 80}, o);
  pair.run_for(50ms);  // SYN and SYN-ACK cross; the final ACK is held
  const auto s = syns();
  ASSERT_EQ(s.size(), 1U);
  EXPECT_EQ(s[0].payload, 5U);  // RFC 7413 §4.2.1: the data rides in the SYN with the cookie
  ASSERT_TRUE(s[0].h.options.fast_open && !s[0].h.options.fast_open->is_request());
  const auto sa = syn_ack();
  ASSERT_TRUE(sa);
  EXPECT_EQ(sa->h.ack, s[0].h.seq + 1 + 5);  // §4.2.2: the SYN-ACK acknowledges SYN and data
  const auto info = b.listener_info(listener);
  EXPECT_EQ(info->fast_open_accepted, 1U);
  EXPECT_EQ(info->fast_open_pending, 1U);
}

TEST_F(FastOpen, SynReceived_DataBeforeFinalAck_IsReadableAndAnswered) {
  (void)exchange("first");
  bool held = true;
  drop = [&](bool to_b, const wire::TcpHeader& h, std::size_t) { return held && to_b && !h.flags.syn(); };
  seen.clear();
  ConnectOptions o;
  o.data = bytes_of("ping");
  o.fast_open = true;
  client = *a.connect(pair.now(), {addr_a(), 0}, {addr_b(), 80}, o);
  std::optional<ConnectionId> server;
  ASSERT_TRUE(pair.run_until(
      [&] {
        if (auto c = b.accept(listener)) server = *c;
        return server.has_value();
      },
      1s));
  // Accepted while SYN-RECEIVED (the final ACK is held), and the SYN's data is readable already.
  EXPECT_EQ(b.info(*server)->state, tcp::State::syn_received);
  EXPECT_EQ(read_all(b, *server), "ping");
  ASSERT_EQ(*b.send(*server, bytes_of("pong")), 4U);
  pair.run_for(5ms);
  // §4.2.2: the reply leaves before the handshake completes.
  bool reply_before_final_ack = false;
  for (const Seen& x : seen) {
    if (!x.to_b && !x.h.flags.syn() && x.payload == 4) reply_before_final_ack = true;
  }
  EXPECT_TRUE(reply_before_final_ack);
  held = false;
  ASSERT_TRUE(pair.run_until([&] { return read_all(a, client) == "pong"; }, 10s));
  ASSERT_TRUE(pair.run_until([&] { return b.info(*server)->state == tcp::State::established; }, 10s));
  EXPECT_TRUE(a.info(client)->fast_open.syn_data_acked);
  EXPECT_EQ(b.info(*server)->fast_open.syn_data, 4U);
}

TEST_F(FastOpen, Listen_SynWithInvalidCookie_AcksOnlySynAndSendsFreshCookie) {
  (void)exchange("first");
  const wire::FastOpenCookie good = *a.fast_open_cache().find(addr_b())->cookie;
  std::array<std::byte, 8> forged{};
  std::copy(good.cookie().begin(), good.cookie().end(), forged.begin());
  forged[0] ^= std::byte{0xFF};
  a.fast_open_cache().store(addr_b(), *wire::FastOpenCookie::make(forged), 1460);
  (void)exchange("second");
  const auto s = syns();
  ASSERT_EQ(s.size(), 1U);
  EXPECT_EQ(s[0].payload, 6U);
  const auto sa = syn_ack();
  ASSERT_TRUE(sa);
  // RFC 7413 §4.2.2: not valid — only the ISN is acknowledged, and a valid cookie is sent.
  EXPECT_EQ(sa->h.ack, s[0].h.seq + 1);
  ASSERT_TRUE(sa->h.options.fast_open);
  EXPECT_EQ(*sa->h.options.fast_open, good);
  EXPECT_EQ(received, "second");  // retransmitted after the handshake
  EXPECT_EQ(a.fast_open_cache().find(addr_b())->cookie, good);
  EXPECT_FALSE(a.info(client)->fast_open.syn_data_acked);
  EXPECT_EQ(b.listener_info(listener)->fast_open_invalid, 1U);
}

TEST_F(FastOpen, Listen_FastOpenQueueFull_FallsBackToPlainHandshake) {
  b.close_listener(pair.now(), listener);
  listener =
      *b.listen({addr_b(), 80}, ListenOptions{.backlog = 0, .syn_cookies = std::nullopt, .fast_open = 1});
  (void)exchange("first");
  // Hold every final ACK: the first TFO connection stays pending, the second finds the queue full.
  drop = [&](bool to_b, const wire::TcpHeader& h, std::size_t) { return to_b && !h.flags.syn(); };
  ConnectOptions o;
  o.data = bytes_of("one");
  o.fast_open = true;
  (void)*a.connect(pair.now(), {addr_a(), 0}, {addr_b(), 80}, o);
  pair.run_for(30ms);
  seen.clear();
  o.data = bytes_of("two");
  (void)*a.connect(pair.now(), {addr_a(), 0}, {addr_b(), 80}, o);
  pair.run_for(30ms);
  const auto s = syns();
  ASSERT_EQ(s.size(), 1U);
  EXPECT_EQ(s[0].payload, 3U);
  const auto sa = syn_ack();
  ASSERT_TRUE(sa);
  EXPECT_EQ(sa->h.ack, s[0].h.seq + 1);  // RFC 7413 §5.1: past the bound, a plain handshake
  EXPECT_EQ(b.listener_info(listener)->fast_open_overflows, 1U);
}

TEST_F(FastOpen, Listen_FastOpenOff_IgnoresTheOption) {
  (void)exchange("first");
  b.close_listener(pair.now(), listener);
  listener = *b.listen({addr_b(), 80});
  (void)exchange("second");
  const auto s = syns();
  ASSERT_EQ(s.size(), 1U);
  EXPECT_EQ(s[0].payload, 6U);
  const auto sa = syn_ack();
  ASSERT_TRUE(sa);
  EXPECT_EQ(sa->h.ack, s[0].h.seq + 1);
  EXPECT_FALSE(sa->h.options.fast_open);
  EXPECT_EQ(received, "second");
}

TEST_F(FastOpen, SynSent_SynWithDataTimesOut_RetriesPlainAndMarksHostile) {
  (void)exchange("first");
  // RFC 7413 §7.1: a path that drops every SYN carrying data or the Fast Open option.
  drop = [](bool to_b, const wire::TcpHeader& h, std::size_t payload) {
    return to_b && h.flags.syn() && (payload > 0 || h.options.fast_open.has_value());
  };
  const Instant start = pair.now();
  (void)exchange("second");
  EXPECT_EQ(received, "second");
  EXPECT_LT(pair.now() - start, 2s);  // one SYN timeout (1 s), then a plain handshake
  auto s = syns();
  ASSERT_EQ(s.size(), 2U);
  EXPECT_EQ(s[1].payload, 0U);
  EXPECT_FALSE(s[1].h.options.fast_open);
  EXPECT_TRUE(a.info(client)->fast_open.fell_back);
  EXPECT_TRUE(a.fast_open_cache().hostile(pair.now(), addr_b()));
  // The next attempt goes straight to a plain handshake.
  const Instant again = pair.now();
  (void)exchange("third");
  s = syns();
  ASSERT_EQ(s.size(), 1U);
  EXPECT_FALSE(s[0].h.options.fast_open);
  EXPECT_EQ(s[0].payload, 0U);
  EXPECT_LT(pair.now() - again, 500ms);
}

TEST_F(FastOpen, SynSent_CachedMss_BoundsTheDataInTheSyn) {
  (void)exchange("first");
  a.fast_open_cache().store(addr_b(), *a.fast_open_cache().find(addr_b())->cookie, 100);
  const std::string big(3000, 'x');
  (void)exchange(big);
  const auto s = syns();
  ASSERT_EQ(s.size(), 1U);
  EXPECT_EQ(s[0].payload, 100U - wire::kMaxOptionBytes);
  EXPECT_EQ(received, big);
}

TEST_F(FastOpen, Listen_RekeyedSecret_PreviousCookieAcceptedForGrace) {
  (void)exchange("first");
  b.rekey_fast_open(pair.now(), key(9));
  (void)exchange("second");
  auto s = syns();
  auto sa = syn_ack();
  ASSERT_TRUE(sa && s.size() == 1U);
  EXPECT_EQ(sa->h.ack, s[0].h.seq + 1 + 6);  // the old cookie still checks within the grace period
  pair.run_for(tcp::FastOpenKeys::kGrace);
  (void)exchange("third");
  s = syns();
  sa = syn_ack();
  ASSERT_TRUE(sa && s.size() == 1U);
  EXPECT_EQ(sa->h.ack, s[0].h.seq + 1);  // after it, no longer
  ASSERT_TRUE(sa->h.options.fast_open);  // and a cookie under the new secret comes back
}

}  // namespace
}  // namespace synack::stack::testing
