// A terminal ladder diagram of one connection: one line per segment, client on the left.
#include <fmt/format.h>

#include "format.hpp"
#include "synack/analyze/report.hpp"

namespace synack::analyze {
namespace {

constexpr std::string_view kReset = "\x1b[0m";
constexpr std::string_view kYellow = "\x1b[33m";

std::string_view colour_of(const SegmentRecord& s) {
  if (s.flags.rst()) return "\x1b[31m";                   // red
  if (s.flags.syn() && s.flags.ack()) return "\x1b[36m";  // cyan
  if (s.flags.syn()) return "\x1b[32m";                   // green
  if (s.flags.fin()) return "\x1b[33m";                   // yellow
  return "";
}

// "|----- SA ---->|" or "|<---- SA -----|", `width` characters between the bars.
std::string arrow(const SegmentRecord& s, std::size_t width) {
  const std::string label = fmt::format(" {} ", s.flags.to_string().empty() ? "." : s.flags.to_string());
  const std::size_t body = width > label.size() + 1 ? width - label.size() - 1 : 0;
  const std::size_t left = body / 2;
  const std::size_t right = body - left;
  if (s.direction == Direction::to_server) {
    return "|" + std::string(left, '-') + label + std::string(right, '-') + ">|";
  }
  return "|<" + std::string(left, '-') + label + std::string(right, '-') + "|";
}

}  // namespace

std::string render_ladder(const ConnectionReport& c, bool colour) {
  std::string out = fmt::format("Connection {}: {} → {}  {}", c.number, c.client.to_string(),
                                c.server.to_string(), observe::to_string(c.outcome));
  if (!c.reason.empty()) out += fmt::format(" ({})", c.reason);
  out += "\n";
  for (const auto& a : c.anomalies) out += fmt::format("  ! {}\n", a);
  if (c.segments.empty()) {
    out += "  (no segments recorded for this connection)\n";
    return out;
  }
  constexpr std::size_t kWidth = 30;
  out += fmt::format("{:>12}  {:<{}}{:>{}}\n", "time", "client", kWidth / 2 + 1, "server", kWidth / 2 + 1);
  const detail::RelativeSeq relative(c);
  const Timestamp origin = c.segments.front().time;
  const auto retransmitted = detail::retransmissions(c);
  for (std::size_t i = 0; i < c.segments.size(); ++i) {
    const auto& s = c.segments[i];
    const double ms = detail::to_ms(s.time - origin);
    const std::string_view on = !colour ? "" : (retransmitted[i] && !s.flags.rst() ? kYellow : colour_of(s));
    out += fmt::format("{:>9.3f} ms  {}{}{}  {}", ms, on, arrow(s, kWidth), on.empty() ? "" : kReset,
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
