// Text renderers: the ladder diagram of one connection and the summary of a run.
#include "synack/observe/ladder.hpp"

#include <algorithm>
#include <chrono>
#include <span>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "synack/sim/render.hpp"

namespace synack::sim {
namespace {

constexpr std::size_t kArrowWidth = 28;

using observe::to_ms;

observe::Paint paint_of(const SegmentTrace& s) {
  switch (s.fate) {
    case Fate::dropped:
      return observe::Paint::lost;
    case Fate::corrupted:
    case Fate::duplicated:
    case Fate::marked:
      return observe::Paint::altered;
    case Fate::delivered:
      break;
  }
  return observe::paint_of(s.header.flags, s.retransmission);
}

std::string describe_options(const wire::TcpOptions& o) {
  std::vector<std::string> parts;
  if (o.mss) parts.push_back(fmt::format("mss {}", *o.mss));
  if (o.sack_permitted) parts.emplace_back("sackOK");
  if (o.timestamps) parts.push_back(fmt::format("TS val {} ecr {}", o.timestamps->value, o.timestamps->echo));
  if (o.wscale) parts.push_back(fmt::format("wscale {}", *o.wscale));
  if (!o.sack.empty()) parts.push_back(fmt::format("sack {} blocks", o.sack.size()));
  if (o.fast_open) {
    // RFC 7413: an empty option asks for a cookie; otherwise the cookie, in hex.
    std::string hex;
    for (const std::byte b : o.fast_open->cookie()) hex += fmt::format("{:02x}", static_cast<unsigned>(b));
    parts.push_back(o.fast_open->is_request() ? std::string("TFO cookie request") : "TFO cookie " + hex);
  }
  return fmt::format("{}", fmt::join(parts, ", "));
}

std::string marks(const SegmentTrace& s) {
  std::string m;
  if (s.fate == Fate::dropped) m += " [dropped]";
  if (s.fate == Fate::duplicated) m += " [duplicated]";
  if (s.fate == Fate::corrupted) m += " [corrupted]";
  if (s.fate == Fate::marked) m += " [CE]";
  if (s.retransmission) m += " [retransmission]";
  if (s.reordered) m += " [reordered]";
  if (s.syn_cookie) m += " [SYN cookie]";
  if (s.header.flags.syn() && s.payload_len > 0) m += " [data on SYN]";  // RFC 7413 (or a plain SYN+data)
  return m;
}

}  // namespace

std::string describe_outcome(const ConnectionResult& c) {
  const auto since_start = [&](Instant t) { return to_ms(t - c.started_at); };
  switch (c.outcome) {
    case observe::Outcome::established: {
      std::string s = fmt::format("established after {:.3f} ms", to_ms(*c.handshake_time()));
      if (c.syn_retransmits > 0)
        s += fmt::format(" ({} SYN retransmission{})", c.syn_retransmits, c.syn_retransmits == 1 ? "" : "s");
      return s;
    }
    case observe::Outcome::refused:
      return fmt::format("refused (RST) after {:.3f} ms", c.ended_at ? since_start(*c.ended_at) : 0.0);
    case observe::Outcome::timed_out:
      return fmt::format("timed out after {} SYN retransmission{} ({:.3f} s)", c.syn_retransmits,
                         c.syn_retransmits == 1 ? "" : "s",
                         c.ended_at ? since_start(*c.ended_at) / 1000.0 : 0.0);
    case observe::Outcome::reset:
      return fmt::format("reset after {:.3f} ms (established after {:.3f} ms)",
                         c.ended_at ? since_start(*c.ended_at) : 0.0,
                         c.established_at ? since_start(*c.established_at) : 0.0);
    case observe::Outcome::simultaneous_open:
      return "simultaneous open";
    case observe::Outcome::incomplete:
      return "incomplete (the first segment seen was not the SYN)";
    case observe::Outcome::pending:
      return "pending (no outcome when the run stopped)";
  }
  return "pending";
}

std::string describe_impairments(const Impairments& link) {
  const Impairments& d = link;
  std::vector<std::string> parts;
  parts.push_back(fmt::format("delay {:g} ms", to_ms(d.delay)));
  if (d.jitter.count() > 0) parts.push_back(fmt::format("jitter {:g} ms", to_ms(d.jitter)));
  const auto pct = [&](std::string_view what, double p) {
    if (p > 0) parts.push_back(fmt::format("{} {:g} %", what, p * 100.0));
  };
  pct("loss", d.loss);
  pct("duplicate", d.duplicate);
  pct("reorder", d.reorder);
  pct("corrupt", d.corrupt);
  if (d.bandwidth_bps > 0) parts.push_back(fmt::format("{} bit/s", d.bandwidth_bps));
  for (const ScriptRule& r : d.script) {
    const std::string_view verb = r.fate == Fate::dropped      ? "drop"
                                  : r.fate == Fate::corrupted  ? "corrupt"
                                  : r.fate == Fate::duplicated ? "duplicate"
                                                               : "deliver";
    switch (r.match) {
      case ScriptRule::Match::nth_syn:
        parts.push_back(fmt::format("{} SYN #{}", verb, r.n));
        break;
      case ScriptRule::Match::every_syn:
        parts.push_back(fmt::format("{} every SYN", verb));
        break;
      case ScriptRule::Match::nth_syn_ack:
        parts.push_back(fmt::format("{} SYN-ACK #{}", verb, r.n));
        break;
      case ScriptRule::Match::every_syn_ack:
        parts.push_back(fmt::format("{} every SYN-ACK", verb));
        break;
      case ScriptRule::Match::final_ack:
        parts.push_back(fmt::format("{} the final ACK", verb));
        break;
      case ScriptRule::Match::nth_segment:
        parts.push_back(fmt::format("{} segment #{}", verb, r.n));
        break;
      case ScriptRule::Match::tfo_syn:
        parts.push_back(fmt::format("{} every SYN with data or a TFO option", verb));
        break;
    }
  }
  return fmt::format("{}", fmt::join(parts, ", "));
}

std::string render_ladder(const ConnectionResult& c, const LadderOptions& options) {
  std::string out = fmt::format("Connection {}: {} → {}\n", c.number, c.tuple.local.to_string(),
                                c.tuple.remote.to_string());
  out += observe::ladder_heading(kArrowWidth);
  const std::size_t shown =
      options.limit == 0 ? c.segments.size() : std::min(options.limit, c.segments.size());
  for (const SegmentTrace& s : std::span(c.segments).first(shown)) {
    const bool c2s = s.dir == Direction::to_server;
    const std::optional<std::uint32_t> seq_base = c2s ? c.client_isn : c.server_isn;
    const std::optional<std::uint32_t> ack_base = c2s ? c.server_isn : c.client_isn;
    const auto rel = [&](wire::SeqNum v, std::optional<std::uint32_t> base) {
      return options.absolute || !base ? v.raw() : v.raw() - *base;
    };
    std::string fields = fmt::format("seq={}", rel(s.header.seq, seq_base));
    if (s.header.flags.ack()) fields += fmt::format(" ack={}", rel(s.header.ack, ack_base));
    fields += fmt::format(" win={} len={}", s.header.window, s.payload_len);
    const std::string opts = describe_options(s.header.options);
    if (!opts.empty()) fields += fmt::format(" <{}>", opts);
    const observe::Paint paint = paint_of(s);
    const std::string arrow =
        observe::ladder_arrow(s.header.flags, s.dir, kArrowWidth, s.fate == Fate::dropped);
    out += fmt::format("{:>9.3f} ms  {}  {}{}\n", to_ms(s.at - c.started_at),
                       observe::painted(arrow, paint, options.colour), fields,
                       observe::painted(marks(s), paint, options.colour));
  }
  if (c.segments.empty()) out += "  (no segments recorded)\n";
  if (shown < c.segments.size()) {
    out += fmt::format("  {}\n", observe::ladder_cut_note(shown, c.segments.size() - shown));
  }
  out += fmt::format("  → {}\n",
                     observe::painted(describe_outcome(c), observe::paint_of(c.outcome), options.colour));
  if (c.negotiated.agreed) out += fmt::format("  agreed: {}\n", observe::to_string(*c.negotiated.agreed));
  return out;
}

std::string render_summary(const RunResult& r, bool colour) {
  const Summary& s = r.summary;
  std::uint64_t total = 0;
  for (const auto n : s.outcomes) total += n;
  std::string out = fmt::format("Summary: {} connection{} (scenario {}, seed {}), {:.3f} s of virtual time\n",
                                total, total == 1 ? "" : "s", r.scenario, r.seed, s.virtual_seconds);
  for (const observe::Outcome o : observe::kAllOutcomes) {
    const std::uint64_t n = s.count(o);
    // The four a simulated client can end in are always listed; the others only when they occurred.
    const bool always = o == observe::Outcome::established || o == observe::Outcome::refused ||
                        o == observe::Outcome::timed_out || o == observe::Outcome::reset;
    if (n == 0 && !always) continue;
    const double pct = total == 0 ? 0.0 : 100.0 * static_cast<double>(n) / static_cast<double>(total);
    out += fmt::format("  {:<12} {:>9}  {:6.2f} %\n", to_string(o), n, pct);
  }
  if (s.handshake_ms) {
    out += fmt::format("  handshake    p50 {:.3f} ms  p90 {:.3f} ms  p99 {:.3f} ms  max {:.3f} ms\n",
                       s.handshake_ms->p50, s.handshake_ms->p90, s.handshake_ms->p99, s.handshake_ms->max);
  } else {
    out += "  handshake    (no connection established)\n";
  }
  out += fmt::format("  retransmissions: {} SYN, {} SYN-ACK\n", s.syn_retransmits, s.synack_retransmits);
  out += fmt::format(
      "  link: {} segments, {} dropped, {} duplicated, {} corrupted ({} rejected by checksum, "
      "{} as malformed), {} reordered\n",
      s.segments, s.dropped, s.duplicated, s.corrupted, s.checksum_drops, s.malformed_drops, s.reordered);
  if (r.hit_time_cap) out += "  note: the run stopped at its virtual-time cap\n";
  if (r.interrupted)
    out += "  note: interrupted (SIGINT/SIGTERM): the counts cover the connections started before\n";
  // Histogram: only the span of non-empty buckets.
  std::size_t first = s.histogram.size();
  std::size_t last = 0;
  std::uint64_t peak = 0;
  for (std::size_t i = 0; i < s.histogram.size(); ++i) {
    if (s.histogram[i] == 0) continue;
    first = std::min(first, i);
    last = i;
    peak = std::max(peak, s.histogram[i]);
  }
  if (first < s.histogram.size()) {
    out += "  handshake time histogram:\n";
    constexpr std::size_t kBar = 40;
    for (std::size_t i = first; i <= last; ++i) {
      const double lo = s.histogram_edges_ms[i];
      const std::string range = i + 1 < s.histogram_edges_ms.size()
                                    ? fmt::format("{:g}–{:g} ms", lo, s.histogram_edges_ms[i + 1])
                                    : fmt::format("≥ {:g} ms", lo);
      const auto width = static_cast<std::size_t>(peak == 0 ? 0 : (s.histogram[i] * kBar + peak - 1) / peak);
      const std::string bar(width, '#');
      out += fmt::format("  {:>16}  {} {}\n", range, observe::painted(bar, observe::Paint::accent, colour),
                         s.histogram[i]);
    }
  }
  return out;
}

std::string render_flood(const RunResult& r) {
  if (!r.flood) return {};
  const FloodReport& f = *r.flood;
  const Summary& s = r.summary;
  std::uint64_t legit = 0;
  for (const auto n : s.outcomes) legit += n;
  const std::uint64_t ok = s.count(observe::Outcome::established);
  std::string out = fmt::format("SYN flood: {:g} SYN/s for {:g} s, cookies {}, SYN queue bound {}\n",
                                f.syn_rate, f.duration_s, f.cookie_policy, f.syn_queue_bound);
  out +=
      fmt::format("  attacker SYNs sent       {:>9}   legitimate SYNs sent {} (retransmissions included)\n",
                  f.attacker_syns, f.legit_syns);
  out += fmt::format("  SYNs received            {:>9}   (by the listener, without an entry of their own)\n",
                     f.syns_received);
  out += fmt::format("    answered from queue    {:>9}   (first SYN-ACKs; {} re-sent)\n",
                     f.synacks_from_queue, f.synack_retransmits);
  out += fmt::format("    answered with a cookie {:>9}\n", f.cookies_sent);
  out += fmt::format("    dropped, queue full    {:>9}\n", f.drops_syn_queue_full);
  out += fmt::format("    dropped, accept queue  {:>9}\n", f.drops_accept_queue_full);
  if (f.drops_control_queue > 0)
    out += fmt::format("  answers dropped (control queue full) {}\n", f.drops_control_queue);
  out += fmt::format("  entries pruned to make room {}; cookies returned valid {}, refused {}\n",
                     f.syn_queue_pruned, f.cookies_recv, f.cookies_failed);
  out += fmt::format("  SYN-ACKs to spoofed sources {} (nobody answers them)\n", f.synacks_to_spoofed);
  out += fmt::format("  SYN queue peak {} of {}", f.syn_queue_peak, f.syn_queue_bound);
  if (!f.syn_queue.empty()) {
    // The flood and a little after it; the JSON has every sample.
    const double until = f.duration_s + 2.0;
    std::vector<std::string> parts;
    for (const QueueSample& q : f.syn_queue) {
      if (q.from_s >= until) break;
      parts.push_back(fmt::format("{}", q.max));
    }
    const double step = f.syn_queue.size() > 1 ? f.syn_queue[1].from_s - f.syn_queue[0].from_s : 0.0;
    out += fmt::format("; most at once per {:g} s from 0 s: {}", step, fmt::join(parts, " "));
  }
  out += "\n";
  const double pct = legit == 0 ? 0.0 : 100.0 * static_cast<double>(ok) / static_cast<double>(legit);
  out += fmt::format("  legitimate clients: {} of {} connected ({:.1f} %), {} failed", ok, legit, pct,
                     legit - ok);
  if (s.handshake_ms) {
    out +=
        fmt::format("; connect time p50 {:.3f} ms, p99 {:.3f} ms", s.handshake_ms->p50, s.handshake_ms->p99);
  }
  out += "\n";
  return out;
}

}  // namespace synack::sim
