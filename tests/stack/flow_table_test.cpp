#include "synack/stack/flow_table.hpp"

#include <map>
#include <vector>

#include <gtest/gtest.h>

namespace synack::stack {
namespace {

wire::FourTuple t(std::uint16_t port, std::uint32_t remote = 0x0A000002U) {
  return {{wire::IpAddress::v4(0x0A000001U), 80}, {wire::IpAddress::v4(remote), port}};
}

TEST(FlowTable, InsertFindEraseWithGrowth) {
  FlowTable table(16, 42);
  for (std::uint16_t p = 1; p <= 1000; ++p) table.insert(t(p), FlowRef{FlowRef::Kind::connection, p, 0});
  EXPECT_EQ(table.size(), 1000U);
  for (std::uint16_t p = 1; p <= 1000; ++p) {
    const auto r = table.find(t(p));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->index, p);
  }
  // Erase every other one; the rest must stay reachable (backward-shift deletion keeps chains intact).
  for (std::uint16_t p = 1; p <= 1000; p += 2) EXPECT_TRUE(table.erase(t(p)));
  for (std::uint16_t p = 1; p <= 1000; ++p) EXPECT_EQ(table.find(t(p)).has_value(), p % 2 == 0) << p;
  EXPECT_FALSE(table.erase(t(1)));
  EXPECT_EQ(table.size(), 500U);
  table.insert(t(2), FlowRef{FlowRef::Kind::offer, 7, 0});  // replace
  EXPECT_EQ(table.find(t(2))->kind, FlowRef::Kind::offer);
  EXPECT_EQ(table.size(), 500U);
}

TEST(FlowTable, RandomizedAgainstMap) {
  FlowTable table(16, 7);
  std::map<std::uint32_t, std::uint32_t> model;
  std::uint64_t s = 12345;
  for (int i = 0; i < 20000; ++i) {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    const auto key = static_cast<std::uint16_t>((s >> 33U) % 300U);
    if ((s >> 20U) % 3U == 0) {
      EXPECT_EQ(table.erase(t(key)), model.erase(key) == 1);
    } else {
      table.insert(t(key), FlowRef{FlowRef::Kind::connection, static_cast<std::uint32_t>(i), 0});
      model[key] = static_cast<std::uint32_t>(i);
    }
  }
  for (std::uint16_t k = 0; k < 300; ++k) {
    const auto r = table.find(t(k));
    ASSERT_EQ(r.has_value(), model.count(k) == 1);
    if (r) {
      EXPECT_EQ(r->index, model[k]);
    }
  }
}

}  // namespace
}  // namespace synack::stack
