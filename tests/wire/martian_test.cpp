// Martian source and destination classification (RFC 1122 §3.2.1.3, RFC 1812 §5.3.7, RFC 4291), as a
// table: each class at its edges, and the legitimate neighbours just outside it.
#include "synack/wire/martian.hpp"

#include <optional>
#include <string_view>

#include <gtest/gtest.h>

namespace synack::wire {
namespace {

struct Row {
  std::string_view address;
  std::optional<MartianReason> source;
  std::optional<MartianReason> destination;
};

constexpr std::optional<MartianReason> kNone = std::nullopt;

TEST(Martian, Table_ClassifiesEachClassAndItsNeighbours) {
  using enum MartianReason;
  const Row rows[] = {
      // IPv4
      {"0.0.0.0", zero_net, kNone},
      {"0.255.255.255", zero_net, kNone},
      {"1.0.0.0", kNone, kNone},
      {"126.255.255.255", kNone, kNone},
      {"127.0.0.1", loopback, kNone},
      {"127.255.255.254", loopback, kNone},
      {"128.0.0.0", kNone, kNone},
      {"192.0.2.1", kNone, kNone},
      {"223.255.255.255", kNone, kNone},
      {"224.0.0.1", multicast, multicast},
      {"239.255.255.255", multicast, multicast},
      {"240.0.0.0", broadcast_reserved, broadcast_reserved},
      {"255.255.255.255", broadcast_reserved, broadcast_reserved},
      // IPv6
      {"::", v6_unspecified, kNone},
      {"::1", v6_loopback, kNone},
      {"::2", kNone, kNone},
      {"::1:0", kNone, kNone},
      {"ff02::1", v6_multicast, v6_multicast},
      {"ff0e::101", v6_multicast, v6_multicast},
      {"fe80::1", kNone, kNone},
      {"::ffff:c000:201", v4_mapped, kNone},
      {"::ffff:0:0", v4_mapped, kNone},
      {"::fffe:c000:201", kNone, kNone},
      {"1::ffff:c000:201", kNone, kNone},
      {"2001:db8::1", kNone, kNone},
  };
  for (const Row& r : rows) {
    const auto a = IpAddress::parse(r.address);
    ASSERT_TRUE(a) << r.address;
    EXPECT_EQ(martian_source(*a), r.source) << r.address;
    EXPECT_EQ(martian_destination(*a), r.destination) << r.address;
  }
}

TEST(Martian, EveryReason_HasAName) {
  for (std::uint8_t i = 0; i <= static_cast<std::uint8_t>(MartianReason::v4_mapped); ++i) {
    EXPECT_NE(to_string(static_cast<MartianReason>(i)), "?") << int{i};
  }
}

}  // namespace
}  // namespace synack::wire
