// `synack analyze` through CLI11, as the synack executable runs it: output and exit codes.
#include <algorithm>
#include <fstream>
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "analyze_command.hpp"
#include "exit_codes.hpp"
#include "packets.hpp"

namespace synack::cli {
namespace {

using namespace analyze::testing;  // NOLINT
using ::testing::HasSubstr;
using ::testing::Not;

struct Run {
  int exit_code = -1;
  std::string out;
  std::string err;
};

Run run(std::vector<std::string> args) {
  CLI::App app{"synack"};
  app.require_subcommand(1);
  int exit_code = kExitOk;
  register_analyze_command(app, exit_code);
  // In-process: the sandbox would confine the test binary itself. --no-drop skips it (the sandboxed
  // run is checked against this one by tests/cli/privdrop_e2e.py); its warning line is removed below.
  if (!args.empty() && args[0] == "analyze") args.insert(args.begin() + 1, "--no-drop");
  std::vector<const char*> argv{"synack"};
  for (const auto& a : args) argv.push_back(a.c_str());
  Run r;
  ::testing::internal::CaptureStdout();
  ::testing::internal::CaptureStderr();
  try {
    app.parse(static_cast<int>(argv.size()), argv.data());
    r.exit_code = exit_code;
  } catch (const CLI::ParseError& e) {
    r.exit_code = kExitUsage;
  }
  r.out = ::testing::internal::GetCapturedStdout();
  r.err = ::testing::internal::GetCapturedStderr();
  if (const auto w = r.err.find("warning: --no-drop"); w != std::string::npos) {
    const auto start = r.err.rfind('\n', w);
    const auto end = r.err.find('\n', w);
    r.err.erase(start == std::string::npos ? 0 : start + 1,
                end == std::string::npos ? std::string::npos
                                         : end - (start == std::string::npos ? 0 : start + 1) + 1);
  }
  return r;
}

std::filesystem::path sample() {
  Conversation ok("192.0.2.1", 40000, "192.0.2.2", 80);
  Conversation refused("192.0.2.1", 40001, "192.0.2.2", 81);
  const auto o = linux_syn_options();
  const auto path = temp_path("cli.pcap");
  write_pcap(path, {ok.c(kEpoch, S, 1, 0, o), refused.c(kEpoch + 1ms, S, 100, 0, o),
                    ok.s(kEpoch + 2ms, S | A, 9, 2, o), refused.s(kEpoch + 2ms, R | A, 0, 101),
                    ok.c(kEpoch + 3ms, A, 2, 10, o)});
  return path;
}

TEST(AnalyzeCommand, TextReport) {
  auto r = run({"analyze", sample().string()});
  EXPECT_EQ(r.exit_code, kExitOk) << r.err;
  EXPECT_THAT(r.out, HasSubstr("2 connections"));
  EXPECT_THAT(r.out, HasSubstr("refused"));
}

// A BPF filter selects frames before the analyzer sees them, as tcpdump's does: -f EXPR, or the words
// after FILE.
TEST(AnalyzeCommand, BpfFilter_SelectsOneConnection) {
  const auto file = sample().string();
  for (const auto& args : {std::vector<std::string>{"analyze", file, "--json", "-f", "tcp port 81"},
                           std::vector<std::string>{"analyze", file, "tcp", "port", "81", "--json"},
                           std::vector<std::string>{"analyze", "--json", "--filter=port 81", file}}) {
    auto r = run(args);
    ASSERT_EQ(r.exit_code, kExitOk) << r.err;
    auto j = nlohmann::json::parse(r.out);
    ASSERT_EQ(j["connections"].size(), 1U) << r.out;
    EXPECT_EQ(j["connections"][0]["outcome"], "refused");
    EXPECT_EQ(j["connections"][0]["number"], 1);
  }
  auto none = run({"analyze", file, "--json", "-f", "udp"});
  ASSERT_EQ(none.exit_code, kExitOk) << none.err;
  EXPECT_EQ(nlohmann::json::parse(none.out)["connections"].size(), 0U);
}

TEST(AnalyzeCommand, BpfFilter_ThatDoesNotCompile_IsAUsageError) {
  auto r = run({"analyze", sample().string(), "-f", "tcp port banana"});
  EXPECT_EQ(r.exit_code, kExitUsage);
  EXPECT_THAT(r.err, HasSubstr("--filter"));
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  // -f and a trailing expression together: one of them is a mistake.
  EXPECT_EQ(run({"analyze", sample().string(), "-f", "tcp", "port", "80"}).exit_code, kExitUsage);
}

// --json-stream: a line per connection as its report becomes final, then the summary; the same values as
// the document's.
TEST(AnalyzeCommand, JsonStream_ALinePerConnectionThenTheSummary) {
  const auto file = sample().string();
  auto r = run({"analyze", file, "--json-stream"});
  ASSERT_EQ(r.exit_code, kExitOk) << r.err;
  std::vector<nlohmann::json> lines;
  std::istringstream in(r.out);
  for (std::string line; std::getline(in, line);) lines.push_back(nlohmann::json::parse(line));
  ASSERT_EQ(lines.size(), 3U) << r.out;
  const auto document = nlohmann::json::parse(run({"analyze", file, "--json"}).out);
  for (std::size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(lines[i]["schema"], 1);
    EXPECT_EQ(lines[i]["event"], "connection");
    const auto n = lines[i]["number"].get<std::size_t>();
    nlohmann::json same = lines[i];
    same.erase("schema");
    same.erase("event");
    EXPECT_EQ(same, document["connections"][n - 1]) << lines[i].dump();
  }
  EXPECT_EQ(lines[2]["event"], "summary");
  EXPECT_EQ(lines[2]["status"], "ok");
  EXPECT_EQ(lines[2]["summary"], document["summary"]);
  EXPECT_EQ(run({"analyze", file, "--json-stream", "--json"}).exit_code, kExitUsage);
  EXPECT_EQ(run({"analyze", file, "--json-stream", "--ladder", "1"}).exit_code, kExitUsage);
}

TEST(AnalyzeCommand, Json) {
  auto r = run({"analyze", sample().string(), "--json"});
  EXPECT_EQ(r.exit_code, kExitOk);
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["connections"].size(), 2U);
  EXPECT_EQ(j["summary"]["outcomes"]["refused"], 1);
}

TEST(AnalyzeCommand, LadderAndSvg) {
  const auto svg = temp_path("cli.svg");
  auto r = run({"analyze", sample().string(), "--ladder", "1", "--svg", svg.string(), "--conn", "2"});
  EXPECT_EQ(r.exit_code, kExitOk) << r.err;
  EXPECT_THAT(r.out, HasSubstr("Connection 1:"));
  EXPECT_THAT(r.out, HasSubstr("SA seq=0 ack=1"));
  std::ifstream in(svg);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_THAT(text, HasSubstr("Connection 2"));
  EXPECT_THAT(text, HasSubstr("RA seq=0 ack=1"));
}

TEST(AnalyzeCommand, UnknownConnectionFails) {
  auto r = run({"analyze", sample().string(), "--ladder", "9"});
  EXPECT_EQ(r.exit_code, kExitFailure);
  EXPECT_THAT(r.err, HasSubstr("no connection 9"));
}

TEST(AnalyzeCommand, MissingFileExitsOne) {
  auto r = run({"analyze", "/nonexistent/x.pcap"});
  EXPECT_EQ(r.exit_code, kExitFailure);
  EXPECT_EQ(r.err, "synack analyze: /nonexistent/x.pcap: No such file or directory\n");  // the path once
}

TEST(AnalyzeCommand, NotACapture_NamesThePathOnce) {
  const auto path = temp_path("not-a-capture.pcap");
  std::ofstream(path) << "not a capture file at all\n";
  auto r = run({"analyze", path.string()});
  EXPECT_EQ(r.exit_code, kExitFailure);
  EXPECT_THAT(r.err, HasSubstr(path.string() + ": "));
  EXPECT_EQ(r.err.find(path.string()), r.err.rfind(path.string())) << r.err;
}

TEST(AnalyzeCommand, DamagedFileExitsThreeWithAReport) {
  const auto path = sample();
  const auto size = std::filesystem::file_size(path);
  std::filesystem::resize_file(path, size - 5);
  auto r = run({"analyze", path.string()});
  EXPECT_EQ(r.exit_code, kExitPartial);
  EXPECT_THAT(r.out, HasSubstr("WARNING"));
  EXPECT_THAT(r.err, HasSubstr("damaged"));
  EXPECT_EQ(r.err.find(path.string()), r.err.rfind(path.string())) << r.err;  // the path once
}

TEST(AnalyzeCommand, SvgWithoutConnIsAUsageError) {
  auto r = run({"analyze", sample().string(), "--svg", "x.svg"});
  EXPECT_EQ(r.exit_code, kExitUsage);
}

/// A connection of 13 packets: handshake, four requests and their ACKs, then the FIN exchange.
std::filesystem::path long_connection() {
  Conversation k("192.0.2.1", 40000, "192.0.2.2", 80);
  const auto o = linux_syn_options();
  std::vector<Packet> p{k.c(kEpoch, S, 1, 0, o), k.s(kEpoch + 1ms, S | A, 9, 2, o),
                        k.c(kEpoch + 2ms, A, 2, 10)};
  std::uint32_t seq = 2;
  for (int i = 0; i < 4; ++i) {
    const auto t = kEpoch + std::chrono::milliseconds(3 + 2 * i);
    p.push_back(k.c(t, P | A, seq, 10, {}, 100));
    seq += 100;
    p.push_back(k.s(t + 1ms, A, 10, seq));
  }
  p.push_back(k.c(kEpoch + 20ms, F | A, seq, 10));
  p.push_back(k.s(kEpoch + 21ms, F | A, 10, seq + 1));
  const auto path = temp_path("cli-long.pcap");
  write_pcap(path, p);
  return path;
}

TEST(AnalyzeCommand, LongConnection_LadderReachesTheFinExchange_Uncut) {
  auto r = run({"analyze", long_connection().string(), "--ladder", "1"});
  EXPECT_EQ(r.exit_code, kExitOk) << r.err;
  EXPECT_THAT(r.out, HasSubstr("FA seq="));
  EXPECT_THAT(r.out, Not(HasSubstr("the ladder stops")));
}

TEST(AnalyzeCommand, LadderLimit_CutLadderAndSvgSaySo) {
  const auto svg = temp_path("cli-long.svg");
  auto r = run({"analyze", long_connection().string(), "--ladder", "1", "--ladder-limit", "5", "--svg",
                svg.string(), "--conn", "1"});
  EXPECT_EQ(r.exit_code, kExitOk) << r.err;
  EXPECT_THAT(r.out, HasSubstr("… the ladder stops at 5 segments; more were seen (--ladder-limit to raise)"));
  EXPECT_THAT(r.out, Not(HasSubstr("FA seq=")));
  std::ifstream in(svg);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_THAT(text, HasSubstr("the ladder stops at 5 segments"));
  EXPECT_EQ(run({"analyze", long_connection().string(), "--ladder-limit", "0"}).exit_code, kExitUsage);
}

// Live capture's command line: FILE or -i, -w only with -i, an interface that cannot be opened exits 7.
TEST(AnalyzeCommand, Live_NeitherFileNorInterface_IsAUsageError) {
  const auto r = run({"analyze"});
  EXPECT_EQ(r.exit_code, kExitUsage);
  EXPECT_THAT(r.err, HasSubstr("FILE or -i INTERFACE"));
}

TEST(AnalyzeCommand, Live_WriteWithoutInterface_IsAUsageError) {
  const auto r = run({"analyze", sample().string(), "-w", temp_path("saved.pcap").string()});
  EXPECT_EQ(r.exit_code, kExitUsage);
  EXPECT_THAT(r.err, HasSubstr("-w"));
}

TEST(AnalyzeCommand, Live_LadderWithInterface_IsAUsageError) {
  EXPECT_EQ(run({"analyze", "-i", "lo", "--ladder", "1"}).exit_code, kExitUsage);
}

TEST(AnalyzeCommand, Live_NoSuchInterface_ExitsSevenNamingIt) {
  const auto r = run({"analyze", "-i", "synack-no-such0"});
  EXPECT_EQ(r.exit_code, kExitUnavailable);
  EXPECT_THAT(r.err, HasSubstr("synack-no-such0"));
}

}  // namespace
}  // namespace synack::cli
