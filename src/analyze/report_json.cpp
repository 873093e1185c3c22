// The JSON document of docs/analyze-json.md. Field names and types are a contract: add, never rename.
#include <cmath>

#include "json_writer.hpp"
#include "synack/analyze/report.hpp"

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

json offered_json(const OfferedOptions& o) {
  if (!o.seen) return nullptr;
  const json unknown = "unknown";
  return {
      {"mss", o.unknown ? unknown : optional_value(o.mss)},
      {"wscale", o.unknown ? unknown : optional_value(o.wscale)},
      {"sack_permitted", o.unknown ? unknown : json(o.sack_permitted)},
      {"timestamps", o.unknown ? unknown : json(o.timestamps)},
      {"fast_open", o.unknown ? unknown : json(o.fast_open)},
      {"ecn", o.ecn},
  };
}

json negotiated_json(const Negotiated& n) {
  if (!n.known) {
    return {{"mss_client_to_server", nullptr}, {"mss_server_to_client", nullptr},
            {"wscale_client", nullptr},        {"wscale_server", nullptr},
            {"window_scaling", nullptr},       {"sack", nullptr},
            {"timestamps", nullptr},           {"ecn", nullptr}};
  }
  const bool scaling = n.wscale_client.has_value() && n.wscale_server.has_value();
  return {{"mss_client_to_server", n.mss_client_to_server},
          {"mss_server_to_client", n.mss_server_to_client},
          {"wscale_client", n.wscale_client.value_or(0)},
          {"wscale_server", n.wscale_server.value_or(0)},
          {"window_scaling", scaling},
          {"sack", n.sack},
          {"timestamps", n.timestamps},
          {"ecn", n.ecn}};
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
  }
  return "unknown";
}

}  // namespace

json to_json(const ConnectionReport& c) {
  json j = {
      {"number", c.number},
      {"client", c.client.to_string()},
      {"server", c.server.to_string()},
      {"verdict", std::string(to_string(c.verdict))},
      {"reason", c.reason},
      {"anomalies", c.anomalies},
      {"first_syn_s", c.first_syn ? json(static_cast<double>(c.first_syn->count()) / 1e9) : json(nullptr)},
      {"first_syn_ns", c.first_syn ? json(c.first_syn->count()) : json(nullptr)},
      {"syn_retransmits", c.syn_retransmits},
      {"synack_retransmits", c.synack_retransmits},
      {"syn_to_synack_ms", optional_ms(c.syn_to_synack_ms)},
      {"synack_to_ack_ms", optional_ms(c.synack_to_ack_ms)},
      {"establish_ms", optional_ms(c.establish_ms)},
      {"client_isn", optional_value(c.client_isn)},
      {"server_isn", optional_value(c.server_isn)},
      {"offered", {{"client", offered_json(c.client_offered)}, {"server", offered_json(c.server_offered)}}},
      {"negotiated", negotiated_json(c.negotiated)},
      {"packets", c.packets},
  };
  return j;
}

namespace {

json summary_json(const AnalysisResult& r) {
  json verdicts = json::object();
  for (auto v : kAllVerdicts) verdicts[std::string(to_string(v))] = r.summary.count(v);
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
                       {"timeout", f.timeout},
                       {"reset", f.reset}});
  }
  return {{"connections", r.connections.size()},
          {"verdicts", std::move(verdicts)},
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
        {"flows_evicted_early", r.counters.flows_evicted_early}}},
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

void write_offered(detail::JsonWriter& w, const OfferedOptions& o) {
  if (!o.seen) {
    w.null();
    return;
  }
  w.begin_object();
  if (o.unknown) {
    for (const char* k : {"mss", "wscale", "sack_permitted", "timestamps", "fast_open"})
      w.key(k).string("unknown");
  } else {
    w.key("mss").optional_integer(o.mss);
    w.key("wscale").optional_integer(o.wscale);
    w.key("sack_permitted").boolean(o.sack_permitted);
    w.key("timestamps").boolean(o.timestamps);
    w.key("fast_open").boolean(o.fast_open);
  }
  w.key("ecn").boolean(o.ecn);
  w.end_object();
}

void write_optional_ms(detail::JsonWriter& w, const std::optional<double>& ms) {
  if (ms) {
    w.number(round_ms(*ms));
  } else {
    w.null();
  }
}

// The same object as to_json(c), written directly (no tree).
void write_connection(std::string& out, std::size_t depth, const ConnectionReport& c) {
  detail::JsonWriter w(out, depth);
  w.begin_object();
  w.key("number").integer(c.number);
  w.key("client").string(c.client.to_string());
  w.key("server").string(c.server.to_string());
  w.key("verdict").string(to_string(c.verdict));
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
  write_optional_ms(w.key("syn_to_synack_ms"), c.syn_to_synack_ms);
  write_optional_ms(w.key("synack_to_ack_ms"), c.synack_to_ack_ms);
  write_optional_ms(w.key("establish_ms"), c.establish_ms);
  w.key("client_isn").optional_integer(c.client_isn);
  w.key("server_isn").optional_integer(c.server_isn);
  w.key("offered").begin_object();
  write_offered(w.key("client"), c.client_offered);
  write_offered(w.key("server"), c.server_offered);
  w.end_object();
  const auto& n = c.negotiated;
  w.key("negotiated").begin_object();
  if (!n.known) {
    for (const char* k : {"mss_client_to_server", "mss_server_to_client", "wscale_client", "wscale_server",
                          "window_scaling", "sack", "timestamps", "ecn"}) {
      w.key(k).null();
    }
  } else {
    w.key("mss_client_to_server").integer(n.mss_client_to_server);
    w.key("mss_server_to_client").integer(n.mss_server_to_client);
    w.key("wscale_client").integer(n.wscale_client.value_or(0));
    w.key("wscale_server").integer(n.wscale_server.value_or(0));
    w.key("window_scaling").boolean(n.wscale_client.has_value() && n.wscale_server.has_value());
    w.key("sack").boolean(n.sack);
    w.key("timestamps").boolean(n.timestamps);
    w.key("ecn").boolean(n.ecn);
  }
  w.end_object();
  w.key("packets").integer(c.packets);
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

}  // namespace synack::analyze
