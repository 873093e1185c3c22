// ECN through two Stacks (RFC 3168): the IP ECN field the Stack writes and reads, a router's CE marks
// answered by a congestion response instead of a loss.
#include <cstdint>
#include <vector>

#include "pair.hpp"
#include "synack/sim/link.hpp"
#include "synack/tcp/congestion.hpp"

namespace synack::stack::testing {
namespace {

constexpr std::uint8_t kEct0 = 0b10;

using sim::ecn_field;  // the IP ECN field (RFC 3168 §5)
using sim::mark_ce;    // a router's CE mark, the IPv4 header checksum mended

struct Tally {
  std::uint64_t data = 0;       ///< a -> b datagrams with payload
  std::uint64_t data_ect0 = 0;  ///< of those, ECT(0)
  std::uint64_t marked = 0;     ///< CE set by the "router"
  std::uint64_t other_ect = 0;  ///< any other datagram (SYN, ACK, b's) with an ECT codepoint
  std::uint64_t ece_acks = 0;   ///< b -> a segments with ECE
  std::uint64_t cwr = 0;        ///< a -> b segments with CWR
};

// a sends `bytes` to b over a path that marks every `mark_every`-th data datagram CE (0: none).
Tally transfer(tcp::EcnMode a_mode, tcp::EcnMode b_mode, std::uint64_t mark_every, std::size_t bytes,
               tcp::ConnectionInfo& a_info, tcp::ConnectionInfo& b_info) {
  StackConfig ca = config_for(addr_a());
  ca.tcp.ecn = a_mode;
  StackConfig cb = config_for(addr_b());
  cb.tcp.ecn = b_mode;
  Stack a{ca, key(1), 1};
  Stack b{cb, key(2), 2};
  Pair pair{a, b};
  Tally t;
  pair.mutate = [&](bool to_b, std::span<std::byte> d) {
    const auto view = wire::TcpPacketView::parse(d);
    if (!view) return;
    const bool data = !view->tcp().payload().empty();
    if (to_b && data && view->tcp().flags().cwr()) ++t.cwr;  // not the ECN-setup SYN's
    if (!to_b && view->tcp().flags().ece()) ++t.ece_acks;
    if (to_b && data) {
      ++t.data;
      if (ecn_field(d) == kEct0) ++t.data_ect0;
      if (mark_every != 0 && ecn_field(d) == kEct0 && t.data % mark_every == 0) {
        mark_ce(d);
        ++t.marked;
      }
    } else if (ecn_field(d) != 0) {
      ++t.other_ect;
    }
  };
  const auto l = b.listen({addr_b(), 80});
  const auto c = a.connect(pair.now(), {addr_a(), 0}, {addr_b(), 80});
  EXPECT_TRUE(l && c);
  std::optional<ConnectionId> s;
  std::vector<std::byte> chunk(16384, std::byte{0x5A});
  std::vector<std::byte> sink(65536);
  std::size_t sent = 0;
  std::size_t received = 0;
  const bool done = pair.run_until(
      [&] {
        (void)events_of(a);
        (void)events_of(b);
        if (!s) {
          if (auto acc = b.accept(*l)) s = *acc;
        }
        while (sent < bytes) {
          const auto n = a.send(*c, wire::Bytes(chunk).first(std::min(chunk.size(), bytes - sent)));
          if (!n || *n == 0) break;
          sent += *n;
        }
        if (s) {
          while (auto n = b.recv(*s, sink)) {
            if (*n == 0) break;
            received += *n;
          }
        }
        pair.flush();
        return received == bytes;
      },
      3600s);
  EXPECT_TRUE(done) << received << " of " << bytes;
  a_info = *a.info(*c);
  if (s) b_info = *b.info(*s);
  return t;
}

TEST(StackEcn, ClientAsksServerAgrees_CeMarksAnsweredWithoutLoss) {
  tcp::ConnectionInfo ai;
  tcp::ConnectionInfo bi;
  const Tally t = transfer(tcp::EcnMode::on, tcp::EcnMode::passive, 10, 2 * 1024 * 1024, ai, bi);
  EXPECT_TRUE(ai.negotiated.ecn);
  EXPECT_TRUE(bi.negotiated.ecn);
  EXPECT_GT(t.data, 0U);
  EXPECT_EQ(t.data_ect0, t.data - ai.data_retransmits);  // every new data datagram, no retransmission
  EXPECT_EQ(t.other_ect, 0U);                            // never on SYN, SYN-ACK or pure ACK
  EXPECT_GT(t.marked, 0U);
  EXPECT_EQ(bi.ecn_ce_received, t.marked);
  EXPECT_GT(t.ece_acks, 0U);
  EXPECT_GT(ai.ecn_reductions, 0U);
  EXPECT_LE(ai.ecn_reductions, t.marked);
  EXPECT_EQ(t.cwr, ai.ecn_reductions);  // one CWR per reduction
  EXPECT_EQ(ai.data_retransmits, 0U);   // marks, not drops: nothing was lost
  EXPECT_NE(ai.ssthresh, tcp::Congestion::kInfinite);
}

TEST(StackEcn, NeitherAsks_NoEcnAndNotEct) {
  tcp::ConnectionInfo ai;
  tcp::ConnectionInfo bi;
  const Tally t = transfer(tcp::EcnMode::passive, tcp::EcnMode::passive, 10, 256 * 1024, ai, bi);
  EXPECT_FALSE(ai.negotiated.ecn);
  EXPECT_FALSE(bi.negotiated.ecn);
  EXPECT_EQ(t.data_ect0, 0U);
  EXPECT_EQ(t.marked, 0U);
}

TEST(StackEcn, ServerOff_ClientAsks_NoEcn) {
  tcp::ConnectionInfo ai;
  tcp::ConnectionInfo bi;
  const Tally t = transfer(tcp::EcnMode::on, tcp::EcnMode::off, 10, 256 * 1024, ai, bi);
  EXPECT_FALSE(ai.negotiated.ecn);
  EXPECT_FALSE(bi.negotiated.ecn);
  EXPECT_EQ(t.data_ect0, 0U);
}

}  // namespace
}  // namespace synack::stack::testing
