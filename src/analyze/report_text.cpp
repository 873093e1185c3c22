// The terminal report: what a person reads first.
#include <algorithm>
#include <cmath>
#include <iterator>

#include <fmt/format.h>

#include "format.hpp"
#include "synack/analyze/report.hpp"

namespace synack::analyze {
namespace {

using detail::format_optional_ms;

// How bad a connection looks: failures first, then the slowest establish times.
double badness(const ConnectionReport& c) {
  if (observe::is_failure(c.outcome)) return 1e18 + static_cast<double>(c.syn_retransmits);
  return c.establish_ms.value_or(-1.0) + 1e6 * (c.syn_retransmits + c.synack_retransmits);
}

void append_row(std::string& out, const ConnectionReport& c) {
  const auto pair = fmt::format("{} → {}", c.client.to_string(), c.server.to_string());
  fmt::format_to(std::back_inserter(out), "{:>6}  {:<47}  {:<17} {:>12} {:>12} {:>5}  {}\n", c.number, pair,
                 observe::to_string(c.outcome), format_optional_ms(c.syn_to_synack_ms),
                 format_optional_ms(c.establish_ms),
                 fmt::format("{}/{}", c.syn_retransmits, c.synack_retransmits),
                 detail::describe_negotiated(c));
  for (const auto& a : c.anomalies) fmt::format_to(std::back_inserter(out), "{:>8}! {}\n", "", a);
  if (const auto ecn = detail::describe_ecn(c); !ecn.empty()) {
    fmt::format_to(std::back_inserter(out), "{:>8}  {}\n", "", ecn);
  }
  if (const auto tfo = detail::describe_fast_open(c); !tfo.empty()) {
    fmt::format_to(std::back_inserter(out), "{:>8}  {}\n", "", tfo);
  }
  if (c.outcome != observe::Outcome::established && !c.reason.empty()) {
    fmt::format_to(std::back_inserter(out), "{:>8}  {}\n", "", c.reason.text());
  }
}

void append_table(std::string& out, const AnalysisResult& r, const TextOptions& o) {
  const auto& cs = r.connections;
  if (cs.empty()) {
    out += "\nNo TCP handshakes found.\n";
    return;
  }
  out += fmt::format("\n{:>6}  {:<47}  {:<17} {:>12} {:>12} {:>5}  {}\n", "#", "client → server", "outcome",
                     "SYN→SYN-ACK", "establish", "retx", "agreed (mss c→s/s→c, ws c/s)");
  const std::size_t shown = std::min(o.first, cs.size());
  for (std::size_t i = 0; i < shown; ++i) append_row(out, cs[i]);
  if (shown == cs.size()) return;
  std::vector<const ConnectionReport*> rest;
  for (std::size_t i = shown; i < cs.size(); ++i) {
    if (observe::is_failure(cs[i].outcome) || cs[i].establish_ms) rest.push_back(&cs[i]);
  }
  const std::size_t worst = std::min(o.worst, rest.size());
  std::partial_sort(
      rest.begin(), rest.begin() + static_cast<std::ptrdiff_t>(worst), rest.end(),
      [](const ConnectionReport* a, const ConnectionReport* b) { return badness(*a) > badness(*b); });
  out += fmt::format("  … {} more connections; the {} worst of them (failed first, then slowest):\n",
                     cs.size() - shown, worst);
  for (std::size_t i = 0; i < worst; ++i) append_row(out, *rest[i]);
}

void append_distributions(std::string& out, const Summary& s) {
  out += fmt::format("\n{:<14} {:>8} {:>12} {:>12} {:>12} {:>12}\n", "Timing", "count", "p50", "p90", "p99",
                     "max");
  auto row = [&](const char* name, const Distribution& d) {
    out += fmt::format("{:<14} {:>8} {:>12} {:>12} {:>12} {:>12}\n", name, d.count, format_optional_ms(d.p50),
                       format_optional_ms(d.p90), format_optional_ms(d.p99), format_optional_ms(d.max));
  };
  row("SYN→SYN-ACK", s.syn_to_synack);
  row("SYN-ACK→ACK", s.synack_to_ack);
  row("establish", s.establish);
}

std::string bucket_label(double ms) {
  if (std::isinf(ms)) return "∞";
  if (ms < 1.0) return fmt::format("{:g} µs", ms * 1000.0);
  if (ms < 1000.0) return fmt::format("{:g} ms", ms);
  return fmt::format("{:g} s", ms / 1000.0);
}

void append_histogram(std::string& out, const Summary& s) {
  if (s.establish_histogram.empty()) return;
  out += "\nEstablish time (first SYN → established), log scale:\n";
  std::uint64_t most = 1;
  for (const auto& b : s.establish_histogram) most = std::max(most, b.count);
  constexpr std::size_t kWidth = 50;
  for (const auto& b : s.establish_histogram) {
    const auto bar = static_cast<std::size_t>(
        std::ceil(static_cast<double>(b.count) * kWidth / static_cast<double>(most)));
    out += fmt::format("  {:>8} – {:<8} {:>8}  {}\n", bucket_label(b.lower_ms), bucket_label(b.upper_ms),
                       b.count, std::string(b.count == 0 ? 0 : bar, '#'));
  }
}

}  // namespace

std::string render_text(const FileReport& report, const TextOptions& options) {
  const auto& r = report.result;
  std::string out = fmt::format("synack analyze: {}\n", report.file);
  if (report.status == FileReport::Status::open_failed || report.status == FileReport::Status::unsupported) {
    out += fmt::format("error: {}\n", report.error);
    return out;
  }
  out += fmt::format(
      "  {}link type {}{}, {} packets ({} TCP, {} not TCP, {} malformed, {} cut by the snaplen)\n",
      report.interfaces > 1 ? fmt::format("{} interfaces, the first's ", report.interfaces) : "",
      report.linktype, report.linktype_name.empty() ? "" : fmt::format(" ({})", report.linktype_name),
      report.frames, r.counters.tcp, r.counters.not_tcp, r.counters.malformed, r.counters.truncated);
  out += fmt::format("  {} connections\n", r.connections.size());
  if (r.counters.probes > 0) {
    out += fmt::format("  {} scanner probe{} (no flags, FIN without ACK, Xmas, SYN+FIN): not handshakes\n",
                       r.counters.probes, r.counters.probes == 1 ? "" : "s");
  }
  if (r.counters.duplicates > 0) {
    out += fmt::format("  {} duplicate frame{} (captured twice: same IP ID and checksum) skipped\n",
                       r.counters.duplicates, r.counters.duplicates == 1 ? "" : "s");
  }
  if (report.status == FileReport::Status::damaged) {
    out += fmt::format("  WARNING: {}. This report covers what was read before the damage.\n", report.error);
  }
  if (report.status == FileReport::Status::interrupted) {
    out +=
        fmt::format("  NOTE: {} (SIGINT/SIGTERM). This report covers what was read before.\n", report.error);
  }
  append_table(out, r, options);
  out += "\nOutcomes:";
  // Every outcome a capture can show (a capture has no "pending": its end decides).
  for (auto o : observe::kAllOutcomes) {
    if (o == observe::Outcome::pending) continue;
    out += fmt::format(" {} {}{}", observe::to_string(o), r.summary.count(o),
                       o == observe::Outcome::incomplete ? "" : ",");
  }
  out += "\n";
  append_distributions(out, r.summary);
  append_histogram(out, r.summary);
  if (!r.summary.top_failing.empty()) {
    out += "\nServers with the most failures:\n";
    const std::size_t n = std::min(options.top, r.summary.top_failing.size());
    for (std::size_t i = 0; i < n; ++i) {
      const auto& f = r.summary.top_failing[i];
      out += fmt::format("  {:<47} {:>6} (refused {}, timed_out {}, reset {})\n", f.server.to_string(),
                         f.failures, f.refused, f.timed_out, f.reset);
    }
  }
  return out;
}

}  // namespace synack::analyze
