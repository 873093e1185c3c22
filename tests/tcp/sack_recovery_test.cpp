// SACK-based loss recovery: the sender's scoreboard (RFC 6675 §4) and the engine recovering with it —
// entry on IsLost, several holes resent in one round trip under cwnd - pipe, go-back-N that skips
// what the peer holds.
#include <array>

#include "fixture.hpp"
#include "synack/tcp/sack_scoreboard.hpp"

namespace synack::tcp::testing {
namespace {

constexpr std::uint32_t kSmss = 1448;
constexpr std::uint32_t kIw = 10 * kSmss;

using Range = SackScoreboard::Range;

wire::SackBlock block(std::uint32_t l, std::uint32_t r) {
  return {SeqNum{l}, SeqNum{r}};
}

// --- the scoreboard ------------------------------------------------------------------------------------

TEST(SackScoreboard, Update_MergesPrunesAndIgnoresOutsideBlocks) {
  SackScoreboard sb;
  const std::array blocks{block(2000, 3000), block(3000, 4000), block(6000, 7000),
                          block(500, 900),      // D-SACK below SND.UNA: ignored
                          block(9000, 12000)};  // past SND.MAX: ignored
  EXPECT_TRUE(sb.update(SeqNum{1000}, SeqNum{10000}, blocks));
  ASSERT_EQ(sb.ranges().size(), 2U);
  EXPECT_EQ(sb.ranges()[0].left, SeqNum{2000});
  EXPECT_EQ(sb.ranges()[0].right, SeqNum{4000});  // adjacent blocks merged
  EXPECT_EQ(sb.sacked_bytes(), 3000U);
  EXPECT_FALSE(sb.update(SeqNum{1000}, SeqNum{10000}, std::array{block(2500, 3500)}));  // nothing new
  // The cumulative ACK passes the first range and cuts into nothing else.
  (void)sb.update(SeqNum{5000}, SeqNum{10000}, {});
  ASSERT_EQ(sb.ranges().size(), 1U);
  EXPECT_EQ(sb.ranges()[0].left, SeqNum{6000});
}

TEST(SackScoreboard, Update_BridgesRanges) {
  SackScoreboard sb;
  (void)sb.update(SeqNum{0}, SeqNum{10000},
                  std::array{block(1000, 2000), block(3000, 4000), block(5000, 6000)});
  (void)sb.update(SeqNum{0}, SeqNum{10000}, std::array{block(1500, 5500)});
  ASSERT_EQ(sb.ranges().size(), 1U);
  EXPECT_EQ(sb.ranges()[0].left, SeqNum{1000});
  EXPECT_EQ(sb.ranges()[0].right, SeqNum{6000});
}

TEST(SackScoreboard, Update_FullKeepsLowestRanges) {
  SackScoreboard sb;
  for (std::uint32_t i = 0; i < SackScoreboard::kMaxRanges + 2; ++i) {
    (void)sb.update(SeqNum{0}, SeqNum{1000000}, std::array{block(100 * (2 * i + 1), 100 * (2 * i + 2))});
  }
  EXPECT_EQ(sb.ranges().size(), SackScoreboard::kMaxRanges);
  EXPECT_EQ(sb.ranges().back().left, SeqNum{100 * (2 * (SackScoreboard::kMaxRanges - 1) + 1)});
  // A block below the others still gets in, pushing the highest out.
  (void)sb.update(SeqNum{0}, SeqNum{1000000}, std::array{block(10, 20)});
  EXPECT_EQ(sb.ranges().front().left, SeqNum{10});
  EXPECT_EQ(sb.ranges().size(), SackScoreboard::kMaxRanges);
}

// RFC 6675 IsLost: more than (DupThresh - 1) * SMSS bytes SACKed above, or DupThresh ranges above.
TEST(SackScoreboard, IsLost_BytesOrRangesAbove) {
  SackScoreboard sb;
  (void)sb.update(SeqNum{0}, SeqNum{100000}, std::array{block(1000, 3000)});
  EXPECT_FALSE(sb.is_lost(SeqNum{0}, 1000));  // 2000 bytes = 2 SMSS: not more than
  (void)sb.update(SeqNum{0}, SeqNum{100000}, std::array{block(3000, 3001)});
  EXPECT_TRUE(sb.is_lost(SeqNum{0}, 1000));
  SackScoreboard three;
  (void)three.update(SeqNum{0}, SeqNum{100000}, std::array{block(10, 11), block(20, 21), block(30, 31)});
  EXPECT_TRUE(three.is_lost(SeqNum{0}, 1000));
  EXPECT_FALSE(three.is_lost(SeqNum{15}, 1000));
}

// RFC 6675 SetPipe: unSACKed octets not deemed lost, plus lost ones already retransmitted.
TEST(SackScoreboard, Pipe_AndNextLost) {
  SackScoreboard sb;
  // SND.UNA 0, SND.MAX 10000, SMSS 1000: SACKed [1000,4000) and [5000,6000).
  (void)sb.update(SeqNum{0}, SeqNum{10000}, std::array{block(1000, 4000), block(5000, 6000)});
  // Hole [0,1000): 4000 bytes SACKed above: lost. Hole [4000,5000): 1000 above: not lost.
  EXPECT_EQ(sb.pipe(SeqNum{0}, SeqNum{10000}, SeqNum{0}, 1000), 1000U + 4000U);
  auto hole = sb.next_lost(SeqNum{0}, SeqNum{0}, 1000);
  ASSERT_TRUE(hole);
  EXPECT_EQ(hole->seq, SeqNum{0});
  EXPECT_EQ(hole->len, 1000U);
  // Once [0,1000) was resent it is in the pipe again and no longer next.
  EXPECT_EQ(sb.pipe(SeqNum{0}, SeqNum{10000}, SeqNum{1000}, 1000), 1000U + 1000U + 4000U);
  EXPECT_FALSE(sb.next_lost(SeqNum{0}, SeqNum{1000}, 1000));
}

// --- the engine ----------------------------------------------------------------------------------------

class SackRecovery : public EngineTest {
 protected:
  std::vector<Sent> flight(std::size_t n) {
    established();
    EXPECT_EQ(conn->send(bytes_of(n)).value(), n);
    return drain();
  }
  SeqNum at(std::uint32_t segment) const { return iss + 1 + segment * kSmss; }
  /// An ACK of SND.UNA = `una` carrying SACK blocks of whole segments [from, to).
  void sack(SeqNum una, std::initializer_list<std::pair<std::uint32_t, std::uint32_t>> segments) {
    auto h = seg(A, peer_next(), una);
    for (const auto& [from, to] : segments) (void)h.options.sack.push_back({at(from), at(to)});
    deliver(h);
  }
};

// RFC 6675 §5: three segments SACKed above SND.UNA make it lost at once — no need to wait for three
// duplicate ACKs; cwnd = ssthresh = FlightSize / 2.
TEST_F(SackRecovery, Established_ThreeSegmentsSackedAboveHole_RetransmitsOnFirstAck) {
  (void)flight(kIw);
  sack(at(0), {{1, 4}});
  const auto out = drain();
  ASSERT_GE(out.size(), 1U);
  EXPECT_EQ(out[0].h.seq, at(0));
  EXPECT_EQ(conn->info().fast_retransmits, 1U);
  EXPECT_EQ(conn->info().ssthresh, kIw / 2);
  EXPECT_EQ(conn->info().cwnd, kIw / 2);
}

// Two holes: both resent in the same round trip, then new data under cwnd - pipe.
TEST_F(SackRecovery, Recovery_TwoHoles_BothResentThenNewData) {
  (void)flight(100000);  // 10 segments in flight, more queued
  sack(at(0), {{1, 3}, {4, 10}});
  const auto out = drain();
  ASSERT_EQ(out.size(), 5U);
  EXPECT_EQ(out[0].h.seq, at(0));
  EXPECT_EQ(out[1].h.seq, at(3));
  // pipe = the two retransmissions; cwnd 7240 leaves room for three new segments.
  EXPECT_EQ(out[2].h.seq, at(10));
  EXPECT_EQ(out[4].h.seq, at(12));
  EXPECT_EQ(conn->info().data_retransmits, 2U);
}

// The cumulative ACK reaching the recovery point ends recovery.
TEST_F(SackRecovery, Recovery_FullAck_Ends) {
  (void)flight(kIw);
  sack(at(0), {{1, 10}});
  (void)drain();
  peer_acks_all();
  EXPECT_EQ(conn->info().cwnd, 2 * kSmss);  // min(ssthresh, max(FlightSize, SMSS) + SMSS), nothing in flight
  // A new loss later starts a new recovery: segments 10 and 11 go out (cwnd 2), 11 is SACKed three times.
  (void)conn->send(bytes_of(kIw));
  ASSERT_EQ(drain().size(), 2U);
  for (int i = 0; i < 3; ++i) {
    sack(at(10), {{11, 12}});
    (void)drain();
  }
  EXPECT_EQ(conn->info().fast_retransmits, 2U);
}

// After a timeout, go-back-N resends only what the peer does not hold.
TEST_F(SackRecovery, Rto_GoBackN_SkipsSackedSegments) {
  (void)flight(kIw);
  sack(at(0), {{2, 4}});  // 2 segments: not enough to call segment 0 lost
  EXPECT_EQ(conn->info().fast_retransmits, 0U);
  run_until(conn->next_deadline());
  auto out = drain();
  ASSERT_EQ(out.size(), 1U);
  EXPECT_EQ(out[0].h.seq, at(0));
  sack(at(1), {{2, 4}});  // cwnd 2 segments
  out = drain();
  ASSERT_EQ(out.size(), 2U);
  EXPECT_EQ(out[0].h.seq, at(1));
  EXPECT_EQ(out[1].h.seq, at(4));  // 2 and 3 skipped
}

// Without SACK negotiated, blocks in an ACK are ignored and recovery is NewReno's.
TEST_F(SackRecovery, NotNegotiated_BlocksIgnored) {
  config.sack_permitted = false;
  (void)flight(kIw);
  sack(at(0), {{1, 4}});
  expect_none();
  EXPECT_EQ(conn->info().fast_retransmits, 0U);
}

}  // namespace
}  // namespace synack::tcp::testing
