// Streaming a capture file through the analyzer.
#include <fmt/format.h>

#include "synack/analyze/report.hpp"
#include "synack/capture/pcap.hpp"
#include "synack/wire/link_layer.hpp"

namespace synack::analyze {

namespace {

FileReport analyse_reader(std::expected<capture::PcapReader, capture::CaptureError> reader, std::string name,
                          const AnalyzerConfig& config, std::size_t top_failing) {
  FileReport report;
  report.file = std::move(name);
  if (!reader) {
    report.status = FileReport::Status::open_failed;
    report.error = reader.error().message.empty() ? "cannot open the file" : reader.error().message;
    return report;
  }
  report.linktype = reader->linktype();
  report.linktype_name = std::string(reader->linktype_name());
  if (!wire::is_supported_linktype(report.linktype)) {
    report.status = FileReport::Status::unsupported;
    report.error = fmt::format(
        "unsupported link type {}{}: synack reads raw IP, Ethernet (with VLAN tags), Linux "
        "cooked (SLL, SLL2) and BSD loopback captures",
        report.linktype, report.linktype_name.empty() ? "" : fmt::format(" ({})", report.linktype_name));
    return report;
  }
  Analyzer analyzer(config);
  for (;;) {
    auto frame = reader->next();
    if (!frame) {
      report.status = FileReport::Status::damaged;
      report.error = frame.error().message;  // "PATH: damaged after N frames: why"
      break;
    }
    if (!frame->has_value()) break;
    const capture::Frame& f = **frame;
    if (config.should_stop && report.frames % 4096 == 0 && config.should_stop()) {
      report.status = FileReport::Status::interrupted;
      report.error = fmt::format("interrupted after {} frames", report.frames);
      break;
    }
    ++report.frames;
    if (f.ip) {
      analyzer.add_datagram(f.timestamp, f.ip->datagram, f.is_truncated());
    } else {
      analyzer.add_frame(report.linktype, f.timestamp, f.data, f.origlen);
    }
  }
  if (report.status == FileReport::Status::ok && config.should_stop && config.should_stop()) {
    // The input ended after a stop was asked for (a pipe whose writer the same Ctrl-C ended).
    report.status = FileReport::Status::interrupted;
    report.error = fmt::format("interrupted after {} frames", report.frames);
  }
  report.result = analyzer.finish(top_failing);
  return report;
}

}  // namespace

FileReport analyse_file(const std::filesystem::path& path, const AnalyzerConfig& config,
                        std::size_t top_failing) {
  return analyse_reader(capture::PcapReader::open(path), path.string(), config, top_failing);
}

FileReport analyse_file(std::FILE* file, const std::string& name, const AnalyzerConfig& config,
                        std::size_t top_failing) {
  return analyse_reader(capture::PcapReader::open(file, name), name, config, top_failing);
}

FileReport analyse_capture(capture::PcapReader reader, const std::string& name, const AnalyzerConfig& config,
                           std::size_t top_failing) {
  return analyse_reader(std::move(reader), name, config, top_failing);
}

const ConnectionReport* find_connection(const AnalysisResult& result, std::uint64_t number) noexcept {
  if (number == 0) return nullptr;
  // Numbers are dense and sorted, so the connection is usually at number - 1.
  if (number <= result.connections.size() && result.connections[number - 1].number == number) {
    return &result.connections[number - 1];
  }
  for (const auto& c : result.connections) {
    if (c.number == number) return &c;
  }
  return nullptr;
}

}  // namespace synack::analyze
