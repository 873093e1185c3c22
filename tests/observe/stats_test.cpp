// Nearest-rank percentiles and milliseconds.
#include "synack/observe/stats.hpp"

#include <vector>

#include <gtest/gtest.h>

namespace synack::observe {
namespace {

TEST(ObserveStats, Percentiles_OneToHundred_NearestRank) {
  std::vector<double> v;
  for (int i = 100; i >= 1; --i) v.push_back(i);  // any order
  const auto p = percentiles(v);
  ASSERT_TRUE(p);
  EXPECT_EQ(*p, (Percentiles{.count = 100, .p50 = 50, .p90 = 90, .p99 = 99, .max = 100}));
}

TEST(ObserveStats, Percentiles_FewValues_RankRoundsUp) {
  std::vector<double> v{3.0, 1.0};
  const auto p = percentiles(v);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->p50, 1.0);  // ceil(0.5 * 2) = 1st value
  EXPECT_EQ(p->p90, 3.0);
  EXPECT_EQ(p->count, 2U);
}

TEST(ObserveStats, Percentiles_Empty_None) {
  std::vector<double> none;
  EXPECT_FALSE(percentiles(none));
}

TEST(ObserveStats, ToMs_Nanoseconds_Exact) {
  EXPECT_EQ(to_ms(std::chrono::microseconds(1500)), 1.5);
  EXPECT_EQ(to_ms(std::chrono::nanoseconds(1)), 1e-6);
}

}  // namespace
}  // namespace synack::observe
