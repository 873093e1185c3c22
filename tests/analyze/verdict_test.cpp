// Live verdicts (AnalyzerConfig::on_verdict, Analyzer::advance): each connection told as soon as its
// outcome is known — at the deciding segment, or once the waiting side's retransmission budget is spent —
// without changing the reports finish() returns (docs/analyze.md#live-capture--i-iface).
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "packets.hpp"
#include "synack/analyze/analyzer.hpp"

namespace synack::analyze {
namespace {

using namespace testing;  // NOLINT

constexpr std::uint32_t kCisn = 1000;
constexpr std::uint32_t kSisn = 5000;

struct Told {
  std::uint64_t number;
  observe::Outcome outcome;
  Timestamp decided;
};

struct Live {
  std::vector<Told> told;
  Analyzer analyzer;
  explicit Live(AnalyzerConfig config = {}) : analyzer(with_callback(std::move(config))) {}
  AnalyzerConfig with_callback(AnalyzerConfig config) {
    config.on_verdict = [this](const ConnectionReport& c, Timestamp decided) {
      told.push_back({c.number, c.outcome, decided});
    };
    return config;
  }
  void add(const Packet& p) { analyzer.add_datagram(p.time, p.bytes); }
};

Conversation v4(std::uint16_t port = 40000) {
  return {"192.0.2.1", port, "192.0.2.2", 80};
}

TEST(Verdict, SynSent_FinalAck_ToldEstablishedAtTheAck) {
  auto k = v4();
  Live live;
  live.add(k.c(kEpoch, S, kCisn, 0, linux_syn_options()));
  live.add(k.s(kEpoch + 1ms, S | A, kSisn, kCisn + 1, linux_syn_options()));
  EXPECT_TRUE(live.told.empty());
  live.add(k.c(kEpoch + 2ms, A, kCisn + 1, kSisn + 1));
  ASSERT_EQ(live.told.size(), 1U);
  EXPECT_EQ(live.told[0].outcome, observe::Outcome::established);
  EXPECT_EQ(live.told[0].decided, kEpoch + 2ms);
  // The report is not final yet (the packets after the handshake are watched): nothing told twice.
  (void)live.analyzer.finish();
  EXPECT_EQ(live.told.size(), 1U);
}

TEST(Verdict, SynSent_RstAck_ToldRefusedAtTheRst) {
  auto k = v4();
  Live live;
  live.add(k.c(kEpoch, S, kCisn, 0));
  live.add(k.s(kEpoch + 1ms, R | A, 0, kCisn + 1));
  ASSERT_EQ(live.told.size(), 1U);
  EXPECT_EQ(live.told[0].outcome, observe::Outcome::refused);
  EXPECT_EQ(live.told[0].decided, kEpoch + 1ms);
}

TEST(Verdict, SynReceived_ServerRst_ToldReset) {
  auto k = v4();
  Live live;
  live.add(k.c(kEpoch, S, kCisn, 0));
  live.add(k.s(kEpoch + 1ms, S | A, kSisn, kCisn + 1));
  live.add(k.s(kEpoch + 2ms, R | A, kSisn + 1, kCisn + 1));
  ASSERT_EQ(live.told.size(), 1U);
  EXPECT_EQ(live.told[0].outcome, observe::Outcome::reset);
}

// Linux with tcp_syn_retries=1: SYN at 0, again at 1 s, gives up at 3 s (the next one was due 2 s later).
TEST(Verdict, SynSent_NoAnswer_ToldTimedOutOnceTheBudgetIsSpent_ByTheWallClock) {
  auto k = v4();
  Live live;
  live.add(k.c(kEpoch, S, kCisn, 0));
  live.analyzer.advance(kEpoch + 900ms);
  EXPECT_TRUE(live.told.empty()) << "the first retransmission is not due yet";
  live.add(k.c(kEpoch + 1s, S, kCisn, 0));
  live.analyzer.advance(kEpoch + 2900ms);
  EXPECT_TRUE(live.told.empty()) << "the second retransmission is due at 3 s";
  live.analyzer.advance(kEpoch + 3200ms);
  ASSERT_EQ(live.told.size(), 1U);
  EXPECT_EQ(live.told[0].outcome, observe::Outcome::timed_out);
  EXPECT_EQ(live.told[0].decided, kEpoch + 3s);
  live.analyzer.advance(kEpoch + 10s);
  EXPECT_EQ(live.told.size(), 1U) << "told once";
  const auto result = live.analyzer.finish();
  EXPECT_EQ(live.told.size(), 1U) << "the end agrees: not told again";
  EXPECT_EQ(result.connections.at(0).syn_retransmits, 1U);
}

TEST(Verdict, SynSent_NoAnswer_ToldByALaterPacketsCaptureTime) {
  auto k = v4();
  auto other = v4(40001);
  Live live;
  live.add(k.c(kEpoch, S, kCisn, 0));
  live.add(other.c(kEpoch + 2s, S, 7, 0));
  ASSERT_EQ(live.told.size(), 1U);
  EXPECT_EQ(live.told[0].number, 1U);
  EXPECT_EQ(live.told[0].outcome, observe::Outcome::timed_out);
}

TEST(Verdict, TimedOutThenLateRetransmissionAndAnswer_ToldAgain) {
  auto k = v4();
  Live live;
  live.add(k.c(kEpoch, S, kCisn, 0));
  live.analyzer.advance(kEpoch + 1500ms);
  ASSERT_EQ(live.told.size(), 1U);
  live.add(k.c(kEpoch + 3s, S, kCisn, 0));  // a 3 s initial RTO (RFC 1122 era)
  live.add(k.s(kEpoch + 3001ms, S | A, kSisn, kCisn + 1));
  live.add(k.c(kEpoch + 3002ms, A, kCisn + 1, kSisn + 1));
  ASSERT_EQ(live.told.size(), 2U);
  EXPECT_EQ(live.told[1].outcome, observe::Outcome::established);
}

TEST(Verdict, SynAckNeverAcknowledged_ToldTimedOutAfterTheServersBudget) {
  auto k = v4();
  Live live;
  live.add(k.c(kEpoch, S, kCisn, 0));
  live.add(k.s(kEpoch + 1ms, S | A, kSisn, kCisn + 1));
  live.analyzer.advance(kEpoch + 900ms);
  EXPECT_TRUE(live.told.empty());
  live.analyzer.advance(kEpoch + 1200ms);
  ASSERT_EQ(live.told.size(), 1U);
  EXPECT_EQ(live.told[0].outcome, observe::Outcome::timed_out);
}

TEST(Verdict, BareAckFirst_ToldIncompleteAtOnce) {
  auto k = v4();
  Live live;
  live.add(k.c(kEpoch, A, kCisn + 1, kSisn + 1));
  ASSERT_EQ(live.told.size(), 1U);
  EXPECT_EQ(live.told[0].outcome, observe::Outcome::incomplete);
}

// Telling verdicts never finalises a report early: the reports are those of the same packets without it.
TEST(Verdict, ReportsWithVerdictsEqualReportsWithout) {
  std::vector<Packet> packets;
  for (std::uint16_t i = 0; i < 20; ++i) {
    auto k = v4(static_cast<std::uint16_t>(41000 + i));
    const auto t = kEpoch + std::chrono::milliseconds(300 * i);
    packets.push_back(k.c(t, S, kCisn + i, 0, linux_syn_options()));
    if (i % 3 == 0) packets.push_back(k.s(t + 1ms, R | A, 0, kCisn + i + 1));
    if (i % 3 == 1) {
      packets.push_back(k.s(t + 1ms, S | A, kSisn, kCisn + i + 1, linux_syn_options()));
      packets.push_back(k.c(t + 2ms, A, kCisn + i + 1, kSisn + 1, linux_syn_options()));
    }
  }
  std::sort(packets.begin(), packets.end(), [](const Packet& a, const Packet& b) { return a.time < b.time; });
  Live live;
  Analyzer plain;
  for (const auto& p : packets) {
    live.add(p);
    live.analyzer.advance(p.time + 500ms);  // the wall clock running ahead of the capture
    plain.add_datagram(p.time, p.bytes);
  }
  const auto a = live.analyzer.finish();
  const auto b = plain.finish();
  ASSERT_EQ(a.connections.size(), b.connections.size());
  for (std::size_t i = 0; i < a.connections.size(); ++i) {
    EXPECT_EQ(a.connections[i].outcome, b.connections[i].outcome);
    EXPECT_EQ(a.connections[i].reason.text(), b.connections[i].reason.text());
    EXPECT_EQ(a.connections[i].packets, b.connections[i].packets);
  }
  EXPECT_EQ(live.told.size(), 20U);
}

}  // namespace
}  // namespace synack::analyze
