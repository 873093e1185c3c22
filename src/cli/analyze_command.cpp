#include "analyze_command.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <fmt/core.h>

#include "exit_codes.hpp"
#include "numbers.hpp"
#include "privileges.hpp"
#include "synack/analyze/report.hpp"
#include "terminal.hpp"

namespace synack::cli {
namespace {

struct AnalyzeArgs {
  std::string file;
  bool json = false;
  std::optional<std::uint64_t> ladder;
  std::string svg;
  std::optional<std::uint64_t> conn;
  std::size_t top = 10;
  std::size_t first = 20;
  ColourMode colour = ColourMode::automatic;
  std::size_t ladder_limit = 32;  ///< segments recorded for --ladder / --svg
};

/// Writes and closes `out` (opened before the sandbox: it cannot open files).
bool write_file(std::FILE* out, const std::string& text) {
  const bool written = std::fwrite(text.data(), 1, text.size(), out) == text.size();
  return std::fclose(out) == 0 && written;
}

/// The capture to read: FILE, or standard input for "-" (as tcpdump -r -), through a descriptor of its own.
std::FILE* open_capture(const std::string& file) {
  if (file != "-") return std::fopen(file.c_str(), "rbe");
  const int fd = ::fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 0);
  if (fd < 0) return nullptr;
  std::FILE* in = ::fdopen(fd, "rb");
  if (in == nullptr) ::close(fd);
  return in;
}

int run(const AnalyzeArgs& args, const PrivilegeOptions& privileges) {
  analyze::AnalyzerConfig config;
  if (args.ladder) config.record_connections.push_back(*args.ladder);
  if (args.conn) config.record_connections.push_back(*args.conn);
  config.max_recorded_segments = args.ladder_limit;
  // The capture and the SVG are opened first; then no root, no capabilities, and the seccomp sandbox
  // before the first byte of the capture is parsed (docs/security.md).
  std::FILE* in = open_capture(args.file);
  std::FILE* svg_out = nullptr;
  if (in != nullptr && !args.svg.empty() && args.conn) {
    svg_out = std::fopen(args.svg.c_str(), "wbe");
    if (svg_out == nullptr) {
      std::fclose(in);
      fmt::print(stderr, "synack analyze: cannot write {}\n", args.svg);
      return kExitFailure;
    }
  }
  if (in != nullptr) {
    sandbox::Policy policy;
    policy.io_fds = {::fileno(in), STDOUT_FILENO, STDERR_FILENO};
    if (svg_out != nullptr) policy.io_fds.push_back(::fileno(svg_out));
    if (const int code = drop_privileges_and_sandbox("analyze", privileges, policy); code != kExitOk) {
      std::fclose(in);
      if (svg_out != nullptr) std::fclose(svg_out);
      return code;
    }
  }
  // A file fopen() cannot open is handed to libpcap by name, for the same message as always (nothing is
  // parsed: it fails to open there too).
  // analyse_file() owns `in` from here: libpcap closes it with the reader, PcapReader::open() when the
  // open fails. The analyzer cannot see into either, so it would report `in` as leaked below.
  // NOLINTBEGIN(clang-analyzer-unix.Stream)
  const auto report = in != nullptr ? analyze::analyse_file(in, args.file, config, args.top)
                                    : analyze::analyse_file(args.file, config, args.top);
  using Status = analyze::FileReport::Status;
  // Open and damage errors name the file already (capture/pcap.hpp); an unsupported link type does not.
  if (report.status == Status::open_failed) {
    fmt::print(stderr, "synack analyze: {}\n", report.error);
    return kExitFailure;
  }
  // NOLINTEND(clang-analyzer-unix.Stream)
  if (report.status == Status::unsupported) {
    fmt::print(stderr, "synack analyze: {}: {}\n", args.file, report.error);
    return kExitFailure;
  }
  int code = report.status == Status::damaged ? kExitPartial : kExitOk;
  if (report.status == Status::damaged) {
    fmt::print(stderr, "synack analyze: {}; reporting what was read before the damage\n", report.error);
  }
  auto lookup = [&](std::uint64_t n) {
    const auto* c = analyze::find_connection(report.result, n);
    if (c == nullptr) {
      fmt::print(stderr, "synack analyze: no connection {} (the capture has {}; numbers start at 1)\n", n,
                 report.result.connections.size());
    }
    return c;
  };
  if (args.json) {
    analyze::write_json(report,
                        [](std::string_view piece) { std::fwrite(piece.data(), 1, piece.size(), stdout); });
    std::fputc('\n', stdout);
  } else if (args.ladder) {
    const auto* c = lookup(*args.ladder);
    if (c == nullptr) return kExitFailure;
    fmt::print("{}", analyze::render_ladder(*c, use_colour(args.colour, stdout)));
  } else {
    analyze::TextOptions text;
    text.top = args.top;
    text.worst = args.top;
    text.first = args.first;
    fmt::print("{}", analyze::render_text(report, text));
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
  return code;
}

}  // namespace

void register_analyze_command(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<AnalyzeArgs>();
  auto* sub = app.add_subcommand("analyze", "Explain every TCP handshake in a pcap / pcapng capture");
  sub->add_option(
         "FILE", args->file,
         "Capture file (pcap or pcapng; Ethernet, VLAN, SLL, SLL2, raw IP, loopback); '-' reads standard "
         "input")
      ->required();
  sub->add_flag("--json", args->json, "Print the JSON document of docs/json.md instead of the report");
  sub->add_option("--ladder", args->ladder,
                  "Draw connection N (1-based, as numbered in the report) as a ladder")
      ->check(whole(1));
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
      "asked "
      "for does not exist; 2 bad command line; 3 the file is damaged (a report of what was read before the "
      "damage was printed). See docs/analyze.md.");
  sub->callback([args, privileges, &exit_code] { exit_code = run(*args, *privileges); });
}

}  // namespace synack::cli
