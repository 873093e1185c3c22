// Every named scenario's outcome and timing, in virtual time.
#include "synack/sim/scenario.hpp"

#include <chrono>
#include <vector>

#include <gtest/gtest.h>

#include "synack/sim/render.hpp"
#include "synack/sim/simulation.hpp"

namespace synack::sim {
namespace {

using namespace std::chrono_literals;

RunResult run_scenario(std::string_view name, std::uint64_t seed = 1) {
  auto config = scenario_config(name, seed);
  EXPECT_TRUE(config.has_value()) << name;
  return run(*config);
}

std::vector<const SegmentTrace*> segments_with(const ConnectionResult& c, Direction dir,
                                               std::string_view flags) {
  std::vector<const SegmentTrace*> out;
  for (const auto& s : c.segments) {
    if (s.dir == dir && s.header.flags.to_string() == flags) out.push_back(&s);
  }
  return out;
}

TEST(Scenario, NormalEstablishesInOneRoundTrip) {
  const auto r = run_scenario("normal");
  ASSERT_EQ(r.connections.size(), 1U);
  const auto& c = r.connections[0];
  EXPECT_EQ(c.outcome, observe::Outcome::established) << render_ladder(c);
  ASSERT_TRUE(c.handshake_time());
  EXPECT_EQ(*c.handshake_time(), 20ms);
  ASSERT_GE(c.segments.size(), 3U);
  EXPECT_EQ(c.segments[0].header.flags.to_string(), "S");
  EXPECT_EQ(c.segments[0].at, Instant::from_nanoseconds(0));
  EXPECT_EQ(c.segments[1].header.flags.to_string(), "SA");
  EXPECT_EQ(c.segments[1].at, Instant::from_duration(10ms));
  EXPECT_EQ(c.segments[2].header.flags.to_string(), "A");
  EXPECT_EQ(c.segments[2].at, Instant::from_duration(20ms));
  EXPECT_EQ(c.syn_retransmits, 0U);
  EXPECT_EQ(c.synack_retransmits, 0U);
  ASSERT_TRUE(c.negotiated.agreed);
  EXPECT_EQ(c.negotiated.agreed->mss_client_to_server, 1460);
  EXPECT_EQ(c.negotiated.agreed->mss_server_to_client, 1460);
  EXPECT_EQ(c.negotiated.agreed->wscale_client, 7);
  EXPECT_EQ(c.negotiated.agreed->wscale_server, 7);
  EXPECT_TRUE(c.negotiated.agreed->sack);
  EXPECT_TRUE(c.negotiated.agreed->timestamps);
  EXPECT_EQ(r.summary.count(observe::Outcome::established), 1U);
}

TEST(Scenario, DeadServerScheduleExactToTheMillisecond) {
  const auto r = run_scenario("dead-server");
  ASSERT_EQ(r.connections.size(), 1U);
  const auto& c = r.connections[0];
  EXPECT_EQ(c.outcome, observe::Outcome::timed_out) << render_ladder(c);
  const auto syns = segments_with(c, Direction::to_server, "S");
  const std::vector<Duration> expected{0s, 1s, 3s, 7s, 15s, 31s, 63s};
  ASSERT_EQ(syns.size(), expected.size()) << render_ladder(c);
  for (std::size_t i = 0; i < syns.size(); ++i) {
    EXPECT_EQ(syns[i]->at.since_origin(), expected[i]) << "SYN " << i;
    EXPECT_EQ(syns[i]->retransmission, i > 0);
  }
  ASSERT_TRUE(c.ended_at);
  EXPECT_EQ(c.ended_at->since_origin(), 127s);
  EXPECT_EQ(c.syn_retransmits, 6U);
  EXPECT_EQ(c.segments.size(), 7U);
  EXPECT_FALSE(c.established_at);
}

TEST(Scenario, ClosedPortIsRefusedAfterOneRoundTrip) {
  const auto r = run_scenario("closed-port");
  ASSERT_EQ(r.connections.size(), 1U);
  const auto& c = r.connections[0];
  EXPECT_EQ(c.outcome, observe::Outcome::refused) << render_ladder(c);
  ASSERT_TRUE(c.ended_at);
  EXPECT_EQ(c.ended_at->since_origin(), 20ms);
  ASSERT_EQ(c.segments.size(), 2U) << render_ladder(c);
  EXPECT_EQ(c.segments[1].header.flags.to_string(), "RA");
  EXPECT_EQ(c.segments[1].header.ack.raw(), *c.client_isn + 1);
  EXPECT_FALSE(c.negotiated.agreed);
}

TEST(Scenario, SimultaneousOpenSendsCrossingSynsThenSynAcks) {
  const auto r = run_scenario("simultaneous-open");
  const auto& c = r.connections.at(0);
  ASSERT_GE(c.segments.size(), 4U) << render_ladder(c);
  for (std::size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(c.segments[i].header.flags.to_string(), "S");
    EXPECT_EQ(c.segments[i].at, Instant{});
  }
  EXPECT_NE(c.segments[0].dir, c.segments[1].dir);
  for (std::size_t i = 2; i < 4; ++i) {
    EXPECT_EQ(c.segments[i].header.flags.to_string(), "SA");
    EXPECT_EQ(c.segments[i].at, Instant::from_duration(10ms));
    EXPECT_FALSE(c.segments[i].retransmission);  // the first SYN-ACK re-sends the SYN by design
  }
  // Each SYN-ACK acknowledges the other side's SYN.
  EXPECT_EQ(c.segments[2].header.seq.raw() + 1, c.segments[3].header.ack.raw());
  EXPECT_EQ(c.segments[3].header.seq.raw() + 1, c.segments[2].header.ack.raw());
}

TEST(Scenario, SimultaneousOpenEstablishesBothEnds) {
  const auto r = run_scenario("simultaneous-open");
  ASSERT_EQ(r.connections.size(), 1U);
  const auto& c = r.connections[0];
  EXPECT_EQ(c.outcome, observe::Outcome::established) << render_ladder(c);
  EXPECT_EQ(segments_with(c, Direction::to_server, "S").size(), 1U) << render_ladder(c);
  EXPECT_EQ(segments_with(c, Direction::to_client, "S").size(), 1U);
  EXPECT_EQ(segments_with(c, Direction::to_server, "SA").size(), 1U);
  EXPECT_EQ(segments_with(c, Direction::to_client, "SA").size(), 1U);
  ASSERT_TRUE(c.handshake_time());
  EXPECT_EQ(*c.handshake_time(), 20ms);
}

TEST(Scenario, MssMismatchAgreesOn1360BothWays) {
  const auto r = run_scenario("mss-mismatch");
  const auto& c = r.connections.at(0);
  EXPECT_EQ(c.outcome, observe::Outcome::established);
  EXPECT_EQ(c.segments.at(0).header.options.mss, 1460);
  EXPECT_EQ(c.segments.at(1).header.options.mss, 1360);
  EXPECT_EQ(*c.handshake_time(), 20ms);
  ASSERT_TRUE(c.negotiated.agreed);
  EXPECT_EQ(c.negotiated.agreed->mss_client_to_server, 1360);
  EXPECT_EQ(c.negotiated.agreed->mss_server_to_client, 1360);
}

TEST(Scenario, NoOptionsAgreesOnNothingButMss) {
  const auto r = run_scenario("no-options");
  const auto& c = r.connections.at(0);
  EXPECT_EQ(c.outcome, observe::Outcome::established);
  EXPECT_EQ(*c.handshake_time(), 20ms);
  const auto& syn = c.segments.at(0).header.options;
  EXPECT_TRUE(syn.mss);
  EXPECT_FALSE(syn.wscale);
  EXPECT_FALSE(syn.sack_permitted);
  EXPECT_FALSE(syn.timestamps);
  const auto& syn_ack = c.segments.at(1).header.options;
  EXPECT_FALSE(syn_ack.wscale);
  EXPECT_FALSE(syn_ack.sack_permitted);
  EXPECT_FALSE(syn_ack.timestamps);
  ASSERT_TRUE(c.negotiated.agreed);
  EXPECT_FALSE(c.negotiated.agreed->wscale_client);
  EXPECT_FALSE(c.negotiated.agreed->wscale_server);
  EXPECT_FALSE(c.negotiated.agreed->sack);
  EXPECT_FALSE(c.negotiated.agreed->timestamps);
}

TEST(Scenario, LossyRecoversAfterTheFirstSynIsLost) {
  const auto r = run_scenario("lossy");
  const auto& c = r.connections.at(0);
  EXPECT_EQ(c.outcome, observe::Outcome::established) << render_ladder(c);
  ASSERT_FALSE(c.segments.empty());
  EXPECT_EQ(c.segments[0].fate, Fate::dropped);
  EXPECT_GE(c.syn_retransmits, 1U);
  // The retransmission leaves exactly one initial RTO after the first SYN.
  ASSERT_GE(c.segments.size(), 2U);
  EXPECT_EQ(c.segments[1].header.flags.to_string(), "S");
  EXPECT_EQ(c.segments[1].at, Instant::from_duration(1s));
  EXPECT_TRUE(c.segments[1].retransmission);
  // The client is established the instant the first SYN-ACK that was not lost arrives.
  const SegmentTrace* first_synack = nullptr;
  for (const auto& s : c.segments) {
    if (s.dir == Direction::to_client && s.header.flags.to_string() == "SA" && s.fate != Fate::dropped) {
      first_synack = &s;
      break;
    }
  }
  ASSERT_NE(first_synack, nullptr);
  ASSERT_TRUE(c.established_at);
  EXPECT_EQ(*c.established_at, *first_synack->arrival);
}

TEST(Scenario, TinyBacklogTimesOutTheLaterConnections) {
  const auto r = run_scenario("tiny-backlog");
  ASSERT_EQ(r.connections.size(), 3U);
  EXPECT_EQ(r.connections[0].outcome, observe::Outcome::established) << render_ladder(r.connections[0]);
  EXPECT_EQ(r.connections[1].outcome, observe::Outcome::timed_out) << render_ladder(r.connections[1]);
  EXPECT_EQ(r.connections[2].outcome, observe::Outcome::timed_out);
  ASSERT_TRUE(r.connections[1].ended_at);
  EXPECT_EQ(*r.connections[1].ended_at - r.connections[1].started_at, 127s);
  EXPECT_EQ(r.summary.count(observe::Outcome::established), 1U);
  EXPECT_EQ(r.summary.count(observe::Outcome::timed_out), 2U);
}

TEST(Scenario, TfoHostile_FirstFallsBackAfterOneRto_SecondStartsPlain) {
  const auto r = run_scenario("tfo-hostile");
  ASSERT_EQ(r.connections.size(), 2U);
  const auto& first = r.connections[0];
  const auto& second = r.connections[1];
  // RFC 7413 §7.1: the SYN with the Fast Open option vanishes on the path; the retransmission, one initial
  // RTO later, carries neither the option nor data, and gets through.
  ASSERT_EQ(first.outcome, observe::Outcome::established) << render_ladder(first);
  ASSERT_GE(first.segments.size(), 2U);
  EXPECT_EQ(first.segments[0].fate, Fate::dropped);
  EXPECT_TRUE(first.segments[0].header.options.fast_open.has_value());
  EXPECT_EQ(first.segments[1].header.flags.to_string(), "S");
  EXPECT_EQ(first.segments[1].at - first.started_at, 1s);
  EXPECT_FALSE(first.segments[1].header.options.fast_open.has_value());
  EXPECT_EQ(first.segments[1].fate, Fate::delivered);
  EXPECT_EQ(first.syn_retransmits, 1U);
  ASSERT_TRUE(first.established_at);
  EXPECT_EQ(*first.established_at - first.started_at, 1020ms);  // one RTO, then one round trip
  // The destination is remembered as hostile: the next connection's first SYN is plain.
  ASSERT_EQ(second.outcome, observe::Outcome::established) << render_ladder(second);
  ASSERT_FALSE(second.segments.empty());
  EXPECT_FALSE(second.segments[0].header.options.fast_open.has_value());
  EXPECT_EQ(second.segments[0].fate, Fate::delivered);
  EXPECT_EQ(second.syn_retransmits, 0U);
  ASSERT_TRUE(second.established_at);
  EXPECT_EQ(*second.established_at - second.started_at, 20ms);
}

TEST(Scenario, EveryNamedScenarioHasAConfig) {
  for (const auto& s : scenarios()) EXPECT_TRUE(scenario_config(s.name).has_value()) << s.name;
  EXPECT_FALSE(scenario_config("no-such-scenario").has_value());
}

}  // namespace
}  // namespace synack::sim

namespace synack::sim {
namespace {

TEST(Simulation, ClientEndpointsNeverCollideWithTheServer) {
  SimConfig c;
  EXPECT_EQ(client_endpoint(c, 0).to_string(), "192.0.2.1:40000");
  EXPECT_EQ(client_endpoint(c, 19999).to_string(), "192.0.2.1:59999");
  EXPECT_EQ(client_endpoint(c, 20000).to_string(), "192.0.2.3:40000");  // .2 is the server
  EXPECT_EQ(client_endpoint(c, 99999).to_string(), "192.0.2.6:59999");
}

TEST(Simulation, ServerModesFromText) {
  EXPECT_EQ(parse_server_mode("tiny-backlog"), ServerMode::tiny_backlog);
  EXPECT_EQ(parse_server_mode("dead"), ServerMode::dead);
  EXPECT_FALSE(parse_server_mode("sideways"));
  EXPECT_EQ(to_string(ServerMode::closed), "closed");
}

TEST(Simulation, DroppedFinalAckStillEstablishesBothSides) {
  auto c = *scenario_config("normal");
  c.to_server.script.push_back({ScriptRule::Match::final_ack, 1, Fate::dropped});
  const auto r = run(c);
  const auto& conn = r.connections.at(0);
  EXPECT_EQ(conn.outcome, observe::Outcome::established);
  EXPECT_EQ(*conn.handshake_time(), std::chrono::milliseconds(20));
  EXPECT_EQ(conn.segments.at(2).fate, Fate::dropped);
  EXPECT_GE(conn.synack_retransmits, 1U);  // the server retransmitted its SYN-ACK after 1 s
  EXPECT_EQ(conn.segments.at(3).at, Instant::from_duration(std::chrono::milliseconds(1010)));
}

TEST(Simulation, EverySynAckDroppedTimesOutTheClient) {
  auto c = *scenario_config("normal");
  c.to_client.script.push_back({ScriptRule::Match::every_syn_ack, 1, Fate::dropped});
  const auto r = run(c);
  EXPECT_EQ(r.connections.at(0).outcome, observe::Outcome::timed_out);
  EXPECT_EQ(r.connections.at(0).ended_at->since_origin(), std::chrono::seconds(127));
}

TEST(Simulation, ManyConnectionsAreCountedAndBatched) {
  auto c = *scenario_config("normal", 3);
  c.connections = 1500;
  c.batch_size = 512;
  c.to_server.loss = c.to_client.loss = 0.1;
  c.record_segments = false;
  std::uint64_t progress_calls = 0;
  SimObserver o;
  o.on_progress = [&](std::uint64_t done, std::uint64_t total) {
    ++progress_calls;
    EXPECT_LE(done, total);
  };
  const auto r = run(c, o);
  EXPECT_EQ(progress_calls, 3U);  // 512 + 512 + 476
  EXPECT_EQ(r.connections.size(), 1500U);
  EXPECT_EQ(r.summary.count(observe::Outcome::established) + r.summary.count(observe::Outcome::timed_out),
            1500U);
  ASSERT_TRUE(r.summary.handshake_ms);
  EXPECT_EQ(r.summary.handshake_ms->p50, 20.0);
  EXPECT_GE(r.summary.handshake_ms->p99, 1000.0);
  EXPECT_GT(r.summary.syn_retransmits, 0U);
  EXPECT_FALSE(r.hit_time_cap);
}

}  // namespace
}  // namespace synack::sim
