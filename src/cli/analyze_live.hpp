// `synack analyze -i IFACE`: the analyzer on a live interface (docs/analyze.md#live-capture).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "privileges.hpp"
#include "synack/analyze/report.hpp"

namespace synack::cli {

struct LiveArgs {
  std::string interface;  ///< -i
  std::string filter;     ///< the BPF expression (-f or the words after the options)
  std::string save;       ///< -w FILE ("" for none)
  std::uint32_t snaplen = 262144;
  std::uint32_t buffer_kib = 16384;  ///< -B: the kernel's capture buffer
  bool promiscuous = false;
  double interval_s = 10.0;  ///< --interval; 0: no periodic summary
  bool json = false;
  bool json_stream = false;
  std::size_t top = 10;
  std::size_t first = 20;
};

/// How a whole report is printed: the --json-stream summary line, the --json document or the text report.
struct ReportFormat {
  bool json = false;
  bool json_stream = false;
  std::size_t top = 10;    ///< failing servers and worst connections listed
  std::size_t first = 20;  ///< connections listed in capture order
};

/// Prints `report` on standard output as `format` asks (files and live captures alike), then flushes.
void print_report(const ReportFormat& format, const analyze::FileReport& report);

/// Captures on args.interface until SIGINT/SIGTERM, printing each handshake's verdict as it becomes known,
/// a summary line every interval, and the full report at the end. Returns the exit code.
[[nodiscard]] int run_live_analysis(const LiveArgs& args, const PrivilegeOptions& privileges);

}  // namespace synack::cli
