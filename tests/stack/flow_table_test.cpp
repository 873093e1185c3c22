#include "synack/stack/flow_table.hpp"

#include <map>
#include <vector>

#include <gtest/gtest.h>

namespace synack::stack {
namespace {

wire::FourTuple t(std::uint16_t port, std::uint32_t remote = 0x0A000002U) {
  return {{wire::IpAddress::v4(0x0A000001U), 80}, {wire::IpAddress::v4(remote), port}};
}

/// The owners of the flows: FlowRef::index is the port its tuple was made from, as a Stack's slots hold
/// their tuples.
struct Owners {
  FlowTable table{42};
  std::optional<FlowRef> find(std::uint16_t port) const {
    return table.find(table.hash(t(port)),
                      [&](FlowRef r) { return t(static_cast<std::uint16_t>(r.owner)) == t(port); });
  }
  void insert(std::uint16_t port, FlowRef::Kind kind = FlowRef::Kind::connection, std::uint32_t index = 0) {
    table.insert(table.hash(t(port)), FlowRef{kind, index, port});
  }
  bool erase(std::uint16_t port) {
    return table.erase(table.hash(t(port)), [&](FlowRef r) { return r.owner == port; });
  }
};

TEST(FlowTable, Empty_AllocatesNothing) {
  FlowTable table(1);
  EXPECT_EQ(table.capacity(), 0U);
  EXPECT_FALSE(table.find(table.hash(t(1)), [](FlowRef) { return true; }));
  EXPECT_FALSE(table.erase(table.hash(t(1)), [](FlowRef) { return true; }));
}

TEST(FlowTable, InsertFindEraseWithGrowth) {
  Owners o;
  for (std::uint16_t p = 1; p <= 1000; ++p) o.insert(p, FlowRef::Kind::connection, p + 7U);
  EXPECT_EQ(o.table.size(), 1000U);
  EXPECT_LE(o.table.capacity(), 2048U);  // grows at 3/4 load
  for (std::uint16_t p = 1; p <= 1000; ++p) {
    const auto r = o.find(p);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->index, p + 7U);
    EXPECT_EQ(r->kind, FlowRef::Kind::connection);
  }
  // Erase every other one; the rest must stay reachable (backward-shift deletion keeps chains intact).
  for (std::uint16_t p = 1; p <= 1000; p += 2) EXPECT_TRUE(o.erase(p));
  for (std::uint16_t p = 1; p <= 1000; ++p) EXPECT_EQ(o.find(p).has_value(), p % 2 == 0) << p;
  EXPECT_FALSE(o.erase(1));
  EXPECT_EQ(o.table.size(), 500U);
  EXPECT_TRUE(o.table.replace(
      o.table.hash(t(2)), [](FlowRef r) { return r.owner == 2; }, FlowRef{FlowRef::Kind::time_wait, 9, 2}));
  EXPECT_EQ(o.find(2)->kind, FlowRef::Kind::time_wait);
  EXPECT_EQ(o.find(2)->index, 9U);
  EXPECT_EQ(o.table.size(), 500U);
  // Churn below the peak reuses the table: no growth.
  const std::size_t capacity = o.table.capacity();
  for (std::uint16_t p = 2; p <= 1000; p += 2) EXPECT_TRUE(o.erase(p));
  EXPECT_EQ(o.table.size(), 0U);
  for (std::uint16_t p = 2001; p <= 3000; ++p) o.insert(p);
  EXPECT_EQ(o.table.capacity(), capacity);
}

TEST(FlowTable, OwnerAndKindRoundTrip) {
  FlowTable table(3);
  const std::uint32_t h = table.hash(t(5));
  table.insert(h, FlowRef{FlowRef::Kind::half_open, 123456, FlowTable::kForwarderOwner});
  const auto r = table.find(h, [](FlowRef) { return true; });
  ASSERT_TRUE(r);
  EXPECT_EQ(r->kind, FlowRef::Kind::half_open);
  EXPECT_EQ(r->index, 123456U);
  EXPECT_EQ(r->owner, FlowTable::kForwarderOwner);
}

// Equal hashes: the owner's own tuple decides (match), so a collision never returns another flow.
TEST(FlowTable, SameHashDifferentOwners_MatchDecides) {
  FlowTable table(3);
  table.insert(77, FlowRef{FlowRef::Kind::connection, 1, 0});
  table.insert(77, FlowRef{FlowRef::Kind::connection, 2, 0});
  EXPECT_EQ(table.find(77, [](FlowRef r) { return r.index == 2; })->index, 2U);
  EXPECT_TRUE(table.erase(77, [](FlowRef r) { return r.index == 1; }));
  EXPECT_EQ(table.find(77, [](FlowRef r) { return r.index == 2; })->index, 2U);
  EXPECT_FALSE(table.find(77, [](FlowRef r) { return r.index == 1; }));
}

TEST(FlowTable, RandomizedAgainstMap) {
  Owners o;
  std::map<std::uint16_t, std::uint32_t> model;
  std::uint64_t s = 12345;
  for (int i = 0; i < 20000; ++i) {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    const auto key = static_cast<std::uint16_t>((s >> 33U) % 300U);
    if ((s >> 20U) % 3U == 0) {
      EXPECT_EQ(o.erase(key), model.erase(key) == 1);
    } else if (model.count(key) == 0) {
      o.insert(key, FlowRef::Kind::connection, static_cast<std::uint32_t>(i));
      model[key] = static_cast<std::uint32_t>(i);
    }
  }
  for (std::uint16_t k = 0; k < 300; ++k) {
    const auto r = o.find(k);
    ASSERT_EQ(r.has_value(), model.count(k) == 1);
    if (r) {
      EXPECT_EQ(r->index, model[k]);
    }
  }
}

}  // namespace
}  // namespace synack::stack
