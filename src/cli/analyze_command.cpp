#include "analyze_command.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <expected>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/core.h>

#include "analyze_live.hpp"
#include "exit_codes.hpp"
#include "interrupt.hpp"
#include "numbers.hpp"
#include "privileges.hpp"
#include "synack/analyze/report.hpp"
#include "synack/capture/reader.hpp"
#include "terminal.hpp"

namespace synack::cli {
namespace {

struct AnalyzeArgs {
  std::string file;
  bool json = false;
  bool json_stream = false;
  std::optional<std::uint64_t> ladder;
  std::string svg;
  std::optional<std::uint64_t> conn;
  std::size_t top = 10;
  std::size_t first = 20;
  ColourMode colour = ColourMode::automatic;
  std::size_t ladder_limit = 32;        ///< segments recorded for --ladder / --svg
  std::string filter;                   ///< -f/--filter EXPR
  std::vector<std::string> expression;  ///< a BPF expression after FILE, as tcpdump takes it
  std::string interface;                ///< -i: capture live instead of reading FILE
  std::string save;                     ///< -w FILE: also save what -i captured
  std::uint32_t snaplen = 262144;       ///< -s: bytes kept of each live frame
  std::uint32_t buffer_kib = 16384;     ///< -B: the kernel's capture buffer, KiB
  bool promiscuous = false;             ///< --promiscuous
  double interval_s = 10.0;             ///< --interval: the live summary line's period
};

/// The BPF expression: -f EXPR, or the words after FILE joined as tcpdump joins them (not both).
std::string filter_of(const AnalyzeArgs& args) {
  std::string joined;
  for (const auto& word : args.expression) joined += (joined.empty() ? "" : " ") + word;
  return args.filter.empty() ? joined : args.filter;
}

/// Writes and closes `out` (opened before the sandbox: it cannot open files).
bool write_file(std::FILE* out, const std::string& text) {
  const bool written = std::fwrite(text.data(), 1, text.size(), out) == text.size();
  return std::fclose(out) == 0 && written;
}

/// The capture to read: FILE, or standard input for "-" (as tcpdump -r -), through a descriptor of its own.
int open_capture(const std::string& file) {
  if (file != "-") return ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  return ::fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 0);
}

/// What the analysis reads and writes, opened before the privilege drop.
struct Opened {
  capture::CaptureReader reader;
  int in_fd = -1;
  std::FILE* svg = nullptr;  ///< --svg's file, when asked for
};

/// Opens the capture (and sets its filter) and the SVG: names in a filter are looked up here, as tcpdump
/// does, and only the file's header (pcapng: the blocks before the first packet) is read as root. An error is
/// printed; its exit code returned.
std::expected<Opened, int> open_all(const AnalyzeArgs& args, const analyze::AnalyzerConfig& config) {
  const int in_fd = open_capture(args.file);
  if (in_fd < 0) {
    // open() failed: the reader is handed the name for its usual message (nothing is parsed: it fails too).
    fmt::print(stderr, "synack analyze: {}\n", analyze::analyse_file(args.file, config, args.top).error);
    return std::unexpected(kExitFailure);
  }
  auto reader = capture::CaptureReader::open(in_fd, args.file);  // owns in_fd from here, also when it fails
  if (!reader) {
    fmt::print(stderr, "synack analyze: {}\n", reader.error().message);
    return std::unexpected(kExitFailure);
  }
  if (const std::string filter = filter_of(args); !filter.empty()) {
    if (auto set = reader->set_filter(filter); !set) {
      fmt::print(stderr, "synack analyze: --filter: '{}': {}\n", filter, set.error().message);
      return std::unexpected(kExitUsage);
    }
  }
  std::FILE* svg = nullptr;
  if (!args.svg.empty() && args.conn) {
    svg = std::fopen(args.svg.c_str(), "wbe");
    if (svg == nullptr) {
      fmt::print(stderr, "synack analyze: cannot write {}\n", args.svg);
      return std::unexpected(kExitFailure);
    }
  }
  return Opened{std::move(*reader), in_fd, svg};
}

/// `-i IFACE [EXPRESSION]`: with no FILE, the first word CLI11 took as FILE starts the expression.
int run_live(const AnalyzeArgs& args, const PrivilegeOptions& privileges) {
  if (args.ladder || args.conn) {
    fmt::print(
        stderr,
        "synack analyze: --ladder and --svg read a file, not a live capture (-w FILE, then read it)\n");
    return kExitUsage;
  }
  LiveArgs live;
  live.interface = args.interface;
  std::vector<std::string> words;
  if (!args.file.empty()) words.push_back(args.file);
  words.insert(words.end(), args.expression.begin(), args.expression.end());
  if (!words.empty() && !args.filter.empty()) {
    fmt::print(stderr, "synack analyze: --filter: give the expression once (-f or after the options)\n");
    return kExitUsage;
  }
  for (const auto& word : words) live.filter += (live.filter.empty() ? "" : " ") + word;
  if (live.filter.empty()) live.filter = args.filter;
  live.save = args.save;
  live.snaplen = args.snaplen;
  live.buffer_kib = args.buffer_kib;
  live.promiscuous = args.promiscuous;
  live.interval_s = args.interval_s;
  live.json = args.json;
  live.json_stream = args.json_stream;
  live.top = args.top;
  live.first = args.first;
  return run_live_analysis(live, privileges);
}

/// What the analysis records and whom it tells, from the command line. Installs the SIGINT/SIGTERM
/// handler (stop reading, report what was read, exit 130) before the sandbox.
analyze::AnalyzerConfig analyzer_config(const AnalyzeArgs& args) {
  analyze::AnalyzerConfig config;
  catch_interrupts();
  config.should_stop = [] { return interrupted(); };
  if (args.json_stream) {
    // Each connection's line as soon as its report is final; the summary line at the end.
    config.on_connection = [](const analyze::ConnectionReport& c) {
      fmt::print("{}\n", analyze::stream_connection_line(c));
      std::fflush(stdout);
    };
  }
  if (args.ladder) config.record_connections.push_back(*args.ladder);
  if (args.conn) config.record_connections.push_back(*args.conn);
  config.max_recorded_segments = args.ladder_limit;
  return config;
}

int print_outputs(const AnalyzeArgs& args, const analyze::FileReport& report, std::FILE* svg_out);

int run(const AnalyzeArgs& args, const PrivilegeOptions& privileges) {
  if (!args.interface.empty()) return run_live(args, privileges);
  if (args.file.empty()) {
    fmt::print(stderr, "synack analyze: FILE or -i INTERFACE is required\n");
    return kExitUsage;
  }
  if (!args.save.empty()) {
    fmt::print(stderr, "synack analyze: -w saves a live capture: it needs -i INTERFACE\n");
    return kExitUsage;
  }
  analyze::AnalyzerConfig config = analyzer_config(args);
  // Everything is opened first; then no root, no capabilities, and the seccomp sandbox before the first
  // frame of the capture is parsed (docs/security.md).
  auto opened = open_all(args, config);
  if (!opened) return opened.error();
  std::FILE* svg_out = opened->svg;
  sandbox::Policy policy;
  policy.io_fds = {opened->in_fd, STDOUT_FILENO, STDERR_FILENO};
  if (svg_out != nullptr) policy.io_fds.push_back(::fileno(svg_out));
  if (const int code = drop_privileges_and_sandbox("analyze", privileges, policy); code != kExitOk) {
    if (svg_out != nullptr) std::fclose(svg_out);
    return code;
  }
  const auto report = analyze::analyse_capture(std::move(opened->reader), args.file, config, args.top);
  using Status = analyze::FileReport::Status;
  // Open and damage errors name the file already (capture/pcap.hpp); an unsupported link type does not.
  if (report.status == Status::open_failed) {
    fmt::print(stderr, "synack analyze: {}\n", report.error);
    return kExitFailure;
  }
  if (report.status == Status::unsupported) {
    fmt::print(stderr, "synack analyze: {}: {}\n", args.file, report.error);
    return kExitFailure;
  }
  int code = report.status == Status::damaged       ? kExitPartial
             : report.status == Status::interrupted ? kExitInterrupted
                                                    : kExitOk;
  if (report.status == Status::damaged) {
    fmt::print(stderr, "synack analyze: {}; reporting what was read before the damage\n", report.error);
  }
  const int printed = print_outputs(args, report, svg_out);
  return printed != kExitOk ? printed : code;
}

/// The report (or the one ladder), the skipped-records note and the SVG: kExitOk, or kExitFailure when a
/// requested connection does not exist or the SVG cannot be written.
int print_outputs(const AnalyzeArgs& args, const analyze::FileReport& report, std::FILE* svg_out) {
  auto lookup = [&](std::uint64_t n) {
    const auto* c = analyze::find_connection(report.result, n);
    if (c == nullptr) {
      fmt::print(stderr, "synack analyze: no connection {} (the capture has {}; numbers start at 1)\n", n,
                 report.result.connections.size());
    }
    return c;
  };
  if (args.ladder && !args.json) {
    const auto* c = lookup(*args.ladder);
    if (c == nullptr) return kExitFailure;
    fmt::print("{}", analyze::render_ladder(*c, use_colour(args.colour, stdout)));
  } else {
    print_report({args.json, args.json_stream, args.top, args.first}, report);
  }
  if (report.records_dropped > 0) {
    fmt::print(stderr,
               "synack analyze: {}: {} packet record{} skipped (an interface the section does not "
               "declare, or a time out of range)\n",
               args.file, report.records_dropped, report.records_dropped == 1 ? "" : "s");
  }
  if (!args.svg.empty() && args.conn) {
    const auto* c = lookup(*args.conn);
    if (c == nullptr) return kExitFailure;
    if (svg_out == nullptr || !write_file(svg_out, analyze::render_svg(*c))) {
      fmt::print(stderr, "synack analyze: cannot write {}\n", args.svg);
      return kExitFailure;
    }
    fmt::print(stderr, "synack analyze: wrote connection {} to {}\n", *args.conn, args.svg);
  }
  return kExitOk;
}

}  // namespace

void register_analyze_command(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<AnalyzeArgs>();
  auto* sub = app.add_subcommand(
      "analyze", "Explain every TCP handshake in a pcap / pcapng capture, or live on an interface");
  sub->add_option(
      "FILE", args->file,
      "Capture file (pcap or pcapng; Ethernet, VLAN, SLL, SLL2, raw IP, loopback); '-' reads standard "
      "input. Not with -i");
  sub->add_option(
      "-i,--interface", args->interface,
      "Capture live on this interface (libpcap; needs CAP_NET_RAW, dropped once it is open): each "
      "handshake's verdict as soon as it is known, a summary line every --interval, the full "
      "report on SIGINT");
  sub->add_option("-w,--write", args->save, "With -i: also save every frame captured to this pcap file");
  sub->add_option("-s,--snaplen", args->snaplen, "With -i: bytes kept of each frame")
      ->capture_default_str()
      ->check(whole(64, 262144));
  sub->add_option("-B,--buffer-size", args->buffer_kib,
                  "With -i: the kernel's capture buffer in KiB (tcpdump's -B)")
      ->capture_default_str()
      ->check(whole(256, 1U << 21U));
  sub->add_flag("--promiscuous", args->promiscuous,
                "With -i: put the interface in promiscuous mode (off by default: this host's traffic only)");
  sub->add_option("--interval", args->interval_s,
                  "With -i: seconds between summary lines (handshakes/s, SYN→SYN-ACK p50/p99, failures); 0: "
                  "none")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 86400.0));
  auto* filter = sub->add_option(
      "-f,--filter", args->filter,
      "Analyse only the frames this BPF expression selects (tcpdump's syntax, pcap-filter(7)); "
      "the expression may also follow FILE, as tcpdump takes it");
  filter->excludes(sub->add_option("EXPRESSION", args->expression,
                                   "A BPF filter expression (the words after FILE), as tcpdump takes it"));
  auto* json =
      sub->add_flag("--json", args->json, "Print the JSON document of docs/json.md instead of the report");
  auto* stream = sub->add_flag("--json-stream", args->json_stream,
                               "One JSON line per connection as soon as its report is final, then a summary "
                               "line (docs/json.md)");
  stream->excludes(json);
  stream->excludes(sub->add_option("--ladder", args->ladder,
                                   "Draw connection N (1-based, as numbered in the report) as a ladder")
                       ->check(whole(1)));
  auto* svg =
      sub->add_option("--svg", args->svg, "Write an SVG sequence diagram of connection --conn N to FILE");
  auto* conn = sub->add_option("--conn", args->conn, "The connection --svg draws")->check(whole(1));
  svg->needs(conn);
  conn->needs(svg);
  sub->add_option("--top", args->top, "How many failing servers (and slowest connections) to list")
      ->check(whole(1, 100000));
  sub->add_option("--first", args->first, "How many connections to list in capture order")
      ->check(whole(0, 100000000));
  sub->add_option("--ladder-limit", args->ladder_limit,
                  "Segments --ladder and --svg draw (the connection is followed that far); a cut ladder "
                  "says so")
      ->capture_default_str()
      ->check(whole(1, 1'000'000));
  add_colour_option(sub, args->colour);
  auto privileges = add_privilege_options(sub);
  sub->footer(
      "Exit codes: 0 ok; 1 the file could not be opened, its link type is unsupported, or the connection "
      "asked for does not exist; 2 bad command line or a filter that does not compile; 3 the file is damaged "
      "(a report of what was read before the "
      "damage was printed); 130 SIGINT/SIGTERM stopped the reading (a report of what was read was printed). "
      "See docs/analyze.md.");
  sub->callback([args, privileges, &exit_code] { exit_code = run(*args, *privileges); });
}

}  // namespace synack::cli
