// `synack sim` end to end through the sim_cli driver: output shapes, exit codes, NO_COLOR, determinism.
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <sstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/shell.hpp"

namespace {

using Result = synack::test::ShellResult;

Result sim_raw(const std::string& cmd) {
  return synack::test::run_shell(cmd);
}

Result sim(const std::string& args) {
  return sim_raw(std::string(SIM_CLI_PATH) + " " + args + " 2>/dev/null");
}

std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

TEST(SimCli, NormalPrintsTheLadderAndWhatWasAgreed) {
  const auto r = sim("normal");
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("|------------ S ------------>|"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("|<----------- SA ------------|"), std::string::npos);
  EXPECT_NE(r.out.find("→ established after 20.000 ms"), std::string::npos);
  EXPECT_NE(
      r.out.find("agreed: MSS 1460 c>s / 1460 s>c, window scale client 7 / server 7, SACK on, timestamps on"),
      std::string::npos);
  EXPECT_EQ(r.out.find("\x1b["), std::string::npos);  // not a terminal: no colour
}

TEST(SimCli, RelativeByDefaultAbsoluteOnRequest) {
  EXPECT_NE(sim("normal").out.find("seq=1 ack=1"), std::string::npos);
  EXPECT_EQ(sim("normal --absolute").out.find("seq=1 ack=1"), std::string::npos);
}

TEST(SimCli, DeadServerTimesOutAfterSixRetransmissions) {
  const auto r = sim("dead-server");
  EXPECT_EQ(r.code, 0);  // the run completed, whatever the outcome
  EXPECT_NE(r.out.find("63000.000 ms"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("timed out after 6 SYN retransmissions (127.000 s)"), std::string::npos) << r.out;
}

TEST(SimCli, JsonIsOneDocumentAndDeterministic) {
  const auto a = sim("lossy --seed 4 --connections 5 --json");
  const auto b = sim("lossy --seed 4 --connections 5 --json");
  ASSERT_EQ(a.code, 0);
  EXPECT_EQ(a.out, b.out);
  const auto j = nlohmann::json::parse(a.out);
  EXPECT_EQ(j["scenario"], "lossy");
  EXPECT_EQ(j["seed"], 4);
  EXPECT_EQ(j["schema"], 1);
  EXPECT_EQ(j["connections"].size(), 5U);
  EXPECT_EQ(j["connections"][0]["number"], 1);  // as the text's "Connection 1"
  EXPECT_TRUE(j["summary"].contains("outcomes"));
  EXPECT_TRUE(j["summary"]["handshake_ms"].contains("p99"));
}

TEST(SimCli, JsonStreamIsOneObjectPerLine) {
  const auto r = sim("closed-port --json-stream");
  ASSERT_EQ(r.code, 0);
  std::istringstream lines(r.out);
  std::string line;
  std::vector<std::string> events;
  while (std::getline(lines, line)) {
    const auto j = nlohmann::json::parse(line);
    EXPECT_EQ(j["schema"], 1) << line;  // every line is a top-level document
    if (j["event"] == "segment") {
      EXPECT_EQ(j["connection"], 1) << line;  // connections count from 1
    } else if (j["event"] == "connection") {
      EXPECT_EQ(j["number"], 1) << line;
    }
    events.push_back(j["event"]);
  }
  EXPECT_EQ(events, (std::vector<std::string>{"segment", "segment", "connection", "summary"}));
}

TEST(SimCli, ManyConnectionsPrintASummary) {
  const auto r = sim("normal --connections 200 --loss 0.1");
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("Summary: 200 connections"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("handshake    p50 20.000 ms"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("handshake time histogram:"), std::string::npos);
  EXPECT_EQ(r.out.find("Connection 1:"), std::string::npos);  // no ladders for > 10 connections
}

TEST(SimCli, PcapIsWrittenAndReproducible) {
  const auto dir = std::filesystem::temp_directory_path() / ("synack-sim-cli-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  EXPECT_EQ(sim("lossy --connections 3 --pcap " + (dir / "a.pcap").string()).code, 0);
  EXPECT_EQ(sim("lossy --connections 3 --pcap " + (dir / "b.pcap").string()).code, 0);
  const std::string a = slurp(dir / "a.pcap");
  EXPECT_GT(a.size(), 24U);
  EXPECT_EQ(a, slurp(dir / "b.pcap"));
  std::filesystem::remove_all(dir);
}

TEST(SimCli, PcapDash_CaptureOnStdout_ReportOnStderr) {
  const auto file = std::filesystem::temp_directory_path() / "synack-sim-cli-dash.pcap";
  ASSERT_EQ(sim("normal --pcap " + file.string()).code, 0);
  const auto piped = sim("normal --pcap -");  // stdout only: the report went to stderr
  EXPECT_EQ(piped.code, 0);
  EXPECT_EQ(piped.out, slurp(file));  // byte for byte the capture, nothing else
  const auto report = sim_raw(std::string(SIM_CLI_PATH) + " normal --pcap - 2>&1 >/dev/null");
  EXPECT_NE(report.out.find("agreed: MSS 1460"), std::string::npos) << report.out;
  EXPECT_NE(report.out.find("segments to standard output"), std::string::npos) << report.out;
  EXPECT_EQ(sim("normal --pcap - --json").code, 2);  // both would want stdout
}

// -v: both stacks' log on stderr (transitions with their cause, drops with their counter), stdout unchanged.
TEST(SimCli, Verbose_BothStacksTransitionsAndDropsOnStderr) {
  const auto log = sim_raw(std::string(SIM_CLI_PATH) + " normal -v 2>&1 >/dev/null");
  EXPECT_EQ(log.code, 0);
  EXPECT_NE(log.out.find("[client] +0.000000 s 192.0.2.1:"), std::string::npos) << log.out;
  EXPECT_NE(log.out.find("CLOSED -> SYN-SENT (OPEN)"), std::string::npos) << log.out;
  EXPECT_NE(log.out.find("SYN-SENT -> ESTABLISHED (rcv SYN,ACK)"), std::string::npos) << log.out;
  EXPECT_NE(log.out.find("[server]"), std::string::npos) << log.out;
  EXPECT_NE(log.out.find("CLOSED -> ESTABLISHED (handshake completed in the listener)"), std::string::npos)
      << log.out;
  EXPECT_EQ(sim("normal -v").out, sim("normal").out);
  const auto refused = sim_raw(std::string(SIM_CLI_PATH) + " closed-port -v 2>&1 >/dev/null");
  EXPECT_NE(refused.out.find("[server]"), std::string::npos);
  EXPECT_NE(refused.out.find("drop SynackNoListener"), std::string::npos) << refused.out;
  EXPECT_NE(refused.out.find("SYN-SENT -> CLOSED (rcv RST,ACK (connection refused))"), std::string::npos)
      << refused.out;
  EXPECT_EQ(sim_raw(std::string(SIM_CLI_PATH) + " normal 2>&1 >/dev/null").out, "");  // no -v: no log
}

TEST(SimCli, Quiet_NoLadderOnlyTheSummary) {
  const auto r = sim("normal -q");
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.out.find("|------------ S ------------>|"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("established"), std::string::npos) << r.out;
  EXPECT_EQ(sim("normal -q --ladders 1").code, 2);
}

TEST(SimCli, LadderLimit_CutLadderSaysHowManyMore_DefaultDrawsAll) {
  const auto all = sim("normal");
  EXPECT_EQ(all.out.find("the ladder stops"), std::string::npos) << all.out;
  const auto cut = sim("normal --ladder-limit 2");
  EXPECT_EQ(cut.code, 0);
  EXPECT_NE(cut.out.find("|------------ S ------------>|"), std::string::npos) << cut.out;
  EXPECT_EQ(cut.out.find("→ established"), cut.out.rfind("→ established"));  // the outcome still printed
  EXPECT_NE(cut.out.find("… the ladder stops at 2 segments; 1 more was seen (--ladder-limit to raise)"),
            std::string::npos)
      << cut.out;
  EXPECT_EQ(sim("normal --ladder-limit -1").code, 2);
}

TEST(SimCli, ExitCodes) {
  EXPECT_EQ(sim("--list").code, 0);
  EXPECT_NE(sim("--list").out.find("dead-server"), std::string::npos);
  EXPECT_EQ(sim("no-such-scenario").code, 2);
  EXPECT_EQ(sim("normal --loss 2").code, 2);
  EXPECT_EQ(sim("normal --json --json-stream").code, 2);
  EXPECT_EQ(sim("normal --server-mode sideways").code, 2);
  EXPECT_EQ(sim("normal --pcap /nonexistent-dir/x.pcap").code, 1);
}

TEST(SimCli, ImpairmentsTakeOneValueOrOnePerDirection) {
  const auto r = sim("normal --loss 0.25,0 --delay 5,20 --jitter 1");
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("link c>s: delay 5 ms, jitter 1 ms, loss 25 %"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("link s>c: delay 20 ms, jitter 1 ms\n"), std::string::npos) << r.out;
  EXPECT_EQ(sim("normal --loss 0.1,2").code, 2);
  EXPECT_EQ(sim("normal --delay x").code, 2);
  EXPECT_EQ(sim("normal --loss 0.1,0.2,0.3").code, 2);
}

TEST(SimCli, ServerModesAndOptionFlags) {
  EXPECT_NE(sim("normal --server-mode closed").out.find("refused"), std::string::npos);
  const auto r = sim("normal --client-mss 1400 --server-mss 1300 --no-sack --no-timestamps --no-wscale");
  EXPECT_NE(r.out.find("agreed: MSS 1300 c>s / 1300 s>c, window scale off, SACK off, timestamps off"),
            std::string::npos)
      << r.out;
  EXPECT_NE(sim("normal --drop-syn 1").out.find("[dropped]"), std::string::npos);
  EXPECT_NE(sim("normal --drop-final-ack").out.find("[dropped]"), std::string::npos);
  EXPECT_NE(sim("normal --corrupt-segment 1").out.find("[corrupted]"), std::string::npos);
}

/// stderr of `synack sim ARGS` (stdout discarded) and the exit code.
Result sim_stderr(const std::string& args) {
  return sim_raw(std::string(SIM_CLI_PATH) + " " + args + " 2>&1 >/dev/null");
}

TEST(SimCli, SynFlood_DefaultWhenFull_PrintsCookieLadderAndAccount) {
  const auto r = sim("syn-flood");
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("A legitimate client's handshake through a SYN cookie:"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("[SYN cookie]"), std::string::npos);
  EXPECT_NE(r.out.find("SYN flood: 5000 SYN/s for 10 s, cookies when-full, SYN queue bound 256"),
            std::string::npos);
  EXPECT_NE(r.out.find("legitimate clients: 20 of 20 connected (100.0 %), 0 failed"), std::string::npos);
}

TEST(SimCli, SynFlood_CookiesNever_ClientsFail) {
  const auto r = sim("syn-flood --syn-cookies never");
  EXPECT_EQ(r.code, 0);  // the run completed, whatever its outcomes
  EXPECT_NE(r.out.find("No SYN cookie was sent"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("legitimate clients: 0 of 20 connected (0.0 %), 20 failed"), std::string::npos)
      << r.out;
}

TEST(SimCli, SynFlood_FlagsReachTheRun) {
  const auto r =
      sim("syn-flood --syn-rate 2000 --flood-duration 2 --connections 4 --interval 100 "
          "--syn-queue 64 --syn-cookies always --json");
  ASSERT_EQ(r.code, 0);
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["flood"]["attacker_syns"], 4000);
  EXPECT_EQ(j["flood"]["syn_queue_bound"], 64);
  EXPECT_EQ(j["flood"]["cookie_policy"], "always");
  EXPECT_EQ(j["connections"].size(), 4U);
  EXPECT_EQ(j["connections"][1]["started_at_s"], 1.1);
  EXPECT_EQ(j["summary"]["outcomes"]["established"], 4);
}

TEST(SimCli, SynFlood_BadFlags_OneLineNamingTheFlag_Exit2) {
  for (const std::string args :
       {"syn-flood --syn-rate 0", "syn-flood --syn-rate x", "syn-flood --flood-duration 0",
        "syn-flood --syn-cookies sometimes", "syn-flood --syn-queue 0", "syn-flood --connect-timeout -1",
        "syn-flood --interval -5", "normal --syn-rate 100",
        "syn-flood --syn-rate 1000000 --flood-duration 600"}) {
    const auto r = sim_stderr(args);
    EXPECT_EQ(r.code, 2) << args;
    const std::string flag = args.substr(args.find("--"), args.find(' ', args.find("--")) - args.find("--"));
    EXPECT_NE(r.out.find(flag), std::string::npos) << args << ": " << r.out;
    EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << args << ": " << r.out;
  }
}

TEST(SimCli, ColorAlways_ColoursAPipe_ColorNever_AndAutoDoNot) {
  EXPECT_NE(sim("normal --color=always").out.find("\x1b["), std::string::npos);
  EXPECT_NE(sim_raw("NO_COLOR=1 " + std::string(SIM_CLI_PATH) + " normal --color always").out.find("\x1b["),
            std::string::npos);
  EXPECT_EQ(sim("normal --color=never").out.find("\x1b["), std::string::npos);
  EXPECT_EQ(sim("normal --color=auto").out.find("\x1b["), std::string::npos);  // a pipe is not a terminal
  EXPECT_EQ(sim("normal --color=rainbow").code, 2);
}

TEST(SimCli, BadNumbers_OneLineNamingTheFlagAndTheSubcommandsHelp_Exit2) {
  for (const std::string args :
       {"--seed -1", "--seed 99999999999999999999999", "--ladders -1", "--connections 0", "--drop-syn -1"}) {
    const auto r = sim_stderr("normal " + args);
    EXPECT_EQ(r.code, 2) << args;
    const std::string flag = args.substr(0, args.find(' '));
    EXPECT_EQ(r.out.rfind("synack: " + flag + ": ", 0), 0U) << args << ": " << r.out;
    EXPECT_NE(r.out.find("run 'synack sim --help' for usage"), std::string::npos) << r.out;
    EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << args << ": " << r.out;
  }
}

TEST(SimCli, UnwritablePcap_NamesThePathOnce) {
  const auto dir = std::filesystem::temp_directory_path() / "synack-sim-cli-dir";
  std::filesystem::create_directories(dir);
  const auto r = sim_stderr("normal --pcap " + dir.string());
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out, "synack sim: cannot write " + dir.string() + ": Is a directory\n");
}

}  // namespace
