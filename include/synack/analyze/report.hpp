/// @file
/// Analysing a capture file, and rendering the result: a terminal report, the JSON document
/// (docs/json.md), a text ladder of one connection, and an SVG sequence diagram of one connection.
/// Everything returns strings; nothing here prints.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "synack/analyze/analyzer.hpp"
#include "synack/capture/reader.hpp"

namespace synack::analyze {

/// The outcome of analyse_file().
struct FileReport {
  /// How far the file could be read.
  enum class Status : std::uint8_t {
    ok,           ///< the whole file was read
    damaged,      ///< the file broke off (truncated record, garbage); the report covers what came before
    open_failed,  ///< the file could not be opened or is not a capture file: nothing was read
    unsupported,  ///< the capture's link type is not one synack decodes: nothing was read
    interrupted,  ///< AnalyzerConfig::should_stop stopped the reading; the report covers what came before
  };
  Status status = Status::ok;  ///< how far the file could be read
  std::string file;            ///< the file's name as given (or the `name` of the FILE* overload)
  std::string error;           ///< what went wrong (empty when ok)
  std::uint32_t linktype = 0;  ///< the capture's DLT_ value (0 when not opened)
  std::string linktype_name;   ///< libpcap's name for it, e.g. "EN10MB"
  std::uint64_t frames = 0;    ///< capture records read
  std::size_t interfaces = 0;  ///< interfaces the file declared (pcapng: one per IDB; pcap: 1)
  /// Packet records skipped because they could not be placed (pcapng: an interface their section does not
  /// declare, a timestamp out of range); counted by capture::ReaderCounters.
  std::uint64_t records_dropped = 0;
  AnalysisResult result;  ///< the handshakes found in what was read
};

/// Reads a pcap / pcapng file (capture::CaptureReader: several interfaces and link types in one pcapng file
/// are read) and analyses every frame, streaming.
[[nodiscard]] FileReport analyse_file(const std::filesystem::path& path, const AnalyzerConfig& config = {},
                                      std::size_t top_failing = 10);
/// The same for a file opened already (e.g. before a privilege drop: `synack analyze` parses in a
/// sandbox that cannot open files); takes ownership of `file`. `name` is the report's file name.
[[nodiscard]] FileReport analyse_file(std::FILE* file, const std::string& name,
                                      const AnalyzerConfig& config = {}, std::size_t top_failing = 10);
/// The same for a reader opened (and perhaps given a BPF filter: CaptureReader::set_filter()) already, as
/// `synack analyze` does before its privilege drop. `name` is the report's file name.
[[nodiscard]] FileReport analyse_capture(capture::CaptureReader reader, const std::string& name,
                                         const AnalyzerConfig& config = {}, std::size_t top_failing = 10);

/// What render_text() lists.
struct TextOptions {
  std::size_t first = 20;  ///< connections listed in capture order …
  std::size_t worst = 10;  ///< … plus this many of the slowest / failed ones when there are more
  std::size_t top = 10;    ///< failing endpoints listed
};

/// The terminal report: header, connection table, verdict counts, percentiles, histogram, failing
/// endpoints, and the damage message if any.
[[nodiscard]] std::string render_text(const FileReport& report, const TextOptions& options = {});

/// The JSON document of docs/json.md (keys in the documented order).
[[nodiscard]] nlohmann::ordered_json to_json(const FileReport& report);
/// One connection's JSON object, as it appears in the document's "connections" array.
[[nodiscard]] nlohmann::ordered_json to_json(const ConnectionReport& connection);
/// The same document (same values and layout; doubles in their shortest exact form), produced piece by piece
/// into `sink` (one connection at a time), so a capture with millions of connections never holds its whole
/// JSON tree or text in memory.
void write_json(const FileReport& report, const std::function<void(std::string_view)>& sink);

/// A `--json-stream` line for a connection whose report is final: {"schema", "event": "connection", then
/// the keys of to_json(connection)}, on one line (docs/json.md).
[[nodiscard]] std::string stream_connection_line(const ConnectionReport& connection);
/// A live capture's `--json-stream` line for a verdict as soon as it is known: {"schema", "event": "verdict",
/// "decided_ns" (capture time of the deciding segment, or when the waiting side gave up), "told_ns" (the
/// clock when it was told), then the keys of to_json(connection) as they stood then}, on one line.
[[nodiscard]] std::string stream_verdict_line(const ConnectionReport& connection, Timestamp decided,
                                              Timestamp told);
/// The stream's last line: {"schema", "event": "summary", "file", "status", "error", "linktype", "packets",
/// "counters", "summary"}, on one line.
[[nodiscard]] std::string stream_summary_line(const FileReport& report);

/// Milliseconds rounded to 3 decimals (microseconds).
[[nodiscard]] double round_ms(double ms) noexcept;

/// A terminal ladder diagram of one connection (needs its segments recorded). ANSI colour when `colour`.
[[nodiscard]] std::string render_ladder(const ConnectionReport& connection, bool colour = false);

/// An SVG sequence diagram of one connection: two lifelines, one slanted arrow per segment labelled with
/// time, flags, relative seq/ack, window, length and options. Valid, self-contained XML.
[[nodiscard]] std::string render_svg(const ConnectionReport& connection);

/// "mss 1460, ws 7, sackOK, TS val 123 ecr 0, TFO" — a segment's options for labels.
[[nodiscard]] std::string describe_options(const SegmentRecord& segment);

/// The connection with this 1-based number, or nullptr.
[[nodiscard]] const ConnectionReport* find_connection(const AnalysisResult& result,
                                                      std::uint64_t number) noexcept;

}  // namespace synack::analyze
