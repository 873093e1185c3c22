// A terminal ladder diagram of one connection: one line per segment, client on the left.
#include "synack/observe/ladder.hpp"

#include <fmt/format.h>

#include "format.hpp"
#include "synack/analyze/report.hpp"

namespace synack::analyze {

std::string render_ladder(const ConnectionReport& c, bool colour) {
  std::string out = fmt::format("Connection {}: {} → {}  {}", c.number, c.client.to_string(),
                                c.server.to_string(), observe::to_string(c.outcome));
  if (!c.reason.empty()) out += fmt::format(" ({})", c.reason.text());
  out += "\n";
  for (const auto& a : c.anomalies) out += fmt::format("  ! {}\n", a);
  if (c.segments.empty()) {
    out += "  (no segments recorded for this connection)\n";
    return out;
  }
  constexpr std::size_t kWidth = 30;
  out += observe::ladder_heading(kWidth);
  const detail::RelativeSeq relative(c);
  const Timestamp origin = c.segments.front().time;
  const auto retransmitted = detail::retransmissions(c);
  for (std::size_t i = 0; i < c.segments.size(); ++i) {
    const auto& s = c.segments[i];
    const double ms = detail::to_ms(s.time - origin);
    const auto paint = observe::paint_of(s.flags, retransmitted[i]);
    out += fmt::format("{:>9.3f} ms  {}  {}", ms,
                       observe::painted(observe::ladder_arrow(s.flags, s.direction, kWidth), paint, colour),
                       detail::describe_segment(s, relative));
    const auto options = describe_options(s);
    if (!options.empty()) out += fmt::format("  <{}>", options);
    if (retransmitted[i]) out += "  (retransmission)";
    out += "\n";
  }
  if (c.segments_truncated) out += fmt::format("  {}\n", detail::cut_note(c));
  return out;
}

}  // namespace synack::analyze
