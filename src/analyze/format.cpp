#include "format.hpp"

#include <fmt/format.h>

#include "synack/analyze/report.hpp"
#include "synack/observe/ladder.hpp"

namespace synack::analyze {

std::string describe_options(const SegmentRecord& s) {
  if (s.options_unknown) return "options unknown (cut by snaplen)";
  std::string out;
  auto add = [&](const std::string& part) {
    if (!out.empty()) out += ", ";
    out += part;
  };
  if (s.mss) add(fmt::format("mss {}", *s.mss));
  if (s.sack_permitted) add("sackOK");
  if (s.sack_blocks > 0) add(fmt::format("sack {}", s.sack_blocks));
  if (s.timestamps) add(fmt::format("TS val {} ecr {}", s.timestamps->value, s.timestamps->echo));
  if (s.wscale) add(fmt::format("ws {}", *s.wscale));
  if (s.fast_open) add("TFO");
  return out;
}

namespace detail {

std::string format_duration_ms(double ms) {
  if (ms >= 10000.0) return fmt::format("{:.3f} s", ms / 1000.0);
  return fmt::format("{:.3f} ms", ms);
}

std::string format_optional_ms(const std::optional<double>& ms) {
  return ms ? format_duration_ms(*ms) : "-";
}

RelativeSeq::RelativeSeq(const ConnectionReport& c) {
  bool have_client = c.client_isn.has_value();
  bool have_server = c.server_isn.has_value();
  client_base_ = c.client_isn.value_or(0);
  server_base_ = c.server_isn.value_or(0);
  for (const auto& s : c.segments) {
    if (s.direction == Direction::to_server && !have_client) {
      client_base_ = s.seq;
      have_client = true;
    }
    if (s.direction == Direction::to_client && !have_server) {
      server_base_ = s.seq;
      have_server = true;
    }
  }
}

std::uint32_t RelativeSeq::seq(const SegmentRecord& s) const noexcept {
  return s.seq - (s.direction == Direction::to_server ? client_base_ : server_base_);
}
std::uint32_t RelativeSeq::ack(const SegmentRecord& s) const noexcept {
  return s.ack - (s.direction == Direction::to_server ? server_base_ : client_base_);
}

std::vector<bool> retransmissions(const ConnectionReport& c) {
  std::vector<bool> out(c.segments.size(), false);
  observe::RetransmissionRule rule;
  for (std::size_t i = 0; i < c.segments.size(); ++i) {
    const auto& s = c.segments[i];
    out[i] = rule.observe(s.direction, wire::SeqNum(s.seq), s.flags, s.payload_length);
  }
  return out;
}

std::string describe_segment(const SegmentRecord& s, const RelativeSeq& relative) {
  std::string out = fmt::format("{} seq={}", s.flags.to_string(), relative.seq(s));
  if (s.flags.ack()) out += fmt::format(" ack={}", relative.ack(s));
  out += fmt::format(" win={} len={}", s.window, s.payload_length);
  return out;
}

std::string describe_negotiated(const ConnectionReport& c) {
  if (!c.negotiated.agreed) {
    if (c.client_offered.unknown || c.server_offered.unknown) return "options unknown (snaplen)";
    return "-";
  }
  return observe::to_short_string(*c.negotiated.agreed);
}

std::string cut_note(const ConnectionReport& connection) {
  if (!connection.segments_truncated) return {};
  return observe::ladder_cut_note(connection.segments.size(), std::nullopt);
}

}  // namespace detail
}  // namespace synack::analyze
