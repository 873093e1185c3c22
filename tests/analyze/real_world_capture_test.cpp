// Real-world cases in kernel captures made inside a network namespace the test creates (kernel_capture.hpp),
// each checked against tshark's reading of the same file: ECN set-up, TCP Fast Open data on the SYN, a
// 4-tuple reused while the server holds it in TIME-WAIT, duplicate frames (the capture's frames written
// twice, as a capture on both sides of a bridge holds them) and a late start (the SYN cut off).
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "kernel_capture.hpp"
#include "synack/analyze/report.hpp"

namespace synack::analyze {
namespace {

using namespace kernel_testing;  // NOLINT
using ::testing::HasSubstr;
namespace fs = std::filesystem;

// tshark's fields for every SYN (with or without ACK) of `pcap`, one line each, '|'-separated.
std::vector<std::vector<std::string>> tshark_syns(const fs::path& pcap, const std::string& fields) {
  const auto out = pcap.string() + ".syns";
  const std::string cmd = "tshark -r '" + pcap.string() +
                          "' -Y 'tcp.flags.syn == 1' -T fields -E separator='|' " + fields + " > '" + out +
                          "' 2>/dev/null";
  return tshark_fields(cmd, out, 8);
}

#define SKIP_WITHOUT_TSHARK()                            \
  do {                                                   \
    SKIP_WITHOUT_TOOLS();                                \
    if (!have("tshark")) GTEST_SKIP() << "needs tshark"; \
  } while (0)

TEST(RealWorldCapture, EcnBySysctl_OfferedAndAgreedAsTsharkReadsTheFlags) {
  SKIP_WITHOUT_TSHARK();
  fs::path pcap;
  const auto report = capture_and_analyse("sysctl -qw net.ipv4.tcp_ecn=1",
                                          "echo_once(socket.AF_INET, '127.0.0.1')\n", pcap, "lo");
  if (report.error == "namespaces unavailable") GTEST_SKIP() << report.error;
  ASSERT_EQ(report.result.connections.size(), 1U);
  const auto j = to_json(report.result.connections[0]);
  EXPECT_EQ(j["ecn_setup"]["agreed"], "ecn");
  // tshark: the SYN has ECE and CWR, the SYN-ACK ECE without CWR.
  const auto rows = tshark_syns(pcap, "-e tcp.flags.ack -e tcp.flags.ece -e tcp.flags.cwr");
  ASSERT_EQ(rows.size(), 2U);
  for (const auto& r : rows) {
    const bool synack = r[0] == "1" || r[0] == "True";
    const bool ece = r[1] == "1" || r[1] == "True";
    const bool cwr = r[2] == "1" || r[2] == "True";
    EXPECT_TRUE(ece);
    EXPECT_EQ(cwr, !synack);
  }
  compare_with_tshark(report, pcap);
}

TEST(RealWorldCapture, FastOpen_SecondConnectionCarriesDataOnTheSyn_AcceptedAsTsharkReadsIt) {
  SKIP_WITHOUT_TSHARK();
  fs::path pcap;
  const auto report = capture_and_analyse("sysctl -qw net.ipv4.tcp_fastopen=3", R"(
import time
srv = socket.socket(); srv.bind(("127.0.0.1", 0))
srv.setsockopt(socket.IPPROTO_TCP, socket.TCP_FASTOPEN, 5); srv.listen(8)
port = srv.getsockname()[1]
for _ in range(2):
    c = socket.socket()
    c.sendto(b"hello", socket.MSG_FASTOPEN, ("127.0.0.1", port))
    s, _ = srv.accept(); s.recv(16); s.sendall(b"world"); c.recv(16)
    c.close(); s.close(); time.sleep(0.1)
)",
                                          pcap, "lo");
  if (report.error == "namespaces unavailable") GTEST_SKIP() << report.error;
  ASSERT_EQ(report.result.connections.size(), 2U);
  const auto& first = report.result.connections[0];
  const auto& second = report.result.connections[1];
  EXPECT_EQ(first.syn_data_bytes, 0U) << "the first SYN asks for a cookie";
  EXPECT_TRUE(first.client_offered.fast_open);
  EXPECT_EQ(second.syn_data_bytes, 5U);
  EXPECT_EQ(second.syn_data_acknowledged, true);
  EXPECT_THAT(second.reason.text(),
              HasSubstr("5 bytes of data on the SYN with a Fast Open cookie, acknowledged"));
  // tshark: the second SYN (no ACK) has tcp.len 5 and a TFO cookie.
  const auto rows = tshark_syns(pcap, "-e tcp.flags.ack -e tcp.len -e tcp.options.tfo.cookie");
  std::vector<std::string> syn_lengths;
  for (const auto& r : rows) {
    if (r[0] == "0" || r[0] == "False") syn_lengths.push_back(r[1] + (r[2].empty() ? "" : "+cookie"));
  }
  EXPECT_EQ(syn_lengths, (std::vector<std::string>{"0", "5+cookie"}));
}

TEST(RealWorldCapture, TupleReusedWhileTheServerHoldsItInTimeWait_LinkedAndFlaggedAsTsharkDoes) {
  SKIP_WITHOUT_TSHARK();
  fs::path pcap;
  const auto report = capture_and_analyse("", R"(
import time
srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", 0)); srv.listen(8); port = srv.getsockname()[1]
cport = 0
for _ in range(2):
    c = socket.socket(); c.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    c.bind(("127.0.0.1", cport)); cport = c.getsockname()[1]
    c.connect(("127.0.0.1", port)); s, _ = srv.accept()
    s.close()                      # the server closes first: it holds the 4-tuple in TIME-WAIT
    c.recv(16); c.close(); time.sleep(0.2)
)",
                                          pcap, "lo");
  if (report.error == "namespaces unavailable") GTEST_SKIP() << report.error;
  ASSERT_EQ(report.result.connections.size(), 2U);
  const auto& second = report.result.connections[1];
  EXPECT_EQ(second.outcome, observe::Outcome::established);
  EXPECT_EQ(second.previous_attempt, 1U);
  std::string all;
  for (const auto& a : second.anomalies) all += a;
  EXPECT_THAT(all, HasSubstr("the 4-tuple of connection 1 reused"));
  EXPECT_THAT(all, HasSubstr("TIME-WAIT"));
  // tshark flags the second SYN: "A new tcp session is started with the same ports as an earlier session".
  const auto rows = tshark_syns(pcap, "-e tcp.flags.ack -e tcp.analysis.reused_ports");
  int flagged = 0;
  for (const auto& r : rows) flagged += (r[0] == "0" || r[0] == "False") && !r[1].empty() ? 1 : 0;
  EXPECT_EQ(flagged, 1);
}

// The frames of a kernel capture written twice, 10 µs apart (scapy), as a capture on both sides of a
// bridge holds them: the same report as the original, with every second copy counted as a duplicate.
TEST(RealWorldCapture, DuplicatedFrames_SameReportAsTheOriginal_DuplicatesCounted) {
  SKIP_WITHOUT_TSHARK();
  if (std::system("/usr/bin/python3 -c 'import scapy' 2>/dev/null") != 0) GTEST_SKIP() << "needs scapy";
  fs::path pcap;
  const auto original = capture_and_analyse(
      "", "echo_once(socket.AF_INET, '127.0.0.1')\nrefused(socket.AF_INET, '127.0.0.1')\n", pcap, "lo");
  if (original.error == "namespaces unavailable") GTEST_SKIP() << original.error;
  const auto doubled = pcap.parent_path() / "doubled.pcap";
  const std::string cmd = "/usr/bin/python3 -c \"from scapy.all import *\nout=[]\nfor p in rdpcap('" +
                          pcap.string() + "'):\n q=p.copy(); q.time=p.time+0.00001; out += [p, q]\nwrpcap('" +
                          doubled.string() + "', out)\"";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  const auto report = analyse_file(doubled);
  ASSERT_EQ(report.result.connections.size(), original.result.connections.size());
  EXPECT_EQ(report.result.counters.duplicates, original.result.counters.tcp);
  for (std::size_t i = 0; i < report.result.connections.size(); ++i) {
    const auto& a = report.result.connections[i];
    const auto& b = original.result.connections[i];
    EXPECT_EQ(a.outcome, b.outcome);
    EXPECT_EQ(a.syn_retransmits, 0U);
    EXPECT_EQ(a.packets, b.packets);
  }
  // tshark reads twice the frames: each copy after the first is a retransmission or duplicate ACK to it.
  EXPECT_EQ(tshark_syns(doubled, "-e tcp.flags.ack").size(),
            2 * tshark_syns(pcap, "-e tcp.flags.ack").size());
}

// The capture started late: the SYN is cut off (editcap), the SYN-ACK comes first. Reported as
// incomplete, timed from the SYN-ACK, with the server's ISN and options as tshark reads them.
TEST(RealWorldCapture, LateStart_SynAckFirst_IncompleteWithWhatCanBeKnown) {
  SKIP_WITHOUT_TSHARK();
  if (!have("editcap")) GTEST_SKIP() << "needs editcap";
  fs::path pcap;
  const auto original = capture_and_analyse("", "echo_once(socket.AF_INET, '127.0.0.1')\n", pcap, "lo");
  if (original.error == "namespaces unavailable") GTEST_SKIP() << original.error;
  const auto late = pcap.parent_path() / "late.pcap";
  ASSERT_EQ(std::system(("editcap '" + pcap.string() + "' '" + late.string() + "' 1").c_str()), 0);
  const auto report = analyse_file(late);
  ASSERT_EQ(report.result.connections.size(), 1U);
  const auto& c = report.result.connections[0];
  EXPECT_EQ(c.outcome, observe::Outcome::incomplete);
  EXPECT_THAT(c.reason.text(), HasSubstr("mid-handshake"));
  EXPECT_FALSE(c.client_offered.seen);
  EXPECT_TRUE(c.server_offered.seen);
  EXPECT_EQ(c.server_isn, original.result.connections.at(0).server_isn);
  EXPECT_TRUE(c.synack_to_ack_ms.has_value());
  const auto rows = tshark_syns(late, "-e tcp.flags.ack -e tcp.seq_raw -e tcp.options.mss_val");
  ASSERT_EQ(rows.size(), 1U);
  EXPECT_EQ(rows[0][1], std::to_string(c.server_isn.value_or(0)));
  EXPECT_EQ(rows[0][2], std::to_string(c.server_offered.mss.value_or(0)));
}

}  // namespace
}  // namespace synack::analyze
