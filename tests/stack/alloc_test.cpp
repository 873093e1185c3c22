// No heap allocation per segment on the handshake path: a counting global operator new watches SYNs to a
// listener, SYN-ACKs, RSTs to closed ports, forwarder offers and TIME-WAIT. Memory grows with use (the
// SYN queue's storage, the flow table, the event ring), so each test first runs the same load once with
// other tuples: after that peak, the same load must not allocate at all.
#include <atomic>
#include <cstdlib>
#include <new>

#include "pair.hpp"

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"  // malloc/free pairs are matched by design
#endif

namespace {
std::atomic<bool> g_counting{false};
std::atomic<std::size_t> g_allocations{0};
std::atomic<std::size_t> g_pool_sized{0};  ///< of a connection block (256 B) or a buffer chunk (> 512 B)
}  // namespace

void* operator new(std::size_t size) {
  if (g_counting.load(std::memory_order_relaxed)) {
    g_allocations.fetch_add(1, std::memory_order_relaxed);
    if (size == synack::tcp::BufferPool::kBlockSize || size > 512)
      g_pool_sized.fetch_add(1, std::memory_order_relaxed);
  }
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t size) {
  return ::operator new(size);
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete[](void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::size_t) noexcept {
  std::free(p);
}

namespace synack::stack::testing {
namespace {

std::vector<std::byte> syn_datagram(std::uint16_t port, wire::IpAddress dst, std::uint16_t dport,
                                    std::uint32_t src = 0x0A000001U) {
  wire::TcpHeader h;
  h.src_port = port;
  h.dst_port = dport;
  h.seq = wire::SeqNum{1000U + port};
  h.flags = wire::TcpFlags(wire::TcpFlags::kSyn);
  h.window = 65535;
  h.options.mss = 1460;
  h.options.wscale = 7;
  h.options.sack_permitted = true;
  h.options.timestamps = wire::Timestamps{1, 0};
  std::vector<std::byte> buf(128);
  buf.resize(*wire::emit_tcp_packet(wire::IpAddress::v4(src), dst, h, {}, buf));
  return buf;
}

TEST(HandshakePath, NoHeapAllocationPerSyn) {
  StackConfig cfg = config_for(addr_b());
  cfg.tcp.syn_queue_capacity = 512;
  Stack s{cfg, key(1), 1};
  ASSERT_TRUE(s.listen({addr_b(), 80}, 16));
  std::vector<std::vector<std::byte>> syns;
  std::vector<std::vector<std::byte>> warm;
  for (std::uint16_t p = 1; p <= 300; ++p) {
    syns.push_back(syn_datagram(p, addr_b(), p % 2 == 0 ? 80 : 81));
    warm.push_back(syn_datagram(p, addr_b(), p % 2 == 0 ? 80 : 81, 0x0A000009U));
  }
  std::array<std::byte, 2048> out{};
  Instant now = Instant::from_nanoseconds(1);
  // Warm up to the same peak with other tuples, then let those half-open entries time out (63 s).
  for (const auto& d : warm) {
    s.on_packet(now, d);
    while (s.poll_transmit(now, out)) {
    }
  }
  for (int i = 0; i < 7; ++i) {
    now += std::chrono::seconds(32);
    s.on_timeout(now);
    while (s.poll_transmit(now, out)) {
    }
  }
  ASSERT_EQ(s.listener(ListenerId{0})->syn_queue_size(), 0U);
  s.on_packet(now, syns[0]);
  while (s.poll_transmit(now, out)) {
  }
  g_allocations = 0;
  g_counting = true;
  for (std::size_t i = 1; i < syns.size(); ++i) {
    s.on_packet(now, syns[i]);  // half to the listener (SYN-ACK), half to a closed port (RST)
    while (s.poll_transmit(now, out)) {
    }
  }
  now += std::chrono::seconds(1);
  s.on_timeout(now);  // SYN-ACK retransmissions
  while (s.poll_transmit(now, out)) {
  }
  g_counting = false;
  EXPECT_EQ(g_allocations.load(), 0U);
  EXPECT_EQ(s.listener(ListenerId{0})->syn_queue_size(), 150U);
  EXPECT_EQ(s.stats().resets_sent, 300U);  // 150 in the warm-up, 150 counted
}

// RFC 4987 §3.6: a cookie SYN-ACK creates no state, so it allocates nothing either — not even on the
// first SYN (no warm-up: there is no SYN-queue storage or flow entry to grow).
TEST(HandshakePath, CookieSynAllocatesNothing) {
  StackConfig cfg = config_for(addr_b());
  cfg.tcp.syn_cookies = tcp::SynCookieMode::always;
  Stack s{cfg, key(1), 1};
  const auto l = s.listen({addr_b(), 80}, 16);
  ASSERT_TRUE(l);
  std::vector<std::vector<std::byte>> syns;
  for (std::uint16_t p = 1; p <= 300; ++p) syns.push_back(syn_datagram(p, addr_b(), 80));
  std::array<std::byte, 2048> out{};
  const Instant now = Instant::from_nanoseconds(1);
  std::size_t synacks = 0;
  g_allocations = 0;
  g_counting = true;
  for (const auto& d : syns) {
    s.on_packet(now, d);
    while (s.poll_transmit(now, out)) ++synacks;
  }
  g_counting = false;
  EXPECT_EQ(g_allocations.load(), 0U);
  EXPECT_EQ(synacks, 300U);
  EXPECT_EQ(s.stats().syncookies_sent, 300U);
  EXPECT_EQ(s.listener(*l)->syn_queue_slots(), 0U);
}

TEST(HandshakePath, NoHeapAllocationPerForwarderOfferOrDecision) {
  Stack s{StackConfig{}, key(1), 1};
  s.set_forwarder(ForwarderConfig{});
  std::vector<std::vector<std::byte>> syns;
  std::vector<std::vector<std::byte>> warm;
  for (std::uint16_t p = 1; p <= 200; ++p) {
    syns.push_back(syn_datagram(p, addr_b(), 443));
    warm.push_back(syn_datagram(p, addr_b(), 443, 0x0A000009U));
  }
  std::array<std::byte, 2048> out{};
  Instant now = Instant::from_nanoseconds(1);
  std::vector<Event> events;
  events.reserve(1000);
  // Warm up to the same peak with other tuples: offers, accepted half-open entries, then their expiry.
  for (const auto& d : warm) s.on_packet(now, d);
  while (auto e = s.poll_event()) events.push_back(*e);
  for (const Event& e : events) (void)s.decide(now, e.offer, Verdict::accept);
  while (s.poll_transmit(now, out)) {
  }
  events.clear();
  for (int i = 0; i < 7; ++i) {
    now += std::chrono::seconds(32);
    s.on_timeout(now);
    while (s.poll_transmit(now, out)) {
    }
  }
  // Each accepted offer whose SYN-ACK went unanswered is reported once.
  std::size_t expired = 0;
  while (auto e = s.poll_event()) expired += e->kind == EventKind::half_open_expired ? 1U : 0U;
  EXPECT_EQ(expired, 200U);
  s.on_packet(now, syns[0]);
  (void)s.poll_event();
  g_allocations = 0;
  g_counting = true;
  for (std::size_t i = 1; i < syns.size(); ++i) s.on_packet(now, syns[i]);
  g_counting = false;
  while (auto e = s.poll_event()) events.push_back(*e);
  EXPECT_EQ(events.size(), 199U);
  EXPECT_EQ(g_allocations.load(), 0U);
  g_allocations = 0;
  g_counting = true;
  for (const Event& e : events) (void)s.decide(now, e.offer, Verdict::accept);
  while (s.poll_transmit(now, out)) {
  }
  g_counting = false;
  EXPECT_EQ(g_allocations.load(), 0U);
}

/// Delivers everything each stack sends to the other at once, through fixed buffers (no allocation).
void relay(Stack& a, Stack& b, Instant now) {
  std::array<std::byte, 2048> out{};
  for (bool moved = true; moved;) {
    moved = false;
    while (auto n = a.poll_transmit(now, out)) {
      b.on_packet(now, wire::Bytes(out.data(), *n));
      moved = true;
    }
    while (auto n = b.poll_transmit(now, out)) {
      a.on_packet(now, wire::Bytes(out.data(), *n));
      moved = true;
    }
  }
}

/// One connection's life: connect, accept, a little data each way, then RST from the client.
void one_connection(Stack& a, Stack& b, ListenerId l, Instant now, std::uint16_t port) {
  const auto c = a.connect(now, {addr_a(), port}, {addr_b(), 80});
  ASSERT_TRUE(c);
  relay(a, b, now);
  const auto s = b.accept(l);
  ASSERT_TRUE(s);
  std::array<std::byte, 100> msg{};
  ASSERT_EQ(a.send(*c, msg).value(), msg.size());
  relay(a, b, now);
  ASSERT_EQ(b.recv(*s, msg).value(), msg.size());
  ASSERT_EQ(b.send(*s, msg).value(), msg.size());
  relay(a, b, now);
  ASSERT_EQ(a.recv(*c, msg).value(), msg.size());
  ASSERT_FALSE(a.abort(now, *c));
  relay(a, b, now);
  ASSERT_FALSE(b.close(now, *s));
  relay(a, b, now);
  while (a.poll_event()) {
  }
  while (b.poll_event()) {
  }
}

// A connection's creation takes its control extension and buffer chunks from the stack's pool: once the
// pool is warm, a whole connection (handshake, data both ways, RST) allocates nothing per connection.
TEST(ConnectionPath, NoHeapAllocationPerConnectionOnceWarm) {
  Stack a{config_for(addr_a()), key(1), 1};
  Stack b{config_for(addr_b()), key(2), 2};
  const auto l = b.listen({addr_b(), 80}, 16);
  ASSERT_TRUE(l);
  const Instant now = Instant::from_nanoseconds(1);
  for (std::uint16_t p = 0; p < 64; ++p) one_connection(a, b, *l, now, static_cast<std::uint16_t>(40000 + p));
  g_allocations = 0;
  g_pool_sized = 0;
  g_counting = true;
  for (std::uint16_t p = 64; p < 264; ++p)
    one_connection(a, b, *l, now, static_cast<std::uint16_t>(40000 + p));
  g_counting = false;
  EXPECT_EQ(g_pool_sized.load(), 0U);  // no control block, no chunk: all from the warm pool
  // Nothing else either: the event and ready queues are rings that keep their peak size. Before the
  // pool, each connection allocated its 512-byte Buffers and two zeroed 256 KiB buffers.
  EXPECT_EQ(g_allocations.load(), 0U);
  EXPECT_EQ(a.buffer_pool().chunks_in_use(), 0U);
  EXPECT_EQ(b.buffer_pool().chunks_in_use(), 0U);
}

// A burst of connects (Stack::connect over a span) allocates nothing once warm: the requests and results
// are the caller's, the hashes the stack's own stack frame.
TEST(ConnectionPath, ConnectBurstAllocatesNothingOnceWarm) {
  Stack a{config_for(addr_a()), key(1), 1};
  Stack b{config_for(addr_b()), key(2), 2};
  const auto l = b.listen({addr_b(), 80}, 64);
  ASSERT_TRUE(l);
  const Instant now = Instant::from_nanoseconds(1);
  constexpr std::size_t kBurst = 40;  // more than the 16 hashed ahead at once
  std::array<ConnectRequest, kBurst> requests{};
  std::array<std::expected<ConnectionId, std::error_code>, kBurst> results{};
  const auto burst = [&](std::uint16_t first_port) {
    for (std::size_t i = 0; i < kBurst; ++i)
      requests[i] = {{addr_a(), static_cast<std::uint16_t>(first_port + i)}, {addr_b(), 80}, {}};
    ASSERT_EQ(a.connect(now, requests, results), kBurst);
    for (const auto& r : results) ASSERT_TRUE(r);
    relay(a, b, now);
    while (b.accept(*l)) {
    }
    for (const auto& r : results) ASSERT_FALSE(a.abort(now, *r));
    relay(a, b, now);
    while (auto e = b.poll_event()) (void)b.close(now, e->connection);
    relay(a, b, now);
    while (a.poll_event()) {
    }
  };
  burst(40000);  // warms the pool, the rings and the flow table
  g_allocations = 0;
  g_counting = true;
  for (std::uint16_t round = 1; round < 6; ++round) burst(static_cast<std::uint16_t>(40000 + round * kBurst));
  g_counting = false;
  EXPECT_EQ(g_allocations.load(), 0U);
  EXPECT_EQ(a.connection_count(), 0U);
  EXPECT_EQ(b.connection_count(), 0U);
}

/// The server closes first, the client answers: the server's connection becomes a TIME-WAIT record.
void server_closes_first(Stack& a, Stack& b, ListenerId l, Instant now, std::uint16_t port) {
  const auto c = a.connect(now, {addr_a(), port}, {addr_b(), 80});
  ASSERT_TRUE(c);
  relay(a, b, now);
  const auto s = b.accept(l);
  ASSERT_TRUE(s);
  ASSERT_FALSE(b.close(now, *s));
  relay(a, b, now);
  ASSERT_FALSE(a.close(now, *c));
  relay(a, b, now);
  while (a.poll_event()) {
  }
  while (b.poll_event()) {
  }
}

// A connection becoming a TIME-WAIT record, and the record expiring, allocate nothing once the record
// table has reached its peak.
TEST(TimeWaitPath, NoHeapAllocationPerTimeWaitTransition) {
  Stack a{config_for(addr_a()), key(1), 1};
  Stack b{config_for(addr_b()), key(2), 2};
  const auto l = b.listen({addr_b(), 80}, 16);
  ASSERT_TRUE(l);
  Instant now = Instant::from_nanoseconds(1);
  for (std::uint16_t p = 0; p < 100; ++p)
    server_closes_first(a, b, *l, now, static_cast<std::uint16_t>(40000 + p));
  ASSERT_EQ(b.time_wait_count(), 100U);
  now += std::chrono::seconds(61);
  b.on_timeout(now);
  ASSERT_EQ(b.time_wait_count(), 0U);
  g_allocations = 0;
  g_counting = true;
  for (std::uint16_t p = 100; p < 200; ++p)
    server_closes_first(a, b, *l, now, static_cast<std::uint16_t>(40000 + p));
  now += std::chrono::seconds(61);
  b.on_timeout(now);
  g_counting = false;
  EXPECT_EQ(b.time_wait_count(), 0U);
  EXPECT_EQ(g_allocations.load(), 0U);
}

}  // namespace
}  // namespace synack::stack::testing
