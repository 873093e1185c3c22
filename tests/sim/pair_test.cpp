// sim::StackPair, the one two-stack harness: its loop (arrivals, timers, transmissions, events at one
// instant), its hooks, a side without a stack, and a caller's own network through deliver().
#include "synack/sim/pair.hpp"

#include <array>
#include <cstddef>
#include <vector>

#include <gtest/gtest.h>

#include "synack/wire/packet.hpp"

namespace synack::sim {
namespace {

using namespace std::chrono_literals;

stack::StackConfig host(std::uint32_t address) {
  stack::StackConfig c;
  c.addresses = {wire::IpAddress::v4(address)};
  return c;
}

constexpr std::uint32_t kA = 0xC0000202U;  // 192.0.2.2
constexpr std::uint32_t kB = 0xC0000201U;  // 192.0.2.1

struct Fixture : ::testing::Test {
  Impairments path() {
    Impairments i;
    i.delay = 10ms;
    return i;
  }
  stack::Stack a{host(kA), std::array<std::byte, 16>{std::byte{1}}, 1};
  stack::Stack b{host(kB), std::array<std::byte, 16>{std::byte{2}}, 2};
  Link ab{path(), 1, 1};
  Link ba{path(), 1, 2};
  wire::Endpoint server{wire::IpAddress::v4(kB), 80};
};

using StackPairTest = Fixture;

TEST_F(StackPairTest, Handshake_HooksSeeEverySegmentAndEvent) {
  StackPair pair(&a, &b, ab, ba);
  ASSERT_TRUE(b.listen(server));
  std::vector<Side> sent;
  std::vector<Side> arrived;
  bool client_established = false;
  bool server_acceptable = false;
  pair.hooks.after_send = [&](Side from, wire::Bytes, const SendOutcome& o) {
    EXPECT_EQ(o.fate, Fate::delivered);
    sent.push_back(from);
  };
  pair.hooks.after_delivery = [&](Side to, wire::Bytes) { arrived.push_back(to); };
  pair.hooks.on_event = [&](Side side, const stack::Event& e) {
    if (side == Side::a && e.kind == stack::EventKind::established) client_established = true;
    if (side == Side::b && e.kind == stack::EventKind::acceptable) server_acceptable = true;
  };
  const Instant t0 = pair.now();
  ASSERT_TRUE(a.connect(pair.now(), {wire::IpAddress::v4(kA), 0}, server));
  EXPECT_TRUE(pair.run_until([&] { return client_established && server_acceptable; }));
  // SYN, SYN-ACK, ACK: one round trip for the client, one and a half for the server.
  EXPECT_EQ(sent, (std::vector<Side>{Side::a, Side::b, Side::a}));
  EXPECT_EQ(arrived, (std::vector<Side>{Side::b, Side::a, Side::b}));
  EXPECT_EQ(pair.now() - t0, 30ms);
  EXPECT_EQ(pair.stats().transmitted, 3U);
  EXPECT_EQ(pair.stats().delivered, 3U);
}

TEST_F(StackPairTest, BeforeSendFalse_DatagramWithheldAndSynRetransmitted) {
  StackPair pair(&a, &b, ab, ba);
  ASSERT_TRUE(b.listen(server));
  pair.hooks.before_send = [](Side, std::span<std::byte>) { return false; };
  ASSERT_TRUE(a.connect(pair.now(), {wire::IpAddress::v4(kA), 0}, server));
  pair.run_for(1500ms);  // the SYN and its first retransmission (RTO 1 s, RFC 6298 §2.1)
  EXPECT_EQ(pair.stats().transmitted, 2U);
  EXPECT_EQ(pair.stats().withheld, 2U);
  EXPECT_EQ(ab.stats().sent, 0U);
  EXPECT_EQ(pair.stats().timeouts, 1U);
}

TEST_F(StackPairTest, BeforeSend_RewritesInPlace) {
  StackPair pair(&a, &b, ab, ba);
  ASSERT_TRUE(b.listen(server));
  pair.hooks.before_send = [](Side from, std::span<std::byte> d) {
    if (from == Side::a) mark_ce(d);
    return true;
  };
  std::vector<std::uint8_t> seen;
  pair.hooks.after_delivery = [&](Side to, wire::Bytes d) {
    if (to == Side::b) seen.push_back(ecn_field(d));
  };
  ASSERT_TRUE(a.connect(pair.now(), {wire::IpAddress::v4(kA), 0}, server));
  pair.run_for(100ms);
  ASSERT_FALSE(seen.empty());
  for (const std::uint8_t ecn : seen) EXPECT_EQ(ecn, 0b11);
}

TEST_F(StackPairTest, DeadSide_ArrivalsDiscarded) {
  StackPair pair(&a, nullptr, ab, ba);
  ASSERT_TRUE(a.connect(pair.now(), {wire::IpAddress::v4(kA), 0}, server));
  pair.run_for(100ms);
  EXPECT_EQ(pair.stats().discarded, 1U);  // the SYN, to nobody
  EXPECT_EQ(pair.stats().delivered, 0U);
  EXPECT_EQ(pair.stack(Side::b), nullptr);
}

TEST_F(StackPairTest, Step_NothingDue_ReturnsFalseAndKeepsTime) {
  StackPair pair(&a, &b, ab, ba);
  const Instant t0 = pair.now();
  EXPECT_EQ(pair.next_wakeup(), Instant::max());
  EXPECT_FALSE(pair.step());
  EXPECT_EQ(pair.now(), t0);
  pair.run_for(5s);
  EXPECT_EQ(pair.now(), t0 + 5s);
}

TEST_F(StackPairTest, Deliver_CallersOwnNetwork) {
  StackPair pair(&a, &b, ab, ba);
  ASSERT_TRUE(b.listen(server));
  std::vector<std::vector<std::byte>> held;
  pair.hooks.before_send = [&](Side, std::span<std::byte> d) {
    held.emplace_back(d.begin(), d.end());
    return false;
  };
  ASSERT_TRUE(a.connect(pair.now(), {wire::IpAddress::v4(kA), 0}, server));
  pair.transmit();
  ASSERT_EQ(held.size(), 1U);  // the SYN
  const std::vector<std::byte> syn = held.front();
  held.clear();
  pair.deliver(Side::b, syn);
  pair.transmit();
  ASSERT_EQ(held.size(), 1U);  // the SYN-ACK
  const auto view = wire::TcpPacketView::parse(held.front());
  ASSERT_TRUE(view);
  EXPECT_TRUE(view->tcp().flags().syn() && view->tcp().flags().ack());
}

}  // namespace
}  // namespace synack::sim
