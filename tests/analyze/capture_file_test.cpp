// Capture files written by synack (capture::PcapWriter) with known answers, every link type the reader
// decodes, and damaged files: a clear error and a report of what came before, never a crash.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "packets.hpp"
#include "synack/analyze/report.hpp"
#include "synack/wire/link_layer.hpp"

namespace synack::analyze {
namespace {

using namespace testing;  // NOLINT
using ::testing::HasSubstr;

std::vector<Packet> mixed_capture() {
  Conversation ok("192.0.2.1", 40000, "192.0.2.2", 80);
  Conversation refused("192.0.2.1", 40001, "192.0.2.2", 81);
  Conversation v6("2001:db8::1", 40002, "2001:db8::2", 443);
  const auto o = linux_syn_options();
  return {ok.c(kEpoch, S, 1, 0, o),
          refused.c(kEpoch + 1ms, S, 100, 0, o),
          ok.s(kEpoch + 2ms, S | A, 9, 2, o),
          refused.s(kEpoch + 2ms, R | A, 0, 101),
          ok.c(kEpoch + 3ms, A, 2, 10, o),
          v6.c(kEpoch + 4ms, S, 7, 0, o),
          v6.s(kEpoch + 5ms, S | A, 70, 8, o),
          v6.c(kEpoch + 7ms, A, 8, 71, o)};
}

ByteVector read_bytes(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::vector<char> chars((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ByteVector out(chars.size());
  for (std::size_t i = 0; i < chars.size(); ++i) out[i] = static_cast<std::byte>(chars[i]);
  return out;
}

void write_bytes(const std::filesystem::path& p, wire::Bytes bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

TEST(CaptureFile, DeadServerWithExponentialSynRetriesTimesOut) {
  Conversation k("192.0.2.10", 51000, "192.0.2.99", 80);
  std::vector<Packet> p;
  for (auto t : {0s, 1s, 3s, 7s, 15s, 31s, 63s})
    p.push_back(k.c(kEpoch + t, S, 424242, 0, linux_syn_options()));
  const auto path = temp_path("dead.pcap");
  write_pcap(path, p);
  auto report = analyse_file(path);
  ASSERT_EQ(report.status, FileReport::Status::ok) << report.error;
  EXPECT_EQ(report.frames, 7U);
  ASSERT_EQ(report.result.connections.size(), 1U);
  const auto& c = report.result.connections[0];
  EXPECT_EQ(c.outcome, observe::Outcome::timed_out);
  EXPECT_EQ(c.syn_retransmits, 6U);
  EXPECT_EQ(c.client_isn, 424242U);
  EXPECT_EQ(c.first_syn, kEpoch);
  EXPECT_THAT(c.reason.text(), HasSubstr("7 SYNs over 63.000 s"));
}

TEST(CaptureFile, MixedCaptureKnownAnswers) {
  const auto path = temp_path("mixed.pcap");
  write_pcap(path, mixed_capture());
  auto report = analyse_file(path);
  ASSERT_EQ(report.status, FileReport::Status::ok);
  EXPECT_EQ(report.linktype, wire::dlt::kRaw);
  const auto& cs = report.result.connections;
  ASSERT_EQ(cs.size(), 3U);
  EXPECT_EQ(cs[0].outcome, observe::Outcome::established);
  EXPECT_DOUBLE_EQ(cs[0].establish_ms.value(), 3.0);
  EXPECT_EQ(cs[1].outcome, observe::Outcome::refused);
  EXPECT_EQ(cs[2].outcome, observe::Outcome::established);
  EXPECT_DOUBLE_EQ(cs[2].syn_to_synack_ms.value(), 1.0);
  EXPECT_DOUBLE_EQ(cs[2].synack_to_ack_ms.value(), 2.0);
  EXPECT_EQ(report.result.summary.count(observe::Outcome::established), 2U);
  EXPECT_EQ(report.result.summary.count(observe::Outcome::refused), 1U);
}

// Wraps each datagram in a link-layer header and checks the same answers come out.
class LinkTypes : public ::testing::TestWithParam<std::uint32_t> {};

ByteVector wrap(std::uint32_t linktype, const ByteVector& ip) {
  const bool v6 = (static_cast<unsigned>(ip[0]) >> 4U) == 6;
  ByteVector out;
  auto be16 = [&](unsigned v) {
    out.push_back(static_cast<std::byte>(v >> 8U));
    out.push_back(static_cast<std::byte>(v & 0xFFU));
  };
  const unsigned ethertype = v6 ? 0x86DD : 0x0800;
  switch (linktype) {
    case wire::dlt::kEn10Mb:
      out.resize(12, std::byte{0x02});
      be16(0x8100);  // a VLAN tag
      be16(42);
      be16(ethertype);
      break;
    case wire::dlt::kLinuxSll:
      be16(0);  // packet type: to us
      be16(772);
      be16(0);
      out.resize(14, std::byte{0});
      be16(ethertype);
      break;
    case wire::dlt::kLinuxSll2:
      be16(ethertype);
      be16(0);
      out.resize(20, std::byte{0});
      out[11] = std::byte{6};  // address length
      break;
    case wire::dlt::kNull: {
      const std::uint32_t af = v6 ? 10 : 2;  // host byte order (little-endian here)
      for (int i = 0; i < 4; ++i) out.push_back(static_cast<std::byte>((af >> (8 * i)) & 0xFFU));
      break;
    }
    default:
      break;
  }
  out.insert(out.end(), ip.begin(), ip.end());
  return out;
}

TEST_P(LinkTypes, SameAnswersThroughEveryLinkLayer) {
  const auto path = temp_path("link.pcap");
  {
    capture::WriterOptions options;
    options.linktype = GetParam();
    auto w = capture::PcapWriter::open(path, options);
    ASSERT_TRUE(w.has_value()) << w.error().message;
    for (const auto& p : mixed_capture())
      ASSERT_TRUE(w->write(p.time, wrap(GetParam(), p.bytes)).has_value());
    ASSERT_TRUE(w->close().has_value());
  }
  auto report = analyse_file(path);
  ASSERT_EQ(report.status, FileReport::Status::ok) << report.error;
  ASSERT_EQ(report.result.connections.size(), 3U);
  EXPECT_EQ(report.result.counters.tcp, 8U);
  EXPECT_EQ(report.result.connections[0].outcome, observe::Outcome::established);
  EXPECT_EQ(report.result.connections[1].outcome, observe::Outcome::refused);
  EXPECT_EQ(report.result.connections[2].client.to_string(), "[2001:db8::1]:40002");
}

INSTANTIATE_TEST_SUITE_P(All, LinkTypes,
                         ::testing::Values(wire::dlt::kRaw, wire::dlt::kEn10Mb, wire::dlt::kLinuxSll,
                                           wire::dlt::kLinuxSll2, wire::dlt::kNull));

TEST(CaptureFile, SnaplenCutCaptureMarksOptionsUnknown) {
  const auto path = temp_path("snap.pcap");
  {
    capture::WriterOptions options;
    options.snaplen = 44;  // IPv4 + TCP fixed header + 4 option bytes
    auto w = capture::PcapWriter::open(path, options);
    ASSERT_TRUE(w.has_value());
    for (const auto& p : mixed_capture()) ASSERT_TRUE(w->write(p.time, p.bytes).has_value());
    ASSERT_TRUE(w->close().has_value());
  }
  auto report = analyse_file(path);
  ASSERT_EQ(report.status, FileReport::Status::ok) << report.error;
  const auto& cs = report.result.connections;
  ASSERT_EQ(cs.size(), 2U);  // the IPv6 packets lose their TCP header entirely at 44 bytes
  EXPECT_EQ(cs[0].outcome, observe::Outcome::established);
  EXPECT_TRUE(cs[0].client_offered.unknown);
  EXPECT_TRUE(cs[0].server_offered.unknown);
  const auto json = to_json(report);
  EXPECT_TRUE(json["connections"][0]["negotiated"]["offered"]["client"].is_null());
  EXPECT_EQ(json["connections"][0]["options_unknown"]["client"], true);
  std::string streamed;
  write_json(report, [&](std::string_view piece) { streamed += piece; });
  EXPECT_EQ(nlohmann::json::parse(streamed), nlohmann::json::parse(json.dump()));
  EXPECT_EQ(report.result.counters.malformed, 3U);
}

TEST(CaptureFile, PcapngFromEditcapReadsTheSame) {
  if (std::system("command -v editcap > /dev/null 2>&1") != 0) GTEST_SKIP() << "editcap not installed";
  const auto path = temp_path("mixed.pcap");
  const auto ng = temp_path("mixed.pcapng");
  write_pcap(path, mixed_capture());
  const auto cmd = "editcap -F pcapng '" + path.string() + "' '" + ng.string() + "'";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  auto report = analyse_file(ng);
  ASSERT_EQ(report.status, FileReport::Status::ok) << report.error;
  ASSERT_EQ(report.result.connections.size(), 3U);
  EXPECT_DOUBLE_EQ(report.result.connections[0].establish_ms.value(), 3.0);
  EXPECT_EQ(report.result.connections[0].first_syn, kEpoch);
}

TEST(CaptureFile, ManyConnections_ReportsAsTheAnalyzerFedDirectly) {
  // Over 4,096 frames: analyse_file() makes room for the reports once a sixteenth of the file is read
  // (Analyzer::expect); the reports are those of the same packets fed without that hint.
  std::vector<Packet> packets;
  const auto o = linux_syn_options();
  for (std::uint16_t i = 0; i < 3000; ++i) {
    Conversation k("192.0.2.1", static_cast<std::uint16_t>(20000 + i), "192.0.2.2", 80);
    const auto t = kEpoch + std::chrono::microseconds(100 * i);
    packets.push_back(k.c(t, S, 1000U + i, 0, o));
    if (i % 3 == 0) {
      packets.push_back(k.s(t + 1ms, R | A, 0, 1001U + i));
    } else {
      packets.push_back(k.s(t + 1ms, S | A, 9, 1001U + i, o));
      if (i % 3 == 1) packets.push_back(k.c(t + 2ms, A, 1001U + i, 10, o));
    }
  }
  std::sort(packets.begin(), packets.end(), [](const Packet& a, const Packet& b) { return a.time < b.time; });
  const auto path = temp_path("many.pcap");
  write_pcap(path, packets);
  AnalyzerConfig config;
  config.record_all = true;
  const FileReport file = analyse_file(path, config);
  const AnalysisResult direct = analyse(packets);
  ASSERT_EQ(file.status, FileReport::Status::ok);
  ASSERT_EQ(file.result.connections.size(), 3000U);
  ASSERT_EQ(direct.connections.size(), 3000U);
  for (std::size_t i = 0; i < direct.connections.size(); ++i) {
    const auto& a = file.result.connections[i];
    const auto& b = direct.connections[i];
    ASSERT_EQ(a.number, i + 1);
    ASSERT_EQ(a.number, b.number);
    ASSERT_EQ(a.outcome, b.outcome);
    ASSERT_EQ(a.reason.text(), b.reason.text());
    ASSERT_EQ(a.client, b.client);
    ASSERT_EQ(a.segments.size(), b.segments.size());
  }
  EXPECT_EQ(file.result.summary.count(observe::Outcome::refused), 1000U);
  EXPECT_EQ(file.result.summary.count(observe::Outcome::established), 1000U);
  EXPECT_EQ(file.result.summary.count(observe::Outcome::timed_out), 1000U);
}

TEST(CaptureFile, MissingFileIsAnOpenError) {
  auto report = analyse_file("/nonexistent/synack/none.pcap");
  EXPECT_EQ(report.status, FileReport::Status::open_failed);
  EXPECT_FALSE(report.error.empty());
  EXPECT_THAT(render_text(report), HasSubstr("error:"));
}

TEST(CaptureFile, GarbageIsAnOpenError) {
  const auto path = temp_path("garbage.pcap");
  ByteVector junk(4096);
  for (std::size_t i = 0; i < junk.size(); ++i) junk[i] = static_cast<std::byte>((i * 131U + 7U) & 0xFFU);
  write_bytes(path, junk);
  auto report = analyse_file(path);
  EXPECT_EQ(report.status, FileReport::Status::open_failed);
  EXPECT_FALSE(report.error.empty());
}

TEST(CaptureFile, UnsupportedLinkTypeIsReported) {
  const auto path = temp_path("user0.pcap");
  {
    capture::WriterOptions options;
    options.linktype = 147;  // DLT_USER0
    auto w = capture::PcapWriter::open(path, options);
    ASSERT_TRUE(w.has_value());
    ASSERT_TRUE(w->write(kEpoch, mixed_capture()[0].bytes).has_value());
    ASSERT_TRUE(w->close().has_value());
  }
  auto report = analyse_file(path);
  EXPECT_EQ(report.status, FileReport::Status::unsupported);
  EXPECT_THAT(report.error, HasSubstr("unsupported link type 147"));
}

TEST(CaptureFile, TruncatedAtEveryFewBytesGivesAPartialReportNeverACrash) {
  const auto path = temp_path("whole.pcap");
  write_pcap(path, mixed_capture());
  const auto whole = read_bytes(path);
  const auto cut = temp_path("cut.pcap");
  std::size_t damaged = 0;
  for (std::size_t n = 0; n < whole.size(); n += 3) {
    write_bytes(cut, wire::Bytes(whole).first(n));
    auto report = analyse_file(cut);
    if (n < 24) {
      EXPECT_EQ(report.status, FileReport::Status::open_failed) << n;
      continue;
    }
    EXPECT_NE(report.status, FileReport::Status::open_failed) << n;
    if (report.status == FileReport::Status::damaged) {
      ++damaged;
      EXPECT_FALSE(report.error.empty());
      EXPECT_LE(report.frames, 8U);
      EXPECT_THAT(render_text(report), HasSubstr("WARNING"));
    }
    EXPECT_LE(report.result.connections.size(), 3U);
  }
  EXPECT_GT(damaged, 0U);
}

TEST(CaptureFile, GarbageAfterTheRecordsIsDamage) {
  const auto path = temp_path("tail.pcap");
  write_pcap(path, mixed_capture());
  auto bytes = read_bytes(path);
  for (int i = 0; i < 40; ++i) bytes.push_back(std::byte{0xFF});
  write_bytes(path, bytes);
  auto report = analyse_file(path);
  EXPECT_EQ(report.status, FileReport::Status::damaged);
  EXPECT_EQ(report.frames, 8U);
  EXPECT_EQ(report.result.connections.size(), 3U);
}

}  // namespace
}  // namespace synack::analyze
