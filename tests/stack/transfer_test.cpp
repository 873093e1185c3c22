// 10 MB each way between two Stacks under seeded loss 0..30 %, verified by length and checksum.
#include <chrono>
#include <cstdio>
#include <string>

#include "pair.hpp"

namespace synack::stack::testing {
namespace {

constexpr std::size_t kBytes = 10 * 1024 * 1024;

std::byte pattern(std::uint64_t i, unsigned salt) {
  std::uint64_t x = i * 0x9E3779B97F4A7C15ULL + salt;
  x ^= x >> 29U;
  return static_cast<std::byte>(x & 0xFFU);
}

struct Stream {
  std::uint64_t sent = 0;
  std::uint64_t received = 0;
  std::uint64_t hash_sent = 0xCBF29CE484222325ULL;
  std::uint64_t hash_received = 0xCBF29CE484222325ULL;
  bool shut = false;
  bool eof = false;
};

void fnv(std::uint64_t& h, std::byte b) {
  h ^= static_cast<std::uint64_t>(b);
  h *= 0x100000001B3ULL;
}

void pump(Instant now, Stack& s, ConnectionId id, Stream& out, Stream& in, unsigned salt_out,
          unsigned salt_in) {
  std::array<std::byte, 16384> buf{};
  while (out.sent < kBytes) {
    const std::size_t n = std::min<std::size_t>(buf.size(), kBytes - out.sent);
    for (std::size_t i = 0; i < n; ++i) buf[i] = pattern(out.sent + i, salt_out);
    const auto r = s.send(id, wire::Bytes(buf.data(), n));
    if (!r || *r == 0) break;
    for (std::size_t i = 0; i < *r; ++i) fnv(out.hash_sent, buf[i]);
    out.sent += *r;
  }
  if (out.sent == kBytes && !out.shut) {
    EXPECT_FALSE(s.shutdown_write(now, id));
    out.shut = true;
  }
  while (true) {
    const auto r = s.recv(id, buf);
    if (!r) break;
    if (*r == 0) {
      in.eof = true;
      break;
    }
    for (std::size_t i = 0; i < *r; ++i) {
      EXPECT_EQ(buf[i], pattern(in.received + i, salt_in)) << "at byte " << in.received + i;
      fnv(in.hash_received, buf[i]);
    }
    in.received += *r;
  }
}

class Transfer : public ::testing::TestWithParam<int> {};

TEST_P(Transfer, TenMegabytesEachWayIntact) {
  const double loss = GetParam() / 100.0;
  Stack a{config_for(addr_a()), key(1), 1};
  Stack b{config_for(addr_b()), key(2), 2};
  Pair pair{a, b, loss, std::uint64_t{0xC0FFEEU} + static_cast<unsigned>(GetParam())};
  const auto l = b.listen({addr_b(), 80});
  const auto c = a.connect(pair.now(), {addr_a(), 0}, {addr_b(), 80});
  ASSERT_TRUE(l && c);
  std::optional<ConnectionId> s;
  Stream a_to_b;
  Stream b_to_a;
  const auto wall0 = std::chrono::steady_clock::now();
  const Instant t0 = pair.now();
  const bool done = pair.run_until(
      [&] {
        (void)events_of(a);
        (void)events_of(b);
        if (!s) {
          if (auto acc = b.accept(*l)) s = *acc;
        }
        pump(pair.now(), a, *c, a_to_b, b_to_a, 1, 2);
        if (s) pump(pair.now(), b, *s, b_to_a, a_to_b, 2, 1);
        pair.flush();
        return a_to_b.eof && b_to_a.eof;
      },
      100000s);
  const auto wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();
  ASSERT_TRUE(done) << "a->b " << a_to_b.received << " b->a " << b_to_a.received << " virtual "
                    << static_cast<double>((pair.now() - t0).count()) / 1e9 << " a "
                    << tcp::to_string(a.info(*c)->state) << " b "
                    << (s && b.info(*s) ? tcp::to_string(b.info(*s)->state) : "-") << " a.err "
                    << a.info(*c)->error.message() << " a.next " << (a.next_deadline() - pair.now()).count();
  EXPECT_EQ(a_to_b.received, kBytes);
  EXPECT_EQ(b_to_a.received, kBytes);
  EXPECT_EQ(a_to_b.hash_received, a_to_b.hash_sent);
  EXPECT_EQ(b_to_a.hash_received, b_to_a.hash_sent);
  const auto ia = a.info(*c);
  RecordProperty("virtual_seconds", std::to_string((pair.now() - t0).count() / 1'000'000'000));
  RecordProperty("wall_seconds", std::to_string(wall));
  std::printf(
      "[ loss %2d%% ] virtual %.1f s, wall %.3f s, datagrams %llu (lost %llu), a: retransmits %u, fast "
      "retransmits %u, timeouts %u, cwnd %u\n",
      GetParam(), static_cast<double>((pair.now() - t0).count()) / 1e9, wall,
      static_cast<unsigned long long>(pair.sent()), static_cast<unsigned long long>(pair.lost()),
      ia ? ia->data_retransmits : 0U, ia ? ia->fast_retransmits : 0U, ia ? ia->timeouts : 0U,
      ia ? ia->cwnd : 0U);
}

INSTANTIATE_TEST_SUITE_P(Loss, Transfer, ::testing::Values(0, 10, 20, 30),
                         [](const ::testing::TestParamInfo<int>& i) {
                           return "Percent" + std::to_string(i.param);
                         });

}  // namespace
}  // namespace synack::stack::testing

namespace synack::stack::testing {
namespace {

// Many connections at once: flow-table growth, slot reuse, the accept queue, and every byte delivered.
TEST(Scale, FiveHundredConnectionsEchoAndClose) {
  StackConfig cb = config_for(addr_b());
  cb.tcp.syn_queue_capacity = 1024;
  cb.tcp.send_buffer = cb.tcp.recv_buffer = 16 * 1024;
  StackConfig ca = config_for(addr_a());
  ca.tcp.send_buffer = ca.tcp.recv_buffer = 16 * 1024;
  Stack a{ca, key(1), 1};
  Stack b{cb, key(2), 2};
  Pair pair{a, b, 0.02, 77};
  const auto l = b.listen({addr_b(), 80}, 1024);
  constexpr int kConnections = 500;
  std::vector<ConnectionId> clients;
  for (int i = 0; i < kConnections; ++i)
    clients.push_back(*a.connect(pair.now(), {addr_a(), 0}, {addr_b(), 80}));
  std::vector<ConnectionId> servers;
  std::vector<std::size_t> echoed(kConnections, 0);
  std::vector<bool> sent(kConnections, false);
  std::size_t done = 0;
  const std::vector<std::byte> msg(1000, std::byte{0x42});
  const bool ok = pair.run_until(
      [&] {
        while (auto s = b.accept(*l)) servers.push_back(*s);
        std::array<std::byte, 2048> buf{};
        for (const ConnectionId s : servers) {
          // echo server: send back what arrives, close on EOF
          while (auto n = b.recv(s, buf)) {
            if (*n == 0) {
              (void)b.close(pair.now(), s);
              break;
            }
            (void)b.send(s, wire::Bytes(buf.data(), *n));
          }
        }
        done = 0;
        for (int i = 0; i < kConnections; ++i) {
          const auto st = a.info(clients[static_cast<std::size_t>(i)]);
          if (!st) {
            ++done;
            continue;
          }
          if (st->state == tcp::State::established && !sent[static_cast<std::size_t>(i)]) {
            sent[static_cast<std::size_t>(i)] =
                a.send(clients[static_cast<std::size_t>(i)], msg).value_or(0) == msg.size();
          }
          while (auto n = a.recv(clients[static_cast<std::size_t>(i)], buf)) {
            if (*n == 0) break;
            echoed[static_cast<std::size_t>(i)] += *n;
          }
          if (echoed[static_cast<std::size_t>(i)] == msg.size() && st->state == tcp::State::established) {
            (void)a.close(pair.now(), clients[static_cast<std::size_t>(i)]);
          }
        }
        return done == kConnections && b.connection_count() == 0;
      },
      3000s);
  EXPECT_TRUE(ok) << "done " << done << " server connections " << b.connection_count();
  for (int i = 0; i < kConnections; ++i) EXPECT_EQ(echoed[static_cast<std::size_t>(i)], msg.size()) << i;
  EXPECT_EQ(servers.size(), static_cast<std::size_t>(kConnections));
  // The clients closed first: their ids went stale as they became TIME-WAIT records, which end 2 MSL
  // later.
  EXPECT_EQ(a.connection_count(), a.time_wait_count());
  pair.run_for(61s);
  EXPECT_EQ(a.connection_count(), 0U);
  EXPECT_EQ(a.time_wait_count(), 0U);
}

}  // namespace
}  // namespace synack::stack::testing
