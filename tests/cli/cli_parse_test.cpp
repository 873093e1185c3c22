// The synack command line parsed in-process, as the synack executable parses it (every command registered),
// with the commands' actions replaced by nothing: which word goes to which option, and what is refused.
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "exit_codes.hpp"
#include "terminal.hpp"

namespace synack::cli {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

/// Thrown once a subcommand's command line is parsed, validated and checked, before its action runs.
struct Parsed {};

/// A synack CLI::App whose subcommands parse but do not run. Their actions stay registered (the options'
/// storage lives in them): a parse-complete callback, which CLI11 runs after validation and before the
/// action, ends the parse instead.
struct Cli {
  CLI::App app{"synack"};
  int exit_code = kExitOk;

  Cli() {
    app.require_subcommand(1);
    register_commands(app, exit_code);
    for (CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
      sub->parse_complete_callback([] { throw Parsed{}; });
    }
  }

  /// Parses `words` (argv without the program name); the empty string when accepted, else CLI11's message.
  std::string parse(const std::vector<std::string>& words) {
    std::vector<std::string> reversed(words.rbegin(), words.rend());
    try {
      app.parse(reversed);
    } catch (const CLI::ParseError& e) {
      return e.what();
    } catch (const Parsed&) {
      // Words no option or positional took: the synack executable refuses them after this point.
      std::string extras;
      for (const std::string& word : app.remaining(true)) extras += (extras.empty() ? "" : " ") + word;
      return extras.empty() ? std::string() : "not expected: " + extras;
    }
    return "the command would have run";
  }

  [[nodiscard]] std::vector<std::string> values(const std::string& command, const std::string& option) const {
    return app.get_subcommand(command)->get_option(option)->as<std::vector<std::string>>();
  }
};

// ---- repeatable options take one value per occurrence -------------------------------------------------

TEST(ConnectParse, OptionsBeforePositionals_PositionalsKept) {
  Cli cli;
  ASSERT_EQ(cli.parse({"connect", "--tun", "tun0", "--addr", "192.0.2.22", "--kernel-addr", "192.0.2.1/24",
                       "192.0.2.1", "8080", "--send", "hello"}),
            "");
  EXPECT_THAT(cli.values("connect", "--addr"), ElementsAre("192.0.2.22"));
  EXPECT_THAT(cli.values("connect", "--kernel-addr"), ElementsAre("192.0.2.1/24"));
  EXPECT_THAT(cli.values("connect", "HOST"), ElementsAre("192.0.2.1"));
  EXPECT_THAT(cli.values("connect", "PORT"), ElementsAre("8080"));
  EXPECT_THAT(cli.values("connect", "--send"), ElementsAre("hello"));
}

TEST(ConnectParse, OptionsAfterPositionals_SameResult) {
  Cli cli;
  ASSERT_EQ(cli.parse({"connect", "192.0.2.1", "8080", "--addr", "192.0.2.22", "--addr", "2001:db8::22",
                       "--kernel-addr", "192.0.2.1/24", "--send", "hello"}),
            "");
  EXPECT_THAT(cli.values("connect", "--addr"), ElementsAre("192.0.2.22", "2001:db8::22"));
  EXPECT_THAT(cli.values("connect", "HOST"), ElementsAre("192.0.2.1"));
  EXPECT_THAT(cli.values("connect", "PORT"), ElementsAre("8080"));
}

TEST(ConnectParse, OptionsBetweenPositionals_SameResult) {
  Cli cli;
  ASSERT_EQ(cli.parse({"connect", "192.0.2.1", "--addr", "192.0.2.22", "8080"}), "");
  EXPECT_THAT(cli.values("connect", "HOST"), ElementsAre("192.0.2.1"));
  EXPECT_THAT(cli.values("connect", "PORT"), ElementsAre("8080"));
}

TEST(ConnectParse, TwoValuesAfterOneAddr_SecondIsAPositional) {
  Cli cli;
  // The second word is HOST, so PORT becomes 192.0.2.1... and is refused as a port: nothing swallowed.
  EXPECT_NE(cli.parse({"connect", "--addr", "192.0.2.22", "192.0.2.23", "192.0.2.1", "8080"}), "");
}

TEST(ListenParse, PortRepeated_EachOccurrenceOneValue) {
  Cli cli;
  ASSERT_EQ(cli.parse({"listen", "--port", "80", "--addr", "192.0.2.2", "--port", "443"}), "");
  EXPECT_THAT(cli.values("listen", "--port"), ElementsAre("80", "443"));
  EXPECT_THAT(cli.values("listen", "--addr"), ElementsAre("192.0.2.2"));
}

TEST(ListenParse, TwoValuesAfterOnePort_Refused) {
  Cli cli;
  EXPECT_THAT(cli.parse({"listen", "--port", "80", "443"}), HasSubstr("443"));
}

TEST(ForwardParse, RoutesAndKernelAddrsRepeated_EachOccurrenceOneValue) {
  Cli cli;
  ASSERT_EQ(cli.parse({"forward", "--route", "203.0.113.0/24", "--kernel-addr", "192.0.2.1/24", "--route",
                       "2001:db8:2::/64", "--upstream-netns", "up", "--when-full", "refuse"}),
            "");
  EXPECT_THAT(cli.values("forward", "--route"), ElementsAre("203.0.113.0/24", "2001:db8:2::/64"));
  EXPECT_THAT(cli.values("forward", "--upstream-netns"), ElementsAre("up"));
}

TEST(ForwardParse, TwoUpstreamChoices_RefusedNamingBoth) {
  Cli cli;
  const std::string error = cli.parse({"forward", "--upstream-netns", "up", "--upstream-device", "eth0"});
  EXPECT_THAT(error, HasSubstr("--upstream-netns"));
  EXPECT_THAT(error, HasSubstr("--upstream-device"));
}

TEST(ForwardParse, BadNumbersAndChoices_RefusedNamingTheFlag) {
  Cli cli;
  EXPECT_THAT(cli.parse({"forward", "--connect-timeout", "0"}), HasSubstr("--connect-timeout"));
  EXPECT_THAT(cli.parse({"forward", "--max-connections", "-1"}), HasSubstr("--max-connections"));
  EXPECT_THAT(cli.parse({"forward", "--when-full", "queue"}), HasSubstr("--when-full"));
}

TEST(SimParse, OptionsBeforeScenario_ScenarioKept) {
  Cli cli;
  ASSERT_EQ(cli.parse({"sim", "--drop-syn", "1", "--corrupt-segment", "2", "lossy", "--seed", "3"}), "");
  EXPECT_THAT(cli.values("sim", "SCENARIO"), ElementsAre("lossy"));
  EXPECT_THAT(cli.values("sim", "--drop-syn"), ElementsAre("1"));
  EXPECT_THAT(cli.values("sim", "--corrupt-segment"), ElementsAre("2"));
}

TEST(SimParse, OptionsAfterScenario_SameResult) {
  Cli cli;
  ASSERT_EQ(cli.parse({"sim", "lossy", "--drop-syn", "1", "--drop-syn", "2", "--seed", "3"}), "");
  EXPECT_THAT(cli.values("sim", "SCENARIO"), ElementsAre("lossy"));
  EXPECT_THAT(cli.values("sim", "--drop-syn"), ElementsAre("1", "2"));
}

TEST(AnalyzeParse, OptionsBeforeAndAfterFile_FileKept) {
  for (const std::vector<std::string>& words :
       {std::vector<std::string>{"analyze", "--top", "3", "--json", "x.pcap"},
        std::vector<std::string>{"analyze", "x.pcap", "--top", "3", "--json"},
        std::vector<std::string>{"analyze", "--top", "3", "x.pcap", "--json"}}) {
    Cli cli;
    ASSERT_EQ(cli.parse(words), "") << words[1];
    EXPECT_THAT(cli.values("analyze", "FILE"), ElementsAre("x.pcap"));
    EXPECT_THAT(cli.values("analyze", "--top"), ElementsAre("3"));
  }
}

// ---- strict numbers: every numeric flag of every command ------------------------------------------------

struct NumericFlag {
  std::vector<std::string> prefix;  ///< the words before the value (command, required arguments, the flag)
  std::string name;                 ///< how CLI11 names it in the error
  std::string good;                 ///< a value in range
  std::string too_big;              ///< a value just past the range
};

std::vector<NumericFlag> numeric_flags() {
  const std::vector<std::string> sim{"sim"};
  const std::vector<std::string> listen{"listen", "--port", "80"};
  const std::vector<std::string> connect{"connect", "192.0.2.1", "80"};
  const std::vector<std::string> analyze{"analyze", "x.pcap"};
  const std::vector<std::string> bench{"bench"};
  const auto with = [](std::vector<std::string> words, const std::string& flag) {
    words.push_back(flag);
    return words;
  };
  std::vector<NumericFlag> t;
  const auto add = [&](const std::vector<std::string>& base, const std::string& flag, std::string good,
                       std::string too_big) {
    t.push_back({with(base, flag), flag, std::move(good), std::move(too_big)});
  };
  add(sim, "--seed", "18446744073709551615", "18446744073709551616");
  add(sim, "--connections", "10000000", "10000001");
  add(sim, "--ladders", "3", "10000001");
  add(sim, "--drop-syn", "100", "101");
  add(sim, "--corrupt-segment", "1000000", "1000001");
  add(sim, "--client-mss", "88", "65496");
  add(sim, "--server-mss", "65495", "65496");
  add(sim, "--request", "65536", "65537");
  add(sim, "--buffer-kib", "16384", "16385");
  add(sim, "--interval", "3600000", "3600001");
  add(sim, "--connect-timeout", "3600", "3601");
  add(sim, "--syn-queue", "1048576", "1048577");
  add(sim, "--syn-rate", "1000000", "1000001");
  add(sim, "--flood-duration", "600", "601");
  // The link flags, defined once (link_flags.cpp) for every command that drives a link.
  const std::vector<std::string> forward{"forward"};
  for (const auto& base : {sim, listen, connect, forward}) {
    for (const char* p : {"--loss", "--dup", "--reorder", "--corrupt"}) add(base, p, "0.5,1", "1.5");
    add(base, "--delay", "10,20", "3600001");
    add(base, "--jitter", "5", "3600001");
    if (base != sim) add(base, "--seed", "18446744073709551615", "18446744073709551616");
  }
  add(sim, "--bandwidth", "1e12", "1.1e12");
  add({"listen"}, "--port", "65535", "65536");
  add(listen, "--backlog", "1048576", "1048577");
  add(listen, "--syn-queue", "1048576", "1048577");
  add(listen, "--lines-per-second", "0", "1000000001");
  for (const auto& base : {listen, connect}) {
    add(base, "--mss", "65495", "65496");
    add(base, "--syn-retries", "20", "21");
    add(base, "--buffers", "1073741824", "1073741825");
  }
  t.push_back({{"connect", "192.0.2.1"}, "PORT", "65535", "65536"});
  add(connect, "--count", "100000", "100001");
  add(connect, "--timeout", "86400", "86401");
  add(analyze, "--ladder", "1", "18446744073709551616");
  t.push_back({{"analyze", "x.pcap", "--svg", "x.svg", "--conn"}, "--conn", "1", "18446744073709551616"});
  add(analyze, "--top", "100000", "100001");
  add(analyze, "--first", "100000000", "100000001");
  add(bench, "--inflight", "65536", "65537");
  add(bench, "--connections", "1000000000", "1000000001");
  add(bench, "--resident", "10000000", "10000001");
  add(bench, "--buffers", "1073741824", "1073741825");
  add(bench, "--seconds", "86400", "86401");
  add(bench, "--kernel-seconds", "600", "601");
  add(bench, "--memory-count", "10000000", "10000001");
  add(bench, "--memory-budget", "16777216", "16777217");
  add(bench, "--step-us", "10000000", "10000001");
  return t;
}

TEST(NumericFlags, GoodValue_Accepted) {
  for (const NumericFlag& f : numeric_flags()) {
    Cli cli;
    auto words = f.prefix;
    words.push_back(f.good);
    EXPECT_EQ(cli.parse(words), "") << f.prefix.front() << " " << f.name << " " << f.good;
  }
}

TEST(NumericFlags, NegativeOverflowPastRangeOrJunk_OneLineNamingTheFlag) {
  for (const NumericFlag& f : numeric_flags()) {
    for (const std::string& bad : {std::string("-1"), std::string("99999999999999999999999"), f.too_big,
                                   std::string("nan"), std::string("1x"), std::string("")}) {
      Cli cli;
      auto words = f.prefix;
      words.push_back(bad);
      const std::string error = cli.parse(words);
      EXPECT_EQ(error.rfind(f.name + ": ", 0), 0U)
          << f.prefix.front() << " " << f.name << " '" << bad << "': " << error;
      EXPECT_EQ(error.find('\n'), std::string::npos) << error;
    }
  }
}

TEST(NumericFlags, SeedMinusOne_SaysWhatIsWrong) {
  Cli cli;
  EXPECT_EQ(cli.parse({"sim", "--seed", "-1"}),
            "--seed: '-1' is not a whole number from 0 to 18446744073709551615");
}

// ---- stdout and stdin as capture files ------------------------------------------------------------------

// listen, connect, forward and demo write `--pcap -` to stdout and print there nothing else (their text and
// JSON go to stderr then: tests/cli/impair_e2e.py runs listen and connect, DemoPcapDash below the demo).
TEST(PcapDash, ListenConnectForwardDemo_TakeStdoutForTheCapture) {
  for (const std::vector<std::string>& words :
       {std::vector<std::string>{"listen", "--port", "80", "--pcap", "-"},
        std::vector<std::string>{"connect", "192.0.2.1", "80", "--pcap", "-"},
        std::vector<std::string>{"forward", "--pcap", "-"},
        std::vector<std::string>{"demo", "--pcap", "-"}}) {
    Cli cli;
    EXPECT_EQ(cli.parse(words), "") << words.front();
  }
}

/// Runs `command` through the shell; its exit status and stdout.
std::pair<int, std::string> shell(const std::string& command) {
  std::string out;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return {-1, out};
  std::array<char, 4096> buf{};
  std::size_t n = 0;
  while ((n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0) out.append(buf.data(), n);
  const int status = ::pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

// The synack executable sits in the build directory's top (src/cli/CMakeLists.txt), two levels above this
// test's directory.
TEST(PcapDash, SimToStdout_PipedIntoAnalyzeFromStdin) {
  const auto synack = std::filesystem::canonical("/proc/self/exe").parent_path() / ".." / ".." / "synack";
  if (!std::filesystem::exists(synack)) GTEST_SKIP() << "build the synack target first: " << synack;
  const std::string s = synack.string();
  // --no-drop: the test needs no root; the sandboxed analyze is checked by tests/cli/privdrop_e2e.py. A
  // failing sim leaves analyze an empty stdin, and analyze fails: the pipeline's status is enough.
  const auto [code, out] =
      shell(s + " sim normal --pcap - 2>/dev/null | " + s + " analyze --no-drop --json - 2>/dev/null");
  ASSERT_EQ(code, 0) << out;
  const auto report = nlohmann::json::parse(out);
  EXPECT_EQ(report["status"], "ok");
  EXPECT_EQ(report["summary"]["connections"], 1);
  EXPECT_EQ(report["summary"]["outcomes"]["established"], 1);
}

// The demo's capture on stdout is a pcap analyze reads from stdin: the tour's four connections. With --json
// (stdout taken twice) it refuses, exit 2.
TEST(PcapDash, DemoToStdout_PipedIntoAnalyze_JsonRefused) {
  const auto synack = std::filesystem::canonical("/proc/self/exe").parent_path() / ".." / ".." / "synack";
  if (!std::filesystem::exists(synack)) GTEST_SKIP() << "build the synack target first: " << synack;
  const std::string s = synack.string();
  const auto [code, out] =
      shell(s + " demo --simulated --pcap - 2>/dev/null | " + s + " analyze --no-drop --json - 2>/dev/null");
  ASSERT_EQ(code, 0) << out;
  const auto report = nlohmann::json::parse(out);
  EXPECT_EQ(report["summary"]["connections"], 4);
  EXPECT_EQ(report["summary"]["outcomes"]["established"], 2);
  EXPECT_EQ(shell(s + " demo --simulated --pcap - --json >/dev/null 2>&1").first, kExitUsage);
  EXPECT_EQ(shell(s + " demo --simulated --pcap - --json-stream >/dev/null 2>&1").first, kExitUsage);
}

// ---- --json and --json-stream, -v and -q, on every command that reports ---------------------------------

TEST(JsonFlags, EveryReportingCommand_TakesJsonOrJsonStreamNotBoth) {
  const std::vector<std::vector<std::string>> commands{
      {"listen", "--port", "80"}, {"connect", "192.0.2.1", "80"}, {"forward"}, {"demo"}, {"sim"},
      {"analyze", "x.pcap"}};
  for (const auto& base : commands) {
    for (const std::string flag : {"--json", "--json-stream"}) {
      Cli cli;
      auto words = base;
      words.push_back(flag);
      EXPECT_EQ(cli.parse(words), "") << base.front() << " " << flag;
    }
    Cli cli;
    auto both = base;
    both.emplace_back("--json");
    both.emplace_back("--json-stream");
    EXPECT_THAT(cli.parse(both), HasSubstr("excludes")) << base.front();
  }
}

TEST(LogFlags, VerboseOnEveryCommandWithAStack_QuietWhereThereIsChatter) {
  for (const std::vector<std::string>& words :
       {std::vector<std::string>{"listen", "--port", "80", "-v", "-q"},
        std::vector<std::string>{"connect", "192.0.2.1", "80", "-v"},
        std::vector<std::string>{"forward", "--verbose", "--quiet"}, std::vector<std::string>{"demo", "-v"},
        std::vector<std::string>{"sim", "-v", "-q"}}) {
    Cli cli;
    EXPECT_EQ(cli.parse(words), "") << words.front();
  }
  Cli cli;
  EXPECT_THAT(cli.parse({"sim", "-q", "--ladders", "2"}), HasSubstr("excludes"));
}

// ---- --color=auto|always|never ----------------------------------------------------------------------------

TEST(Colour, Auto_TtyWithoutNoColorOrDumbTerm_Colours) {
  EXPECT_TRUE(decide_colour(ColourMode::automatic, true, nullptr, "xterm-256color"));
  EXPECT_TRUE(decide_colour(ColourMode::automatic, true, "", nullptr));  // NO_COLOR empty: as unset
  EXPECT_FALSE(decide_colour(ColourMode::automatic, false, nullptr, "xterm"));
  EXPECT_FALSE(decide_colour(ColourMode::automatic, true, "1", "xterm"));
  EXPECT_FALSE(decide_colour(ColourMode::automatic, true, nullptr, "dumb"));
}

TEST(Colour, AlwaysAndNever_IgnoreTheTerminalAndTheEnvironment) {
  for (const bool tty : {false, true}) {
    for (const char* no_color : {static_cast<const char*>(nullptr), "1"}) {
      for (const char* term : {"xterm", "dumb"}) {
        EXPECT_TRUE(decide_colour(ColourMode::always, tty, no_color, term));
        EXPECT_FALSE(decide_colour(ColourMode::never, tty, no_color, term));
      }
    }
  }
}

TEST(Colour, EveryColouringCommand_TakesTheThreeModesAndRefusesOthers) {
  for (const std::vector<std::string>& base :
       {std::vector<std::string>{"sim"}, std::vector<std::string>{"analyze", "x.pcap"},
        std::vector<std::string>{"demo"}}) {
    for (const char* mode : {"auto", "always", "never"}) {
      Cli cli;
      auto words = base;
      words.push_back(std::string("--color=") + mode);
      EXPECT_EQ(cli.parse(words), "") << base.front() << " " << mode;
    }
    Cli cli;
    auto words = base;
    words.emplace_back("--color=sometimes");
    EXPECT_EQ(cli.parse(words), "--color: sometimes not in {auto,always,never}") << base.front();
  }
}

}  // namespace
}  // namespace synack::cli
