#include "format.hpp"

#include <array>
#include <iterator>

#include <fmt/format.h>

#include "synack/analyze/report.hpp"
#include "synack/observe/ladder.hpp"

namespace synack::analyze {

Reason Reason::established_in(std::chrono::nanoseconds d) noexcept {
  Reason r;
  r.established_in_ = d;
  return r;
}

void Reason::append_to(std::string& out) const {
  if (established_in_) {
    out += "SYN, SYN-ACK and ACK in ";
    detail::append_fixed3_ms(out, *established_in_);
    out += " ms";
  }
  out += text_;
}

std::string Reason::text() const {
  if (!established_in_) return text_;
  std::string out;
  out.reserve(40 + text_.size());
  append_to(out);
  return out;
}

Reason& Reason::operator+=(std::string_view clause) {
  text_ += clause;
  return *this;
}

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
  if (s.fast_open) {
    add(s.fast_open_cookie_bytes == 0 ? std::string("TFO cookie request")
                                      : fmt::format("TFO cookie {} bytes", s.fast_open_cookie_bytes));
  }
  // RFC 3168 §5: the IP header's ECN codepoint (not an option, but a fact of the segment worth seeing).
  if (s.ip_ecn == 3) add("CE");
  if (s.ip_ecn == 2) add("ECT(0)");
  if (s.ip_ecn == 1) add("ECT(1)");
  return out;
}

namespace detail {

std::string format_duration_ms(double ms) {
  if (ms >= 10000.0) return fmt::format("{:.3f} s", ms / 1000.0);
  return fmt::format("{:.3f} ms", ms);
}

void append_fixed3_ms(std::string& out, std::chrono::nanoseconds d) {
  const std::int64_t ns = d.count();
  // Below 10^15 ns the double nearest to ns / 10^6 lies within 10^-7 ms of it, so it rounds to 3 decimals as
  // the exact quotient does — except at a tie (ns ending in 500), where the double's side of it decides.
  if (ns < 0 || ns >= 1'000'000'000'000'000 || ns % 1000 == 500) {
    fmt::format_to(std::back_inserter(out), "{:.3f}", to_ms(d));
    return;
  }
  const auto micros = static_cast<std::uint64_t>((ns + 500) / 1000);
  const fmt::format_int whole(micros / 1000U);
  out.append(whole.data(), whole.size());
  const auto fraction = static_cast<unsigned>(micros % 1000U);
  const std::array<char, 4> digits{'.', static_cast<char>('0' + fraction / 100U),
                                   static_cast<char>('0' + fraction / 10U % 10U),
                                   static_cast<char>('0' + fraction % 10U)};
  out.append(digits.data(), digits.size());
}

std::string describe_ecn(const ConnectionReport& c) {
  std::string out;
  for (std::size_t d = 0; d < c.ecn.size(); ++d) {
    const EcnCounts& e = c.ecn[d];
    if (e == EcnCounts{}) continue;
    std::string parts;
    auto add = [&parts](const char* name, std::uint64_t n) {
      if (n == 0) return;
      parts += fmt::format("{}{} {}", parts.empty() ? "" : ", ", name, n);
    };
    add("ECT(0)", e.ect0);
    add("ECT(1)", e.ect1);
    add("CE", e.ce);
    add("ECE", e.ece);
    add("CWR", e.cwr);
    out += fmt::format("{}{}: {}", out.empty() ? "ECN " : "; ", d == 0 ? "c→s" : "s→c", parts);
  }
  return out;
}

std::string describe_fast_open(const ConnectionReport& c) {
  std::string out;
  auto add = [&out](const std::string& part) { out += (out.empty() ? "TFO: " : ", ") + part; };
  for (const bool client : {true, false}) {
    const OfferedOptions& o = client ? c.client_offered : c.server_offered;
    if (!o.seen || o.unknown || !o.fast_open) continue;
    const char* side = client ? "client" : "server";
    add(o.fast_open_cookie_bytes == 0 ? fmt::format("{} cookie request", side)
                                      : fmt::format("{} cookie ({} bytes)", side, o.fast_open_cookie_bytes));
  }
  if (c.syn_data_bytes > 0) {
    add(fmt::format("{} byte{} of data on the SYN", c.syn_data_bytes, c.syn_data_bytes == 1 ? "" : "s"));
    if (c.syn_data_acknowledged)
      add(*c.syn_data_acknowledged ? "acknowledged by the SYN-ACK" : "not acknowledged by the SYN-ACK");
  }
  return out;
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
