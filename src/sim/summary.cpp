// Names of the trace values and the run summary (outcome counts, percentiles, histogram).
#include <algorithm>
#include <cmath>

#include "synack/sim/trace.hpp"

namespace synack::sim {

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
  const double ms = observe::to_ms(*h);
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
  summary.handshake_ms = observe::percentiles(handshake_ms);
}

void summarise(const std::vector<ConnectionResult>& connections, Summary& summary) {
  std::vector<double> handshakes;
  for (const auto& c : connections) add_connection(c, summary, handshakes);
  finish_summary(summary, std::move(handshakes));
}

}  // namespace synack::sim
