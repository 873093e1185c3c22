// Helpers for the kernel capture tests: a scenario run in a network namespace the test creates (a forked
// child unshares itself; the test process stays in the root namespace), captured with tcpdump, and
// tshark's reading of the same file. Nothing is added to the root namespace; every wait is bounded.
#pragma once

#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "synack/analyze/report.hpp"

namespace synack::analyze::kernel_testing {

namespace fs = std::filesystem;

inline bool have(const char* tool) {
  return std::system((std::string("command -v ") + tool + " > /dev/null 2>&1").c_str()) == 0;
}

inline fs::path work_dir() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  auto dir = fs::temp_directory_path() / "synack-analyze-kernel" / info->name();
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

enum class ChildResult { ok, no_namespace, failed, timed_out };

// Runs `script` with /bin/sh in a child that first moves into a new network namespace.
inline ChildResult run_in_namespace(const std::string& script, std::chrono::seconds limit) {
  const pid_t pid = fork();
  if (pid < 0) return ChildResult::failed;
  if (pid == 0) {
    if (unshare(CLONE_NEWNET) != 0) _exit(77);
    // A process group of its own, so the parent can stop tcpdump too if the child overruns.
    setpgid(0, 0);
    execl("/bin/sh", "sh", "-c", script.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  const auto deadline = std::chrono::steady_clock::now() + limit;
  int status = 0;
  while (true) {
    const pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) break;
    if (std::chrono::steady_clock::now() > deadline) {
      kill(-pid, SIGKILL);
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      return ChildResult::timed_out;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 77) return ChildResult::no_namespace;
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? ChildResult::ok : ChildResult::failed;
}

// The shell around a scenario: loopback up, sysctls, tcpdump started and known to be capturing, the
// python3 scenario, then tcpdump stopped by its PID.
inline std::string capture_script(const fs::path& dir, const std::string& sysctls, const std::string& python,
                                  const std::string& interface) {
  const auto pcap = (dir / "capture.pcap").string();
  const auto err = (dir / "tcpdump.err").string();
  const auto py = (dir / "scenario.py").string();
  std::ofstream(py) << python;
  std::ostringstream s;
  s << "set -e\n"
    << "ip link set lo up\n"
    << "sysctl -qw net.ipv4.tcp_syn_retries=1\n"
    << sysctls << "\n"
    << "tcpdump -i " << interface << " -n -U --immediate-mode -s 1024 -B 16384 -w '" << pcap << "' 2> '"
    << err << "' &\n"
    << "TD=$!\n"
    << "i=0; while ! grep -q listening '" << err
    << "'; do i=$((i+1)); if [ $i -gt 100 ]; then kill $TD; exit 3; fi; "
    << "sleep 0.05; done\n"
    << "sleep 0.2\n"
    << "python3 '" << py << "' > '" << dir.string() << "/scenario.out' 2>&1 || { kill $TD; exit 4; }\n"
    << "sleep 0.3\n"
    << "kill $TD\n"
    << "wait $TD || true\n";
  return s.str();
}

inline constexpr const char* kPythonHelpers = R"(
import socket, sys
def echo_once(family, host):
    srv = socket.socket(family, socket.SOCK_STREAM)
    srv.bind((host, 0)); srv.listen(8)
    port = srv.getsockname()[1]
    c = socket.create_connection((host, port), timeout=5)
    s, _ = srv.accept()
    c.sendall(b"hello"); s.recv(16); s.sendall(b"world"); c.recv(16)
    c.close(); s.close(); srv.close()
def refused(family, host):
    probe = socket.socket(family, socket.SOCK_STREAM); probe.bind((host, 0))
    port = probe.getsockname()[1]; probe.close()
    try:
        socket.create_connection((host, port), timeout=5)
        sys.exit("connected to a closed port")
    except ConnectionRefusedError:
        pass
)";

struct TsharkRow {
  std::string src;
  std::uint16_t sport = 0;
  std::uint16_t dport = 0;
  unsigned flags = 0;
  std::uint32_t seq = 0;
  std::string stream;
  std::string initial_rtt;
  std::string mss;
  std::string wscale;
  std::string sack_perm;
  std::string tsval;
};

/// Runs `cmd` (a tshark command writing '|'-separated fields to `out`); each line of `out` split into
/// exactly `width` fields (missing ones empty). Empty when tshark failed.
inline std::vector<std::vector<std::string>> tshark_fields(const std::string& cmd, const std::string& out,
                                                           std::size_t width) {
  std::vector<std::vector<std::string>> rows;
  if (std::system(cmd.c_str()) != 0) return rows;
  std::ifstream in(out);
  std::string line;
  while (std::getline(in, line)) {
    std::vector<std::string> f;
    std::stringstream ss(line);
    std::string field;
    while (std::getline(ss, field, '|')) f.push_back(field);
    f.resize(width);
    rows.push_back(std::move(f));
  }
  return rows;
}

inline std::vector<TsharkRow> tshark_rows(const fs::path& pcap) {
  const auto out = pcap.string() + ".tshark";
  const std::string cmd =
      "tshark -r '" + pcap.string() +
      "' -T fields -E separator='|' -E occurrence=f -e ip.src -e ipv6.src -e tcp.srcport "
      "-e tcp.dstport -e tcp.flags -e tcp.seq_raw -e tcp.stream -e tcp.analysis.initial_rtt "
      "-e tcp.options.mss_val -e tcp.options.wscale.shift -e tcp.options.sack_perm "
      "-e tcp.options.timestamp.tsval > '" +
      out + "' 2>/dev/null";
  std::vector<TsharkRow> rows;
  for (const std::vector<std::string>& f : tshark_fields(cmd, out, 12)) {
    TsharkRow r;
    r.src = f[0].empty() ? f[1] : f[0];
    r.sport = static_cast<std::uint16_t>(std::stoul(f[2].empty() ? "0" : f[2]));
    r.dport = static_cast<std::uint16_t>(std::stoul(f[3].empty() ? "0" : f[3]));
    r.flags = static_cast<unsigned>(std::stoul(f[4].empty() ? "0" : f[4], nullptr, 16));
    r.seq = static_cast<std::uint32_t>(std::stoul(f[5].empty() ? "0" : f[5]));
    r.stream = f[6];
    r.initial_rtt = f[7];
    r.mss = f[8];
    r.wscale = f[9];
    r.sack_perm = f[10];
    r.tsval = f[11];
    rows.push_back(r);
  }
  return rows;
}

// Checks one side's offered options against tshark's reading of the same SYN / SYN-ACK.
inline void expect_offered_matches(const OfferedOptions& o, const TsharkRow& row, const char* side) {
  SCOPED_TRACE(side);
  ASSERT_TRUE(o.seen);
  ASSERT_FALSE(o.unknown);
  EXPECT_EQ(o.mss.has_value(), !row.mss.empty());
  if (o.mss && !row.mss.empty()) {
    EXPECT_EQ(*o.mss, std::stoul(row.mss));
  }
  EXPECT_EQ(o.wscale.has_value(), !row.wscale.empty());
  if (o.wscale && !row.wscale.empty()) {
    EXPECT_EQ(*o.wscale, std::stoul(row.wscale));
  }
  EXPECT_EQ(o.sack_permitted, !row.sack_perm.empty());
  EXPECT_EQ(o.timestamps, !row.tsval.empty());
  if (o.timestamps && !row.tsval.empty()) {
    EXPECT_EQ(o.tsval, std::stoul(row.tsval));
  }
}

// Every handshake the analyzer saw agrees with tshark: ISNs, offered options, and establish time against
// tcp.analysis.initial_rtt.
inline void compare_with_tshark(const FileReport& report, const fs::path& pcap) {
  if (!have("tshark")) {
    std::fprintf(stderr, "tshark not installed: comparison skipped\n");
    return;
  }
  const auto rows = tshark_rows(pcap);
  ASSERT_FALSE(rows.empty());
  std::size_t compared = 0;
  for (const auto& c : report.result.connections) {
    SCOPED_TRACE(c.client.to_string() + " -> " + c.server.to_string());
    const TsharkRow* syn = nullptr;
    const TsharkRow* synack = nullptr;
    double initial_rtt = -1;
    for (const auto& r : rows) {
      const bool c2s = r.sport == c.client.port && r.dport == c.server.port;
      const bool s2c = r.sport == c.server.port && r.dport == c.client.port;
      if (c2s && (r.flags & 0x12U) == 0x02U && r.seq == c.client_isn.value_or(0) && syn == nullptr) syn = &r;
      if (s2c && (r.flags & 0x12U) == 0x12U && synack == nullptr) synack = &r;
      if ((c2s || s2c) && !r.initial_rtt.empty()) initial_rtt = std::stod(r.initial_rtt);
    }
    ASSERT_NE(syn, nullptr);
    expect_offered_matches(c.client_offered, *syn, "client SYN");
    if (synack != nullptr) {
      EXPECT_EQ(c.server_isn, synack->seq);
      expect_offered_matches(c.server_offered, *synack, "server SYN-ACK");
    }
    if (c.outcome == observe::Outcome::established) {
      ASSERT_GE(initial_rtt, 0.0) << "tshark has no initial_rtt";
      EXPECT_NEAR(*c.establish_ms, initial_rtt * 1000.0, 0.002);
    }
    ++compared;
  }
  EXPECT_EQ(compared, report.result.connections.size());
}

#define SKIP_WITHOUT_TOOLS()                                                                               \
  do {                                                                                                     \
    if (!have("tcpdump") || !have("python3") || !have("ip")) GTEST_SKIP() << "needs tcpdump, python3, ip"; \
  } while (0)

inline FileReport capture_and_analyse(const std::string& sysctls, const std::string& python, fs::path& pcap,
                                      const std::string& interface = "any") {
  const auto dir = work_dir();
  pcap = dir / "capture.pcap";
  const auto result =
      run_in_namespace(capture_script(dir, sysctls, std::string(kPythonHelpers) + python, interface),
                       std::chrono::seconds(60));
  FileReport report;
  if (result == ChildResult::no_namespace) {
    report.error = "namespaces unavailable";
    report.status = FileReport::Status::open_failed;
    return report;
  }
  if (result != ChildResult::ok) {
    std::ifstream in(dir / "scenario.out");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    ADD_FAILURE() << "scenario failed: " << static_cast<int>(result) << "\n" << text;
    return report;
  }
  AnalyzerConfig config;
  config.record_all = true;
  return analyse_file(pcap, config);
}

}  // namespace synack::analyze::kernel_testing
