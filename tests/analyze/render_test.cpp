// The outputs: the JSON contract (docs/json.md), the terminal report, the ladder and the SVG
// (valid XML that rsvg-convert renders to a non-empty PNG).
#include <cstdlib>
#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "packets.hpp"
#include "synack/analyze/report.hpp"

namespace synack::analyze {
namespace {

using namespace testing;  // NOLINT
using ::testing::HasSubstr;
using ::testing::Not;

FileReport sample_report() {
  Conversation ok("192.0.2.1", 40000, "192.0.2.2", 80);
  Conversation dead("192.0.2.1", 40001, "192.0.2.99", 80);
  Conversation v6("2001:db8::1", 40002, "2001:db8::2", 443);
  const auto o = linux_syn_options();
  auto server = linux_syn_options(1400, 9, 777, 1000);
  auto ack_ts = [] {
    wire::TcpOptions x;
    x.timestamps = wire::Timestamps{1001, 777};
    return x;
  }();
  FileReport report;
  report.file = "sample <&> \"file\".pcap";
  report.linktype = 12;
  report.result = analyse({ok.c(kEpoch + 123456789ns, S, 1, 0, o), dead.c(kEpoch + 200ms, S, 5, 0, o),
                           ok.s(kEpoch + 123456789ns + 2ms, S | A, 9, 2, server),
                           ok.c(kEpoch + 123456789ns + 3ms, A, 2, 10, ack_ts),
                           ok.c(kEpoch + 123456789ns + 4ms, P | A, 2, 10, ack_ts, 100),
                           dead.c(kEpoch + 1200ms, S, 5, 0, o), v6.c(kEpoch + 2s, S, 7, 0),
                           v6.s(kEpoch + 2s + 1ms, R | A, 0, 8)});
  report.frames = 8;
  return report;
}

TEST(Json, ContractFieldsAndTypes) {
  const auto j = to_json(sample_report());
  EXPECT_EQ(j["schema"], 1);
  EXPECT_EQ(j["document"], "analyze");
  EXPECT_EQ(j["file"], "sample <&> \"file\".pcap");
  EXPECT_EQ(j["packets"], 8);
  ASSERT_TRUE(j["connections"].is_array());
  ASSERT_EQ(j["connections"].size(), 3U);
  const auto& c = j["connections"][0];
  EXPECT_EQ(c["client"], "192.0.2.1:40000");
  EXPECT_EQ(c["server"], "192.0.2.2:80");
  EXPECT_EQ(c["number"], 1);
  EXPECT_EQ(c["outcome"], "established");
  EXPECT_TRUE(c["anomalies"].is_array());
  EXPECT_NEAR(c["first_syn_s"].get<double>(), 1767225600.123456789, 1e-6);
  EXPECT_EQ(c["first_syn_ns"], 1767225600123456789LL);
  EXPECT_EQ(c["syn_retransmits"], 0);
  EXPECT_EQ(c["synack_retransmits"], 0);
  EXPECT_DOUBLE_EQ(c["syn_to_synack_ms"].get<double>(), 2.0);
  EXPECT_DOUBLE_EQ(c["synack_to_ack_ms"].get<double>(), 1.0);
  EXPECT_DOUBLE_EQ(c["establish_ms"].get<double>(), 3.0);
  EXPECT_EQ(c["client_isn"], 1);
  EXPECT_EQ(c["server_isn"], 9);
  const auto& offered = c["negotiated"]["offered"];
  EXPECT_EQ(offered["client"]["mss"], 1460);
  EXPECT_EQ(offered["client"]["wscale"], 7);
  EXPECT_EQ(offered["client"]["sack_permitted"], true);
  EXPECT_EQ(offered["client"]["timestamps"], true);
  EXPECT_EQ(offered["server"]["mss"], 1400);
  EXPECT_EQ(offered["server"]["wscale"], 9);
  const auto& agreed = c["negotiated"]["agreed"];
  EXPECT_EQ(agreed["mss_client_to_server"], 1400);
  EXPECT_EQ(agreed["mss_server_to_client"], 1400);
  EXPECT_EQ(agreed["window_scaling"], true);
  EXPECT_EQ(agreed["wscale_client"], 7);
  EXPECT_EQ(agreed["wscale_server"], 9);
  EXPECT_EQ(agreed["sack"], true);
  EXPECT_EQ(agreed["timestamps"], true);
  EXPECT_EQ(c["options_unknown"]["client"], false);

  const auto& dead = j["connections"][1];
  EXPECT_EQ(dead["outcome"], "timed_out");
  EXPECT_EQ(dead["syn_retransmits"], 1);
  EXPECT_TRUE(dead["syn_to_synack_ms"].is_null());
  EXPECT_TRUE(dead["establish_ms"].is_null());
  EXPECT_TRUE(dead["server_isn"].is_null());
  EXPECT_TRUE(dead["negotiated"]["offered"]["server"].is_null());
  EXPECT_TRUE(dead["negotiated"]["agreed"].is_null());

  const auto& refused = j["connections"][2];
  EXPECT_EQ(refused["client"], "[2001:db8::1]:40002");
  EXPECT_EQ(refused["outcome"], "refused");
  EXPECT_TRUE(refused["negotiated"]["offered"]["client"]["mss"].is_null());
  EXPECT_EQ(refused["anomalies"].size(), 1U);  // missing MSS

  const auto& s = j["summary"];
  EXPECT_EQ(s["outcomes"]["established"], 1);
  EXPECT_EQ(s["outcomes"]["timed_out"], 1);
  EXPECT_EQ(s["outcomes"]["refused"], 1);
  EXPECT_EQ(s["outcomes"]["reset"], 0);
  EXPECT_EQ(s["outcomes"]["simultaneous_open"], 0);
  EXPECT_EQ(s["outcomes"]["incomplete"], 0);
  for (const char* timing : {"syn_to_synack_ms", "synack_to_ack_ms", "establish_ms"}) {
    for (const char* p : {"p50", "p90", "p99", "max"}) EXPECT_TRUE(s[timing].contains(p)) << timing << p;
  }
  EXPECT_DOUBLE_EQ(s["establish_ms"]["p99"].get<double>(), 3.0);
}

TEST(Json, StreamedDocumentIsTheSameText) {
  for (const auto& report : {sample_report(), FileReport{}}) {
    std::string streamed;
    write_json(report, [&](std::string_view piece) { streamed += piece; });
    // The same values (doubles may print with a shorter, equally exact representation).
    ASSERT_TRUE(nlohmann::json::accept(streamed)) << streamed;
    EXPECT_EQ(nlohmann::json::parse(streamed), nlohmann::json::parse(to_json(report).dump()));
  }
}

TEST(Json, MillisecondsAreRoundedToMicroseconds) {
  EXPECT_DOUBLE_EQ(round_ms(1.23456), 1.235);
  EXPECT_DOUBLE_EQ(round_ms(0.0004), 0.0);
}

TEST(Text, ReportShowsTableOutcomesPercentilesHistogramAndFailures) {
  const auto text = render_text(sample_report());
  EXPECT_THAT(text, HasSubstr("192.0.2.1:40000 → 192.0.2.2:80"));
  EXPECT_THAT(text, HasSubstr("established"));
  EXPECT_THAT(text, HasSubstr("3.000 ms"));
  EXPECT_THAT(text, HasSubstr("Outcomes: established 1, refused 1, timed_out 1"));
  EXPECT_THAT(text, HasSubstr("p99"));
  EXPECT_THAT(text, HasSubstr("log scale"));
  EXPECT_THAT(text, HasSubstr("#"));
  EXPECT_THAT(text, HasSubstr("Servers with the most failures"));
  EXPECT_THAT(text, HasSubstr("192.0.2.99:80"));
  EXPECT_THAT(text, HasSubstr("missing MSS"));
}

TEST(Text, LargeCapturesListTheFirstAndTheWorst) {
  std::vector<Packet> p;
  for (std::uint16_t i = 0; i < 100; ++i) {
    Conversation k("192.0.2.1", static_cast<std::uint16_t>(20000 + i), "192.0.2.2", 80);
    const auto rtt = std::chrono::microseconds(100 + i * 10);
    p.push_back(k.c(kEpoch + i * 10ms, S, 1, 0));
    p.push_back(k.s(kEpoch + i * 10ms + rtt, S | A, 9, 2));
    p.push_back(k.c(kEpoch + i * 10ms + 2 * rtt, A, 2, 10));
  }
  FileReport report;
  report.file = "big.pcap";
  report.result = analyse(p);
  TextOptions o;
  o.first = 5;
  o.worst = 3;
  const auto text = render_text(report, o);
  EXPECT_THAT(text, HasSubstr("95 more connections; the 3 worst"));
  EXPECT_THAT(text, HasSubstr("192.0.2.1:20099"));  // the slowest
  EXPECT_THAT(text, Not(HasSubstr("192.0.2.1:20050")));
}

TEST(Ladder, OneLinePerSegmentWithRelativeNumbersAndOptions) {
  const auto report = sample_report();
  const auto ladder = render_ladder(report.result.connections[0]);
  EXPECT_THAT(ladder, HasSubstr("Connection 1: 192.0.2.1:40000 → 192.0.2.2:80  established"));
  EXPECT_THAT(ladder, HasSubstr(" S "));
  EXPECT_THAT(ladder, HasSubstr(">|  S seq=0 win=64240 len=0  <mss 1460, sackOK, TS val 1000 ecr 0, ws 7>"));
  EXPECT_THAT(ladder, HasSubstr("|<"));
  EXPECT_THAT(ladder, HasSubstr("SA seq=0 ack=1"));
  EXPECT_THAT(ladder, HasSubstr("PA seq=1 ack=1 win=64240 len=100"));
  EXPECT_THAT(ladder, HasSubstr("2.000 ms"));
  EXPECT_THAT(ladder, Not(HasSubstr("\x1b[")));
  EXPECT_THAT(render_ladder(report.result.connections[0], true), HasSubstr("\x1b[32m"));
}

std::string run(const std::string& command) {
  return std::system(command.c_str()) == 0 ? "ok" : "failed: " + command;
}

TEST(Ladder, RetransmissionsAreMarked) {
  Conversation k("192.0.2.1", 40000, "192.0.2.2", 80);
  auto r = analyse({k.c(kEpoch, S, 1, 0), k.c(kEpoch + 1s, S, 1, 0), k.s(kEpoch + 1s + 1ms, S | A, 9, 2),
                    k.s(kEpoch + 2s, S | A, 9, 2), k.c(kEpoch + 2s + 1ms, A, 2, 10)});
  const auto ladder = render_ladder(r.connections.at(0));
  std::size_t marked = 0;
  for (std::size_t at = ladder.find("(retransmission)"); at != std::string::npos;
       at = ladder.find("(retransmission)", at + 1)) {
    ++marked;
  }
  EXPECT_EQ(marked, 2U) << ladder;
  EXPECT_THAT(render_svg(r.connections.at(0)), HasSubstr("(retransmission)"));
}

TEST(Svg, IsValidXmlAndRendersToANonEmptyPng) {
  auto report = sample_report();
  auto& c = report.result.connections[0];
  c.anomalies.push_back("an <odd> & \"quoted\" anomaly");
  const auto svg = render_svg(c);
  EXPECT_THAT(svg, HasSubstr("<svg"));
  EXPECT_THAT(svg, HasSubstr("&lt;odd&gt; &amp; &quot;quoted&quot;"));
  EXPECT_THAT(svg, HasSubstr("SA seq=0 ack=1"));
  const auto path = temp_path("conn.svg");
  const auto png = temp_path("conn.png");
  {
    std::ofstream out(path);
    out << svg;
  }
  if (std::system("command -v python3 > /dev/null 2>&1") == 0) {
    EXPECT_EQ(run("python3 -c 'import xml.dom.minidom,sys; xml.dom.minidom.parse(sys.argv[1])' '" +
                  path.string() + "'"),
              "ok");
  }
  if (std::system("command -v xmllint > /dev/null 2>&1") == 0) {
    EXPECT_EQ(run("xmllint --noout '" + path.string() + "'"), "ok");
  }
  if (std::system("command -v rsvg-convert > /dev/null 2>&1") != 0)
    GTEST_SKIP() << "rsvg-convert not installed";
  std::filesystem::remove(png);
  ASSERT_EQ(run("rsvg-convert -o '" + png.string() + "' '" + path.string() + "'"), "ok");
  ASSERT_TRUE(std::filesystem::exists(png));
  EXPECT_GT(std::filesystem::file_size(png), 1000U);
  std::ifstream in(png, std::ios::binary);
  char magic[8] = {};
  in.read(magic, 8);
  EXPECT_EQ(std::string(magic + 1, 3), "PNG");
}

TEST(Svg, ConnectionWithoutSegmentsIsStillValid) {
  ConnectionReport c;
  c.number = 4;
  c.reason = "x < y";
  const auto svg = render_svg(c);
  EXPECT_THAT(svg, HasSubstr("no segments recorded"));
  EXPECT_THAT(svg, HasSubstr("x &lt; y"));
}

}  // namespace
}  // namespace synack::analyze
