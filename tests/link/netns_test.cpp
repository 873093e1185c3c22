// Tests for link/netns.hpp: a private namespace starts empty with lo up; sysctl keys are validated.
#include "synack/link/netns.hpp"

#include <ifaddrs.h>
#include <net/if.h>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "netns_child.hpp"

namespace synack::link {
namespace {

using test_support::ChildReport;
using test_support::run_in_private_netns;

TEST(Netns, EnterPrivateNamespace_HasOnlyLoopbackUp) {
  const auto result = run_in_private_netns([](ChildReport& report) {
    struct if_nameindex* names = ::if_nameindex();
    if (names == nullptr) {
      report.fail("if_nameindex failed");
      return;
    }
    for (const struct if_nameindex* n = names; n->if_index != 0; ++n) report.note("interface", n->if_name);
    ::if_freenameindex(names);
    ifaddrs* addresses = nullptr;
    if (::getifaddrs(&addresses) != 0) {
      report.fail("getifaddrs failed");
      return;
    }
    for (const ifaddrs* a = addresses; a != nullptr; a = a->ifa_next) {
      if (std::string_view(a->ifa_name) == "lo") {
        report.note("lo_up", (a->ifa_flags & IFF_UP) != 0 ? "yes" : "no");
        break;
      }
    }
    ::freeifaddrs(addresses);
  });
  SYNACK_CHECK_CHILD(result);
  EXPECT_EQ(result.notes("interface"), std::vector<std::string>{"lo"});
  EXPECT_EQ(result.notes("lo_up"), std::vector<std::string>{"yes"});
}

TEST(Netns, WriteNetSysctl_InNamespace_TakesEffect) {
  const auto result = run_in_private_netns([](ChildReport& report) {
    if (auto r = write_net_sysctl("net.ipv4.ip_forward", "1"); !r) report.fail(r.error().message());
    if (auto r = write_net_sysctl("net/ipv6/conf/lo/hop_limit", "42"); !r) report.fail(r.error().message());
    if (auto r = write_net_sysctl("net.ipv4.conf.nosuchdev.rp_filter", "0"); r) {
      report.fail("writing a sysctl of a missing interface succeeded");
    } else {
      report.note("missing_error", r.error().message());
    }
  });
  SYNACK_CHECK_CHILD(result);
  ASSERT_EQ(result.notes("missing_error").size(), 1U);
  EXPECT_NE(result.notes("missing_error")[0].find("/proc/sys/net/ipv4/conf/nosuchdev/rp_filter"),
            std::string::npos);
}

TEST(Netns, WriteNetSysctl_KeyOutsideNetOrWithDotDot_IsRejectedWithoutWriting) {
  // Validation happens before any file is opened, so this is safe in the root namespace.
  EXPECT_FALSE(write_net_sysctl("kernel.hostname", "x"));
  EXPECT_FALSE(write_net_sysctl("net/../kernel/hostname", "x"));
  EXPECT_FALSE(write_net_sysctl("net..ipv4.ip_forward", "1"));
  EXPECT_FALSE(write_net_sysctl("", "1"));
  EXPECT_FALSE(write_net_sysctl("net.", "1"));
}

TEST(Netns, SetInterfaceUp_BadName_IsRejected) {
  EXPECT_FALSE(set_interface_up(""));
  EXPECT_FALSE(set_interface_up("a-name-much-too-long-for-linux"));
}

}  // namespace
}  // namespace synack::link
