#include "synack/wire/ip_address.hpp"

#include <unordered_set>

#include <gtest/gtest.h>

namespace synack::wire {
namespace {

TEST(IpAddress, ParsesAndPrintsBothFamilies) {
  EXPECT_EQ(IpAddress::parse("192.0.2.1")->to_string(), "192.0.2.1");
  EXPECT_EQ(IpAddress::parse("2001:db8::1")->to_string(), "2001:db8::1");
  EXPECT_EQ(IpAddress::parse("[2001:db8::1]")->to_string(), "2001:db8::1");
  EXPECT_TRUE(IpAddress::parse("192.0.2.1")->is_v4());
  EXPECT_TRUE(IpAddress::parse("::1")->is_v6());
}

TEST(IpAddress, RejectsGarbage) {
  for (const char* bad : {"", "1.2.3", "256.0.0.1", "2001:db8::g", "[]", "192.0.2.1:80", "example.com"}) {
    EXPECT_FALSE(IpAddress::parse(bad)) << bad;
  }
}

TEST(IpAddress, V4FromHostOrder) {
  EXPECT_EQ(IpAddress::v4(0xC0000201U), *IpAddress::parse("192.0.2.1"));
}

TEST(IpAddress, FamiliesNeverCompareEqual) {
  EXPECT_NE(*IpAddress::parse("0.0.0.0"), *IpAddress::parse("::"));
}

TEST(Endpoint, FormatsIpv6WithBrackets) {
  EXPECT_EQ((Endpoint{*IpAddress::parse("192.0.2.1"), 80}.to_string()), "192.0.2.1:80");
  EXPECT_EQ((Endpoint{*IpAddress::parse("2001:db8::2"), 443}.to_string()), "[2001:db8::2]:443");
}

TEST(FourTuple, HashSpreadsNeighbouringPorts) {
  std::unordered_set<std::size_t> hashes;
  const auto a = *IpAddress::parse("192.0.2.1");
  const auto b = *IpAddress::parse("192.0.2.2");
  for (std::uint16_t port = 1000; port < 2000; ++port)
    hashes.insert(hash_value(FourTuple{{a, 80}, {b, port}}));
  EXPECT_EQ(hashes.size(), 1000U);
  EXPECT_NE(hash_value(FourTuple{{a, 80}, {b, 1}}, 1), hash_value(FourTuple{{a, 80}, {b, 1}}, 2));
}

}  // namespace
}  // namespace synack::wire
