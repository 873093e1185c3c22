// The one retransmission rule and the one ladder palette every presenter shares.
#include "synack/observe/ladder.hpp"

#include <gtest/gtest.h>

#include "synack/observe/handshake.hpp"

namespace synack::observe {
namespace {

constexpr auto kS = wire::TcpFlags::kSyn;
constexpr auto kA = wire::TcpFlags::kAck;
constexpr auto kF = wire::TcpFlags::kFin;
constexpr auto kR = wire::TcpFlags::kRst;

wire::TcpFlags flags(std::uint16_t bits) {
  return wire::TcpFlags(bits);
}

bool seen(RetransmissionRule& rule, Direction d, std::uint32_t seq, std::uint16_t bits,
          std::uint32_t len = 0) {
  return rule.observe(d, wire::SeqNum(seq), flags(bits), len);
}

TEST(RetransmissionRule, SynSentTwiceWithTheSameIsn_SecondIsARetransmission) {
  RetransmissionRule rule;
  EXPECT_FALSE(seen(rule, Direction::to_server, 1000, kS));
  EXPECT_TRUE(seen(rule, Direction::to_server, 1000, kS));
  EXPECT_FALSE(seen(rule, Direction::to_client, 5000, kS | kA));
  EXPECT_TRUE(seen(rule, Direction::to_client, 5000, kS | kA));
}

TEST(RetransmissionRule, SynWithANewIsn_IsANewAttemptNotARetransmission) {
  RetransmissionRule rule;
  EXPECT_FALSE(seen(rule, Direction::to_server, 1000, kS));
  EXPECT_FALSE(seen(rule, Direction::to_server, 500, kS));  // lower, yet a new ISN (RST, then a retry)
  EXPECT_TRUE(seen(rule, Direction::to_server, 500, kS));
}

TEST(RetransmissionRule, DataAndFin_StartBeforeTheHighestEnd_AreRetransmissions) {
  RetransmissionRule rule;
  EXPECT_FALSE(seen(rule, Direction::to_server, 1000, kS));
  EXPECT_FALSE(seen(rule, Direction::to_server, 1001, kA));  // pure ACK: no sequence space
  EXPECT_FALSE(seen(rule, Direction::to_server, 1001, kA, 100));
  EXPECT_FALSE(seen(rule, Direction::to_server, 1101, kA, 100));
  EXPECT_TRUE(seen(rule, Direction::to_server, 1001, kA, 100));  // the first segment again
  EXPECT_TRUE(seen(rule, Direction::to_server, 1151, kA, 100));  // overlaps: starts before 1201
  EXPECT_FALSE(seen(rule, Direction::to_server, 1251, kA | kF));
  EXPECT_TRUE(seen(rule, Direction::to_server, 1251, kA | kF));
  EXPECT_FALSE(seen(rule, Direction::to_client, 1001, kA, 10));  // the other direction is its own
}

TEST(RetransmissionRule, SequenceWrap_IsCountedModulo2To32) {
  RetransmissionRule rule;
  EXPECT_FALSE(seen(rule, Direction::to_server, 0xFFFFFF00U, kS));
  EXPECT_FALSE(seen(rule, Direction::to_server, 0xFFFFFF01U, kA, 0x200));  // ends past 2^32
  EXPECT_FALSE(seen(rule, Direction::to_server, 0x101U, kA, 10));
  EXPECT_TRUE(seen(rule, Direction::to_server, 0xFFFFFF01U, kA, 0x200));
}

// RFC 9293 §3.5 figure 8: in a simultaneous open each side's SYN-ACK re-sends its SYN's sequence number.
TEST(RetransmissionRule, SimultaneousOpen_FirstSynAckIsNotARetransmission) {
  RetransmissionRule rule;
  EXPECT_FALSE(seen(rule, Direction::to_server, 100, kS));
  EXPECT_FALSE(seen(rule, Direction::to_client, 300, kS));
  EXPECT_FALSE(seen(rule, Direction::to_server, 100, kS | kA));
  EXPECT_FALSE(seen(rule, Direction::to_client, 300, kS | kA));
  EXPECT_TRUE(seen(rule, Direction::to_server, 100, kS | kA));
}

TEST(Palette, Segment_RetransmissionFirstExceptRst) {
  EXPECT_EQ(paint_of(flags(kS), false), Paint::syn);
  EXPECT_EQ(paint_of(flags(kS | kA), false), Paint::syn_ack);
  EXPECT_EQ(paint_of(flags(kF | kA), false), Paint::fin);
  EXPECT_EQ(paint_of(flags(kR), false), Paint::rst);
  EXPECT_EQ(paint_of(flags(kA), false), Paint::plain);
  EXPECT_EQ(paint_of(flags(kS), true), Paint::retransmission);
  EXPECT_EQ(paint_of(flags(kR | kA), true), Paint::rst);
}

TEST(Palette, EveryPaint_HasATerminalAndAnSvgColour) {
  for (int p = 0; p <= static_cast<int>(Paint::accent); ++p) {
    const auto paint = static_cast<Paint>(p);
    EXPECT_EQ(ansi(paint).empty(), paint == Paint::plain) << p;
    EXPECT_EQ(svg_colour(paint).size(), 7U) << p;
  }
  EXPECT_EQ(paint_of(Outcome::established), Paint::good);
  EXPECT_EQ(paint_of(Outcome::refused), Paint::bad);
  EXPECT_EQ(paint_of(Outcome::pending), Paint::pending);
}

TEST(Palette, Painted_OnlyWhenColourIsOnAndThereIsText) {
  EXPECT_EQ(painted("SYN", Paint::syn, false), "SYN");
  EXPECT_EQ(painted("SYN", Paint::plain, true), "SYN");
  EXPECT_EQ(painted("", Paint::rst, true), "");
  EXPECT_EQ(painted("RST", Paint::rst, true), "\x1b[31mRST\x1b[0m");
}

TEST(Ladder, Arrow_PointsTheWayTheSegmentTravelled) {
  EXPECT_EQ(ladder_arrow(flags(kS), Direction::to_server, 12), "|---- S ---->|");
  EXPECT_EQ(ladder_arrow(flags(kS | kA), Direction::to_client, 12), "|<--- SA ----|");
  EXPECT_EQ(ladder_arrow(flags(kS), Direction::to_server, 20, true).back(), '|');
  EXPECT_NE(ladder_arrow(flags(kS), Direction::to_server, 20, true).find("X    |"), std::string::npos);
  EXPECT_NE(ladder_arrow(flags(kS), Direction::to_client, 20, true).find("|    X"), std::string::npos);
}

TEST(Ladder, CutNote_SaysHowToSeeMore) {
  EXPECT_EQ(ladder_cut_note(5, 3),
            "… the ladder stops at 5 segments; 3 more were seen (--ladder-limit to raise)");
  EXPECT_EQ(ladder_cut_note(2, 1),
            "… the ladder stops at 2 segments; 1 more was seen (--ladder-limit to raise)");
  EXPECT_EQ(ladder_cut_note(1, std::nullopt),
            "… the ladder stops at 1 segment; more were seen (--ladder-limit to raise)");
}

}  // namespace
}  // namespace synack::observe
