// Ladder, JSON and summary renderers over hand-made traces, and the determinism of whole runs.
#include "synack/sim/render.hpp"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "synack/observe/json.hpp"
#include "synack/sim/scenario.hpp"
#include "synack/sim/simulation.hpp"

namespace synack::sim {
namespace {

using namespace std::chrono_literals;
using wire::TcpFlags;

SegmentTrace seg(Duration at, Direction dir, std::uint16_t flags, std::uint32_t seq, std::uint32_t ack,
                 Fate fate = Fate::delivered, bool rtx = false) {
  SegmentTrace s;
  s.at = Instant::from_duration(at);
  s.dir = dir;
  s.header.flags = TcpFlags(flags);
  s.header.seq = wire::SeqNum(seq);
  s.header.ack = wire::SeqNum(ack);
  s.header.window = 64240;
  s.fate = fate;
  s.retransmission = rtx;
  if (fate != Fate::dropped) s.arrival = Instant::from_duration(at + 10ms);
  return s;
}

ConnectionResult hand_made() {
  ConnectionResult c;
  c.tuple = {{wire::IpAddress::v4(0xC0000201U), 40000}, {wire::IpAddress::v4(0xC0000202U), 80}};
  c.client_isn = 1000;
  c.server_isn = 9000;
  c.outcome = observe::Outcome::established;
  c.established_at = Instant::from_duration(1020ms);
  c.syn_retransmits = 1;
  auto syn = seg(0ms, Direction::to_server, TcpFlags::kSyn, 1000, 0, Fate::dropped);
  syn.header.options.mss = 1460;
  syn.header.options.wscale = 7;
  syn.header.options.sack_permitted = true;
  syn.header.options.timestamps = wire::Timestamps{11, 0};
  c.segments.push_back(syn);
  c.segments.push_back(seg(1000ms, Direction::to_server, TcpFlags::kSyn, 1000, 0, Fate::delivered, true));
  c.segments.push_back(
      seg(1010ms, Direction::to_client, TcpFlags::kSyn | TcpFlags::kAck, 9000, 1001, Fate::duplicated));
  c.segments.push_back(seg(1020ms, Direction::to_server, TcpFlags::kAck, 1001, 9001, Fate::corrupted));
  observe::Agreed n;
  n.mss_client_to_server = 1460;
  n.mss_server_to_client = 1360;
  n.sack = true;
  c.negotiated.client = observe::Offer::from(syn.header);
  c.negotiated.agreed = n;
  return c;
}

TEST(Ladder, OneLinePerSegmentWithMarksAndRelativeNumbers) {
  const std::string text = render_ladder(hand_made());
  EXPECT_NE(text.find("Connection 1: 192.0.2.1:40000 → 192.0.2.2:80"), std::string::npos) << text;
  EXPECT_NE(
      text.find("X    |  seq=0 win=64240 len=0 <mss 1460, sackOK, TS val 11 ecr 0, wscale 7> [dropped]"),
      std::string::npos)
      << text;
  EXPECT_NE(text.find("[retransmission]"), std::string::npos);
  EXPECT_NE(text.find("|<----------- SA ------------|  seq=0 ack=1 win=64240 len=0 [duplicated]"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("seq=1 ack=1 win=64240 len=0 [corrupted]"), std::string::npos) << text;
  EXPECT_NE(text.find("→ established after 1020.000 ms (1 SYN retransmission)"), std::string::npos) << text;
  EXPECT_NE(text.find("agreed: MSS 1460 c>s / 1360 s>c, window scale off, SACK on, timestamps off"),
            std::string::npos)
      << text;
  EXPECT_EQ(text.find("\x1b["), std::string::npos);  // no colour unless asked
}

TEST(Ladder, AbsoluteNumbersAndColourOnRequest) {
  LadderOptions o;
  o.absolute = true;
  o.colour = true;
  const std::string text = render_ladder(hand_made(), o);
  EXPECT_NE(text.find("seq=9000 ack=1001"), std::string::npos) << text;
  EXPECT_NE(text.find("\x1b[31m"), std::string::npos);  // the dropped SYN in red
}

TEST(Ladder, OutcomeSentences) {
  ConnectionResult c;
  c.outcome = observe::Outcome::timed_out;
  c.syn_retransmits = 6;
  c.ended_at = Instant::from_duration(127s);
  EXPECT_EQ(describe_outcome(c), "timed out after 6 SYN retransmissions (127.000 s)");
  c.outcome = observe::Outcome::refused;
  c.ended_at = Instant::from_duration(20ms);
  EXPECT_EQ(describe_outcome(c), "refused (RST) after 20.000 ms");
}

TEST(Ladder, ImpairmentsDescribeThemselves) {
  Impairments d;
  EXPECT_EQ(describe_impairments(d), "delay 10 ms");
  d.jitter = 5ms;
  d.loss = 0.1;
  d.bandwidth_bps = 1000000;
  d.script.push_back({ScriptRule::Match::nth_syn, 1, Fate::dropped});
  d.script.push_back({ScriptRule::Match::final_ack, 1, Fate::dropped});
  EXPECT_EQ(describe_impairments(d),
            "delay 10 ms, jitter 5 ms, loss 10 %, 1000000 bit/s, drop SYN #1, drop the final ACK");
}

TEST(Json, ConnectionCarriesTheContractFields) {
  const auto j = connection_json(hand_made());
  for (const char* key : {"number", "outcome", "established_at_s", "syn_retransmits", "synack_retransmits",
                          "client_isn", "server_isn", "negotiated", "segments"}) {
    EXPECT_TRUE(j.contains(key)) << key;
  }
  EXPECT_EQ(j["number"], 1);  // connections count from 1, as the ladder's "Connection 1"
  EXPECT_EQ(j["outcome"], "established");
  EXPECT_DOUBLE_EQ(j["established_at_s"].get<double>(), 1.02);
  EXPECT_EQ(j["client_isn"], 1000);
  EXPECT_EQ(j["negotiated"]["agreed"]["mss_server_to_client"], 1360);
  EXPECT_EQ(j["negotiated"]["agreed"]["window_scaling"], false);
  EXPECT_TRUE(j["negotiated"]["agreed"]["wscale_client"].is_null());
  EXPECT_EQ(j["negotiated"]["offered"]["client"]["wscale"], 7);
  EXPECT_TRUE(j["negotiated"]["offered"]["server"].is_null());
  EXPECT_EQ(observe::negotiated_from_json(j["negotiated"]), hand_made().negotiated);
  const auto& s0 = j["segments"][0];
  EXPECT_EQ(s0["dir"], "c>s");
  EXPECT_EQ(s0["flags"], "S");
  EXPECT_EQ(s0["seq"], 1000);  // absolute
  EXPECT_EQ(s0["fate"], "dropped");
  EXPECT_EQ(s0["options"]["mss"], 1460);
  EXPECT_EQ(s0["options"]["sack_permitted"], true);
  EXPECT_EQ(s0["options"]["ts_val"], 11);
  EXPECT_EQ(s0["options"]["ts_ecr"], 0);
  EXPECT_TRUE(s0["arrival_t_s"].is_null());
  const auto& s2 = j["segments"][2];
  EXPECT_EQ(s2["dir"], "s>c");
  EXPECT_EQ(s2["flags"], "SA");
  EXPECT_EQ(s2["fate"], "duplicated");
  EXPECT_TRUE(s2["options"]["mss"].is_null());
  EXPECT_EQ(j["segments"][3]["fate"], "corrupted");
}

TEST(Json, DocumentShapeAndSummary) {
  RunResult r;
  r.scenario = "hand-made";
  r.seed = 7;
  r.connections.push_back(hand_made());
  summarise(r.connections, r.summary);
  const auto j = run_json(r);
  std::vector<std::string> keys;
  for (auto it = j.begin(); it != j.end(); ++it) keys.push_back(it.key());
  EXPECT_EQ(keys, (std::vector<std::string>{"schema", "document", "scenario", "seed", "interrupted",
                                            "connections", "summary"}));
  EXPECT_EQ(j["schema"], observe::kSchemaVersion);
  EXPECT_EQ(j["summary"]["outcomes"]["established"], 1);
  EXPECT_EQ(j["summary"]["outcomes"]["timed_out"], 0);
  EXPECT_DOUBLE_EQ(j["summary"]["handshake_ms"]["p50"].get<double>(), 1020.0);
  EXPECT_DOUBLE_EQ(j["summary"]["handshake_ms"]["max"].get<double>(), 1020.0);
}

TEST(Json, StreamLinesAreOneObjectEach) {
  const auto c = hand_made();
  const auto line = stream_segment_line(3, c.segments[0]);
  EXPECT_EQ(line.find('\n'), std::string::npos);
  const auto j = nlohmann::json::parse(line);
  EXPECT_EQ(j["event"], "segment");
  EXPECT_EQ(j["connection"], 3);
  EXPECT_EQ(j["flags"], "S");
  const auto k = nlohmann::json::parse(stream_connection_line(c));
  EXPECT_EQ(k["event"], "connection");
  EXPECT_FALSE(k.contains("segments"));
}

// --- determinism: same seed, same bytes -------------------------------------------------------------

std::string read_all(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

struct Output {
  std::string json;
  std::string pcap;
};

Output run_to_bytes(std::uint64_t seed, const std::filesystem::path& pcap_path) {
  auto config = scenario_config("lossy", seed);
  config->connections = 40;
  config->to_server.duplicate = config->to_client.duplicate = 0.05;
  config->to_server.corrupt = config->to_client.corrupt = 0.05;
  config->to_server.reorder = config->to_client.reorder = 0.05;
  auto recorder = PcapRecorder::open(pcap_path);
  EXPECT_TRUE(recorder.has_value());
  SimObserver observer;
  observer.on_datagram = [&](Instant at, wire::Bytes d) { recorder->record(at, d); };
  const auto result = run(*config, observer);
  EXPECT_TRUE(recorder->close().has_value());
  return {run_json(result).dump(2), read_all(pcap_path)};
}

TEST(Determinism, SameSeedGivesByteIdenticalJsonAndPcap) {
  const auto dir = std::filesystem::temp_directory_path() / ("synack-sim-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const Output a = run_to_bytes(99, dir / "a.pcap");
  const Output b = run_to_bytes(99, dir / "b.pcap");
  const Output c = run_to_bytes(100, dir / "c.pcap");
  std::filesystem::remove_all(dir);
  EXPECT_GT(a.json.size(), 1000U);
  EXPECT_GT(a.pcap.size(), 1000U);
  EXPECT_EQ(a.json, b.json);
  EXPECT_EQ(a.pcap, b.pcap);
  EXPECT_NE(a.json, c.json);
  EXPECT_NE(a.pcap, c.pcap);
}

TEST(Determinism, CorruptedSegmentsAreRejectedByTheStacks) {
  auto config = scenario_config("normal", 5);
  config->connections = 200;
  config->to_server.corrupt = 0.2;
  config->to_client.corrupt = 0.2;
  config->record_segments = false;
  const auto r = run(*config);
  EXPECT_GT(r.summary.corrupted, 0U);
  EXPECT_GT(r.summary.checksum_drops, r.summary.malformed_drops);
  EXPECT_EQ(r.summary.checksum_drops + r.summary.malformed_drops, r.summary.corrupted);
  EXPECT_EQ(r.summary.count(observe::Outcome::established), 200U);
}

}  // namespace
}  // namespace synack::sim
