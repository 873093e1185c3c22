// The syn-flood scenario: an attacker's spoofed SYNs against the server's SYN queue, in virtual time.
#include <algorithm>
#include <chrono>
#include <string>

#include <gtest/gtest.h>

#include "synack/sim/render.hpp"
#include "synack/sim/scenario.hpp"
#include "synack/sim/simulation.hpp"

namespace synack::sim {
namespace {

using namespace std::chrono_literals;

SimConfig flood(tcp::SynCookieMode mode, std::uint64_t seed = 1) {
  auto c = scenario_config("syn-flood", seed);
  EXPECT_TRUE(c.has_value());
  c->syn_cookies = mode;
  return *c;
}

/// SYNs received = SYN-ACKs from the queue + cookies + drops, each by reason.
void expect_counters_add_up(const FloodReport& f) {
  EXPECT_EQ(f.syns_received,
            f.synacks_from_queue + f.cookies_sent + f.drops_syn_queue_full + f.drops_accept_queue_full);
  EXPECT_EQ(f.cookie_synacks, f.cookies_sent);  // every cookie the engine counted was on the wire
  EXPECT_EQ(f.drops_accept_queue_full, 0U);     // the server accepts as it goes
  EXPECT_EQ(f.drops_control_queue, 0U);
  // Every SYN on the wire reached the listener, but for the rare spoofed tuple that repeats one still in
  // the queue (its entry answers it, as a retransmitted SYN).
  EXPECT_LE(f.syns_received, f.attacker_syns + f.legit_syns);
  EXPECT_GE(f.syns_received + 5, f.attacker_syns + f.legit_syns);
}

TEST(SynFlood, CookiesNever_QueueFull_LegitimateClientsTimeOut) {
  const RunResult r = run(flood(tcp::SynCookieMode::never));
  ASSERT_TRUE(r.flood);
  const FloodReport& f = *r.flood;
  EXPECT_EQ(f.attacker_syns, 50000U);
  EXPECT_EQ(f.syn_queue_peak, 256U);
  EXPECT_EQ(f.cookies_sent, 0U);
  EXPECT_GT(f.drops_syn_queue_full, 40000U);
  EXPECT_GT(f.syn_queue_pruned, 0U);  // pruning frees room once a second, and the attacker takes it
  EXPECT_LT(r.summary.count(observe::Outcome::established), r.connections.size() / 2);
  EXPECT_GT(r.summary.count(observe::Outcome::timed_out), 0U);
  expect_counters_add_up(f);
}

TEST(SynFlood, CookiesWhenFull_QueueFull_EveryLegitimateClientConnectsInOneRoundTrip) {
  const RunResult r = run(flood(tcp::SynCookieMode::when_full));
  ASSERT_TRUE(r.flood);
  const FloodReport& f = *r.flood;
  EXPECT_EQ(r.summary.count(observe::Outcome::established), 20U);
  ASSERT_TRUE(r.summary.handshake_ms);
  EXPECT_EQ(r.summary.handshake_ms->p99, 20.0);
  EXPECT_EQ(f.synacks_from_queue, 256U);  // the queue filled once; cookies answered everything after
  EXPECT_EQ(f.drops_syn_queue_full, 0U);
  EXPECT_EQ(f.cookies_recv, 20U);  // the legitimate clients' final ACKs; the attacker never answers
  EXPECT_EQ(f.cookies_failed, 0U);
  EXPECT_EQ(f.syn_queue_peak, 256U);
  expect_counters_add_up(f);
}

TEST(SynFlood, CookiesAlways_NoQueueEntryAtAll) {
  const RunResult r = run(flood(tcp::SynCookieMode::always));
  ASSERT_TRUE(r.flood);
  EXPECT_EQ(r.flood->syn_queue_peak, 0U);
  EXPECT_EQ(r.flood->synacks_from_queue, 0U);
  EXPECT_EQ(r.summary.count(observe::Outcome::established), 20U);
  expect_counters_add_up(*r.flood);
}

TEST(SynFlood, LowRateNever_PruningKeepsClientsIn) {
  // 100 SYN/s never fills 256 entries with fresh ones: pruning the retransmitted ones makes room.
  SimConfig c = flood(tcp::SynCookieMode::never);
  c.flood->syn_rate = 100;
  const RunResult r = run(c);
  EXPECT_EQ(r.summary.count(observe::Outcome::established), 20U);
  expect_counters_add_up(*r.flood);
}

TEST(SynFlood, CookieHandshake_LadderMarksTheSynAck) {
  const RunResult r = run(flood(tcp::SynCookieMode::when_full));
  ASSERT_FALSE(r.connections.empty());
  const ConnectionResult& c = r.connections[0];
  ASSERT_EQ(c.outcome, observe::Outcome::established) << render_ladder(c);
  ASSERT_GE(c.segments.size(), 3U);
  EXPECT_EQ(c.segments[0].header.flags.to_string(), "S");
  EXPECT_FALSE(c.segments[0].syn_cookie);
  EXPECT_EQ(c.segments[1].header.flags.to_string(), "SA");
  EXPECT_TRUE(c.segments[1].syn_cookie);
  EXPECT_EQ(c.segments[2].header.flags.to_string(), "A");
  const std::string ladder = render_ladder(c);
  EXPECT_NE(ladder.find("[SYN cookie]"), std::string::npos) << ladder;
  // The cookie kept every option the SYN offered.
  ASSERT_TRUE(c.negotiated.agreed);
  EXPECT_EQ(c.negotiated.agreed->wscale_server, 7);
  EXPECT_TRUE(c.negotiated.agreed->sack);
  EXPECT_TRUE(c.negotiated.agreed->timestamps);
}

TEST(SynFlood, CookieWithoutTimestamps_KeepsWindowScaleAndSack) {
  SimConfig c = flood(tcp::SynCookieMode::always);
  c.client.timestamps = false;
  const RunResult r = run(c);
  ASSERT_FALSE(r.connections.empty());
  const ConnectionResult& first = r.connections[0];
  ASSERT_EQ(first.outcome, observe::Outcome::established);
  ASSERT_TRUE(first.negotiated.agreed);
  EXPECT_EQ(first.negotiated.agreed->wscale_server, 7);
  EXPECT_TRUE(first.negotiated.agreed->sack);
  EXPECT_FALSE(first.negotiated.agreed->timestamps);
}

TEST(SynFlood, SameSeed_SameBytes_OtherSeedOtherSources) {
  const SimConfig c = flood(tcp::SynCookieMode::when_full);
  EXPECT_EQ(run_json(run(c)).dump(), run_json(run(c)).dump());
  const auto other = run(flood(tcp::SynCookieMode::when_full, 2));
  EXPECT_NE(run_json(run(c)).dump(), run_json(other).dump());
}

TEST(SynFlood, Json_HasTheFloodObject) {
  const auto j = run_json(run(flood(tcp::SynCookieMode::when_full)));
  ASSERT_TRUE(j.contains("flood"));
  const auto& f = j["flood"];
  for (const char* key : {"cookie_policy", "syn_queue_bound", "syn_rate", "duration_s", "attacker_syns",
                          "legit_syns", "syns_received", "synacks_from_queue", "synack_retransmits",
                          "cookies_sent", "cookie_synacks", "cookies_recv", "cookies_failed", "drops",
                          "syn_queue_pruned", "synacks_to_spoofed", "syn_queue_peak", "syn_queue"}) {
    EXPECT_TRUE(f.contains(key)) << key;
  }
  EXPECT_EQ(f["cookie_policy"], "when-full");
  EXPECT_EQ(f["drops"].size(), 3U);
  ASSERT_FALSE(f["syn_queue"].empty());
  EXPECT_EQ(f["syn_queue"][0]["from_s"], 0.0);
  EXPECT_EQ(f["syn_queue"][0]["max"], 256);
  EXPECT_EQ(j["connections"][0]["segments"][1]["syn_cookie"], true);
  // Other scenarios carry no flood object.
  EXPECT_FALSE(run_json(run(*scenario_config("normal"))).contains("flood"));
}

TEST(SynFlood, ConnectTimeout_GivesUpAtExactlyTheTimeout) {
  SimConfig c = flood(tcp::SynCookieMode::never);
  const RunResult r = run(c);
  for (const ConnectionResult& conn : r.connections) {
    if (conn.outcome != observe::Outcome::timed_out) continue;
    ASSERT_TRUE(conn.ended_at);
    EXPECT_EQ(*conn.ended_at - conn.started_at, 3s);
  }
}

}  // namespace
}  // namespace synack::sim
