// Real captures: kernel-to-kernel connections inside a network namespace the test creates (a forked child
// unshares itself; the test process stays in the root namespace), captured with tcpdump, then analysed
// and compared with known answers and with tshark's own fields on the same file.
//
// Nothing is added to the root namespace. Every wait is bounded.
#include "kernel_capture.hpp"

#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "synack/analyze/report.hpp"

namespace synack::analyze {
namespace {

using namespace kernel_testing;  // NOLINT
namespace fs = std::filesystem;

TEST(KernelCapture, EstablishedAndRefusedOverIpv4AndIpv6) {
  SKIP_WITHOUT_TOOLS();
  fs::path pcap;
  auto report = capture_and_analyse("", R"(
echo_once(socket.AF_INET, "127.0.0.1")
echo_once(socket.AF_INET6, "::1")
refused(socket.AF_INET, "127.0.0.1")
refused(socket.AF_INET6, "::1")
)",
                                    pcap);
  if (report.error == "namespaces unavailable") GTEST_SKIP() << report.error;
  ASSERT_EQ(report.status, FileReport::Status::ok) << report.error;
  const auto& cs = report.result.connections;
  ASSERT_EQ(cs.size(), 4U) << render_text(report);
  EXPECT_EQ(cs[0].outcome, observe::Outcome::established);
  EXPECT_EQ(cs[0].client.address.to_string(), "127.0.0.1");
  EXPECT_EQ(cs[1].outcome, observe::Outcome::established);
  EXPECT_EQ(cs[1].client.to_string().front(), '[');
  EXPECT_EQ(cs[2].outcome, observe::Outcome::refused);
  EXPECT_EQ(cs[3].outcome, observe::Outcome::refused);
  for (std::size_t i : {0U, 1U}) {
    EXPECT_TRUE(cs[i].negotiated.agreed);
    EXPECT_TRUE(cs[i].negotiated.agreed->sack);
    EXPECT_TRUE(cs[i].negotiated.agreed->timestamps);
    EXPECT_TRUE(cs[i].negotiated.agreed->wscale_client.has_value());
    // Nothing is wrong with these handshakes. A "SYN cookie likely" may still appear by chance (synack's
    // layout: 1 in 512 SYN-ACKs with timestamps, docs/analyze.md), so it is not counted here.
    for (const auto& a : cs[i].anomalies) EXPECT_TRUE(a.starts_with("SYN cookie likely")) << a;
    EXPECT_GT(*cs[i].establish_ms, 0.0);
    EXPECT_LT(*cs[i].establish_ms, 1000.0);
    EXPECT_NEAR(*cs[i].establish_ms, *cs[i].syn_to_synack_ms + *cs[i].synack_to_ack_ms, 0.002);
  }
  EXPECT_EQ(report.result.summary.count(observe::Outcome::established), 2U);
  EXPECT_EQ(report.result.summary.count(observe::Outcome::refused), 2U);
  compare_with_tshark(report, pcap);
}

TEST(KernelCapture, OptionsToggledBySysctl) {
  SKIP_WITHOUT_TOOLS();
  fs::path pcap;
  auto report = capture_and_analyse(
      "sysctl -qw net.ipv4.tcp_timestamps=0\nsysctl -qw net.ipv4.tcp_sack=0\nsysctl -qw "
      "net.ipv4.tcp_window_scaling=0",
      R"(
echo_once(socket.AF_INET, "127.0.0.1")
echo_once(socket.AF_INET6, "::1")
)",
      pcap);
  if (report.error == "namespaces unavailable") GTEST_SKIP() << report.error;
  ASSERT_EQ(report.status, FileReport::Status::ok) << report.error;
  const auto& cs = report.result.connections;
  ASSERT_EQ(cs.size(), 2U) << render_text(report);
  for (const auto& c : cs) {
    EXPECT_EQ(c.outcome, observe::Outcome::established);
    EXPECT_FALSE(c.client_offered.timestamps);
    EXPECT_FALSE(c.client_offered.sack_permitted);
    EXPECT_FALSE(c.client_offered.wscale.has_value());
    EXPECT_TRUE(c.client_offered.mss.has_value());
    EXPECT_FALSE(c.negotiated.agreed->timestamps);
    EXPECT_FALSE(c.negotiated.agreed->sack);
    EXPECT_FALSE(c.negotiated.agreed->wscale_client.has_value());
  }
  compare_with_tshark(report, pcap);
}

TEST(KernelCapture, OnlyTimestampsOff) {
  SKIP_WITHOUT_TOOLS();
  fs::path pcap;
  auto report = capture_and_analyse("sysctl -qw net.ipv4.tcp_timestamps=0", R"(
echo_once(socket.AF_INET, "127.0.0.1")
)",
                                    pcap);
  if (report.error == "namespaces unavailable") GTEST_SKIP() << report.error;
  ASSERT_EQ(report.status, FileReport::Status::ok) << report.error;
  ASSERT_EQ(report.result.connections.size(), 1U);
  const auto& c = report.result.connections[0];
  EXPECT_FALSE(c.negotiated.agreed->timestamps);
  EXPECT_TRUE(c.negotiated.agreed->sack);
  EXPECT_TRUE(c.negotiated.agreed->wscale_client.has_value());
  compare_with_tshark(report, pcap);
}

// A listener with a full accept queue drops SYNs: the client retransmits (tcp_syn_retries=1; kernels
// since 6.5 space the first retries linearly, 1 s apart) and gives up. (SYN cookies: real captures of a
// Linux listener under tcp_syncookies=2 are in tests/analyze/data, read by syncookie_capture_test.cpp.)
TEST(KernelCapture, SilentServerRetransmittedSynsTimeOut) {
  SKIP_WITHOUT_TOOLS();
  fs::path pcap;
  auto report = capture_and_analyse("", R"(
srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
srv.bind(("127.0.0.1", 0)); srv.listen(0)
port = srv.getsockname()[1]
first = socket.create_connection(("127.0.0.1", port), timeout=5)
try:
    socket.create_connection(("127.0.0.1", port), timeout=10)
    sys.exit("the second connection should not have completed")
except (socket.timeout, TimeoutError, OSError):
    pass
)",
                                    pcap);
  if (report.error == "namespaces unavailable") GTEST_SKIP() << report.error;
  ASSERT_EQ(report.status, FileReport::Status::ok) << report.error;
  const auto& cs = report.result.connections;
  ASSERT_EQ(cs.size(), 2U) << render_text(report);
  EXPECT_EQ(cs[0].outcome, observe::Outcome::established);
  EXPECT_EQ(cs[1].outcome, observe::Outcome::timed_out);
  EXPECT_GE(cs[1].syn_retransmits, 1U);
  if (have("tshark")) {
    // Known answer: as many retransmissions as tshark sees SYNs from that port, less one.
    const auto rows = tshark_rows(pcap);
    std::uint32_t syns = 0;
    for (const auto& r : rows) syns += (r.sport == cs[1].client.port && (r.flags & 0x12U) == 0x02U) ? 1U : 0U;
    EXPECT_EQ(cs[1].syn_retransmits + 1, syns);
  }
  ASSERT_GE(cs[1].segments.size(), 2U);
  const auto gap = cs[1].segments[1].time - cs[1].segments[0].time;
  EXPECT_NEAR(std::chrono::duration<double>(gap).count(), 1.0, 0.3);
  compare_with_tshark(report, pcap);
}

// A peer that never answers: a veth pair inside the namespace, the far end up but without the address,
// and a static neighbour entry so the SYNs leave without ARP. The far end drops them (not its MAC).
// Captured on the near end: Ethernet frames.
TEST(KernelCapture, BlackholedPeerOverVethIpv4AndIpv6) {
  SKIP_WITHOUT_TOOLS();
  fs::path pcap;
  auto report = capture_and_analyse(R"(ip link add v0 type veth peer name v1
ip link set v1 up
ip link set v0 up
ip addr add 192.0.2.1/24 dev v0
ip -6 addr add 2001:db8::1/64 dev v0 nodad
ip neigh add 192.0.2.99 lladdr 02:00:00:00:00:99 dev v0 nud permanent
ip -6 neigh add 2001:db8::99 lladdr 02:00:00:00:00:99 dev v0 nud permanent
sysctl -qw net.ipv6.conf.all.accept_dad=0)",
                                    R"(
import time
for family, host in ((socket.AF_INET, "192.0.2.99"), (socket.AF_INET6, "2001:db8::99")):
    try:
        socket.create_connection((host, 80), timeout=15)
        sys.exit("connected to a blackhole")
    except (socket.timeout, TimeoutError, OSError):
        pass
)",
                                    pcap, "v0");
  if (report.error == "namespaces unavailable") GTEST_SKIP() << report.error;
  ASSERT_EQ(report.status, FileReport::Status::ok) << report.error;
  EXPECT_EQ(report.linktype, 1U);  // Ethernet
  const auto& cs = report.result.connections;
  ASSERT_EQ(cs.size(), 2U) << render_text(report);
  for (const auto& c : cs) {
    EXPECT_EQ(c.outcome, observe::Outcome::timed_out);
    EXPECT_GE(c.syn_retransmits, 1U);
    EXPECT_EQ(c.server.port, 80);
    EXPECT_FALSE(c.server_offered.seen);
  }
  EXPECT_EQ(cs[0].server.address.to_string(), "192.0.2.99");
  EXPECT_EQ(cs[1].server.to_string(), "[2001:db8::99]:80");
  EXPECT_EQ(report.result.summary.top_failing.size(), 2U);
  if (have("tshark")) {
    const auto rows = tshark_rows(pcap);
    for (const auto& c : cs) {
      std::uint32_t syns = 0;
      for (const auto& r : rows) syns += (r.sport == c.client.port && (r.flags & 0x12U) == 0x02U) ? 1U : 0U;
      EXPECT_EQ(c.syn_retransmits + 1, syns);
    }
  }
  compare_with_tshark(report, pcap);
}

}  // namespace
}  // namespace synack::analyze
