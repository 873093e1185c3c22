// pcapng captures with several interfaces of different link types, made in a network namespace the test
// creates (a forked child unshares itself; nothing is added to the root namespace; every wait is bounded):
// dumpcap capturing lo (Ethernet) and "any" (Linux cooked) at once into one file, and mergecap joining a
// microsecond Ethernet capture with a nanosecond Linux-cooked-v2 one (two if_tsresol values). libpcap
// refuses such files; synack's reader must agree with tshark's reading of them.
#include <array>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "kernel_capture.hpp"
#include "synack/analyze/report.hpp"
#include "synack/capture/pcap.hpp"
#include "synack/capture/reader.hpp"

namespace synack::analyze {
namespace {

using namespace kernel_testing;  // NOLINT
namespace fs = std::filesystem;

constexpr const char* kScenario = R"(
echo_once(socket.AF_INET, "127.0.0.1")
echo_once(socket.AF_INET6, "::1")
refused(socket.AF_INET, "127.0.0.1")
refused(socket.AF_INET6, "::1")
)";

/// The shell: loopback up, the capture command(s) started in the background and given time to start, the
/// scenario, then the captures stopped by PID once `done` holds (they have written the last packets: a
/// capture stopped early loses what its ring still held). `start` is the capture commands (each appends
/// its PID to $PIDS); `ready` a condition that holds once they capture. Every wait is bounded.
std::string script(const fs::path& dir, const std::string& start, const std::string& ready,
                   const std::string& done) {
  const auto py = (dir / "scenario.py").string();
  std::ofstream(py) << kPythonHelpers << kScenario;
  std::ostringstream s;
  s << "set -e\nip link set lo up\nsysctl -qw net.ipv4.tcp_syn_retries=1\nPIDS=''\n"
    << start << "\n"
    << "i=0; while ! { " << ready << "; }; do i=$((i+1)); if [ $i -gt 200 ]; then kill $PIDS; exit 3; fi; "
    << "sleep 0.05; done\nsleep 0.5\n"
    << "python3 '" << py << "' > '" << (dir / "scenario.out").string()
    << "' 2>&1 || { kill $PIDS; exit 4; }\n"
    << "i=0; while ! { " << done << "; } && [ $i -lt 100 ]; do i=$((i+1)); sleep 0.1; done\n"
    << "kill $PIDS\nfor p in $PIDS; do wait $p || true; done\n";
  return s.str();
}

/// A shell condition: `file` holds at least `count` RST segments (the scenario's last packets), as tshark
/// reads it.
std::string has_rsts(const std::string& file, int count) {
  return "[ \"$(tshark -r '" + file + "' -Y tcp.flags.reset==1 2>/dev/null | wc -l)\" -ge " +
         std::to_string(count) + " ]";
}

/// tshark's frame count, link types and TCP stream count of `file`.
struct TsharkView {
  std::size_t frames = 0;
  std::set<std::string> protocols;  // the link-layer part of frame.protocols
  std::set<std::string> streams;
};

TsharkView tshark_view(const fs::path& file) {
  const auto out = file.string() + ".view";
  const std::string cmd = "tshark -r '" + file.string() +
                          "' -T fields -E separator='|' -e frame.protocols -e tcp.stream > '" + out +
                          "' 2>/dev/null";
  TsharkView view;
  for (const auto& f : tshark_fields(cmd, out, 2)) {
    ++view.frames;
    view.protocols.insert(f[0].substr(0, f[0].find(':')));
    if (!f[1].empty()) view.streams.insert(f[1]);
  }
  return view;
}

void expect_agrees_with_tshark(const fs::path& file, std::size_t interfaces) {
  AnalyzerConfig config;
  config.record_all = true;
  const FileReport report = analyse_file(file, config);
  ASSERT_EQ(report.status, FileReport::Status::ok) << report.error;
  EXPECT_EQ(report.interfaces, interfaces);
  EXPECT_EQ(report.records_dropped, 0U);
  const auto& cs = report.result.connections;
  ASSERT_EQ(cs.size(), 4U) << render_text(report);
  EXPECT_EQ(report.result.summary.count(observe::Outcome::established), 2U);
  EXPECT_EQ(report.result.summary.count(observe::Outcome::refused), 2U);
  const TsharkView view = tshark_view(file);
  EXPECT_EQ(report.frames, view.frames);
  EXPECT_EQ(cs.size(), view.streams.size());
  EXPECT_EQ(report.result.counters.tcp, view.frames);  // every frame decapsulated, on both link types
  EXPECT_GE(view.protocols.size(), 2U);                // tshark saw two link types too
  compare_with_tshark(report, file);
}

/// libpcap refuses a file whose interfaces differ in link type: at open or at the first such packet.
bool libpcap_reads_all(const fs::path& file, std::size_t frames) {
  auto reader = capture::PcapReader::open(file);
  if (!reader) return false;
  std::size_t read = 0;
  for (;;) {
    auto next = reader->next();
    if (!next) return false;
    if (!next->has_value()) break;
    ++read;
  }
  return read == frames;
}

#define SKIP_WITHOUT(tools)                              \
  do {                                                   \
    for (const char* tool : tools) {                     \
      if (!have(tool)) GTEST_SKIP() << "needs " << tool; \
    }                                                    \
  } while (0)

TEST(MultiLinkCapture, DumpcapOnLoopbackAndAnyAtOnce_TwoLinkTypesInOneFile_AgreesWithTshark) {
  const std::array<const char*, 4> tools = {"dumpcap", "tshark", "python3", "ip"};
  SKIP_WITHOUT(tools);
  const auto dir = work_dir();
  const auto file = dir / "two.pcapng";
  // IPv4 on lo (Ethernet), IPv6 on "any" (Linux cooked v1 as dumpcap opens it): each connection once.
  const std::string start = "dumpcap -q -i lo -f ip -i any -f ip6 -w '" + file.string() + "' 2> '" +
                            (dir / "dumpcap.err").string() + "' &\nPIDS=\"$PIDS $!\"";
  const auto result =
      run_in_namespace(script(dir, start, "[ -s '" + file.string() + "' ]", has_rsts(file.string(), 2)),
                       std::chrono::seconds(60));
  if (result == ChildResult::no_namespace) GTEST_SKIP() << "namespaces unavailable";
  ASSERT_EQ(result, ChildResult::ok);
  auto reader = capture::CaptureReader::open(file);
  ASSERT_TRUE(reader.has_value()) << reader.error().message;
  ASSERT_EQ(reader->interfaces().size(), 2U);
  EXPECT_EQ(reader->interfaces()[0].linktype, wire::dlt::kEn10Mb);
  EXPECT_EQ(reader->interfaces()[1].linktype, wire::dlt::kLinuxSll);
  expect_agrees_with_tshark(file, 2);
  EXPECT_FALSE(libpcap_reads_all(file, tshark_view(file).frames));
}

TEST(MultiLinkCapture, MergecapOfMicrosecondEthernetAndNanosecondSll2_TwoResolutions_AgreesWithTshark) {
  const std::array<const char*, 5> tools = {"dumpcap", "mergecap", "tshark", "python3", "ip"};
  SKIP_WITHOUT(tools);
  const auto dir = work_dir();
  // IPv4 on lo into a classic (microsecond) pcap; IPv6 on "any" as Linux cooked v2 into a nanosecond pcapng.
  const auto ether = (dir / "lo.pcap").string();
  const auto cooked = (dir / "any.pcapng").string();
  const std::string start = "dumpcap -q -P -i lo -f ip -w '" + ether + "' 2> '" + (dir / "lo.err").string() +
                            "' &\nPIDS=\"$PIDS $!\"\n" + "dumpcap -q -i any -y LINUX_SLL2 -f ip6 -w '" +
                            cooked + "' 2> '" + (dir / "any.err").string() + "' &\nPIDS=\"$PIDS $!\"";
  const std::string ready = "[ -s '" + ether + "' ] && [ -s '" + cooked + "' ]";
  const std::string done = has_rsts(ether, 1) + " && " + has_rsts(cooked, 1);
  const auto result = run_in_namespace(script(dir, start, ready, done), std::chrono::seconds(60));
  if (result == ChildResult::no_namespace) GTEST_SKIP() << "namespaces unavailable";
  ASSERT_EQ(result, ChildResult::ok);
  const auto merged = dir / "merged.pcapng";
  ASSERT_EQ(std::system(
                ("mergecap -F pcapng -w '" + merged.string() + "' '" + ether + "' '" + cooked + "'").c_str()),
            0);
  auto reader = capture::CaptureReader::open(merged);
  ASSERT_TRUE(reader.has_value()) << reader.error().message;
  ASSERT_EQ(reader->interfaces().size(), 2U);
  EXPECT_EQ(reader->interfaces()[1].linktype, wire::dlt::kLinuxSll2);
  expect_agrees_with_tshark(merged, 2);
  // The nanosecond interface keeps its nanoseconds: some SLL2 record is not a whole microsecond.
  bool sub_microsecond = false;
  capture::Record record;
  while (reader->next(record) == capture::CaptureReader::Next::record) {
    if (record.interface == 1 && record.timestamp.count() % 1000 != 0) sub_microsecond = true;
  }
  EXPECT_TRUE(sub_microsecond);
}

}  // namespace
}  // namespace synack::analyze
