// The analyzer's document of docs/json.md. Field names and types are a contract: add, never rename (or raise
// observe::kSchemaVersion).
#include <algorithm>
#include <array>
#include <cmath>
#include <utility>

#include "json_writer.hpp"
#include "synack/analyze/report.hpp"
#include "synack/observe/json.hpp"

namespace synack::analyze {

double round_ms(double ms) noexcept {
  return std::round(ms * 1000.0) / 1000.0;
}

namespace {

using json = nlohmann::ordered_json;

json optional_ms(const std::optional<double>& ms) {
  return ms ? json(round_ms(*ms)) : json(nullptr);
}

template <typename T>
json optional_value(const std::optional<T>& v) {
  return v ? json(*v) : json(nullptr);
}

// ECN set up on each side (RFC 3168 §6.1.1 "ecn", AccECN "accecn"), and what both agreed; nullptr: none.
struct EcnSetup {
  const char* client = nullptr;
  const char* server = nullptr;
  const char* agreed = nullptr;
};

EcnSetup ecn_setup_of(const ConnectionReport& c) {
  auto side = [](const OfferedOptions& o) -> const char* {
    if (!o.seen) return nullptr;
    if (o.accurate_ecn) return "accecn";
    return o.ecn ? "ecn" : nullptr;
  };
  const auto& cl = c.client_offered;
  const auto& sv = c.server_offered;
  const char* agreed = nullptr;
  if (cl.accurate_ecn && sv.accurate_ecn) {
    agreed = "accecn";
  } else if (cl.ecn && sv.ecn) {
    agreed = "ecn";
  }
  return {side(cl), side(sv), agreed};
}

json ecn_setup_json(const ConnectionReport& c) {
  const auto e = ecn_setup_of(c);
  auto value = [](const char* v) { return v != nullptr ? json(v) : json(nullptr); };
  return {{"client", value(e.client)}, {"server", value(e.server)}, {"agreed", value(e.agreed)}};
}

// A side's TCP Fast Open option (RFC 7413 §4.1.1): "request" (an empty cookie), "cookie", or none.
const char* fast_open_of(const OfferedOptions& o) {
  if (!o.seen || o.unknown || !o.fast_open) return nullptr;
  return o.fast_open_cookie_bytes == 0 ? "request" : "cookie";
}

json fast_open_json(const ConnectionReport& c) {
  auto value = [](const char* v) { return v != nullptr ? json(v) : json(nullptr); };
  return {{"client", value(fast_open_of(c.client_offered))},
          {"server", value(fast_open_of(c.server_offered))}};
}

json ecn_counts_json(const EcnCounts& e) {
  return {{"ect0", e.ect0}, {"ect1", e.ect1}, {"ce", e.ce}, {"ece", e.ece}, {"cwr", e.cwr}};
}

json options_unknown_json(const ConnectionReport& c) {
  return {{"client", c.client_offered.unknown}, {"server", c.server_offered.unknown}};
}

json distribution_json(const Distribution& d) {
  return {{"count", d.count},
          {"p50", optional_ms(d.p50)},
          {"p90", optional_ms(d.p90)},
          {"p99", optional_ms(d.p99)},
          {"max", optional_ms(d.max)}};
}

std::string_view status_name(FileReport::Status s) {
  switch (s) {
    case FileReport::Status::ok:
      return "ok";
    case FileReport::Status::damaged:
      return "damaged";
    case FileReport::Status::open_failed:
      return "open_failed";
    case FileReport::Status::unsupported:
      return "unsupported";
    case FileReport::Status::interrupted:
      return "interrupted";
  }
  return "unknown";
}

}  // namespace

json to_json(const ConnectionReport& c) {
  json j = {
      {"number", c.number},
      {"client", c.client.to_string()},
      {"server", c.server.to_string()},
      {"outcome", std::string(observe::to_string(c.outcome))},
      {"reason", c.reason.text()},
      {"anomalies", c.anomalies},
      {"first_syn_s", c.first_syn ? json(static_cast<double>(c.first_syn->count()) / 1e9) : json(nullptr)},
      {"first_syn_ns", c.first_syn ? json(c.first_syn->count()) : json(nullptr)},
      {"syn_retransmits", c.syn_retransmits},
      {"synack_retransmits", c.synack_retransmits},
      {"syn_retries_after_refusal", c.syn_retries_after_refusal},
      {"syn_to_synack_ms", optional_ms(c.syn_to_synack_ms)},
      {"synack_to_ack_ms", optional_ms(c.synack_to_ack_ms)},
      {"establish_ms", optional_ms(c.establish_ms)},
      {"client_isn", optional_value(c.client_isn)},
      {"server_isn", optional_value(c.server_isn)},
      {"negotiated", observe::to_json(c.negotiated)},
      {"options_unknown", options_unknown_json(c)},
      {"packets", c.packets},
      {"previous_attempt", optional_value(c.previous_attempt)},
      {"syn_data_bytes", c.syn_data_bytes},
      {"syn_data_acknowledged", optional_value(c.syn_data_acknowledged)},
      {"ecn_setup", ecn_setup_json(c)},
      {"fast_open", fast_open_json(c)},
      {"ecn", {{"to_server", ecn_counts_json(c.ecn[0])}, {"to_client", ecn_counts_json(c.ecn[1])}}},
  };
  return j;
}

namespace {

json summary_json(const AnalysisResult& r) {
  json outcomes = json::object();
  for (auto o : observe::kAllOutcomes) outcomes[std::string(observe::to_string(o))] = r.summary.count(o);
  json histogram = json::array();
  for (const auto& b : r.summary.establish_histogram) {
    histogram.push_back({{"lower_ms", b.lower_ms},
                         {"upper_ms", std::isinf(b.upper_ms) ? json(nullptr) : json(b.upper_ms)},
                         {"count", b.count}});
  }
  json failing = json::array();
  for (const auto& f : r.summary.top_failing) {
    failing.push_back({{"server", f.server.to_string()},
                       {"failures", f.failures},
                       {"refused", f.refused},
                       {"timed_out", f.timed_out},
                       {"reset", f.reset}});
  }
  return {{"connections", r.connections.size()},
          {"outcomes", std::move(outcomes)},
          {"syn_to_synack_ms", distribution_json(r.summary.syn_to_synack)},
          {"synack_to_ack_ms", distribution_json(r.summary.synack_to_ack)},
          {"establish_ms", distribution_json(r.summary.establish)},
          {"establish_histogram", std::move(histogram)},
          {"top_failing", std::move(failing)}};
}

// Everything before "connections".
json head_json(const FileReport& report) {
  const auto& r = report.result;
  return {
      {"schema", observe::kSchemaVersion},
      {"document", "analyze"},
      {"file", report.file},
      {"status", std::string(status_name(report.status))},
      {"error", report.error.empty() ? json(nullptr) : json(report.error)},
      {"linktype", report.linktype},
      {"packets", report.frames},
      {"counters",
       {{"tcp", r.counters.tcp},
        {"not_tcp", r.counters.not_tcp},
        {"malformed", r.counters.malformed},
        {"truncated", r.counters.truncated},
        {"untracked", r.counters.untracked},
        {"flows_evicted_early", r.counters.flows_evicted_early},
        {"probes", r.counters.probes},
        {"duplicates", r.counters.duplicates}}},
  };
}

// `value` dumped with indent 2, every line after the first indented by `depth` more spaces.
std::string dump_at(const json& value, std::size_t depth) {
  std::string text = value.dump(2);
  std::string out;
  out.reserve(text.size() + text.size() / 8);
  for (char ch : text) {
    out.push_back(ch);
    if (ch == '\n') out.append(depth, ' ');
  }
  return out;
}

using detail::JsonCursor;

// observe::to_json(Offer / Negotiated)'s objects, written directly at their depth in a connection.
void write_offer(JsonCursor& w, const std::optional<observe::Offer>& offer) {
  if (!offer) {
    w.null();
    return;
  }
  w.lit("{\n            \"mss\": ").optional_integer(offer->mss);
  w.lit(",\n            \"wscale\": ").optional_integer(offer->wscale);
  w.lit(",\n            \"sack_permitted\": ").boolean(offer->sack_permitted);
  w.lit(",\n            \"timestamps\": ").boolean(offer->timestamps);
  w.lit(",\n            \"fast_open\": ").boolean(offer->fast_open);
  w.lit(",\n            \"ecn\": ").boolean(offer->ecn);
  w.lit(",\n            \"accecn\": ").boolean(offer->accecn);
  w.lit("\n          }");
}

void write_negotiated(JsonCursor& w, const observe::Negotiated& n) {
  w.lit("{\n        \"offered\": {\n          \"client\": ");
  write_offer(w, n.client);
  w.lit(",\n          \"server\": ");
  write_offer(w, n.server);
  w.lit("\n        },\n        \"agreed\": ");
  if (!n.agreed) {
    w.null();
  } else {
    const auto& a = *n.agreed;
    w.lit("{\n          \"mss_client_to_server\": ").integer(a.mss_client_to_server);
    w.lit(",\n          \"mss_server_to_client\": ").integer(a.mss_server_to_client);
    w.lit(",\n          \"window_scaling\": ").boolean(a.window_scaling());
    w.lit(",\n          \"wscale_client\": ").optional_integer(a.wscale_client);
    w.lit(",\n          \"wscale_server\": ").optional_integer(a.wscale_server);
    w.lit(",\n          \"sack\": ").boolean(a.sack);
    w.lit(",\n          \"timestamps\": ").boolean(a.timestamps);
    w.lit(",\n          \"ecn\": ").boolean(a.ecn);
    w.lit(",\n          \"accecn\": ").boolean(a.accecn);
    w.lit("\n        }");
  }
  w.lit("\n      }");
}

// "a.b.c.d:port" for IPv4 without a formatting library (two per connection: it showed in profiles);
// IPv6 as wire::Endpoint::to_string() writes it.
void write_endpoint(JsonCursor& w, const wire::Endpoint& e) {
  if (!e.address.is_v4()) {
    w.string(e.to_string());
    return;
  }
  w.lit("\"");
  const auto bytes = e.address.bytes();
  for (std::size_t i = 0; i < 4; ++i) {
    if (i > 0) w.lit(".");
    w.integer(static_cast<unsigned>(bytes[i]));
  }
  w.lit(":").integer(e.port).lit("\"");
}

void write_ecn_setup(JsonCursor& w, const ConnectionReport& c) {
  const auto ecn = ecn_setup_of(c);
  auto value = [&w](const char* v) {
    if (v != nullptr) {
      w.string(v);
    } else {
      w.null();
    }
  };
  w.lit("{\n        \"client\": ");
  value(ecn.client);
  w.lit(",\n        \"server\": ");
  value(ecn.server);
  w.lit(",\n        \"agreed\": ");
  value(ecn.agreed);
  w.lit("\n      }");
}

void write_fast_open(JsonCursor& w, const ConnectionReport& c) {
  w.lit("{\n        \"client\": ");
  if (const char* v = fast_open_of(c.client_offered)) {
    w.string(v);
  } else {
    w.null();
  }
  w.lit(",\n        \"server\": ");
  if (const char* v = fast_open_of(c.server_offered)) {
    w.string(v);
  } else {
    w.null();
  }
  w.lit("\n      }");
}

void write_ecn_counts(JsonCursor& w, const EcnCounts& e) {
  w.lit("{\n          \"ect0\": ").integer(e.ect0);
  w.lit(",\n          \"ect1\": ").integer(e.ect1);
  w.lit(",\n          \"ce\": ").integer(e.ce);
  w.lit(",\n          \"ece\": ").integer(e.ece);
  w.lit(",\n          \"cwr\": ").integer(e.cwr);
  w.lit("\n        }");
}

// Bytes write_connection() may write for `c` (with its reason's text `reason`): the fixed text, the
// numbers, and the strings escaped.
std::size_t connection_room(const ConnectionReport& c, std::string_view reason) {
  std::size_t room = 4096 + JsonCursor::string_room(reason);
  for (const auto& a : c.anomalies) room += 16 + JsonCursor::string_room(a);
  return room;
}

// The same object as to_json(c) dumped with indent 2 at the depth of an item of "connections" (its
// opening brace's line indented by 4), written directly: no tree.
void write_connection(JsonCursor& w, const ConnectionReport& c, std::string_view reason) {
  w.lit("{\n      \"number\": ").integer(c.number);
  w.lit(",\n      \"client\": ");
  write_endpoint(w, c.client);
  w.lit(",\n      \"server\": ");
  write_endpoint(w, c.server);
  w.lit(",\n      \"outcome\": ").string(observe::to_string(c.outcome));
  w.lit(",\n      \"reason\": ").string(reason);
  w.lit(",\n      \"anomalies\": ");
  if (c.anomalies.empty()) {
    w.lit("[]");
  } else {
    for (std::size_t i = 0; i < c.anomalies.size(); ++i)
      w.lit(i == 0 ? "[\n        " : ",\n        ").string(c.anomalies[i]);
    w.lit("\n      ]");
  }
  if (c.first_syn) {
    w.lit(",\n      \"first_syn_s\": ").number(static_cast<double>(c.first_syn->count()) / 1e9);
    w.lit(",\n      \"first_syn_ns\": ").integer(c.first_syn->count());
  } else {
    w.lit(",\n      \"first_syn_s\": null,\n      \"first_syn_ns\": null");
  }
  w.lit(",\n      \"syn_retransmits\": ").integer(c.syn_retransmits);
  w.lit(",\n      \"synack_retransmits\": ").integer(c.synack_retransmits);
  w.lit(",\n      \"syn_retries_after_refusal\": ").integer(c.syn_retries_after_refusal);
  w.lit(",\n      \"syn_to_synack_ms\": ").optional_milliseconds(c.syn_to_synack_ms);
  w.lit(",\n      \"synack_to_ack_ms\": ").optional_milliseconds(c.synack_to_ack_ms);
  w.lit(",\n      \"establish_ms\": ").optional_milliseconds(c.establish_ms);
  w.lit(",\n      \"client_isn\": ").optional_integer(c.client_isn);
  w.lit(",\n      \"server_isn\": ").optional_integer(c.server_isn);
  w.lit(",\n      \"negotiated\": ");
  write_negotiated(w, c.negotiated);
  w.lit(",\n      \"options_unknown\": {\n        \"client\": ").boolean(c.client_offered.unknown);
  w.lit(",\n        \"server\": ").boolean(c.server_offered.unknown);
  w.lit("\n      },\n      \"packets\": ").integer(c.packets);
  w.lit(",\n      \"previous_attempt\": ").optional_integer(c.previous_attempt);
  w.lit(",\n      \"syn_data_bytes\": ").integer(c.syn_data_bytes);
  w.lit(",\n      \"syn_data_acknowledged\": ").optional_boolean(c.syn_data_acknowledged);
  w.lit(",\n      \"ecn_setup\": ");
  write_ecn_setup(w, c);
  w.lit(",\n      \"fast_open\": ");
  write_fast_open(w, c);
  w.lit(",\n      \"ecn\": {\n        \"to_server\": ");
  write_ecn_counts(w, c.ecn[0]);
  w.lit(",\n        \"to_client\": ");
  write_ecn_counts(w, c.ecn[1]);
  w.lit("\n      }\n    }");
}

}  // namespace

json to_json(const FileReport& report) {
  json document = head_json(report);
  json connections = json::array();
  for (const auto& c : report.result.connections) connections.push_back(to_json(c));
  document["connections"] = std::move(connections);
  document["summary"] = summary_json(report.result);
  return document;
}

void write_json(const FileReport& report, const std::function<void(std::string_view)>& sink) {
  // The head without its closing brace, then the connections one at a time, then the summary: the same
  // text as to_json(report).dump(2).
  std::string head = head_json(report).dump(2);
  head.pop_back();  // '}'
  head.pop_back();  // '\n'
  sink(head);
  const auto& connections = report.result.connections;
  if (connections.empty()) {
    sink(",\n  \"connections\": [],\n  \"summary\": ");
  } else {
    sink(",\n  \"connections\": [\n");
    // Written into one buffer and handed to the sink in large blocks.
    detail::JsonText text;
    std::string reason;  // each connection's reason written here (Reason keeps most as a duration)
    for (std::size_t i = 0; i < connections.size(); ++i) {
      reason.clear();
      connections[i].reason.append_to(reason);
      auto w = text.room(connection_room(connections[i], reason));
      w.lit("    ");
      write_connection(w, connections[i], reason);
      if (i + 1 < connections.size()) {
        w.lit(",\n");
      } else {
        w.lit("\n");
      }
      text.commit(w);
      if (text.full()) sink(text.take());
    }
    sink(text.take());
    sink("  ],\n  \"summary\": ");
  }
  sink(dump_at(summary_json(report.result), 2));
  sink("\n}");
}

std::string stream_connection_line(const ConnectionReport& connection) {
  json line = observe::event("connection");
  const json body = to_json(connection);
  for (auto it = body.begin(); it != body.end(); ++it) line[it.key()] = it.value();
  return line.dump();
}

std::string stream_verdict_line(const ConnectionReport& connection, Timestamp decided, Timestamp told) {
  json line = observe::event("verdict");
  line["decided_ns"] = decided.count();
  line["told_ns"] = told.count();
  const json body = to_json(connection);
  for (auto it = body.begin(); it != body.end(); ++it) line[it.key()] = it.value();
  return line.dump();
}

std::string stream_summary_line(const FileReport& report) {
  json line = observe::event("summary");
  const json head = head_json(report);
  for (auto it = head.begin(); it != head.end(); ++it) {
    if (it.key() != "schema" && it.key() != "document") line[it.key()] = it.value();
  }
  line["summary"] = summary_json(report.result);
  return line.dump();
}

}  // namespace synack::analyze
