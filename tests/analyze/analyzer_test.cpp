// The analyzer fed hand-built packets: one test per verdict rule and per anomaly (docs/analyze.md).
#include "synack/analyze/analyzer.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "packets.hpp"

namespace synack::analyze {
namespace {

using namespace testing;  // NOLINT
using ::testing::HasSubstr;

constexpr std::uint32_t kCisn = 1000;
constexpr std::uint32_t kSisn = 5000;

Conversation v4() {
  return {"192.0.2.1", 40000, "192.0.2.2", 80};
}

bool has_anomaly(const ConnectionReport& c, std::string_view text) {
  for (const auto& a : c.anomalies) {
    if (a.find(text) != std::string::npos) return true;
  }
  return false;
}

TEST(Analyzer, EstablishedHandshakeTimingsIsnsAndOptions) {
  auto k = v4();
  auto r = analyse({k.c(kEpoch, S, kCisn, 0, linux_syn_options(1460, 7, 100)),
                    k.s(kEpoch + 2ms, S | A, kSisn, kCisn + 1, linux_syn_options(1400, 9, 555, 100)),
                    k.c(kEpoch + 3500us, A, kCisn + 1, kSisn + 1, [] {
                      wire::TcpOptions o;
                      o.timestamps = wire::Timestamps{101, 555};
                      return o;
                    }())});
  ASSERT_EQ(r.connections.size(), 1U);
  const auto& c = r.connections[0];
  EXPECT_EQ(c.number, 1U);
  EXPECT_EQ(c.outcome, observe::Outcome::established);
  EXPECT_EQ(c.client.to_string(), "192.0.2.1:40000");
  EXPECT_EQ(c.server.to_string(), "192.0.2.2:80");
  EXPECT_EQ(c.client_isn, kCisn);
  EXPECT_EQ(c.server_isn, kSisn);
  EXPECT_EQ(c.first_syn, kEpoch);
  EXPECT_DOUBLE_EQ(c.syn_to_synack_ms.value(), 2.0);
  EXPECT_DOUBLE_EQ(c.synack_to_ack_ms.value(), 1.5);
  EXPECT_DOUBLE_EQ(c.establish_ms.value(), 3.5);
  EXPECT_EQ(c.syn_retransmits, 0U);
  EXPECT_EQ(c.client_offered.mss, 1460);
  EXPECT_EQ(c.client_offered.wscale, 7);
  EXPECT_TRUE(c.client_offered.sack_permitted);
  EXPECT_TRUE(c.client_offered.timestamps);
  EXPECT_EQ(c.server_offered.mss, 1400);
  EXPECT_EQ(c.server_offered.wscale, 9);
  ASSERT_TRUE(c.negotiated.agreed);
  EXPECT_EQ(c.negotiated.agreed->mss_client_to_server, 1400);
  EXPECT_EQ(c.negotiated.agreed->mss_server_to_client, 1400);  // the server's own link limits it too
  EXPECT_EQ(c.negotiated.agreed->wscale_client, 7);
  EXPECT_EQ(c.negotiated.agreed->wscale_server, 9);
  EXPECT_TRUE(c.negotiated.agreed->sack);
  EXPECT_TRUE(c.negotiated.agreed->timestamps);
  EXPECT_TRUE(c.anomalies.empty()) << c.anomalies.front();
  EXPECT_EQ(c.segments.size(), 3U);
  EXPECT_EQ(r.summary.count(observe::Outcome::established), 1U);
  EXPECT_DOUBLE_EQ(r.summary.establish.p50.value(), 3.5);
}

TEST(Analyzer, RetransmittedSynsCountAndSynToSynAckStartsAtTheLastSyn) {
  auto k = v4();
  auto o = linux_syn_options();
  auto r = analyse({k.c(kEpoch, S, kCisn, 0, o), k.c(kEpoch + 1s, S, kCisn, 0, o),
                    k.c(kEpoch + 3s, S, kCisn, 0, o), k.s(kEpoch + 3s + 10ms, S | A, kSisn, kCisn + 1, o),
                    k.c(kEpoch + 3s + 11ms, A, kCisn + 1, kSisn + 1, o)});
  ASSERT_EQ(r.connections.size(), 1U);
  const auto& c = r.connections[0];
  EXPECT_EQ(c.outcome, observe::Outcome::established);
  EXPECT_EQ(c.syn_retransmits, 2U);
  EXPECT_DOUBLE_EQ(c.syn_to_synack_ms.value(), 10.0);
  EXPECT_DOUBLE_EQ(c.establish_ms.value(), 3011.0);
}

TEST(Analyzer, RetransmittedSynAckCounts) {
  auto k = v4();
  auto o = linux_syn_options();
  auto r = analyse({k.c(kEpoch, S, kCisn, 0, o), k.s(kEpoch + 1ms, S | A, kSisn, kCisn + 1, o),
                    k.s(kEpoch + 1001ms, S | A, kSisn, kCisn + 1, o),
                    k.c(kEpoch + 1002ms, A, kCisn + 1, kSisn + 1, o)});
  const auto& c = r.connections.at(0);
  EXPECT_EQ(c.outcome, observe::Outcome::established);
  EXPECT_EQ(c.synack_retransmits, 1U);
  EXPECT_DOUBLE_EQ(c.synack_to_ack_ms.value(), 1.0);
}

TEST(Analyzer, RstAckAnsweringTheSynIsRefused) {
  auto k = v4();
  auto r = analyse({k.c(kEpoch, S, kCisn, 0, linux_syn_options()), k.s(kEpoch + 50us, R | A, 0, kCisn + 1)});
  const auto& c = r.connections.at(0);
  EXPECT_EQ(c.outcome, observe::Outcome::refused);
  EXPECT_THAT(c.reason.text(), HasSubstr("RST/ACK"));
  EXPECT_FALSE(c.establish_ms.has_value());
  EXPECT_EQ(r.summary.top_failing.at(0).server.to_string(), "192.0.2.2:80");
  EXPECT_EQ(r.summary.top_failing.at(0).refused, 1U);
}

// Windows answers ECONNREFUSED only after sending the same SYN twice more, 0.5 s apart, each refused again:
// one refused connection whose retries are counted, not two later SYNs silently absorbed.
TEST(Analyzer, Refused_SameSynRetriedAfterRst_CountedInTheRefusedConnection) {
  auto k = v4();
  auto r = analyse({k.c(kEpoch, S, kCisn, 0), k.s(kEpoch + 1ms, R | A, 0, kCisn + 1),
                    k.c(kEpoch + 500ms, S, kCisn, 0), k.s(kEpoch + 501ms, R | A, 0, kCisn + 1),
                    k.c(kEpoch + 1000ms, S, kCisn, 0), k.s(kEpoch + 1001ms, R | A, 0, kCisn + 1)});
  ASSERT_EQ(r.connections.size(), 1U);
  const auto& c = r.connections[0];
  EXPECT_EQ(c.outcome, observe::Outcome::refused);
  EXPECT_EQ(c.syn_retries_after_refusal, 2U);
  EXPECT_EQ(c.syn_retransmits, 0U);
  EXPECT_EQ(c.packets, 6U);
  EXPECT_THAT(c.reason.text(),
              HasSubstr("the client retried the refused port 2 times, the last 1.000 s after its first SYN"));
  EXPECT_EQ(r.counters.untracked, 0U);
}

// The watch for retries ends refused_retry_window after the last RST: the report is then final (and
// streamed at once), and a SYN with a new ISN is a new connection as before.
TEST(Analyzer, Refused_WatchEndsAfterTheWindow_ReportStreamedThen) {
  auto k = v4();
  Conversation other("192.0.2.1", 40001, "192.0.2.2", 80);
  std::vector<std::uint64_t> streamed;
  AnalyzerConfig config;
  config.on_connection = [&](const ConnectionReport& c) { streamed.push_back(c.number); };
  Analyzer a(config);
  for (const auto& p :
       {k.c(kEpoch, S, kCisn, 0), k.s(kEpoch + 1ms, R | A, 0, kCisn + 1), other.c(kEpoch + 2s, S, 7, 0)}) {
    a.add_datagram(p.time, p.bytes);
  }
  EXPECT_TRUE(streamed.empty());  // still watching: 2 s < 3 s
  const auto late = other.c(kEpoch + 4s, S, 7, 0);
  a.add_datagram(late.time, late.bytes);
  ASSERT_EQ(streamed.size(), 1U);
  EXPECT_EQ(streamed[0], 1U);
  const auto result = a.finish();
  EXPECT_EQ(result.connections.at(0).syn_retries_after_refusal, 0U);
  EXPECT_EQ(result.connections.at(0).reason.text().find("retried"), std::string::npos);
}

TEST(Analyzer, Refused_ThenSynWithANewIsn_IsANewConnection) {
  auto k = v4();
  auto r = analyse({k.c(kEpoch, S, kCisn, 0), k.s(kEpoch + 1ms, R | A, 0, kCisn + 1),
                    k.c(kEpoch + 100ms, S, kCisn + 99999, 0), k.s(kEpoch + 101ms, R | A, 0, kCisn + 100000)});
  ASSERT_EQ(r.connections.size(), 2U);
  EXPECT_EQ(r.connections[0].syn_retries_after_refusal, 0U);
  EXPECT_EQ(r.connections[1].outcome, observe::Outcome::refused);
}

// nmap's NULL, FIN, Xmas and SYN+FIN scans send flag combinations no TCP sends on a connection: counted as
// probes, no handshake, no flow state; an ACK scan's bare ACK stays an incomplete connection (it cannot be
// told from a capture that began mid-connection).
TEST(Analyzer, ScannerProbes_CountedNotHandshakes) {
  auto k = v4();
  constexpr std::uint16_t kP = wire::TcpFlags::kPsh;
  constexpr std::uint16_t kU = wire::TcpFlags::kUrg;
  auto r = analyse({k.c(kEpoch, 0, kCisn, 0), k.c(kEpoch + 1ms, F, kCisn, 0),
                    k.c(kEpoch + 2ms, F | kP | kU, kCisn, 0), k.c(kEpoch + 3ms, S | F, kCisn, 0),
                    k.c(kEpoch + 4ms, S | F | kP | kU, kCisn, 0), k.s(kEpoch + 5ms, R | A, 0, kCisn)});
  EXPECT_EQ(r.counters.probes, 5U);
  EXPECT_TRUE(r.connections.empty());
  EXPECT_EQ(r.counters.untracked, 1U);  // the RST answering a probe
}

TEST(Analyzer, RstNotAcknowledgingTheSynIsIgnored) {
  auto k = v4();
  auto r = analyse({k.c(kEpoch, S, kCisn, 0), k.s(kEpoch + 50us, R | A, 0, kCisn + 7)});
  const auto& c = r.connections.at(0);
  EXPECT_EQ(c.outcome, observe::Outcome::timed_out);
  EXPECT_TRUE(has_anomaly(c, "does not acknowledge"));
}

TEST(Analyzer, UnansweredSynsTimeOut) {
  auto k = v4();
  std::vector<Packet> p;
  for (auto t : {0s, 1s, 3s, 7s}) p.push_back(k.c(kEpoch + t, S, kCisn, 0, linux_syn_options()));
  auto r = analyse(p);
  const auto& c = r.connections.at(0);
  EXPECT_EQ(c.outcome, observe::Outcome::timed_out);
  EXPECT_EQ(c.syn_retransmits, 3U);
  EXPECT_THAT(c.reason.text(), HasSubstr("no answer to 4 SYNs over 7.000 s"));
  EXPECT_FALSE(c.negotiated.agreed);
}

TEST(Analyzer, SynAckNeverAcknowledgedTimesOut) {
  auto k = v4();
  auto r = analyse({k.c(kEpoch, S, kCisn, 0), k.s(kEpoch + 1ms, S | A, kSisn, kCisn + 1)});
  EXPECT_EQ(r.connections.at(0).outcome, observe::Outcome::timed_out);
  EXPECT_THAT(r.connections.at(0).reason.text(), HasSubstr("never acknowledged"));
}

TEST(Analyzer, ServerRstAfterSynAckIsReset) {
  auto k = v4();
  auto r = analyse({k.c(kEpoch, S, kCisn, 0), k.s(kEpoch + 1ms, S | A, kSisn, kCisn + 1),
                    k.s(kEpoch + 2ms, R, kSisn + 1, 0)});
  EXPECT_EQ(r.connections.at(0).outcome, observe::Outcome::reset);
}

TEST(Analyzer, ClientRstAfterSynAckIsReset) {
  auto k = v4();
  auto r = analyse({k.c(kEpoch, S, kCisn, 0), k.s(kEpoch + 1ms, S | A, kSisn, kCisn + 1),
                    k.c(kEpoch + 2ms, R, kCisn + 1, 0)});
  EXPECT_EQ(r.connections.at(0).outcome, observe::Outcome::reset);
  EXPECT_THAT(r.connections.at(0).reason.text(), HasSubstr("client reset"));
}

TEST(Analyzer, BothSidesSynIsSimultaneousOpen) {
  auto k = v4();
  auto r = analyse({k.c(kEpoch, S, kCisn, 0, linux_syn_options()),
                    k.s(kEpoch + 1ms, S, kSisn, 0, linux_syn_options()),
                    k.c(kEpoch + 2ms, S | A, kCisn, kSisn + 1), k.s(kEpoch + 2ms, S | A, kSisn, kCisn + 1)});
  ASSERT_EQ(r.connections.size(), 1U);
  EXPECT_EQ(r.connections[0].outcome, observe::Outcome::simultaneous_open);
  EXPECT_EQ(r.connections[0].server_isn, kSisn);
}

TEST(Analyzer, SynAckFirstIsIncompleteAndStillTimed) {
  auto k = v4();
  auto r = analyse({k.s(kEpoch, S | A, kSisn, kCisn + 1, linux_syn_options()),
                    k.c(kEpoch + 1ms, A, kCisn + 1, kSisn + 1)});
  const auto& c = r.connections.at(0);
  EXPECT_EQ(c.outcome, observe::Outcome::incomplete);
  EXPECT_EQ(c.client.to_string(), "192.0.2.1:40000");
  EXPECT_DOUBLE_EQ(c.synack_to_ack_ms.value(), 1.0);
  EXPECT_FALSE(c.establish_ms.has_value());
  EXPECT_EQ(c.server_offered.mss, 1460);
}

TEST(Analyzer, BareAckFirstIsIncompleteOncePerTuple) {
  auto k = v4();
  std::vector<Packet> p;
  for (int i = 0; i < 50; ++i) {
    p.push_back(k.c(kEpoch + i * 1ms, A, kCisn + 1U + static_cast<std::uint32_t>(i), kSisn + 1));
  }
  auto r = analyse(p);
  ASSERT_EQ(r.connections.size(), 1U);
  EXPECT_EQ(r.connections[0].outcome, observe::Outcome::incomplete);
  EXPECT_EQ(r.counters.untracked, 49U);
}

TEST(Analyzer, MidConnectionDataAllocatesNoReportAndOneFlowPerTuple) {
  AnalyzerConfig config;
  Analyzer a(config);
  auto k = v4();
  for (int i = 0; i < 1000; ++i) {
    auto p = k.c(kEpoch + i * 1ms, P | A, kCisn + static_cast<std::uint32_t>(i) * 100U, kSisn, {}, 100);
    a.add_datagram(p.time, p.bytes);
  }
  EXPECT_EQ(a.open_flows(), 1U);
  auto r = a.finish();
  EXPECT_TRUE(r.connections.empty());
  EXPECT_EQ(r.counters.untracked, 1000U);
}

TEST(Analyzer, ReusedPortWithNewIsnIsANewConnection) {
  auto k = v4();
  auto o = linux_syn_options();
  auto r = analyse({k.c(kEpoch, S, kCisn, 0, o), k.s(kEpoch + 1ms, S | A, kSisn, kCisn + 1, o),
                    k.c(kEpoch + 2ms, A, kCisn + 1, kSisn + 1, o),
                    k.c(kEpoch + 3ms, F | A, kCisn + 1, kSisn + 1, o), k.c(kEpoch + 5s, S, 90000, 0, o),
                    k.s(kEpoch + 5s + 1ms, R | A, 0, 90001)});
  ASSERT_EQ(r.connections.size(), 2U);
  EXPECT_EQ(r.connections[0].outcome, observe::Outcome::established);
  EXPECT_EQ(r.connections[1].outcome, observe::Outcome::refused);
  EXPECT_EQ(r.connections[1].client_isn, 90000U);
  EXPECT_EQ(r.connections[1].number, 2U);
}

TEST(Analyzer, ClientDataAcknowledgingTheSynAckEstablishes) {
  auto k = v4();
  auto r = analyse({k.c(kEpoch, S, kCisn, 0), k.s(kEpoch + 1ms, S | A, kSisn, kCisn + 1),
                    k.c(kEpoch + 2ms, P | A, kCisn + 1, kSisn + 1, {}, 100)});
  EXPECT_EQ(r.connections.at(0).outcome, observe::Outcome::established);
  EXPECT_DOUBLE_EQ(r.connections.at(0).establish_ms.value(), 2.0);
}

TEST(Analyzer, WindowScaleFromOneSideOnly) {
  auto k = v4();
  auto server = linux_syn_options();
  server.wscale.reset();
  auto r = analyse({k.c(kEpoch, S, kCisn, 0, linux_syn_options()),
                    k.s(kEpoch + 1ms, S | A, kSisn, kCisn + 1, server),
                    k.c(kEpoch + 2ms, A, kCisn + 1, kSisn + 1, linux_syn_options())});
  const auto& c = r.connections.at(0);
  EXPECT_TRUE(has_anomaly(c, "window scale from one side only: the client offered shift 7"))
      << c.anomalies.size();
  EXPECT_FALSE(c.negotiated.agreed->wscale_client.has_value());
}

TEST(Analyzer, MissingMss) {
  auto k = v4();
  auto client = linux_syn_options();
  client.mss.reset();
  auto r = analyse({k.c(kEpoch, S, kCisn, 0, client),
                    k.s(kEpoch + 1ms, S | A, kSisn, kCisn + 1, linux_syn_options()),
                    k.c(kEpoch + 2ms, A, kCisn + 1, kSisn + 1, client)});
  const auto& c = r.connections.at(0);
  EXPECT_TRUE(has_anomaly(c, "missing MSS: the client's SYN"));
  EXPECT_EQ(c.negotiated.agreed->mss_server_to_client, 536);
}

TEST(Analyzer, WindowScaleAbove14IsClamped) {
  auto k = v4();
  auto r = analyse({k.c(kEpoch, S, kCisn, 0, linux_syn_options(1460, 15)),
                    k.s(kEpoch + 1ms, S | A, kSisn, kCisn + 1, linux_syn_options()),
                    k.c(kEpoch + 2ms, A, kCisn + 1, kSisn + 1, linux_syn_options())});
  const auto& c = r.connections.at(0);
  EXPECT_TRUE(has_anomaly(c, "window scale 15 > 14"));
  EXPECT_EQ(c.client_offered.wscale, 15);
  EXPECT_EQ(c.negotiated.agreed->wscale_client, 14);
}

TEST(Analyzer, TimestampsDroppedAfterBeingAgreed) {
  auto k = v4();
  auto o = linux_syn_options();
  auto r = analyse({k.c(kEpoch, S, kCisn, 0, o), k.s(kEpoch + 1ms, S | A, kSisn, kCisn + 1, o),
                    k.c(kEpoch + 2ms, A, kCisn + 1, kSisn + 1, o),
                    k.c(kEpoch + 3ms, P | A, kCisn + 1, kSisn + 1, {}, 10)});
  const auto& c = r.connections.at(0);
  EXPECT_TRUE(has_anomaly(c, "timestamps dropped after being agreed: the client"))
      << ::testing::PrintToString(c.anomalies);
}

TEST(Analyzer, SynCookieWithoutTimestampsDropsWscaleAndSack) {
  auto k = v4();
  wire::TcpOptions cookie;
  cookie.mss = 1460;
  auto client = linux_syn_options();
  client.timestamps.reset();
  auto r = analyse({k.c(kEpoch, S, kCisn, 0, client), k.s(kEpoch + 1ms, S | A, kSisn, kCisn + 1, cookie),
                    k.c(kEpoch + 2ms, A, kCisn + 1, kSisn + 1)});
  EXPECT_TRUE(
      has_anomaly(r.connections.at(0),
                  "SYN cookie likely (Linux, no timestamps): the SYN-ACK dropped the window scale and SACK"));
}

TEST(Analyzer, SynCookieWithTimestampsEncodesOptionsInTsval) {
  auto k = v4();
  // Client: ws 7, SACK, no ECN → low 6 bits 0x17.
  auto server = linux_syn_options(1460, 7, (12345U << 6U) | 0x17U, 1000);
  auto r = analyse({k.c(kEpoch, S, kCisn, 0, linux_syn_options()),
                    k.s(kEpoch + 1ms, S | A, kSisn, kCisn + 1, server),
                    k.c(kEpoch + 2ms, A, kCisn + 1, kSisn + 1, linux_syn_options())});
  EXPECT_TRUE(has_anomaly(r.connections.at(0), "TSval low 6 bits (0x17)"));
  // The same with other low bits: no cookie suspected.
  auto plain = linux_syn_options(1460, 7, (12345U << 6U) | 0x05U, 1000);
  auto r2 = analyse({k.c(kEpoch, S, kCisn, 0, linux_syn_options()),
                     k.s(kEpoch + 1ms, S | A, kSisn, kCisn + 1, plain),
                     k.c(kEpoch + 2ms, A, kCisn + 1, kSisn + 1, linux_syn_options())});
  EXPECT_FALSE(has_anomaly(r2.connections.at(0), "SYN cookie"));
}

TEST(Analyzer, EcnSetupIsOfferedAndNegotiated) {
  auto k = v4();
  auto r = analyse({k.c(kEpoch, S | E | C, kCisn, 0, linux_syn_options()),
                    k.s(kEpoch + 1ms, S | A | E, kSisn, kCisn + 1, linux_syn_options()),
                    k.c(kEpoch + 2ms, A, kCisn + 1, kSisn + 1, linux_syn_options())});
  const auto& c = r.connections.at(0);
  EXPECT_TRUE(c.client_offered.ecn);
  EXPECT_TRUE(c.server_offered.ecn);
  EXPECT_TRUE(c.negotiated.agreed->ecn);
}

TEST(Analyzer, FastOpenOptionIsOffered) {
  auto k = v4();
  auto o = linux_syn_options();
  o.fast_open = wire::FastOpenCookie::make({});
  auto r = analyse({k.c(kEpoch, S, kCisn, 0, o)});
  EXPECT_TRUE(r.connections.at(0).client_offered.fast_open);
}

TEST(Analyzer, Ipv6EndpointsAreBracketed) {
  Conversation k("2001:db8::1", 40000, "2001:db8::2", 443);
  auto r = analyse({k.c(kEpoch, S, kCisn, 0, linux_syn_options(1440)),
                    k.s(kEpoch + 1ms, S | A, kSisn, kCisn + 1, linux_syn_options(1440)),
                    k.c(kEpoch + 2ms, A, kCisn + 1, kSisn + 1, linux_syn_options())});
  const auto& c = r.connections.at(0);
  EXPECT_EQ(c.outcome, observe::Outcome::established);
  EXPECT_EQ(c.client.to_string(), "[2001:db8::1]:40000");
  EXPECT_EQ(c.server.to_string(), "[2001:db8::2]:443");
}

TEST(Analyzer, SnaplenCutOptionsAreUnknownNotAbsent) {
  auto k = v4();
  auto syn = k.c(kEpoch, S, kCisn, 0, linux_syn_options());
  auto synack = k.s(kEpoch + 1ms, S | A, kSisn, kCisn + 1, linux_syn_options());
  Analyzer a;
  // 20 IP + 20 TCP + 4 bytes of the 20 bytes of options.
  a.add_datagram(syn.time, wire::Bytes(syn.bytes).first(44), true);
  a.add_datagram(synack.time, synack.bytes);
  auto ack = k.c(kEpoch + 2ms, A, kCisn + 1, kSisn + 1, linux_syn_options(), 500);
  a.add_datagram(ack.time, wire::Bytes(ack.bytes).first(80), true);
  auto r = a.finish();
  ASSERT_EQ(r.connections.size(), 1U);
  const auto& c = r.connections[0];
  EXPECT_EQ(c.outcome, observe::Outcome::established);
  EXPECT_TRUE(c.client_offered.unknown);
  EXPECT_FALSE(c.server_offered.unknown);
  EXPECT_FALSE(c.negotiated.agreed);
  EXPECT_FALSE(has_anomaly(c, "missing MSS: the client"));
  EXPECT_EQ(r.counters.truncated, 2U);
}

TEST(Analyzer, CutInsideTheFixedTcpHeaderIsMalformed) {
  auto k = v4();
  auto syn = k.c(kEpoch, S, kCisn, 0, linux_syn_options());
  Analyzer a;
  a.add_datagram(syn.time, wire::Bytes(syn.bytes).first(30), true);
  auto r = a.finish();
  EXPECT_TRUE(r.connections.empty());
  EXPECT_EQ(r.counters.malformed, 1U);
}

TEST(Analyzer, IdleHandshakesAreFinalisedAndTheTableStaysBounded) {
  AnalyzerConfig config;
  config.idle_timeout = std::chrono::seconds(10);
  config.max_flows = 64;
  Analyzer a(config);
  std::size_t most = 0;
  for (std::uint32_t i = 0; i < 5000; ++i) {
    Conversation k("192.0.2.1", static_cast<std::uint16_t>(10000 + i), "192.0.2.2", 80);
    auto p = k.c(kEpoch + i * 1ms, S, i * 7919U, 0);
    a.add_datagram(p.time, p.bytes);
    most = std::max(most, a.open_flows());
  }
  EXPECT_LE(most, 65U);
  auto r = a.finish();
  EXPECT_EQ(r.connections.size(), 5000U);
  EXPECT_EQ(r.summary.count(observe::Outcome::timed_out), 5000U);
  EXPECT_GT(r.counters.flows_evicted_early, 0U);
}

TEST(Analyzer, RecordsSegmentsOnlyForTheConnectionsAskedFor) {
  AnalyzerConfig config;
  config.record_connections = {2};
  Analyzer a(config);
  for (int port : {1000, 1001, 1002}) {
    Conversation k("192.0.2.1", static_cast<std::uint16_t>(port), "192.0.2.2", 80);
    auto p = k.c(kEpoch, S, 1, 0);
    a.add_datagram(p.time, p.bytes);
  }
  auto r = a.finish();
  ASSERT_EQ(r.connections.size(), 3U);
  EXPECT_TRUE(r.connections[0].segments.empty());
  EXPECT_EQ(r.connections[1].segments.size(), 1U);
  EXPECT_TRUE(r.connections[2].segments.empty());
}

TEST(Analyzer, NotTcpAndGarbageAreCounted) {
  Analyzer a;
  std::vector<std::byte> garbage(7, std::byte{0x45});
  a.add_datagram(kEpoch, garbage);
  std::vector<std::byte> udp(28, std::byte{0});
  udp[0] = std::byte{0x45};
  udp[3] = std::byte{28};
  udp[9] = std::byte{17};
  a.add_datagram(kEpoch, udp);
  a.add_frame(1, kEpoch, garbage, 7);
  auto r = a.finish();
  EXPECT_EQ(r.counters.packets, 3U);
  EXPECT_EQ(r.counters.not_tcp + r.counters.malformed, 3U);
}

TEST(Distribution, NearestRankPercentiles) {
  std::vector<double> v;
  for (int i = 100; i >= 1; --i) v.push_back(i);
  auto d = distribution_of(v);
  EXPECT_EQ(d.count, 100U);
  EXPECT_DOUBLE_EQ(*d.p50, 50);
  EXPECT_DOUBLE_EQ(*d.p90, 90);
  EXPECT_DOUBLE_EQ(*d.p99, 99);
  EXPECT_DOUBLE_EQ(*d.max, 100);
  std::vector<double> none;
  EXPECT_FALSE(distribution_of(none).p50.has_value());
}

}  // namespace
}  // namespace synack::analyze
