// Tests for link/tun.hpp: device creation and kernel-side configuration inside a private namespace.
#include "synack/link/tun.hpp"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>

#include <algorithm>
#include <array>
#include <bit>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "netns_child.hpp"
#include "synack/link/netns.hpp"

namespace synack::link {
namespace {

using test_support::ChildReport;
using test_support::run_in_private_netns;

constexpr std::string_view kTunName = "synack0";

/// The prefix length of a contiguous netmask.
int prefix_of(const sockaddr* mask) {
  if (mask == nullptr) return -1;
  int bits = 0;
  if (mask->sa_family == AF_INET) {
    sockaddr_in in{};
    std::memcpy(&in, mask, sizeof(in));
    bits = std::popcount(in.sin_addr.s_addr);
  } else if (mask->sa_family == AF_INET6) {
    sockaddr_in6 in6{};
    std::memcpy(&in6, mask, sizeof(in6));
    for (const auto byte : in6.sin6_addr.s6_addr) bits += std::popcount(byte);
  }
  return bits;
}

/// "name address/prefix" for every IPv4/IPv6 address in the namespace.
void report_addresses(ChildReport& report) {
  ifaddrs* addresses = nullptr;
  if (::getifaddrs(&addresses) != 0) {
    report.fail("getifaddrs failed");
    return;
  }
  for (const ifaddrs* a = addresses; a != nullptr; a = a->ifa_next) {
    if (a->ifa_addr == nullptr) continue;
    char text[INET6_ADDRSTRLEN] = {};
    if (a->ifa_addr->sa_family == AF_INET) {
      sockaddr_in in{};
      std::memcpy(&in, a->ifa_addr, sizeof(in));
      ::inet_ntop(AF_INET, &in.sin_addr, text, sizeof(text));
    } else if (a->ifa_addr->sa_family == AF_INET6) {
      sockaddr_in6 in6{};
      std::memcpy(&in6, a->ifa_addr, sizeof(in6));
      ::inet_ntop(AF_INET6, &in6.sin6_addr, text, sizeof(text));
    } else {
      continue;
    }
    report.note("address", fmt::format("{} {}/{}", a->ifa_name, text, prefix_of(a->ifa_netmask)));
    if (std::string_view(a->ifa_name) == kTunName) {
      report.note("tun_up", (a->ifa_flags & IFF_UP) != 0 ? "yes" : "no");
    }
  }
  ::freeifaddrs(addresses);
}

bool contains(const std::vector<std::string>& values, std::string_view value) {
  return std::find(values.begin(), values.end(), value) != values.end();
}

TEST(Tun, OpenWithBadName_FailsBeforeTouchingTheKernel) {
  // Validation precedes opening /dev/net/tun, so this never creates a device in the root namespace.
  for (const std::string_view name : {"", "sixteen-chars-xx", "a/b", "a:b", "a b", ".."}) {
    const auto tun = TunDevice::open(name);
    ASSERT_FALSE(tun) << name;
    EXPECT_NE(tun.error().message().find("bad interface name"), std::string::npos) << tun.error().message();
    EXPECT_EQ(tun.error().code, Errc::bad_name);
  }
}

TEST(Tun, CreateInPrivateNamespace_ConfiguresIpv4AndIpv6) {
  const auto result = run_in_private_netns([](ChildReport& report) {
    if (auto available = tun_available(); !available) return report.skip(available.error().message());
    auto tun = TunDevice::open(kTunName);
    if (!tun) return report.fail(tun.error().message());
    report.note("name", tun->name());
    report.note("index_nonzero", tun->index() != 0 ? "yes" : "no");
    if (auto r = write_net_sysctl(fmt::format("net.ipv6.conf.{}.accept_dad", tun->name()), "0"); !r) {
      report.fail(r.error().message());
    }
    if (auto r = tun->set_mtu(1400); !r) report.fail(r.error().message());
    if (auto mtu = tun->mtu(); mtu) {
      report.note("mtu", std::to_string(*mtu));
    } else {
      report.fail(mtu.error().message());
    }
    if (auto r = tun->set_up(); !r) report.fail(r.error().message());
    const auto v4 = wire::IpAddress::v4(0xC0000201U);  // 192.0.2.1
    const auto v6 = wire::IpAddress::v6({std::byte{0x20}, std::byte{0x01}, std::byte{0x0d}, std::byte{0xb8},
                                         std::byte{0}, std::byte{0}, std::byte{0}, std::byte{0}, std::byte{0},
                                         std::byte{0}, std::byte{0}, std::byte{0}, std::byte{0}, std::byte{0},
                                         std::byte{0}, std::byte{1}});  // 2001:db8::1
    if (auto r = tun->add_address(v4, 24); !r) report.fail(r.error().message());
    if (auto r = tun->add_address(v6, 64); !r) report.fail(r.error().message());
    // Adding the same address again replaces it rather than failing.
    if (auto r = tun->add_address(v4, 24); !r) report.fail(fmt::format("re-adding: {}", r.error().message()));
    if (auto r = tun->add_address(v4, 33); r) report.fail("a /33 IPv4 prefix was accepted");
    report_addresses(report);
  });
  SYNACK_CHECK_CHILD(result);
  EXPECT_EQ(result.notes("name"), std::vector<std::string>{std::string(kTunName)});
  EXPECT_EQ(result.notes("index_nonzero"), std::vector<std::string>{"yes"});
  EXPECT_EQ(result.notes("mtu"), std::vector<std::string>{"1400"});
  const auto addresses = result.notes("address");
  EXPECT_TRUE(contains(addresses, "synack0 192.0.2.1/24")) << fmt::format("{}", fmt::join(addresses, ", "));
  EXPECT_TRUE(contains(addresses, "synack0 2001:db8::1/64")) << fmt::format("{}", fmt::join(addresses, ", "));
  EXPECT_TRUE(contains(addresses, "lo 127.0.0.1/8")) << fmt::format("{}", fmt::join(addresses, ", "));
  EXPECT_TRUE(contains(result.notes("tun_up"), "yes"));
}

TEST(Tun, ReadWithNothingQueued_ReturnsZeroAndMoveKeepsTheFd) {
  const auto result = run_in_private_netns([](ChildReport& report) {
    if (auto available = tun_available(); !available) return report.skip(available.error().message());
    auto opened = TunDevice::open(kTunName);
    if (!opened) return report.fail(opened.error().message());
    const int fd = opened->fd();
    TunDevice tun = std::move(*opened);
    report.note("moved_from_fd", std::to_string(opened->fd()));
    report.note("moved_to_fd_same", tun.fd() == fd ? "yes" : "no");
    std::array<std::byte, 2048> buffer{};
    // The device is down: nothing can be queued for it.
    const auto n = tun.read(buffer);
    if (!n) return report.fail(fmt::format("read: {}", n.error().message()));
    report.note("read", std::to_string(*n));
    // Attaching a second fd to the same (non-multiqueue) device is refused while the first is open.
    auto second = TunDevice::open(kTunName);
    report.note("second_open", second ? "ok" : "refused");
  });
  SYNACK_CHECK_CHILD(result);
  EXPECT_EQ(result.notes("moved_from_fd"), std::vector<std::string>{"-1"});
  EXPECT_EQ(result.notes("moved_to_fd_same"), std::vector<std::string>{"yes"});
  EXPECT_EQ(result.notes("read"), std::vector<std::string>{"0"});
  EXPECT_EQ(result.notes("second_open"), std::vector<std::string>{"refused"});
}

}  // namespace
}  // namespace synack::link
