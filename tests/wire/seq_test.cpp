#include "synack/wire/seq.hpp"

#include <gtest/gtest.h>

namespace synack::wire {
namespace {

TEST(SeqNum, ComparisonIsModuloTwoToThe32) {
  // RFC 9293 §3.4: comparisons are modulo 2^32, so 0xFFFFFFFF comes before 0.
  EXPECT_LT(SeqNum(0xFFFFFFFFU), SeqNum(0));
  EXPECT_GT(SeqNum(5), SeqNum(0xFFFFFFF0U));
  EXPECT_LE(SeqNum(7), SeqNum(7));
  EXPECT_GE(SeqNum(7), SeqNum(7));
  EXPECT_FALSE(SeqNum(7) < SeqNum(7));
}

TEST(SeqNum, AdditionWraps) {
  EXPECT_EQ(SeqNum(0xFFFFFFFFU) + 2U, SeqNum(1));
  EXPECT_EQ(SeqNum(1) - 2U, SeqNum(0xFFFFFFFFU));
  SeqNum s(0xFFFFFFFEU);
  s += 3U;
  EXPECT_EQ(s.raw(), 1U);
}

TEST(SeqNum, DifferenceIsSignedDistance) {
  EXPECT_EQ(SeqNum(3) - SeqNum(0xFFFFFFFFU), 4);
  EXPECT_EQ(SeqNum(0xFFFFFFFFU) - SeqNum(3), -4);
}

TEST(SeqNum, InRangeAcrossWrap) {
  EXPECT_TRUE(seq_in_range(SeqNum(0), SeqNum(0xFFFFFFF0U), SeqNum(0x10)));
  EXPECT_TRUE(seq_in_range(SeqNum(0xFFFFFFF0U), SeqNum(0xFFFFFFF0U), SeqNum(0x10)));
  EXPECT_FALSE(seq_in_range(SeqNum(0x10), SeqNum(0xFFFFFFF0U), SeqNum(0x10)));  // hi is excluded
  EXPECT_FALSE(seq_in_range(SeqNum(5), SeqNum(5), SeqNum(5)));                  // empty range
}

TEST(SeqNum, MinMaxFollowModularOrder) {
  EXPECT_EQ(seq_max(SeqNum(0xFFFFFFFFU), SeqNum(1)), SeqNum(1));
  EXPECT_EQ(seq_min(SeqNum(0xFFFFFFFFU), SeqNum(1)), SeqNum(0xFFFFFFFFU));
}

}  // namespace
}  // namespace synack::wire
