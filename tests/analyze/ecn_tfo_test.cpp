// ECN at work (RFC 3168: IP ECN codepoints, ECE and CWR after the handshake) and TCP Fast Open's cookie
// request / cookie (RFC 7413) as the analyzer reports them: the counts, the JSON, the text and the ladder.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "packets.hpp"
#include "synack/analyze/analyzer.hpp"
#include "synack/analyze/report.hpp"

namespace synack::analyze {
namespace {

using namespace testing;  // NOLINT
using ::testing::HasSubstr;
using ::testing::Not;

constexpr std::uint32_t kCisn = 1000;
constexpr std::uint32_t kSisn = 5000;
constexpr std::uint8_t kEct1 = 1;
constexpr std::uint8_t kEct0 = 2;
constexpr std::uint8_t kCe = 3;

/// The packet with its IP ECN field set (the analyzer does not verify checksums, as in captures).
Packet marked(Packet p, std::uint8_t ecn) {
  if ((static_cast<unsigned>(p.bytes[0]) >> 4U) == 4) {
    p.bytes[1] = static_cast<std::byte>((static_cast<unsigned>(p.bytes[1]) & 0xFCU) | ecn);
  } else {  // IPv6: the traffic class's low 2 bits are bits 4-5 of the second byte
    p.bytes[1] = static_cast<std::byte>((static_cast<unsigned>(p.bytes[1]) & 0xCFU) |
                                        (static_cast<unsigned>(ecn) << 4U));
  }
  return p;
}

/// An ECN handshake, then data from the client (ECT(0), one CE mark), the server echoing it with ECE
/// twice, the client answering with CWR; `tail` more marked data segments after the analyzer's watch of 6
/// packets after the handshake has ended (counted all the same).
std::vector<Packet> ecn_conversation(const Conversation& k, int tail) {
  std::vector<Packet> p = {k.c(kEpoch, S | E | C, kCisn, 0, linux_syn_options()),
                           k.s(kEpoch + 1ms, S | A | E, kSisn, kCisn + 1, linux_syn_options()),
                           k.c(kEpoch + 2ms, A, kCisn + 1, kSisn + 1)};
  std::uint32_t seq = kCisn + 1;
  auto data = [&](Timestamp t, std::uint8_t ecn, std::uint16_t extra) {
    p.push_back(marked(k.c(t, A | P | extra, seq, kSisn + 1, {}, 100), ecn));
    seq += 100;
  };
  data(kEpoch + 3ms, kEct0, 0);
  data(kEpoch + 4ms, kCe, 0);
  p.push_back(k.s(kEpoch + 5ms, A | E, kSisn + 1, seq));
  p.push_back(k.segment(kEpoch + 6ms, false, A | E, kSisn + 1, seq, {}, 0, 1000));  // not a duplicate frame
  data(kEpoch + 7ms, kEct0, C);
  for (int i = 0; i < tail; ++i) data(kEpoch + 8ms + i * 1ms, i == tail - 1 ? kCe : kEct1, 0);
  return p;
}

TEST(EcnAtWork, MarksAndEchoes_CountedPerDirection) {
  const Conversation k("192.0.2.1", 40000, "198.51.100.2", 443);
  const auto r = analyse(ecn_conversation(k, 0));
  ASSERT_EQ(r.connections.size(), 1U);
  const auto& c = r.connections[0];
  EXPECT_EQ(c.outcome, observe::Outcome::established);
  EXPECT_EQ(c.ecn[0], (EcnCounts{.ect0 = 2, .ect1 = 0, .ce = 1, .ece = 0, .cwr = 1}));
  EXPECT_EQ(c.ecn[1],
            (EcnCounts{.ect0 = 0, .ect1 = 0, .ce = 0, .ece = 2, .cwr = 0}));  // not the SYN-ACK's ECE
}

TEST(EcnAtWork, AfterTheWatchedPackets_StillCountedToTheLastPacket) {
  const Conversation k("192.0.2.1", 40000, "198.51.100.2", 443);
  const auto r = analyse(ecn_conversation(k, 20), AnalyzerConfig{});
  ASSERT_EQ(r.connections.size(), 1U);
  const auto& c = r.connections[0];
  EXPECT_EQ(c.ecn[0].ect1, 19U);
  EXPECT_EQ(c.ecn[0].ce, 2U);
  EXPECT_EQ(c.ecn[0].ect0, 2U);
}

TEST(EcnAtWork, Ipv6TrafficClass_CeCounted) {
  const Conversation k("2001:db8::1", 40000, "2001:db8::2", 443);
  const auto r = analyse(ecn_conversation(k, 3));
  ASSERT_EQ(r.connections.size(), 1U);
  EXPECT_EQ(r.connections[0].ecn[0].ce, 2U);
  EXPECT_EQ(r.connections[0].ecn[0].ect1, 2U);
}

TEST(EcnAtWork, DuplicateFrame_CountedOnce) {
  const Conversation k("192.0.2.1", 40000, "198.51.100.2", 443);
  auto p = ecn_conversation(k, 0);
  p.insert(p.begin() + 4, p[4]);  // the CE-marked segment captured twice
  p[4].time = p[5].time;
  const auto r = analyse(p);
  EXPECT_EQ(r.counters.duplicates, 1U);
  EXPECT_EQ(r.connections.at(0).ecn[0].ce, 1U);
}

TEST(EcnAtWork, Reports_JsonTextAndLadderShowTheMarks) {
  const Conversation k("192.0.2.1", 40000, "198.51.100.2", 443);
  FileReport report;
  report.result = analyse(ecn_conversation(k, 0));
  const auto j = to_json(report);
  const auto& e = j["connections"][0]["ecn"];
  EXPECT_EQ(e["to_server"]["ce"], 1);
  EXPECT_EQ(e["to_server"]["ect0"], 2);
  EXPECT_EQ(e["to_server"]["cwr"], 1);
  EXPECT_EQ(e["to_client"]["ece"], 2);
  std::string streamed;
  write_json(report, [&](std::string_view piece) { streamed += piece; });
  EXPECT_EQ(nlohmann::json::parse(streamed), nlohmann::json::parse(j.dump()));
  EXPECT_THAT(render_text(report), HasSubstr("ECN c→s: ECT(0) 2, CE 1, CWR 1; s→c: ECE 2"));
  const auto ladder = render_ladder(report.result.connections[0]);
  EXPECT_THAT(ladder, HasSubstr("<CE>"));
  EXPECT_THAT(ladder, HasSubstr("<ECT(0)>"));
  EXPECT_THAT(render_svg(report.result.connections[0]), HasSubstr("CE"));
}

TEST(EcnAtWork, NoMarks_NoEcnLine) {
  const Conversation k("192.0.2.1", 40000, "198.51.100.2", 443);
  FileReport report;
  report.result = analyse({k.c(kEpoch, S, kCisn, 0, linux_syn_options()),
                           k.s(kEpoch + 1ms, S | A, kSisn, kCisn + 1, linux_syn_options()),
                           k.c(kEpoch + 2ms, A, kCisn + 1, kSisn + 1)});
  EXPECT_EQ(report.result.connections.at(0).ecn[0], EcnCounts{});
  EXPECT_THAT(render_text(report), Not(HasSubstr("ECN ")));
}

TEST(FastOpen, CookieRequestThenCookie_EachSideSaid) {
  const Conversation k("192.0.2.1", 40000, "198.51.100.2", 443);
  auto request = linux_syn_options();
  request.fast_open = wire::FastOpenCookie{};
  auto cookie = linux_syn_options();
  const std::array<std::byte, 8> bytes{std::byte{1}, std::byte{2}, std::byte{3}, std::byte{4},
                                       std::byte{5}, std::byte{6}, std::byte{7}, std::byte{8}};
  cookie.fast_open = wire::FastOpenCookie::make(bytes);
  FileReport report;
  report.result =
      analyse({k.c(kEpoch, S, kCisn, 0, request), k.s(kEpoch + 1ms, S | A, kSisn, kCisn + 1, cookie),
               k.c(kEpoch + 2ms, A, kCisn + 1, kSisn + 1),
               // The next connection: the cookie and 5 bytes on the SYN, acknowledged.
               k.c(kEpoch + 3s, S, kCisn + 10000, 0, cookie, 5),
               k.s(kEpoch + 3s + 1ms, S | A, kSisn + 10000, kCisn + 10006, linux_syn_options()),
               k.c(kEpoch + 3s + 2ms, A, kCisn + 10006, kSisn + 10001)});
  ASSERT_EQ(report.result.connections.size(), 2U);
  const auto& first = report.result.connections[0];
  EXPECT_TRUE(first.client_offered.fast_open);
  EXPECT_EQ(first.client_offered.fast_open_cookie_bytes, 0U);
  EXPECT_EQ(first.server_offered.fast_open_cookie_bytes, 8U);
  const auto j = to_json(report);
  EXPECT_EQ(j["connections"][0]["fast_open"]["client"], "request");
  EXPECT_EQ(j["connections"][0]["fast_open"]["server"], "cookie");
  EXPECT_EQ(j["connections"][1]["fast_open"]["client"], "cookie");
  EXPECT_TRUE(j["connections"][1]["fast_open"]["server"].is_null());
  EXPECT_EQ(j["connections"][1]["syn_data_acknowledged"], true);
  std::string streamed;
  write_json(report, [&](std::string_view piece) { streamed += piece; });
  EXPECT_EQ(nlohmann::json::parse(streamed), nlohmann::json::parse(j.dump()));
  const auto text = render_text(report);
  EXPECT_THAT(text, HasSubstr("TFO: client cookie request, server cookie (8 bytes)"));
  EXPECT_THAT(
      text,
      HasSubstr("TFO: client cookie (8 bytes), 5 bytes of data on the SYN, acknowledged by the SYN-ACK"));
  EXPECT_THAT(render_ladder(report.result.connections[0]), HasSubstr("TFO cookie request"));
  EXPECT_THAT(render_ladder(report.result.connections[1]), HasSubstr("TFO cookie 8 bytes"));
}

}  // namespace
}  // namespace synack::analyze
