// TimeWaitTable: IPv4 records packed into 40 bytes and IPv6 ones kept whole, both round-trip exactly.
#include "synack/stack/time_wait_table.hpp"

#include <gtest/gtest.h>

namespace synack::stack {
namespace {

tcp::TimeWaitRecord record(const wire::FourTuple& tuple, std::uint32_t n) {
  tcp::TimeWaitRecord r;
  r.set_tuple(tuple);
  r.flags =
      static_cast<std::uint8_t>(r.flags | tcp::TimeWaitRecord::kInUse | tcp::TimeWaitRecord::kTimestamps);
  r.set_shifts(7, 14);
  r.challenge = 0x35;
  r.owner = 2;
  r.expiry_ns = 60'000'000'000LL + n;
  r.snd_nxt = 0xFFFFFFF0U + n;
  r.rcv_nxt = 1000U * n;
  r.ts_recent = 0x80000000U | n;
  r.link = 77;
  return r;
}

wire::FourTuple v4_tuple(std::uint16_t port) {
  return {{wire::IpAddress::v4(0xC0000201U), 80}, {wire::IpAddress::v4(0xC6336402U), port}};
}
wire::FourTuple v6_tuple(std::uint16_t port) {
  std::array<std::byte, 16> a{};
  a[0] = std::byte{0x20};
  a[1] = std::byte{0x01};
  a[2] = std::byte{0x0d};
  a[3] = std::byte{0xb8};
  std::array<std::byte, 16> b = a;
  a[15] = std::byte{1};
  b[15] = std::byte{2};
  return {{wire::IpAddress::v6(a), 443}, {wire::IpAddress::v6(b), port}};
}

void expect_same(const tcp::TimeWaitRecord& a, const tcp::TimeWaitRecord& b) {
  EXPECT_EQ(a.tuple(), b.tuple());
  EXPECT_EQ(a.flags, b.flags);
  EXPECT_EQ(a.shifts, b.shifts);
  EXPECT_EQ(a.challenge, b.challenge);
  EXPECT_EQ(a.owner, b.owner);
  EXPECT_EQ(a.expiry_ns, b.expiry_ns);
  EXPECT_EQ(a.snd_nxt, b.snd_nxt);
  EXPECT_EQ(a.rcv_nxt, b.rcv_nxt);
  EXPECT_EQ(a.ts_recent, b.ts_recent);
  EXPECT_EQ(a.link, b.link);
}

TEST(TimeWaitTable, V4AndV6Records_RoundTripAndMatchOnlyTheirTuple) {
  TimeWaitTable t;
  const std::uint32_t a = t.alloc(record(v4_tuple(40000), 1));
  const std::uint32_t b = t.alloc(record(v6_tuple(40000), 2));
  EXPECT_EQ(a & TimeWaitTable::kV6Bit, 0U);
  EXPECT_NE(b & TimeWaitTable::kV6Bit, 0U);
  expect_same(t.get(a), record(v4_tuple(40000), 1));
  expect_same(t.get(b), record(v6_tuple(40000), 2));
  EXPECT_TRUE(t.matches(a, v4_tuple(40000)));
  EXPECT_FALSE(t.matches(a, v4_tuple(40001)));
  EXPECT_FALSE(t.matches(a, v6_tuple(40000)));
  EXPECT_TRUE(t.matches(b, v6_tuple(40000)));
  EXPECT_FALSE(t.matches(b, v4_tuple(40000)));
  EXPECT_EQ(t.expiry(a), Instant::from_nanoseconds(60'000'000'001LL));
  // put() keeps the link (the record's place in the Stack's FIFO).
  t.set_link(a, 5);
  t.put(a, record(v4_tuple(40000), 9));
  EXPECT_EQ(t.link(a), 5U);
  EXPECT_EQ(t.get(a).rcv_nxt, 9000U);
}

TEST(TimeWaitTable, FreedRecords_AreReusedPerFamily) {
  TimeWaitTable t;
  const std::uint32_t a = t.alloc(record(v4_tuple(1), 1));
  const std::uint32_t b = t.alloc(record(v6_tuple(1), 1));
  t.free(a);
  t.free(b);
  EXPECT_EQ(t.alloc(record(v6_tuple(2), 2)), b);
  EXPECT_EQ(t.alloc(record(v4_tuple(2), 2)), a);
  EXPECT_NE(t.alloc(record(v4_tuple(3), 3)), a);
}

}  // namespace
}  // namespace synack::stack
