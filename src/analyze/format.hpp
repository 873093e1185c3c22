// Small formatting helpers shared by the text report, the ladder and the SVG.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "synack/analyze/analyzer.hpp"
#include "synack/observe/stats.hpp"

namespace synack::analyze::detail {

/// Capture-time differences in milliseconds (the one conversion, observe/stats.hpp).
using observe::to_ms;
/// "0.021 ms", "12.500 ms", "3.001 s".
[[nodiscard]] std::string format_duration_ms(double ms);
/// Appends `d` in milliseconds with 3 decimals, the text of fmt's "{:.3f}" of to_ms(d) ("0.050"), without
/// the float formatter in the common case (one per established connection).
void append_fixed3_ms(std::string& out, std::chrono::nanoseconds d);
/// "0.021 ms" or "-" when absent.
[[nodiscard]] std::string format_optional_ms(const std::optional<double>& ms);

/// Relative sequence numbers, Wireshark style: each side's numbers relative to its ISN (or, when the
/// capture missed it, to the first sequence number seen from that side).
class RelativeSeq {
 public:
  explicit RelativeSeq(const ConnectionReport& connection);
  [[nodiscard]] std::uint32_t seq(const SegmentRecord& s) const noexcept;
  [[nodiscard]] std::uint32_t ack(const SegmentRecord& s) const noexcept;

 private:
  std::uint32_t client_base_ = 0;
  std::uint32_t server_base_ = 0;
};

/// For each recorded segment: it re-sends sequence space its side had already sent (same seq, same
/// SYN/FIN flags, non-zero sequence length) — a retransmitted SYN, SYN-ACK or data segment.
[[nodiscard]] std::vector<bool> retransmissions(const ConnectionReport& connection);

/// "S seq=0 win=65535 len=0" / "SA seq=0 ack=1 win=65483 len=0".
[[nodiscard]] std::string describe_segment(const SegmentRecord& s, const RelativeSeq& relative);
/// "the ladder stops at 32 segments; more were seen (--ladder-limit to raise)" when the recording of
/// `connection` was cut, else empty: a cut ladder always says so.
[[nodiscard]] std::string cut_note(const ConnectionReport& connection);
/// "client" or "server" options in effect, e.g. "mss 1460/1460 ws 7/7 sack ts".
[[nodiscard]] std::string describe_negotiated(const ConnectionReport& connection);

/// "ECN c→s: ECT(0) 10, CE 2, CWR 1; s→c: ECT(0) 9, ECE 2" — the marks counted on each direction, or
/// empty when there were none.
[[nodiscard]] std::string describe_ecn(const ConnectionReport& connection);
/// "TFO: client cookie (8 bytes), server cookie (8 bytes), 5 bytes of data on the SYN, acknowledged" — what
/// the SYN and SYN-ACK did with TCP Fast Open (RFC 7413), or empty when neither carried the option or data.
[[nodiscard]] std::string describe_fast_open(const ConnectionReport& connection);

}  // namespace synack::analyze::detail
