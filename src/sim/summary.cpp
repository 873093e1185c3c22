// Names of the trace values and the run summary (outcome counts, percentiles, histogram).
#include <algorithm>
#include <cmath>

#include "synack/sim/trace.hpp"

namespace synack::sim {

std::string_view to_string(Dir dir) noexcept {
  return dir == Dir::client_to_server ? "c>s" : "s>c";
}

std::optional<Percentiles> percentiles(std::vector<double> values) {
  if (values.empty()) return std::nullopt;
  std::sort(values.begin(), values.end());
  // Nearest rank: the smallest value with at least p% of the values at or below it.
  const auto rank = [&](double p) {
    const double r = std::ceil(p / 100.0 * static_cast<double>(values.size()));
    const auto i = static_cast<std::size_t>(std::max(r, 1.0)) - 1;
    return values[std::min(i, values.size() - 1)];
  };
  return Percentiles{rank(50), rank(90), rank(99), values.back()};
}

const std::vector<double>& histogram_edges_ms() {
  static const std::vector<double> edges{0,   1,    2,    5,    10,    20,    50,    100,   200,
                                         500, 1000, 2000, 5000, 10000, 20000, 50000, 100000};
  return edges;
}

void add_connection(const ConnectionResult& c, Summary& summary, std::vector<double>& handshake_ms) {
  if (summary.histogram.empty()) {
    summary.histogram_edges_ms = histogram_edges_ms();
    summary.histogram.assign(summary.histogram_edges_ms.size(), 0);
  }
  ++summary.outcomes[static_cast<std::size_t>(c.outcome)];
  summary.syn_retransmits += c.syn_retransmits;
  summary.synack_retransmits += c.synack_retransmits;
  const auto h = c.handshake_time();
  if (!h) return;
  const double ms = std::chrono::duration<double, std::milli>(*h).count();
  handshake_ms.push_back(ms);
  const auto& edges = summary.histogram_edges_ms;
  const auto it = std::upper_bound(edges.begin(), edges.end(), ms);
  const auto bucket = static_cast<std::size_t>(std::max<std::ptrdiff_t>(it - edges.begin() - 1, 0));
  ++summary.histogram[bucket];
}

void finish_summary(Summary& summary, std::vector<double> handshake_ms) {
  if (summary.histogram.empty()) {
    summary.histogram_edges_ms = histogram_edges_ms();
    summary.histogram.assign(summary.histogram_edges_ms.size(), 0);
  }
  summary.handshake_ms = percentiles(std::move(handshake_ms));
}

void summarise(const std::vector<ConnectionResult>& connections, Summary& summary) {
  std::vector<double> handshakes;
  for (const auto& c : connections) add_connection(c, summary, handshakes);
  finish_summary(summary, std::move(handshakes));
}

}  // namespace synack::sim
