// The synack command line parsed in-process, as the synack executable parses it (every command registered),
// with the commands' actions replaced by nothing: which word goes to which option, and what is refused.
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "commands.hpp"
#include "exit_codes.hpp"

namespace synack::cli {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

/// A synack CLI::App whose subcommands parse but do not run.
struct Cli {
  CLI::App app{"synack"};
  int exit_code = kExitOk;

  Cli() {
    app.require_subcommand(1);
    register_commands(app, exit_code);
    for (CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) sub->callback({});
  }

  /// Parses `words` (argv without the program name); the empty string when accepted, else CLI11's message.
  std::string parse(const std::vector<std::string>& words) {
    std::vector<std::string> reversed(words.rbegin(), words.rend());
    try {
      app.parse(reversed);
    } catch (const CLI::ParseError& e) {
      return e.what();
    }
    return {};
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

}  // namespace
}  // namespace synack::cli
