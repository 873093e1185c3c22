// The one JSON vocabulary (docs/json.md), end to end through the synack executable: the same connection seen
// three ways — `synack sim --json`, `synack sim --pcap - | synack analyze - --json`, and `synack demo --json`
// — has identical "negotiated" and "outcome" objects, and every document carries the schema version.
// The demo runs with --simulated (no TUN, no privileges; its live tour is checked against `analyze` the same
// way in tun_e2e.py, test_demo_json_matches_analyze). Its first connection is a client offering MSS 1460 and
// a server offering 1360 over IPv4, so sim and analyze are given the same MSS flags.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/shell.hpp"
#include "synack/observe/json.hpp"

namespace {

using Json = nlohmann::ordered_json;

const std::string kSynack = SYNACK_PATH;
const std::string kDemoMss = " --client-mss 1460 --server-mss 1360";
// analyze without its privilege drop and seccomp sandbox: under the sanitizers' runtime (CI's clang stage)
// the filter kills it (SIGSYS); the sandboxed analyze is tested in privdrop_e2e.py (kernel label).
const std::string kAnalyze = kSynack + " analyze --no-drop";

// The JSON document a command prints on stdout (its text and notes go to stderr, dropped).
Json document(const std::string& command) {
  const auto r = synack::test::run_shell("(" + command + ") 2>/dev/null");
  EXPECT_EQ(r.code, 0) << command;
  if (!Json::accept(r.out)) {
    ADD_FAILURE() << command << " printed no JSON document:\n" << r.out;
    // The keys the tests read, empty: their size assertions then fail, and nothing indexes a missing key.
    return Json{{"document", nullptr}, {"connections", Json::array()}};
  }
  Json j = Json::parse(r.out);
  EXPECT_EQ(j.value("schema", -1), synack::observe::kSchemaVersion) << command;
  return j;
}

class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "synack-json-XXXXXX").string();
    if (::mkdtemp(pattern.data()) != nullptr) path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  [[nodiscard]] const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// The two objects every presenter shares, read back with observe's reader (which rejects a missing key).
void expect_same_observation(const Json& a, const Json& b, const std::string& what) {
  SCOPED_TRACE(what);
  ASSERT_TRUE(a.contains("negotiated") && a.contains("outcome")) << a.dump(2);
  ASSERT_TRUE(b.contains("negotiated") && b.contains("outcome")) << b.dump(2);
  EXPECT_EQ(a["negotiated"], b["negotiated"]);  // same keys in the same order, same values
  EXPECT_EQ(a["outcome"], b["outcome"]);
  EXPECT_EQ(a["number"], b["number"]);
  const auto na = synack::observe::negotiated_from_json(a["negotiated"]);
  ASSERT_TRUE(na.has_value()) << na.error();
  EXPECT_TRUE(na->agreed.has_value());
  EXPECT_TRUE(synack::observe::outcome_from_json(a["outcome"]).has_value());
}

TEST(JsonContract, DemosFirstConnection_SimAnalyzeAndDemo_SameNegotiatedAndOutcome) {
  TempDir tmp;
  ASSERT_FALSE(tmp.path().empty());
  const Json sim = document(kSynack + " sim normal --json" + kDemoMss);
  const Json analyzed =
      document(kSynack + " sim normal --pcap -" + kDemoMss + " | " + kAnalyze + " - --json");
  const Json demo =
      document(kSynack + " demo --simulated --json --pcap " + (tmp.path() / "demo.pcap").string());
  EXPECT_EQ(sim["document"], "sim");
  EXPECT_EQ(analyzed["document"], "analyze");
  EXPECT_EQ(demo["document"], "demo");
  ASSERT_EQ(sim["connections"].size(), 1U);
  ASSERT_EQ(analyzed["connections"].size(), 1U);
  ASSERT_GE(demo["connections"].size(), 1U);
  const Json& s = sim["connections"][0];
  EXPECT_EQ(s["number"], 1);
  EXPECT_EQ(s["outcome"], "established");
  EXPECT_EQ(s["negotiated"]["agreed"]["mss_client_to_server"], 1360);
  expect_same_observation(s, analyzed["connections"][0], "sim vs analyze");
  expect_same_observation(s, demo["connections"][0], "sim vs demo");
}

// The exact commands: `synack sim normal --json` and `synack sim normal --pcap - | synack analyze -
// --json`, without flags.
TEST(JsonContract, SimNormal_SimAndAnalyze_SameNegotiatedAndOutcome) {
  const Json sim = document(kSynack + " sim normal --json");
  const Json analyzed = document(kSynack + " sim normal --pcap - | " + kAnalyze + " - --json");
  ASSERT_EQ(sim["connections"].size(), 1U);
  ASSERT_EQ(analyzed["connections"].size(), 1U);
  expect_same_observation(sim["connections"][0], analyzed["connections"][0], "sim normal vs analyze");
}

// The whole simulated tour and the analyzer's reading of its capture, connection by connection.
TEST(JsonContract, DemoTour_AnalyzeOfItsCapture_SameNegotiatedAndOutcomeEach) {
  TempDir tmp;
  ASSERT_FALSE(tmp.path().empty());
  const std::string pcap = (tmp.path() / "tour.pcap").string();
  const Json demo = document(kSynack + " demo --simulated --json --pcap " + pcap);
  const Json analyzed = document(kAnalyze + " --json " + pcap);
  const Json& dc = demo["connections"];
  const Json& ac = analyzed["connections"];
  ASSERT_EQ(dc.size(), 4U) << demo.dump(2);
  ASSERT_EQ(ac.size(), dc.size()) << analyzed.dump(2);
  for (std::size_t i = 0; i < dc.size(); ++i) {
    SCOPED_TRACE(dc[i]["title"].get<std::string>());
    EXPECT_EQ(dc[i]["client"], ac[i]["client"]);
    EXPECT_EQ(dc[i]["number"], ac[i]["number"]);
    EXPECT_EQ(dc[i]["outcome"], ac[i]["outcome"]);
    EXPECT_EQ(dc[i]["negotiated"], ac[i]["negotiated"]);
  }
  EXPECT_EQ(dc[2]["outcome"], "refused");
  EXPECT_EQ(dc[3]["outcome"], "timed_out");
  EXPECT_TRUE(dc[3]["negotiated"]["agreed"].is_null());  // nobody answered: one offer, no agreement
}

// --json-stream prints, line by line as the tour shows them, the connections --json gathers in one document.
TEST(JsonContract, DemoJsonStream_OneLinePerConnection_SameAsTheDocument) {
  TempDir tmp;
  ASSERT_FALSE(tmp.path().empty());
  const Json demo = document(kSynack + " demo --simulated --json --pcap " + (tmp.path() / "a.pcap").string());
  const auto r = synack::test::run_shell(kSynack + " demo --simulated --json-stream --pcap " +
                                         (tmp.path() / "b.pcap").string() + " 2>/dev/null");
  ASSERT_EQ(r.code, 0);
  std::vector<Json> lines;
  std::size_t start = 0;
  for (std::size_t end = r.out.find('\n'); end != std::string::npos; end = r.out.find('\n', start)) {
    lines.push_back(Json::parse(r.out.substr(start, end - start)));
    start = end + 1;
  }
  ASSERT_EQ(lines.size(), demo["connections"].size()) << r.out;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    EXPECT_EQ(lines[i]["schema"], synack::observe::kSchemaVersion);
    EXPECT_EQ(lines[i]["event"], "connection");
    Json body = lines[i];
    body.erase("schema");
    body.erase("event");
    EXPECT_EQ(body, demo["connections"][i]);
  }
}

}  // namespace
