#include "analyze_live.hpp"

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <expected>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "exit_codes.hpp"
#include "interrupt.hpp"
#include "synack/analyze/report.hpp"
#include "synack/capture/live.hpp"
#include "synack/observe/json.hpp"
#include "synack/wire/link_layer.hpp"

namespace synack::cli {
namespace {

using analyze::Timestamp;

Timestamp wall_clock() noexcept {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
}

/// "14:03:05.123456" (UTC) for a capture timestamp.
std::string clock_text(Timestamp t) {
  const auto ns = t.count();
  const auto day_s = (ns / 1'000'000'000) % 86400;
  return fmt::format("{:02}:{:02}:{:02}.{:06}", day_s / 3600, (day_s / 60) % 60, day_s % 60,
                     (ns % 1'000'000'000) / 1000);
}

/// What the periodic summary line counts: the verdicts told since the last line.
struct Interval {
  Timestamp started{};
  std::uint64_t verdicts = 0;
  std::uint64_t total = 0;
  std::array<std::uint64_t, observe::kAllOutcomes.size()> outcomes{};
  std::vector<double> syn_to_synack;

  void count(const analyze::ConnectionReport& c) {
    ++verdicts;
    ++total;
    ++outcomes[static_cast<std::size_t>(c.outcome)];
    if (c.syn_to_synack_ms) syn_to_synack.push_back(*c.syn_to_synack_ms);
  }
  [[nodiscard]] std::uint64_t of(observe::Outcome o) const { return outcomes[static_cast<std::size_t>(o)]; }
};

/// The periodic line: handshakes per second, p50/p99 SYN→SYN-ACK, outcomes (failures by reason).
std::string interval_line(Interval& in, Timestamp now, bool json) {
  const double seconds = std::max(1e-9, static_cast<double>((now - in.started).count()) / 1e9);
  const auto d = analyze::distribution_of(in.syn_to_synack);
  const double rate = static_cast<double>(in.verdicts) / seconds;
  if (json) {
    auto line = observe::event("interval");
    line["time_ns"] = now.count();
    line["seconds"] = analyze::round_ms(seconds * 1000.0) / 1000.0;
    line["handshakes"] = in.verdicts;
    line["handshakes_per_s"] = std::round(rate * 10.0) / 10.0;
    auto ms = [](const std::optional<double>& v) {
      return v ? nlohmann::ordered_json(analyze::round_ms(*v)) : nlohmann::ordered_json(nullptr);
    };
    line["syn_to_synack_ms"] = {{"count", d.count}, {"p50", ms(d.p50)}, {"p99", ms(d.p99)}};
    nlohmann::ordered_json outcomes = nlohmann::ordered_json::object();
    for (auto o : observe::kAllOutcomes) {
      if (o != observe::Outcome::pending) outcomes[std::string(observe::to_string(o))] = in.of(o);
    }
    line["outcomes"] = outcomes;
    line["total"] = in.total;
    return line.dump();
  }
  auto ms = [](const std::optional<double>& v) { return v ? fmt::format("{:.3f}", *v) : std::string("-"); };
  return fmt::format(
      "-- {}  {:.1f} handshakes/s ({} in {:.1f} s, {} in all)  SYN→SYN-ACK p50 {} ms p99 {} ms  "
      "failures: refused {}, timed_out {}, reset {}",
      clock_text(now), rate, in.verdicts, seconds, in.total, ms(d.p50), ms(d.p99),
      in.of(observe::Outcome::refused), in.of(observe::Outcome::timed_out), in.of(observe::Outcome::reset));
}

/// One verdict as a text line: number, endpoints, outcome, SYN→SYN-ACK, the reason.
std::string verdict_text(const analyze::ConnectionReport& c, Timestamp decided) {
  std::string line = fmt::format("{}  {:>6}  {} → {}  {:<17}", clock_text(decided), c.number,
                                 c.client.to_string(), c.server.to_string(), observe::to_string(c.outcome));
  if (c.syn_to_synack_ms) line += fmt::format("  SYN→SYN-ACK {:.3f} ms", *c.syn_to_synack_ms);
  line += fmt::format("  {}", c.reason.text());
  for (const auto& a : c.anomalies) line += fmt::format("  ! {}", a);
  return line;
}

/// Opens the interface, its filter and the -w file while still privileged. Prints errors.
std::expected<capture::LiveCapture, int> open_live(const LiveArgs& args) {
  capture::LiveOptions options;
  options.snaplen = args.snaplen;
  options.promiscuous = args.promiscuous;
  options.buffer_bytes = args.buffer_kib * 1024U;
  auto live = capture::LiveCapture::open(args.interface, options);
  if (!live) {
    fmt::print(stderr, "synack analyze: -i {}\n", live.error().message);
    return std::unexpected(kExitUnavailable);
  }
  if (!wire::is_supported_linktype(live->linktype())) {
    fmt::print(stderr, "synack analyze: -i {}: unsupported link type {} ({})\n", args.interface,
               live->linktype(), live->linktype_name());
    return std::unexpected(kExitFailure);
  }
  if (!args.filter.empty()) {
    if (auto set = live->set_filter(args.filter); !set) {
      fmt::print(stderr, "synack analyze: --filter: '{}': {}\n", args.filter, set.error().message);
      return std::unexpected(kExitUsage);
    }
  }
  if (!args.save.empty()) {
    if (auto saved = live->save_to(args.save); !saved) {
      fmt::print(stderr, "synack analyze: -w {}\n", saved.error().message);
      return std::unexpected(kExitFailure);
    }
  }
  return std::move(*live);
}

}  // namespace

void print_report(const ReportFormat& format, const analyze::FileReport& report) {
  if (format.json_stream) {
    fmt::print("{}\n", analyze::stream_summary_line(report));
  } else if (format.json) {
    analyze::write_json(report,
                        [](std::string_view piece) { std::fwrite(piece.data(), 1, piece.size(), stdout); });
    std::fputc('\n', stdout);
  } else {
    analyze::TextOptions text;
    text.top = format.top;
    text.worst = format.top;
    text.first = format.first;
    fmt::print("{}", analyze::render_text(report, text));
  }
  std::fflush(stdout);
}

int run_live_analysis(const LiveArgs& args, const PrivilegeOptions& privileges) {
  catch_interrupts();
  auto live = open_live(args);
  if (!live) return live.error();
  // No root, no capabilities, and the seccomp sandbox before the first frame is parsed: reading the ring
  // needs only poll() and memory; -w writes to a file already open (docs/security.md).
  sandbox::Policy policy;
  policy.io_fds = {STDOUT_FILENO, STDERR_FILENO};
  if (live->save_fd() >= 0) policy.io_fds.push_back(live->save_fd());
  if (const int code = drop_privileges_and_sandbox("analyze", privileges, policy); code != kExitOk) {
    live->leave_open();
    return code;
  }
  // The line scripts wait for, as for tcpdump's "listening on".
  fmt::print(stderr, "synack analyze: capturing on {} (link type {}), snaplen {}{}; Ctrl-C for the report\n",
             args.interface, live->linktype_name(), args.snaplen, args.promiscuous ? ", promiscuous" : "");
  const bool json_lines = args.json_stream;
  Interval interval;
  interval.started = wall_clock();
  analyze::AnalyzerConfig config;
  config.on_verdict = [&](const analyze::ConnectionReport& c, Timestamp decided) {
    interval.count(c);
    if (json_lines) {
      fmt::print("{}\n", analyze::stream_verdict_line(c, decided, wall_clock()));
    } else if (!args.json) {
      fmt::print("{}\n", verdict_text(c, decided));
    }
  };
  if (json_lines) {
    config.on_connection = [](const analyze::ConnectionReport& c) {
      fmt::print("{}\n", analyze::stream_connection_line(c));
    };
  }
  analyze::Analyzer analyzer(config);
  const std::uint32_t linktype = live->linktype();
  const auto tick = std::chrono::nanoseconds(static_cast<std::int64_t>(args.interval_s * 1e9));
  Timestamp next_tick = interval.started + tick;
  analyze::FileReport report;
  report.file = args.interface;
  report.linktype = linktype;
  report.linktype_name = std::string(live->linktype_name());
  pollfd wait{live->selectable_fd(), POLLIN, 0};
  while (!interrupted()) {
    // 20 ms: a timed-out handshake is told within that of its deadline even when no packet comes.
    (void)::poll(&wait, 1, 20);
    auto frames = live->dispatch(
        [&](const capture::LiveFrame& f) { analyzer.add_frame(linktype, f.timestamp, f.data, f.origlen); });
    if (!frames) {
      report.status = analyze::FileReport::Status::damaged;
      report.error = fmt::format("{}: {}", args.interface, frames.error().message);
      fmt::print(stderr, "synack analyze: {}\n", report.error);
      break;
    }
    const Timestamp now = wall_clock();
    analyzer.advance(now);
    if (tick.count() > 0 && now >= next_tick) {
      const auto line = interval_line(interval, now, json_lines);
      if (json_lines) {
        fmt::print("{}\n", line);
      } else if (!args.json) {
        fmt::print(stderr, "{}\n", line);
      }
      interval = Interval{now, 0, interval.total, {}, {}};
      next_tick = now + tick;
    }
    std::fflush(stdout);
  }
  (void)live->flush();
  report.frames = live->frames();
  report.result = analyzer.finish(args.top);
  print_report({args.json, args.json_stream, args.top, args.first}, report);
  live->leave_open();  // closing the ring needs setsockopt(), which the sandbox forbids; exit frees it
  return report.status == analyze::FileReport::Status::ok ? kExitOk : kExitFailure;
}

}  // namespace synack::cli
