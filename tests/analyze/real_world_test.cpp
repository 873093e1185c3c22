// Real-world corner cases, hand-built (docs/analyze.md#real-world-captures): linked attempts on one 4-tuple,
// port reuse during TIME-WAIT, duplicate frames, TCP Fast Open data on the SYN, ECN and AccECN set-up.
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

constexpr std::uint32_t kCisn = 1000;
constexpr std::uint32_t kSisn = 5000;
constexpr std::uint16_t kAe = wire::TcpFlags::kAe;

Conversation v4() {
  return {"192.0.2.1", 40000, "192.0.2.2", 80};
}

std::string anomalies(const ConnectionReport& c) {
  std::string all;
  for (const auto& a : c.anomalies) all += a + "\n";
  return all;
}

TEST(RealWorld, SynSent_NewIsnOnTheSameTuple_ASeparateAttemptLinkedToTheFirst) {
  auto k = v4();
  auto r = analyse({k.c(kEpoch, S, kCisn, 0), k.c(kEpoch + 1s, S, kCisn, 0), k.c(kEpoch + 3s, S, 777777, 0),
                    k.s(kEpoch + 3001ms, S | A, kSisn, 777778), k.c(kEpoch + 3002ms, A, 777778, kSisn + 1)});
  ASSERT_EQ(r.connections.size(), 2U);
  EXPECT_EQ(r.connections[0].outcome, observe::Outcome::timed_out);
  EXPECT_EQ(r.connections[0].syn_retransmits, 1U);
  EXPECT_FALSE(r.connections[0].previous_attempt.has_value());
  EXPECT_EQ(r.connections[1].outcome, observe::Outcome::established);
  EXPECT_EQ(r.connections[1].previous_attempt, 1U);
  EXPECT_THAT(anomalies(r.connections[1]), HasSubstr("a new attempt on the 4-tuple of connection 1"));
}

TEST(RealWorld, Established_TupleReusedSoonAfter_MayStillBeInTimeWait) {
  auto k = v4();
  auto r =
      analyse({k.c(kEpoch, S, kCisn, 0), k.s(kEpoch + 1ms, S | A, kSisn, kCisn + 1),
               k.c(kEpoch + 2ms, A, kCisn + 1, kSisn + 1), k.c(kEpoch + 3ms, F | A, kCisn + 1, kSisn + 1),
               k.s(kEpoch + 4ms, F | A, kSisn + 1, kCisn + 2), k.c(kEpoch + 5ms, A, kCisn + 2, kSisn + 2),
               k.c(kEpoch + 10s, S, kCisn + 100000, 0)});
  ASSERT_EQ(r.connections.size(), 2U);
  EXPECT_EQ(r.connections[1].previous_attempt, 1U);
  EXPECT_THAT(anomalies(r.connections[1]), HasSubstr("the 4-tuple of connection 1 reused 9.995 s after"));
  EXPECT_THAT(anomalies(r.connections[1]), HasSubstr("TIME-WAIT"));
}

TEST(RealWorld, Established_TupleReusedAfterTwoMsl_LinkedWithoutAnomaly) {
  auto k = v4();
  auto r = analyse({k.c(kEpoch, S, kCisn, 0), k.s(kEpoch + 1ms, S | A, kSisn, kCisn + 1),
                    k.c(kEpoch + 2ms, A, kCisn + 1, kSisn + 1), k.c(kEpoch + 250s, S, kCisn + 100000, 0)});
  ASSERT_EQ(r.connections.size(), 2U);
  EXPECT_EQ(r.connections[1].previous_attempt, 1U);
  EXPECT_THAT(anomalies(r.connections[1]), Not(HasSubstr("4-tuple")));
}

// A capture on both sides of a bridge holds each frame twice, microseconds apart: the SYN is not a
// retransmission and the packet counts are those of one copy.
TEST(RealWorld, DuplicateFrames_SkippedAndCounted) {
  auto k = v4();
  const auto syn = k.c(kEpoch, S, kCisn, 0, linux_syn_options());
  const auto synack = k.s(kEpoch + 1ms, S | A, kSisn, kCisn + 1, linux_syn_options());
  const auto ack = k.c(kEpoch + 2ms, A, kCisn + 1, kSisn + 1);
  auto again = [](Packet p) {
    p.time += 20us;
    return p;
  };
  auto r = analyse({syn, again(syn), synack, again(synack), ack, again(ack)});
  ASSERT_EQ(r.connections.size(), 1U);
  const auto& c = r.connections[0];
  EXPECT_EQ(c.outcome, observe::Outcome::established);
  EXPECT_EQ(c.syn_retransmits, 0U);
  EXPECT_EQ(c.synack_retransmits, 0U);
  EXPECT_EQ(c.packets, 3U);
  EXPECT_EQ(r.counters.duplicates, 3U);
}

TEST(RealWorld, SameSynOneSecondLater_IsARetransmissionNotADuplicate) {
  auto k = v4();
  const auto syn = k.c(kEpoch, S, kCisn, 0);
  auto later = syn;
  later.time += 1s;
  auto r = analyse({syn, later});
  EXPECT_EQ(r.connections.at(0).syn_retransmits, 1U);
  EXPECT_EQ(r.counters.duplicates, 0U);
}

TEST(RealWorld, FastOpen_DataOnTheSynAcknowledged_Accepted) {
  auto k = v4();
  auto o = linux_syn_options();
  o.fast_open = wire::FastOpenCookie{};
  auto r = analyse({k.c(kEpoch, S, kCisn, 0, o, 5), k.s(kEpoch + 1ms, S | A, kSisn, kCisn + 6),
                    k.c(kEpoch + 2ms, A, kCisn + 6, kSisn + 1)});
  const auto& c = r.connections.at(0);
  EXPECT_EQ(c.outcome, observe::Outcome::established);
  EXPECT_EQ(c.syn_data_bytes, 5U);
  EXPECT_EQ(c.syn_data_acknowledged, true);
  EXPECT_THAT(c.reason.text(), HasSubstr("5 bytes of data on the SYN with a Fast Open cookie, acknowledged"));
  EXPECT_THAT(anomalies(c), Not(HasSubstr("SYN-ACK acknowledges")));
}

TEST(RealWorld, FastOpen_SynAckAcknowledgesTheSynOnly_DataSentAgain) {
  auto k = v4();
  auto r = analyse({k.c(kEpoch, S, kCisn, 0, {}, 5), k.s(kEpoch + 1ms, S | A, kSisn, kCisn + 1),
                    k.c(kEpoch + 2ms, A | P, kCisn + 1, kSisn + 1, {}, 5)});
  const auto& c = r.connections.at(0);
  EXPECT_EQ(c.syn_data_acknowledged, false);
  EXPECT_THAT(c.reason.text(), HasSubstr("not acknowledged by the SYN-ACK"));
}

TEST(RealWorld, Ecn_ClassicOnBothSides_Agreed) {
  auto k = v4();
  auto r = analyse({k.c(kEpoch, S | E | C, kCisn, 0), k.s(kEpoch + 1ms, S | A | E, kSisn, kCisn + 1),
                    k.c(kEpoch + 2ms, A, kCisn + 1, kSisn + 1)});
  const auto j = to_json(r.connections.at(0));
  EXPECT_EQ(j["ecn_setup"],
            nlohmann::ordered_json::parse(R"({"client":"ecn","server":"ecn","agreed":"ecn"})"));
}

TEST(RealWorld, Ecn_AccEcnSynAndAccEcnSynAck_AgreedAccEcn) {
  auto k = v4();
  auto r = analyse({k.c(kEpoch, S | E | C | kAe, kCisn, 0), k.s(kEpoch + 1ms, S | A | C, kSisn, kCisn + 1),
                    k.c(kEpoch + 2ms, A, kCisn + 1, kSisn + 1)});
  const auto j = to_json(r.connections.at(0));
  EXPECT_EQ(j["ecn_setup"],
            nlohmann::ordered_json::parse(R"({"client":"accecn","server":"accecn","agreed":"accecn"})"));
}

TEST(RealWorld, Ecn_OfferedButNotAnswered_NotAgreed) {
  auto k = v4();
  auto r = analyse({k.c(kEpoch, S | E | C, kCisn, 0), k.s(kEpoch + 1ms, S | A, kSisn, kCisn + 1)});
  const auto j = to_json(r.connections.at(0));
  EXPECT_EQ(j["ecn_setup"], nlohmann::ordered_json::parse(R"({"client":"ecn","server":null,"agreed":null})"));
}

}  // namespace
}  // namespace synack::analyze
