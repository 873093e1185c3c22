// `synack bench` end to end through the synack executable: the JSON shape, exact handshake counts, both
// ways of closing, a bad flag, and the kernel baseline where a private network namespace is permitted.
// No timing assertions: rates depend on the machine; only counts and shapes are checked.
#include <cstdio>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/shell.hpp"

namespace {

/// Runs `synack bench ARGS`; stdout only, or stdout and stderr together with `with_stderr`.
synack::test::ShellResult bench(const std::string& args, bool with_stderr = false) {
  const std::string cmd =
      std::string(SYNACK_PATH) + " bench " + args + (with_stderr ? " 2>&1" : " 2>/dev/null");
  return synack::test::run_shell(cmd);
}

// Small buffers keep the memory phases small: the test checks shapes, not numbers.
constexpr const char* kSmall = " --buffers 4096 --memory-count 300";

TEST(BenchCli, JsonRst_ExactHandshakeCountAndEveryField) {
  const auto r = bench(std::string("--connections 2000 --inflight 32 --json --no-kernel") + kSmall);
  ASSERT_EQ(r.code, 0) << r.out;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["schema"], 1);  // docs/json.md
  EXPECT_EQ(j["document"], "bench");
  EXPECT_EQ(j["config"]["inflight"], 32);
  EXPECT_EQ(j["config"]["close"], "rst");
  EXPECT_EQ(j["config"]["connections"], 2000);
  EXPECT_EQ(j["config"]["send_buffer"], 4096);
  EXPECT_EQ(j["config"]["tcp_options"]["sack_permitted"], true);
  EXPECT_EQ(j["config"]["tcp_options"]["timestamps"], true);
  EXPECT_EQ(j["config"]["tcp_options"]["mss"], 1460);
  EXPECT_EQ(j["synack"]["handshakes"], 2000);
  EXPECT_EQ(j["synack"]["failed"], 0);
  EXPECT_EQ(j["synack"]["accepted"], 2000);
  EXPECT_GT(j["synack"]["handshakes_per_second"].get<double>(), 0.0);
  EXPECT_GT(j["synack"]["packets"].get<std::uint64_t>(), 2000U * 3U);
  EXPECT_LE(j["synack"]["peak_client_connections"].get<std::uint64_t>(), 32U);
  EXPECT_TRUE(j["kernel"].is_null());
  EXPECT_TRUE(j["ratio"].is_null());
  for (const char* k : {"established", "half_open", "time_wait"}) {
    ASSERT_TRUE(j["memory"].contains(k)) << k;
    EXPECT_EQ(j["memory"][k]["count"], 300) << k;
    EXPECT_TRUE(j["memory"][k]["capped"].is_null()) << k;
    EXPECT_TRUE(j["memory"][k].contains("bytes_per_entry")) << k;
  }
  EXPECT_EQ(j["memory"]["established"]["side"], "server");
  EXPECT_TRUE(j["memory"]["established"].contains("client_bytes_per_entry"));
  EXPECT_EQ(j["memory"]["half_open"]["side"], "server");
  EXPECT_EQ(j["memory"]["time_wait"]["side"], "client");
  EXPECT_TRUE(j["notes"].is_array());
}

TEST(BenchCli, CloseFin_EveryHandshakeCompletesAndClientHoldsTimeWait) {
  const auto r =
      bench(std::string("--connections 1000 --inflight 8 --close fin --json --no-kernel") + kSmall);
  ASSERT_EQ(r.code, 0) << r.out;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["config"]["close"], "fin");
  EXPECT_EQ(j["synack"]["handshakes"], 1000);
  // 1000 handshakes within 60 s of virtual time: every client connection is still in TIME-WAIT.
  EXPECT_GE(j["synack"]["peak_client_connections"].get<std::uint64_t>(), 990U);
}

TEST(BenchCli, Resident_StaysEstablishedDuringTheRun) {
  const auto r = bench(std::string("--connections 500 --resident 300 --json --no-kernel") + kSmall);
  ASSERT_EQ(r.code, 0) << r.out;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["synack"]["resident_established"], 300);
  EXPECT_EQ(j["synack"]["handshakes"], 500);
  EXPECT_GE(j["synack"]["peak_server_connections"].get<std::uint64_t>(), 300U);
}

TEST(BenchCli, EphemeralPorts_StackDrawsThemAndEveryHandshakeCompletes) {
  // With residents a quarter of each address's ports are busy here: the client Stack redraws them.
  const auto r =
      bench(std::string("--connections 2000 --resident 20000 --ports ephemeral --json --no-kernel") +
            " --buffers 4096 --memory-count 0");
  ASSERT_EQ(r.code, 0) << r.out;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["config"]["ports"], "ephemeral");
  EXPECT_EQ(j["synack"]["resident_established"], 20000);
  EXPECT_EQ(j["synack"]["handshakes"], 2000);
  EXPECT_EQ(j["synack"]["failed"], 0);
}

TEST(BenchCli, MemoryOverTheBudget_IsCappedAndSaidSo) {
  // A 16 MiB budget at the bench's bound of 2 KiB per connection (two sides): fewer than 10,000 fit.
  const auto r = bench("--connections 100 --no-kernel --json --memory-count 10000 --memory-budget 16");
  ASSERT_EQ(r.code, 0) << r.out;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_LT(j["memory"]["established"]["count"].get<std::uint64_t>(), 10000U);
  EXPECT_TRUE(j["memory"]["established"]["capped"].is_string());
}

TEST(BenchCli, TextOutput_HasTheTable) {
  const auto r = bench(std::string("--connections 200 --no-kernel") + kSmall);
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("handshakes/s"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("synack (2 stacks, 1 core)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("kernel baseline skipped"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("TIME-WAIT"), std::string::npos) << r.out;
}

TEST(BenchCli, BadFlag_UsageExitCodeAndOneLine) {
  for (const char* args : {"--close maybe", "--inflight 0", "--inflight 70000", "--connections x",
                           "--ports random", "--frobnicate"}) {
    const auto r = bench(args, true);
    EXPECT_EQ(r.code, 2) << args;
    ASSERT_FALSE(r.out.empty()) << args;
    EXPECT_EQ(r.out.find('\n'), r.out.size() - 1) << args << ": " << r.out;
  }
  const auto r = bench("--close maybe", true);
  EXPECT_NE(r.out.find("--close"), std::string::npos) << r.out;
}

TEST(BenchCli, KernelBaseline_RunsWherePermitted) {
  const auto r = bench("--connections 300 --inflight 4 --kernel-seconds 0.2 --json --memory-count 0");
  ASSERT_EQ(r.code, 0) << r.out;
  const auto j = nlohmann::json::parse(r.out);
  ASSERT_TRUE(j["kernel"].is_object());
  if (!j["kernel"]["ran"].get<bool>()) {
    GTEST_SKIP() << "kernel baseline not permitted here: " << j["kernel"]["error"];
  }
  EXPECT_GT(j["kernel"]["handshakes"].get<std::uint64_t>(), 0U);
  EXPECT_TRUE(j["ratio"].is_number());
  EXPECT_FALSE(j["kernel"]["where"].get<std::string>().empty());
  EXPECT_TRUE(j["memory"].is_null());
}

}  // namespace
