// Streaming a capture file through the analyzer.
#include <fcntl.h>

#include <algorithm>
#include <cstdio>
#include <vector>

#include <fmt/format.h>

#include "synack/analyze/report.hpp"
#include "synack/capture/reader.hpp"
#include "synack/wire/link_layer.hpp"

namespace synack::analyze {

namespace {

/// True when some interface declared before the first packet has a link type synack decodes (a pcapng
/// file that declares none yet is read: its interfaces may come later).
bool any_supported(const std::vector<capture::CaptureInterface>& interfaces) {
  return interfaces.empty() || std::ranges::any_of(interfaces, [](const capture::CaptureInterface& i) {
           return wire::is_supported_linktype(i.linktype);
         });
}

FileReport analyse_reader(std::expected<capture::CaptureReader, capture::CaptureError> reader,
                          std::string name, const AnalyzerConfig& config, std::size_t top_failing) {
  FileReport report;
  report.file = std::move(name);
  if (!reader) {
    report.status = FileReport::Status::open_failed;
    report.error = reader.error().message.empty() ? "cannot open the file" : reader.error().message;
    return report;
  }
  report.linktype = reader->linktype();
  report.linktype_name = std::string(capture::linktype_name(report.linktype));
  if (!any_supported(reader->interfaces())) {
    report.status = FileReport::Status::unsupported;
    report.error = fmt::format(
        "unsupported link type {}{}: synack reads raw IP, Ethernet (with VLAN tags), Linux "
        "cooked (SLL, SLL2) and BSD loopback captures",
        report.linktype, report.linktype_name.empty() ? "" : fmt::format(" ({})", report.linktype_name));
    return report;
  }
  Analyzer analyzer(config);
  capture::Record record;
  // Once a sixteenth of a mapped file is read, the analyzer makes room for the whole file's reports.
  bool expected = !reader->is_mapped();
  for (;;) {
    const auto next = reader->next(record);
    if (next == capture::CaptureReader::Next::error) {
      report.status = FileReport::Status::damaged;
      report.error = reader->error().message;  // "PATH: damaged after N frames: why"
      break;
    }
    if (next == capture::CaptureReader::Next::end) break;
    if (config.should_stop && report.frames % 4096 == 0 && config.should_stop()) {
      report.status = FileReport::Status::interrupted;
      report.error = fmt::format("interrupted after {} frames", report.frames);
      break;
    }
    ++report.frames;
    if (!expected && report.frames % 4096 == 0) {
      const double share = reader->share_read();
      if (share >= 1.0 / 16) {
        analyzer.expect(share);
        expected = true;
      }
    }
    analyzer.add_frame(record.linktype, record.timestamp, record.data, record.origlen);
  }
  if (report.status == FileReport::Status::ok && config.should_stop && config.should_stop()) {
    // The input ended after a stop was asked for (a pipe whose writer the same Ctrl-C ended).
    report.status = FileReport::Status::interrupted;
    report.error = fmt::format("interrupted after {} frames", report.frames);
  }
  report.interfaces = reader->interfaces().size();
  report.records_dropped = reader->counters().dropped();
  report.result = analyzer.finish(top_failing);
  return report;
}

}  // namespace

FileReport analyse_file(const std::filesystem::path& path, const AnalyzerConfig& config,
                        std::size_t top_failing) {
  return analyse_reader(capture::CaptureReader::open(path), path.string(), config, top_failing);
}

FileReport analyse_file(std::FILE* file, const std::string& name, const AnalyzerConfig& config,
                        std::size_t top_failing) {
  // The reader owns a descriptor of its own; the FILE (nothing read through it yet) is closed.
  const int fd = ::fcntl(::fileno(file), F_DUPFD_CLOEXEC, 0);
  std::fclose(file);
  if (fd < 0)
    return analyse_reader(std::unexpected(capture::CaptureError{capture::CaptureError::Kind::open,
                                                                name + ": cannot duplicate"}),
                          name, config, top_failing);
  return analyse_reader(capture::CaptureReader::open(fd, name), name, config, top_failing);
}

FileReport analyse_capture(capture::CaptureReader reader, const std::string& name,
                           const AnalyzerConfig& config, std::size_t top_failing) {
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
