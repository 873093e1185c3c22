// The simulator's documents of docs/json.md, and the pcap recorder. Key order is fixed (ordered_json);
// numbers come from integers or from nanosecond counts divided by 1e9, so the same run gives the same
// bytes.
#include "synack/observe/json.hpp"

#include <chrono>

#include "synack/observe/stats.hpp"
#include "synack/sim/render.hpp"

namespace synack::sim {
namespace {

using Json = nlohmann::ordered_json;

double seconds(Instant t) {
  return static_cast<double>(t.nanoseconds()) / 1e9;
}

template <typename T>
Json or_null(const std::optional<T>& v) {
  return v ? Json(*v) : Json(nullptr);
}

Json options_json(const wire::TcpOptions& o) {
  Json j;
  j["mss"] = or_null(o.mss);
  j["wscale"] = or_null(o.wscale);
  j["sack_permitted"] = o.sack_permitted;
  j["ts_val"] = o.timestamps ? Json(o.timestamps->value) : Json(nullptr);
  j["ts_ecr"] = o.timestamps ? Json(o.timestamps->echo) : Json(nullptr);
  return j;
}

}  // namespace

Json segment_json(const SegmentTrace& s) {
  Json j;
  j["t_s"] = seconds(s.at);
  j["dir"] = to_string(s.dir);
  j["flags"] = s.header.flags.to_string();
  j["seq"] = s.header.seq.raw();
  j["ack"] = s.header.ack.raw();
  j["win"] = s.header.window;
  j["len"] = s.payload_len;
  j["options"] = options_json(s.header.options);
  j["fate"] = to_string(s.fate);
  j["retransmission"] = s.retransmission;
  j["reordered"] = s.reordered;
  j["syn_cookie"] = s.syn_cookie;
  j["arrival_t_s"] = s.arrival ? Json(seconds(*s.arrival)) : Json(nullptr);
  return j;
}

Json connection_json(const ConnectionResult& c, bool segments) {
  Json j;
  j["number"] = c.number;
  j["client"] = c.tuple.local.to_string();
  j["server"] = c.tuple.remote.to_string();
  j["outcome"] = observe::to_string(c.outcome);
  j["started_at_s"] = seconds(c.started_at);
  j["established_at_s"] = c.established_at ? Json(seconds(*c.established_at)) : Json(nullptr);
  const auto h = c.handshake_time();
  j["handshake_ms"] = h ? Json(observe::to_ms(*h)) : Json(nullptr);
  j["ended_at_s"] = c.ended_at ? Json(seconds(*c.ended_at)) : Json(nullptr);
  j["syn_retransmits"] = c.syn_retransmits;
  j["synack_retransmits"] = c.synack_retransmits;
  j["client_isn"] = or_null(c.client_isn);
  j["server_isn"] = or_null(c.server_isn);
  j["negotiated"] = observe::to_json(c.negotiated);
  if (segments) {
    Json list = Json::array();
    for (const auto& s : c.segments) list.push_back(segment_json(s));
    j["segments"] = std::move(list);
  }
  return j;
}

Json summary_json(const Summary& s, std::uint64_t connections) {
  Json j;
  j["connections"] = connections;
  Json outcomes;
  for (const observe::Outcome o : observe::kAllOutcomes)
    outcomes[std::string(observe::to_string(o))] = s.count(o);
  j["outcomes"] = std::move(outcomes);
  if (s.handshake_ms) {
    j["handshake_ms"] = Json{{"p50", s.handshake_ms->p50},
                             {"p90", s.handshake_ms->p90},
                             {"p99", s.handshake_ms->p99},
                             {"max", s.handshake_ms->max}};
  } else {
    j["handshake_ms"] = Json{{"p50", nullptr}, {"p90", nullptr}, {"p99", nullptr}, {"max", nullptr}};
  }
  j["syn_retransmits"] = s.syn_retransmits;
  j["synack_retransmits"] = s.synack_retransmits;
  j["segments"] = s.segments;
  j["dropped"] = s.dropped;
  j["duplicated"] = s.duplicated;
  j["corrupted"] = s.corrupted;
  j["reordered"] = s.reordered;
  j["checksum_drops"] = s.checksum_drops;
  j["malformed_drops"] = s.malformed_drops;
  j["virtual_s"] = s.virtual_seconds;
  Json hist = Json::array();
  for (std::size_t i = 0; i < s.histogram.size(); ++i) {
    Json b;
    b["from_ms"] = s.histogram_edges_ms[i];
    b["to_ms"] = i + 1 < s.histogram_edges_ms.size() ? Json(s.histogram_edges_ms[i + 1]) : Json(nullptr);
    b["count"] = s.histogram[i];
    hist.push_back(std::move(b));
  }
  j["histogram"] = std::move(hist);
  return j;
}

Json flood_json(const FloodReport& f) {
  Json j;
  j["cookie_policy"] = f.cookie_policy;
  j["syn_queue_bound"] = f.syn_queue_bound;
  j["syn_rate"] = f.syn_rate;
  j["duration_s"] = f.duration_s;
  j["attacker_syns"] = f.attacker_syns;
  j["legit_syns"] = f.legit_syns;
  j["syns_received"] = f.syns_received;
  j["synacks_from_queue"] = f.synacks_from_queue;
  j["synack_retransmits"] = f.synack_retransmits;
  j["cookies_sent"] = f.cookies_sent;
  j["cookie_synacks"] = f.cookie_synacks;
  j["cookies_recv"] = f.cookies_recv;
  j["cookies_failed"] = f.cookies_failed;
  j["drops"] = Json{{"syn_queue_full", f.drops_syn_queue_full},
                    {"accept_queue_full", f.drops_accept_queue_full},
                    {"control_queue", f.drops_control_queue}};
  j["syn_queue_pruned"] = f.syn_queue_pruned;
  j["synacks_to_spoofed"] = f.synacks_to_spoofed;
  j["syn_queue_peak"] = f.syn_queue_peak;
  Json samples = Json::array();
  for (const QueueSample& q : f.syn_queue) samples.push_back(Json{{"from_s", q.from_s}, {"max", q.max}});
  j["syn_queue"] = std::move(samples);
  return j;
}

Json run_json(const RunResult& r) {
  Json j = observe::document();
  j["document"] = "sim";
  j["scenario"] = r.scenario;
  j["seed"] = r.seed;
  j["interrupted"] = r.interrupted;
  Json list = Json::array();
  for (const auto& c : r.connections) list.push_back(connection_json(c));
  j["connections"] = std::move(list);
  std::uint64_t total = 0;
  for (const auto n : r.summary.outcomes) total += n;
  j["summary"] = summary_json(r.summary, total);
  if (r.flood) j["flood"] = flood_json(*r.flood);
  return j;
}

std::string stream_segment_line(std::uint32_t connection, const SegmentTrace& segment) {
  Json j = observe::event("segment");
  j["connection"] = connection;
  const Json body = segment_json(segment);
  for (auto it = body.begin(); it != body.end(); ++it) j[it.key()] = it.value();
  return j.dump();
}

std::string stream_connection_line(const ConnectionResult& connection) {
  Json j = observe::event("connection");
  const Json body = connection_json(connection, false);
  for (auto it = body.begin(); it != body.end(); ++it) j[it.key()] = it.value();
  return j.dump();
}

std::string stream_summary_line(const RunResult& r) {
  Json j = observe::event("summary");
  j["scenario"] = r.scenario;
  j["seed"] = r.seed;
  j["interrupted"] = r.interrupted;
  std::uint64_t total = 0;
  for (const auto n : r.summary.outcomes) total += n;
  const Json body = summary_json(r.summary, total);
  for (auto it = body.begin(); it != body.end(); ++it) j[it.key()] = it.value();
  if (r.flood) j["flood"] = flood_json(*r.flood);
  return j.dump();
}

std::expected<PcapRecorder, capture::CaptureError> PcapRecorder::open(const std::filesystem::path& path) {
  auto recorder = link::PcapRecorder::open(path, std::chrono::seconds(kPcapEpochSeconds));
  if (!recorder) return std::unexpected(recorder.error());
  return PcapRecorder(std::move(*recorder));
}

}  // namespace synack::sim
