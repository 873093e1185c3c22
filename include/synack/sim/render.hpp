/// @file
/// Renderers of a simulation run: the ladder diagram (text, optional ANSI colour), the JSON contract of
/// docs/json.md (one document, or one object per line), the text summary, and a pcap recorder with
/// virtual timestamps. They return strings; printing is the CLI's job.
#pragma once

#include <cstdint>
#include <expected>
#include <filesystem>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "synack/capture/pcap.hpp"
#include "synack/link/pcap_device.hpp"
#include "synack/sim/link.hpp"
#include "synack/sim/trace.hpp"
#include "synack/time.hpp"
#include "synack/wire/bytes.hpp"

namespace synack::sim {

/// How render_ladder() draws a connection.
struct LadderOptions {
  bool colour = false;    ///< ANSI colours for marks and outcome
  bool absolute = false;  ///< absolute sequence numbers (relative to each side's ISN by default)
  std::size_t limit = 0;  ///< segments drawn (--ladder-limit); 0 draws all; a cut ladder says so
};

/// The ladder of one connection: a header line, one line per segment (time since connect, arrow, flags,
/// seq/ack, window, length, options, marks), then the outcome and what was agreed.
[[nodiscard]] std::string render_ladder(const ConnectionResult& c, const LadderOptions& options = {});
/// "established after 20.000 ms", "refused after 10.000 ms", "timed out after 6 SYN retransmissions
/// (127.000 s)", "reset after ...", "pending".
[[nodiscard]] std::string describe_outcome(const ConnectionResult& c);
/// "delay 10 ms, jitter 5 ms, loss 10 %, drop SYN #1": the non-default impairments of one direction.
[[nodiscard]] std::string describe_impairments(const Impairments& link);
/// Counts by outcome, handshake p50 / p90 / p99 / max, retransmissions, link fates and a histogram.
[[nodiscard]] std::string render_summary(const RunResult& r, bool colour = false);
/// The flood's account: what the attacker sent, how the listener answered (queue, cookies, drops by
/// reason), the SYN queue's occupancy, and how the legitimate clients fared. Empty without a flood.
[[nodiscard]] std::string render_flood(const RunResult& r);

// --- JSON (docs/json.md) --------------------------------------------------------------------------
/// One segment of a connection's trace as JSON (docs/json.md, "segments").
[[nodiscard]] nlohmann::ordered_json segment_json(const SegmentTrace& s);
/// With `segments` false the "segments" array is left out (the stream's connection events).
[[nodiscard]] nlohmann::ordered_json connection_json(const ConnectionResult& c, bool segments = true);
/// The run's summary object for `connections` connections (docs/json.md, "summary").
[[nodiscard]] nlohmann::ordered_json summary_json(const Summary& s, std::uint64_t connections);
/// The "flood" object of a run with an attacker (docs/json.md).
[[nodiscard]] nlohmann::ordered_json flood_json(const FloodReport& f);
/// The whole document: {"schema", "document": "sim", "scenario", "seed", "connections", "summary"}.
[[nodiscard]] nlohmann::ordered_json run_json(const RunResult& r);
/// --json-stream lines (no trailing newline): {"schema", "event": "segment" | "connection" | "summary", ...}.
/// `connection` is 1-based.
[[nodiscard]] std::string stream_segment_line(std::uint32_t connection, const SegmentTrace& segment);
/// @{
/// The --json-stream line of one finished connection (without its segments) / of the run's summary.
[[nodiscard]] std::string stream_connection_line(const ConnectionResult& connection);
[[nodiscard]] std::string stream_summary_line(const RunResult& r);
/// @}

// --- pcap ----------------------------------------------------------------------------------------------
/// Virtual time 0 is written as this instant (2023-11-14T22:13:20Z), so captures are reproducible.
inline constexpr std::int64_t kPcapEpochSeconds = 1'700'000'000;

/// The simulator's capture: link::PcapRecorder (the one pcap writer of the TUN commands too) with virtual
/// time 0 at kPcapEpochSeconds. Datagrams are recorded as the sender emitted them (a capture at the
/// sender's side of the link).
class PcapRecorder : public link::PcapRecorder {
 public:
  /// Creates (truncates) `path` ("-": standard output) as a raw-IP pcap with nanosecond timestamps.
  [[nodiscard]] static std::expected<PcapRecorder, capture::CaptureError> open(
      const std::filesystem::path& path);

 private:
  explicit PcapRecorder(link::PcapRecorder recorder) noexcept : link::PcapRecorder(std::move(recorder)) {}
};

}  // namespace synack::sim
