#include "synack/stack/ring.hpp"

#include <gtest/gtest.h>

namespace synack::stack {
namespace {

// First in, first out across growth and wrap-around.
TEST(Ring, PushPopAcrossGrowthAndWrap_KeepsOrder) {
  Ring<int> ring;
  int next_in = 0;
  int next_out = 0;
  for (int round = 0; round < 50; ++round) {
    for (int k = 0; k < 7; ++k) ring.push_back(next_in++);
    for (int k = 0; k < 5; ++k) {
      ASSERT_EQ(ring.front(), next_out++);
      ring.pop_front();
    }
  }
  EXPECT_EQ(ring.size(), static_cast<std::size_t>(next_in - next_out));
  while (!ring.empty()) {
    ASSERT_EQ(ring.front(), next_out++);
    ring.pop_front();
  }
  EXPECT_EQ(next_out, next_in);
}

// A ring that drains starts again at its first slot: a short queue keeps reusing the same (cached) slots
// rather than walking the whole array it once grew to.
TEST(Ring, Drained_NextPushUsesFirstSlotAgain) {
  Ring<int> ring;
  for (int i = 0; i < 40; ++i) ring.push_back(i);  // grown past 16 and 32: the array starts at slot 0
  const int* first = &ring.front();
  for (int i = 0; i < 40; ++i) ring.pop_front();
  ASSERT_TRUE(ring.empty());
  for (int i = 0; i < 3; ++i) {
    ring.push_back(100 + i);
    EXPECT_EQ(&ring.front(), first) << i;
    EXPECT_EQ(ring.front(), 100 + i);
    ring.pop_front();
  }
}

}  // namespace
}  // namespace synack::stack
