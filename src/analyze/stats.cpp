// Capture-wide numbers: outcome counts, timing percentiles, the establish-time histogram and the servers
// with the most failures.
#include "synack/observe/stats.hpp"

#include <algorithm>
#include <cmath>
#include <map>

#include "synack/analyze/analyzer.hpp"

namespace synack::analyze {

Distribution distribution_of(std::vector<double>& values) {
  Distribution d;
  d.count = values.size();
  if (const auto p = observe::percentiles(values)) {
    d.p50 = p->p50;
    d.p90 = p->p90;
    d.p99 = p->p99;
    d.max = p->max;
  }
  return d;
}

namespace {

// 1-2-5 log-scale bucket edges in ms, from 1 µs (0.001 ms) to 5e6 ms.
std::vector<double> bucket_edges() {
  std::vector<double> edges;
  double decade = 0.001;
  for (int exponent = -3; exponent <= 6; ++exponent, decade *= 10) {
    for (double m : {1.0, 2.0, 5.0}) edges.push_back(decade * m);
  }
  return edges;
}

std::vector<HistogramBucket> histogram_of(const std::vector<double>& values) {
  if (values.empty()) return {};
  const auto edges = bucket_edges();
  std::vector<HistogramBucket> buckets(edges.size() + 1);
  for (std::size_t i = 0; i < buckets.size(); ++i) {
    buckets[i].lower_ms = i == 0 ? 0.0 : edges[i - 1];
    buckets[i].upper_ms = i < edges.size() ? edges[i] : HUGE_VAL;
  }
  for (double v : values) {
    const auto at = std::upper_bound(edges.begin(), edges.end(), v) - edges.begin();
    ++buckets[static_cast<std::size_t>(at)].count;
  }
  std::size_t first = 0;
  while (buckets[first].count == 0) ++first;
  std::size_t last = buckets.size() - 1;
  while (buckets[last].count == 0) --last;
  return {buckets.begin() + static_cast<std::ptrdiff_t>(first),
          buckets.begin() + static_cast<std::ptrdiff_t>(last + 1)};
}

}  // namespace

Summary summarize(const std::vector<ConnectionReport>& connections, std::size_t top) {
  Summary s;
  std::vector<double> syn_to_synack, synack_to_ack, establish;
  std::map<wire::Endpoint, EndpointFailures> failing;
  for (const auto& c : connections) {
    ++s.outcomes[static_cast<std::size_t>(c.outcome)];
    if (c.syn_to_synack_ms) syn_to_synack.push_back(*c.syn_to_synack_ms);
    if (c.synack_to_ack_ms) synack_to_ack.push_back(*c.synack_to_ack_ms);
    if (c.establish_ms) establish.push_back(*c.establish_ms);
    if (observe::is_failure(c.outcome)) {
      auto& f = failing[c.server];
      f.server = c.server;
      ++f.failures;
      if (c.outcome == observe::Outcome::refused) ++f.refused;
      if (c.outcome == observe::Outcome::timed_out) ++f.timed_out;
      if (c.outcome == observe::Outcome::reset) ++f.reset;
    }
  }
  s.establish_histogram = histogram_of(establish);
  s.syn_to_synack = distribution_of(syn_to_synack);
  s.synack_to_ack = distribution_of(synack_to_ack);
  s.establish = distribution_of(establish);
  for (auto& [endpoint, f] : failing) s.top_failing.push_back(f);
  std::sort(s.top_failing.begin(), s.top_failing.end(),
            [](const EndpointFailures& a, const EndpointFailures& b) {
              return a.failures != b.failures ? a.failures > b.failures : a.server < b.server;
            });
  if (s.top_failing.size() > top) s.top_failing.resize(top);
  return s;
}

}  // namespace synack::analyze
