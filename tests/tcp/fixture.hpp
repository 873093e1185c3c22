// Per-state fixtures for the connection engine: a virtual clock, segment builders for the peer, and
// helpers that put a Connection into each RFC 9293 state.
#pragma once

#include <cstddef>
#include <optional>
#include <vector>

#include <gtest/gtest.h>

#include "synack/tcp/config.hpp"
#include "synack/tcp/connection.hpp"
#include "synack/tcp/options.hpp"
#include "synack/time.hpp"
#include "synack/wire/ip_address.hpp"
#include "synack/wire/tcp.hpp"

namespace synack::tcp::testing {

using namespace std::chrono_literals;
using wire::SeqNum;
using wire::TcpFlags;

inline constexpr std::uint16_t F = TcpFlags::kFin;
inline constexpr std::uint16_t S = TcpFlags::kSyn;
inline constexpr std::uint16_t R = TcpFlags::kRst;
inline constexpr std::uint16_t P = TcpFlags::kPsh;
inline constexpr std::uint16_t A = TcpFlags::kAck;

struct Sent {
  wire::TcpHeader h;
  std::vector<std::byte> payload;
};

inline std::vector<std::byte> bytes_of(std::size_t n, unsigned seed = 0) {
  std::vector<std::byte> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<std::byte>((i * 31U + seed) & 0xFFU);
  return v;
}

inline wire::FourTuple test_tuple() {
  return {{wire::IpAddress::v4(0x0A000001U), 40000}, {wire::IpAddress::v4(0x0A000002U), 80}};
}

/// The peer's SYN options as a modern Linux sends them.
inline wire::TcpOptions peer_syn_options(std::uint32_t tsval = 777) {
  wire::TcpOptions o;
  o.mss = 1460;
  o.wscale = 7;
  o.sack_permitted = true;
  o.timestamps = wire::Timestamps{tsval, 0};
  return o;
}

class EngineTest : public ::testing::Test {
 protected:
  Config config;
  Instant now = Instant::from_nanoseconds(1'000'000'000);
  wire::FourTuple tuple = test_tuple();
  SeqNum iss{1000};
  SeqNum peer_iss{5000};
  std::optional<Connection> conn;
  std::uint32_t peer_tsval = 777;
  bool peer_timestamps = true;

  void advance(Duration d) {
    now += d;
    if (conn && conn->next_deadline() <= now) conn->on_timeout(now);
  }
  /// Moves to `t`, firing every timer due on the way, in order.
  void run_until(Instant t) {
    while (conn && conn->next_deadline() <= t) {
      now = conn->next_deadline();
      conn->on_timeout(now);
    }
    now = t;
  }

  /// A segment from the peer. Timestamps are added when the peer uses them.
  wire::TcpHeader seg(std::uint16_t flags, SeqNum seq, SeqNum ack, std::uint16_t window = 1024) {
    wire::TcpHeader h;
    h.src_port = tuple.remote.port;
    h.dst_port = tuple.local.port;
    h.seq = seq;
    h.ack = (flags & A) != 0 ? ack : SeqNum{0};
    h.flags = TcpFlags(flags);
    h.window = window;
    if (peer_timestamps) h.options.timestamps = wire::Timestamps{++peer_tsval, 0};
    return h;
  }
  void deliver(const wire::TcpHeader& h, wire::Bytes payload = {}) { conn->on_segment(now, h, payload); }
  void deliver(const wire::TcpHeader& h, const std::vector<std::byte>& payload) {
    conn->on_segment(now, h, wire::Bytes(payload));
  }

  std::vector<Sent> drain() {
    std::vector<Sent> out;
    while (auto o = conn->poll_transmit(now)) {
      out.push_back(
          Sent{o->header.to_header(), std::vector<std::byte>(o->payload.begin(), o->payload.end())});
      if (out.size() > 10000) break;
    }
    EXPECT_FALSE(conn->wants_transmit());  // the stack schedules output by it
    return out;
  }
  Sent expect_one() {
    auto v = drain();
    EXPECT_EQ(v.size(), 1U);
    if (v.empty()) return {};
    return v.front();
  }
  void expect_none() { EXPECT_TRUE(drain().empty()); }

  // --- state fixtures -------------------------------------------------------------------------------
  void closed_to_syn_sent() {
    conn = Connection::open_active(config, tuple, make_offer(config, wire::IpVersion::v4), iss, 0, now);
    auto syn = expect_one();
    ASSERT_EQ(syn.h.flags, TcpFlags(S));
    ASSERT_EQ(conn->state(), State::syn_sent);
  }
  /// SYN-SENT, then the peer's SYN-ACK with `options` (Linux-like by default); drains our ACK.
  void established(std::optional<wire::TcpOptions> options = std::nullopt, std::uint16_t window = 1024) {
    closed_to_syn_sent();
    now += 10ms;
    auto h = seg(S | A, peer_iss, iss + 1, window);
    h.options = options.value_or(peer_syn_options(peer_tsval));
    peer_timestamps = h.options.timestamps.has_value();
    deliver(h);
    auto ack = expect_one();
    ASSERT_EQ(ack.h.flags, TcpFlags(A));
    ASSERT_EQ(conn->state(), State::established);
    // A first ACK from the peer: its window is now scaled (RFC 7323 §2.2).
    deliver(seg(A, peer_next(), our_next(), window));
    expect_none();
    (void)conn->take_events();
  }
  SeqNum our_next() const { return conn->snd_nxt(); }
  SeqNum peer_next() const { return conn->rcv_nxt(); }
  /// Peer ACKs everything we sent.
  void peer_acks_all(std::uint16_t window = 1024) { deliver(seg(A, peer_next(), our_next(), window)); }
  void fin_wait_1() {
    established();
    ASSERT_FALSE(conn->shutdown_write());
    auto fin = expect_one();
    ASSERT_TRUE(fin.h.flags.fin());
    ASSERT_EQ(conn->state(), State::fin_wait_1);
  }
  void fin_wait_2() {
    fin_wait_1();
    peer_acks_all();
    ASSERT_EQ(conn->state(), State::fin_wait_2);
    expect_none();
  }
  void close_wait() {
    established();
    deliver(seg(F | A, peer_next(), our_next()));
    (void)expect_one();
    ASSERT_EQ(conn->state(), State::close_wait);
    (void)conn->take_events();
  }
  void time_wait() {
    fin_wait_2();
    deliver(seg(F | A, peer_next(), our_next()));
    (void)expect_one();
    ASSERT_EQ(conn->state(), State::time_wait);
  }
};

}  // namespace synack::tcp::testing
