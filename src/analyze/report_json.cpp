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
      {"reason", c.reason},
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

void write_optional_ms(detail::JsonWriter& w, const std::optional<double>& ms) {
  if (ms) {
    w.number(round_ms(*ms));
  } else {
    w.null();
  }
}

// observe::to_json(Offer / Negotiated)'s objects, written directly: building them as trees cost more than
// the analysis of the packets (the tests check both give the same document).
void write_offer(detail::JsonWriter& w, const std::optional<observe::Offer>& offer) {
  if (!offer) {
    w.null();
    return;
  }
  w.begin_object();
  w.key("mss").optional_integer(offer->mss);
  w.key("wscale").optional_integer(offer->wscale);
  w.key("sack_permitted").boolean(offer->sack_permitted);
  w.key("timestamps").boolean(offer->timestamps);
  w.key("fast_open").boolean(offer->fast_open);
  w.key("ecn").boolean(offer->ecn);
  w.key("accecn").boolean(offer->accecn);
  w.end_object();
}

void write_negotiated(detail::JsonWriter& w, const observe::Negotiated& n) {
  w.begin_object();
  w.key("offered").begin_object();
  write_offer(w.key("client"), n.client);
  write_offer(w.key("server"), n.server);
  w.end_object();
  w.key("agreed");
  if (!n.agreed) {
    w.null();
  } else {
    const auto& a = *n.agreed;
    w.begin_object();
    w.key("mss_client_to_server").integer(a.mss_client_to_server);
    w.key("mss_server_to_client").integer(a.mss_server_to_client);
    w.key("window_scaling").boolean(a.window_scaling());
    w.key("wscale_client").optional_integer(a.wscale_client);
    w.key("wscale_server").optional_integer(a.wscale_server);
    w.key("sack").boolean(a.sack);
    w.key("timestamps").boolean(a.timestamps);
    w.key("ecn").boolean(a.ecn);
    w.key("accecn").boolean(a.accecn);
    w.end_object();
  }
  w.end_object();
}

// "a.b.c.d:port" for IPv4 without a formatting library (two per connection: it showed in profiles);
// IPv6 as wire::Endpoint::to_string() writes it.
void write_endpoint(detail::JsonWriter& w, const wire::Endpoint& e) {
  if (!e.address.is_v4()) {
    w.string(e.to_string());
    return;
  }
  std::array<char, 24> text{};
  char* p = text.data();
  auto digits = [&p](unsigned v) {
    const fmt::format_int f(v);
    p = std::copy(f.data(), f.data() + f.size(), p);
  };
  const auto bytes = e.address.bytes();
  for (std::size_t i = 0; i < 4; ++i) {
    if (i > 0) *p++ = '.';
    digits(static_cast<unsigned>(bytes[i]));
  }
  *p++ = ':';
  digits(e.port);
  w.string(std::string_view(text.data(), static_cast<std::size_t>(p - text.data())));
}

// The same object as to_json(c), written directly (no tree).
void write_connection(std::string& out, std::size_t depth, const ConnectionReport& c) {
  detail::JsonWriter w(out, depth);
  w.begin_object();
  w.key("number").integer(c.number);
  write_endpoint(w.key("client"), c.client);
  write_endpoint(w.key("server"), c.server);
  w.key("outcome").string(observe::to_string(c.outcome));
  w.key("reason").string(c.reason);
  w.key("anomalies").begin_array();
  for (const auto& a : c.anomalies) w.string(a);
  w.end_array();
  if (c.first_syn) {
    w.key("first_syn_s").number(static_cast<double>(c.first_syn->count()) / 1e9);
    w.key("first_syn_ns").integer(c.first_syn->count());
  } else {
    w.key("first_syn_s").null();
    w.key("first_syn_ns").null();
  }
  w.key("syn_retransmits").integer(c.syn_retransmits);
  w.key("synack_retransmits").integer(c.synack_retransmits);
  w.key("syn_retries_after_refusal").integer(c.syn_retries_after_refusal);
  write_optional_ms(w.key("syn_to_synack_ms"), c.syn_to_synack_ms);
  write_optional_ms(w.key("synack_to_ack_ms"), c.synack_to_ack_ms);
  write_optional_ms(w.key("establish_ms"), c.establish_ms);
  w.key("client_isn").optional_integer(c.client_isn);
  w.key("server_isn").optional_integer(c.server_isn);
  write_negotiated(w.key("negotiated"), c.negotiated);
  w.key("options_unknown").begin_object();
  w.key("client").boolean(c.client_offered.unknown);
  w.key("server").boolean(c.server_offered.unknown);
  w.end_object();
  w.key("packets").integer(c.packets);
  w.key("previous_attempt").optional_integer(c.previous_attempt);
  w.key("syn_data_bytes").integer(c.syn_data_bytes);
  w.key("syn_data_acknowledged").optional_boolean(c.syn_data_acknowledged);
  // Written directly, not as a tree: a capture may have millions of connections.
  const auto ecn = ecn_setup_of(c);
  w.key("ecn_setup").begin_object();
  for (const auto& [name, v] :
       {std::pair{"client", ecn.client}, std::pair{"server", ecn.server}, std::pair{"agreed", ecn.agreed}}) {
    if (v != nullptr) {
      w.key(name).string(v);
    } else {
      w.key(name).null();
    }
  }
  w.end_object();
  w.end_object();
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
    std::string item;
    for (std::size_t i = 0; i < connections.size(); ++i) {
      item.assign(4, ' ');
      write_connection(item, 4, connections[i]);
      item += i + 1 < connections.size() ? ",\n" : "\n";
      sink(item);
    }
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
