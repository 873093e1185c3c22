// tshark judges each scenario's pcap: checksums verified, and no expert info of warning severity or above
// except what the scenario was built to show (retransmissions and losses, RSTs). Skips without tshark.
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "synack/sim/render.hpp"
#include "synack/sim/scenario.hpp"
#include "synack/sim/simulation.hpp"

namespace synack::sim {
namespace {

// Wireshark's expert severities (epan/proto.h PI_*).
constexpr long kWarning = 0x00600000;

std::string run_command(const std::string& cmd) {
  std::string out;
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(::popen(cmd.c_str(), "r"), ::pclose);
  if (!pipe) return out;
  std::array<char, 4096> buf{};
  while (std::fgets(buf.data(), static_cast<int>(buf.size()), pipe.get()) != nullptr) out += buf.data();
  return out;
}

struct Expert {
  long severity = 0;
  std::string message;
};

std::vector<std::string> split(const std::string& text, char sep) {
  std::vector<std::string> parts;
  std::istringstream in(text);
  std::string part;
  while (std::getline(in, part, sep)) parts.push_back(part);
  return parts;
}

std::vector<Expert> expert_infos(const std::filesystem::path& pcap) {
  const std::string out = run_command("tshark -r " + pcap.string() +
                                      " -o tcp.check_checksum:TRUE -T fields -E 'aggregator=|'"
                                      " -e _ws.expert.severity -e _ws.expert.message 2>/dev/null");
  std::vector<Expert> infos;
  for (const std::string& line : split(out, '\n')) {
    const auto tab = line.find('\t');
    if (tab == std::string::npos) continue;
    const auto severities = split(line.substr(0, tab), '|');
    const auto messages = split(line.substr(tab + 1), '|');
    for (std::size_t i = 0; i < severities.size(); ++i) {
      if (severities[i].empty()) continue;
      infos.push_back({std::stol(severities[i]), i < messages.size() ? messages[i] : std::string()});
    }
  }
  return infos;
}

/// The expert messages (substrings) of warning severity or above each scenario was built to show.
std::vector<std::string_view> allowed_warnings(std::string_view scenario) {
  if (scenario == "closed-port") return {"Connection reset (RST)"};
  if (scenario == "lossy" || scenario == "dead-server" || scenario == "tiny-backlog" ||
      scenario == "tfo-hostile") {
    return {"retransmission", "previous segment not captured", "ACKed segment that wasn't captured"};
  }
  return {};
}

class TsharkScenario : public ::testing::TestWithParam<std::string_view> {};

TEST_P(TsharkScenario, PcapHasOnlyTheExpertInfosTheScenarioShows) {
  if (run_command("command -v tshark").empty()) GTEST_SKIP() << "tshark is not installed";
  const auto dir =
      std::filesystem::temp_directory_path() / ("synack-sim-tshark-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto path = dir / (std::string(GetParam()) + ".pcap");
  auto config = scenario_config(GetParam(), 1);
  ASSERT_TRUE(config);
  auto recorder = PcapRecorder::open(path);
  ASSERT_TRUE(recorder);
  SimObserver observer;
  observer.on_datagram = [&](Instant at, wire::Bytes d) { recorder->record(at, d); };
  const auto result = run(*config, observer);
  ASSERT_TRUE(recorder->close());
  ASSERT_GT(recorder->frames(), 0U);
  // Every frame decodes as TCP (tshark counts them).
  const std::string count = run_command("tshark -r " + path.string() + " -Y tcp 2>/dev/null | wc -l");
  EXPECT_EQ(std::stoull(count), recorder->frames());
  const auto infos = expert_infos(path);
  EXPECT_FALSE(infos.empty()) << "tshark printed no expert infos at all (every SYN has one)";
  const auto allowed = allowed_warnings(GetParam());
  for (const Expert& e : infos) {
    if (e.severity < kWarning) continue;
    const bool ok = std::any_of(allowed.begin(), allowed.end(),
                                [&](std::string_view a) { return e.message.find(a) != std::string::npos; });
    EXPECT_TRUE(ok) << GetParam() << ": unexpected expert info of severity " << e.severity << ": "
                    << e.message;
  }
  (void)result;
  std::filesystem::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(Scenarios, TsharkScenario,
                         ::testing::Values("normal", "lossy", "dead-server", "closed-port",
                                           "simultaneous-open", "mss-mismatch", "no-options", "tiny-backlog",
                                           "tfo-hostile"),
                         [](const auto& param_info) {
                           std::string n(param_info.param);
                           for (char& ch : n) {
                             if (ch == '-') ch = '_';
                           }
                           return n;
                         });

}  // namespace
}  // namespace synack::sim
