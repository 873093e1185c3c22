#include "sim_command.hpp"

#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <expected>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include <fmt/core.h>

#include "exit_codes.hpp"
#include "interrupt.hpp"
#include "link_flags.hpp"
#include "log_flags.hpp"
#include "numbers.hpp"
#include "synack/sim/render.hpp"
#include "synack/sim/scenario.hpp"
#include "synack/sim/simulation.hpp"
#include "synack/tcp/syn_cookie.hpp"
#include "terminal.hpp"

namespace synack::cli {
namespace {

/// The most spoofed SYNs one run sends (--syn-rate x --flood-duration): about a minute of CPU.
constexpr double kMaxAttackSyns = 10e6;

struct SimArgs {
  std::string scenario = "normal";
  LinkFlags link;  ///< --pcap, --seed, --loss, --delay, --jitter, --dup, --reorder, --corrupt
  LogFlags log;    ///< -v: both stacks' transitions and drops on stderr
  std::optional<std::uint32_t> connections;
  bool json = false;
  bool json_stream = false;
  bool absolute = false;
  bool list = false;
  std::string bandwidth;  ///< "V" for both directions or "C2S,S2C" (client->server, server->client)
  std::optional<double> aqm_threshold_ms;  ///< --aqm-threshold: CE-mark (or drop Not-ECT) past this backlog
  std::string client_ecn, server_ecn;      ///< --ecn, --server-ecn
  std::optional<std::uint16_t> client_mss, server_mss;
  bool no_wscale = false, no_sack = false, no_timestamps = false;
  bool server_no_wscale = false, server_no_sack = false, server_no_timestamps = false;
  std::string server_mode;
  std::vector<std::uint32_t> drop_syn;
  bool drop_synack = false;
  bool drop_final_ack = false;
  std::vector<std::uint32_t> corrupt_segment;
  std::optional<std::size_t> ladders;
  bool quiet = false;  ///< -q: no ladders, only the summary
  std::optional<std::uint32_t> request;
  std::optional<std::uint32_t> buffer_kib;
  // Listener under attack.
  std::optional<double> interval_ms;
  std::optional<double> connect_timeout_s;
  std::string syn_cookies;
  std::optional<std::uint32_t> syn_queue;
  std::optional<double> syn_rate;
  std::optional<double> flood_duration_s;
  ColourMode colour = ColourMode::automatic;
  std::size_t ladder_limit = 0;  ///< segments per ladder; 0 draws all
};

/// The scenario with the command line's overrides applied.
sim::SimConfig make_config(const SimArgs& a, sim::SimConfig c) {
  apply_impairments(a.link, c.to_server, c.to_client);
  if (const auto bw = parse_per_direction(a.bandwidth, 0.0, 1e12)) {
    c.to_server.bandwidth_bps = static_cast<std::uint64_t>(std::llround(bw->first));
    c.to_client.bandwidth_bps = static_cast<std::uint64_t>(std::llround(bw->second));
  }
  if (a.aqm_threshold_ms)
    c.to_server.aqm_threshold = c.to_client.aqm_threshold = from_ms(*a.aqm_threshold_ms);
  if (const auto m = tcp::parse_ecn_mode(a.client_ecn)) c.client.ecn = *m;
  if (const auto m = tcp::parse_ecn_mode(a.server_ecn)) c.server.ecn = *m;
  using Match = sim::ScriptRule::Match;
  for (const auto n : a.drop_syn) c.to_server.script.push_back({Match::nth_syn, n, sim::Fate::dropped});
  if (a.drop_synack) c.to_client.script.push_back({Match::every_syn_ack, 1, sim::Fate::dropped});
  if (a.drop_final_ack) c.to_server.script.push_back({Match::final_ack, 1, sim::Fate::dropped});
  for (const auto n : a.corrupt_segment)
    c.to_server.script.push_back({Match::nth_segment, n, sim::Fate::corrupted});
  if (a.client_mss) c.client.mss = *a.client_mss;
  if (a.server_mss) c.server.mss = *a.server_mss;
  if (a.no_wscale) c.client.window_scaling = false;
  if (a.no_sack) c.client.sack = false;
  if (a.no_timestamps) c.client.timestamps = false;
  if (a.server_no_wscale) c.server.window_scaling = false;
  if (a.server_no_sack) c.server.sack = false;
  if (a.server_no_timestamps) c.server.timestamps = false;
  if (!a.server_mode.empty()) {
    if (const auto m = sim::parse_server_mode(a.server_mode)) c.server_mode = *m;
  }
  if (a.connections) c.connections = *a.connections;
  if (a.interval_ms) c.stagger = from_ms(*a.interval_ms);
  if (a.connect_timeout_s) c.connect_timeout = from_ms(*a.connect_timeout_s * 1000.0);
  if (!a.syn_cookies.empty()) c.syn_cookies = tcp::parse_syn_cookie_mode(a.syn_cookies);
  if (a.syn_queue) c.syn_queue = a.syn_queue;
  if (c.flood && a.syn_rate) c.flood->syn_rate = *a.syn_rate;
  if (c.flood && a.flood_duration_s) c.flood->duration = from_ms(*a.flood_duration_s * 1000.0);
  if (a.request) c.request_bytes = *a.request;
  if (a.buffer_kib) {
    for (sim::HostOptions* h : {&c.client, &c.server})
      h->send_buffer = h->recv_buffer = *a.buffer_kib * 1024U;
  }
  return c;
}

/// A progress line on stderr (a terminal only), at most ten updates a second.
class Progress {
 public:
  explicit Progress(bool enabled) : enabled_(enabled) {}
  void update(std::uint64_t done, std::uint64_t total) {
    if (!enabled_) return;
    const auto now = std::chrono::steady_clock::now();
    if (done < total && now - last_ < std::chrono::milliseconds(100)) return;
    last_ = now;
    const double pct = total == 0 ? 100.0 : 100.0 * static_cast<double>(done) / static_cast<double>(total);
    fmt::print(stderr, "\rsynack sim: {}/{} connections ({:.1f} %)", done, total, pct);
    std::fflush(stderr);
    shown_ = true;
  }
  void finish() {
    if (shown_) fmt::print(stderr, "\n");
  }

 private:
  bool enabled_;
  bool shown_ = false;
  std::chrono::steady_clock::time_point last_{};
};

/// The first legitimate client whose SYN was answered with a cookie; without one, the first that failed.
void print_cookie_ladder(std::FILE* out, const sim::RunResult& result, const sim::LadderOptions& ladder) {
  const auto has_cookie = [](const sim::ConnectionResult& c) {
    return std::ranges::any_of(c.segments, [](const sim::SegmentTrace& s) { return s.syn_cookie; });
  };
  const auto it = std::ranges::find_if(result.connections, has_cookie);
  if (it != result.connections.end()) {
    fmt::print(out, "\nA legitimate client's handshake through a SYN cookie:\n{}",
               sim::render_ladder(*it, ladder));
    return;
  }
  const auto failed = std::ranges::find_if(result.connections, [](const sim::ConnectionResult& c) {
    return c.outcome != observe::Outcome::established;
  });
  if (failed != result.connections.end()) {
    fmt::print(out, "\nNo SYN cookie was sent; a legitimate client that did not connect:\n{}",
               sim::render_ladder(*failed, ladder));
  }
}

/// The scenario with the command line applied, or the exit code of a refusal (already printed).
std::expected<sim::SimConfig, int> configure(const SimArgs& args) {
  auto base = sim::scenario_config(args.scenario, args.link.seed);
  if (!base) {
    fmt::print(stderr, "synack sim: unknown scenario '{}'; 'synack sim --list' shows them\n", args.scenario);
    return std::unexpected(kExitUsage);
  }
  if (!base->flood && (args.syn_rate || args.flood_duration_s)) {
    fmt::print(stderr, "synack sim: {} needs the syn-flood scenario\n",
               args.syn_rate ? "--syn-rate" : "--flood-duration");
    return std::unexpected(kExitUsage);
  }
  if (args.link.pcap == "-" && (args.json || args.json_stream)) {
    fmt::print(stderr,
               "synack sim: --pcap - writes the capture to stdout, where {} would go; run "
               "'synack sim --help' for usage\n",
               args.json ? "--json" : "--json-stream");
    return std::unexpected(kExitUsage);
  }
  sim::SimConfig config = make_config(args, std::move(*base));
  if (config.flood && config.flood->syn_rate * std::chrono::duration<double>(config.flood->duration).count() >
                          kMaxAttackSyns) {
    fmt::print(stderr, "synack sim: --syn-rate x --flood-duration is more than {} SYNs\n", kMaxAttackSyns);
    return std::unexpected(kExitUsage);
  }
  return config;
}

/// The text report: to stdout, or to stderr when stdout carries the capture (--pcap -).
void print_report(std::FILE* out, const SimArgs& args, const sim::SimConfig& config,
                  const sim::RunResult& result, std::size_t ladder_limit, bool cookie_ladder) {
  const bool colour = use_colour(args.colour, out);
  sim::LadderOptions ladder;
  ladder.colour = colour;
  ladder.absolute = args.absolute;
  ladder.limit = args.ladder_limit;
  fmt::print(
      out, "synack sim: scenario {}, seed {}, server {}\n", result.scenario, result.seed,
      config.simultaneous_open ? "connects too (simultaneous open)" : sim::to_string(config.server_mode));
  fmt::print(out, "  link c>s: {}\n  link s>c: {}\n", sim::describe_impairments(config.to_server),
             sim::describe_impairments(config.to_client));
  for (std::size_t i = 0; i < result.connections.size() && i < ladder_limit; ++i) {
    fmt::print(out, "\n{}", sim::render_ladder(result.connections[i], ladder));
  }
  if (cookie_ladder) print_cookie_ladder(out, result, ladder);
  if (result.flood) fmt::print(out, "\n{}", sim::render_flood(result));
  if (config.connections > 1 || ladder_limit == 0)
    fmt::print(out, "\n{}", sim::render_summary(result, colour));
}

int run(const SimArgs& args) {
  if (args.list) {
    for (const auto& s : sim::scenarios()) fmt::print("{:<18} {}\n", s.name, s.description);
    return kExitOk;
  }
  auto configured = configure(args);
  if (!configured) return configured.error();
  sim::SimConfig config = std::move(*configured);
  // A flood draws one ladder by default: a client's handshake the listener answered with a cookie.
  const bool cookie_ladder = config.flood && !args.ladders && !args.quiet;
  const std::size_t ladder_limit =
      args.quiet ? 0
                 : args.ladders.value_or(config.connections <= 10 && !config.flood ? config.connections : 0);
  config.record_segments = args.json || (!args.json_stream && (ladder_limit > 0 || cookie_ladder));
  config.keep_connections = config.record_segments;  // the summary is counted as the run goes

  std::optional<sim::PcapRecorder> pcap;
  if (!args.link.pcap.empty()) {
    auto opened = sim::PcapRecorder::open(args.link.pcap);  // "-": standard output
    if (!opened) {
      fmt::print(stderr, "synack sim: cannot write {}\n", opened.error());  // "PATH: why"
      return kExitFailure;
    }
    pcap.emplace(std::move(*opened));
  }

  Progress progress(config.connections > 1 && ::isatty(STDERR_FILENO) == 1);
  sim::SimObserver observer;
  if (pcap) observer.on_datagram = [&](Instant at, wire::Bytes d) { pcap->record(at, d); };
  if (args.json_stream) {
    observer.on_segment = [](std::uint32_t conn, const sim::SegmentTrace& s) {
      fmt::print("{}\n", sim::stream_segment_line(conn, s));
    };
    observer.on_connection = [](const sim::ConnectionResult& c) {
      fmt::print("{}\n", sim::stream_connection_line(c));
    };
  }
  observer.on_progress = [&](std::uint64_t done, std::uint64_t total) { progress.update(done, total); };
  catch_interrupts();  // SIGINT/SIGTERM: stop, then report what was done (exit 130)
  observer.should_stop = [] { return interrupted(); };
  observer.on_log = log_printer(args.log);
  const sim::RunResult result = sim::run(config, observer);
  progress.finish();

  int code = result.interrupted ? kExitInterrupted : kExitOk;
  if (pcap) {
    const std::uint64_t frames = pcap->frames();
    if (auto closed = pcap->close(); !closed) {
      fmt::print(stderr, "synack sim: cannot write {}: {}\n", args.link.pcap, closed.error());
      code = kExitFailure;
    } else if (!args.json && !args.json_stream) {
      fmt::print(stderr, "synack sim: wrote {} segments to {}\n", frames,
                 args.link.pcap == "-" ? "standard output" : args.link.pcap);
    }
  }
  if (args.json) {
    fmt::print("{}\n", sim::run_json(result).dump(2));
  } else if (args.json_stream) {
    fmt::print("{}\n", sim::stream_summary_line(result));
  } else {
    print_report(args.link.pcap == "-" ? stderr : stdout, args, config, result, ladder_limit, cookie_ladder);
  }
  return code;
}

/// The simulated link's own impairments (the shared ones are add_link_flags'): --bandwidth, --drop-syn.
void add_impairment_options(CLI::App* sub, SimArgs& args) {
  sub->add_option("--bandwidth", args.bandwidth, "Link rate in bits per second, 0 = unlimited (or C2S,S2C)")
      ->check(per_direction(0.0, 1e12, "C2S,S2C"));
  sub->add_option(
         "--aqm-threshold", args.aqm_threshold_ms,
         "With --bandwidth: past this queue (MS of backlog) mark ECN-capable segments CE and drop the "
         "others (RFC 3168 §5); default none")
      ->check(CLI::Range(0.001, 60000.0));
  sub->add_option("--ecn", args.client_ecn,
                  "The client's ECN: off, passive, on (asks for RFC 3168 ECN in its SYN) or accecn (asks for "
                  "Accurate ECN, RFC 9768)")
      ->check(CLI::IsMember({"off", "passive", "on", "accecn"}));
  sub->add_option(
         "--server-ecn", args.server_ecn,
         "The server's ECN: off, passive (default: agrees to RFC 3168 ECN), on, or accecn (agrees to "
         "Accurate ECN too)")
      ->check(CLI::IsMember({"off", "passive", "on", "accecn"}));
  sub->add_option("--drop-syn", args.drop_syn, "Drop the client's Nth SYN (repeatable)")
      ->allow_extra_args(false)
      ->check(whole(1U, 100U));
}

}  // namespace

void register_sim_command(CLI::App& app, int& exit_code) {
  auto a = std::make_shared<SimArgs>();
  auto* sub =
      app.add_subcommand("sim", "Watch handshakes in a deterministic simulated network (virtual time)");
  sub->add_option("SCENARIO", a->scenario,
                  "normal, lossy, dead-server, closed-port, simultaneous-open, "
                  "mss-mismatch, no-options, tiny-backlog, tfo-hostile, syn-flood (see --list)")
      ->capture_default_str();
  sub->add_flag("--list", a->list, "List the scenarios and exit");
  sub->add_option("--connections", a->connections, "Run N connections and print a summary")
      ->check(whole(1U, 10'000'000U));
  auto* json = sub->add_flag("--json", a->json, "Print one JSON document (docs/json.md)");
  auto* stream = sub->add_flag("--json-stream", a->json_stream, "Print one JSON object per line per event");
  json->excludes(stream);
  sub->add_flag("--absolute", a->absolute, "Absolute sequence numbers in the ladder (relative by default)");
  auto* ladders =
      sub->add_option("--ladders", a->ladders, "Draw the first N connections (default: all when at most 10)")
          ->check(whole(0, 10'000'000));
  sub->add_flag("-q,--quiet", a->quiet, "No ladders: only the summary (as --ladders 0)")->excludes(ladders);
  add_link_flags(sub, a->link, LinkKind::simulated);
  add_log_flags(sub, a->log);
  add_impairment_options(sub, *a);
  sub->add_flag("--drop-synack", a->drop_synack, "Drop every SYN-ACK");
  sub->add_flag("--drop-final-ack", a->drop_final_ack, "Drop the handshake's final ACK");
  sub->add_option("--corrupt-segment", a->corrupt_segment, "Corrupt the client's Nth segment (repeatable)")
      ->allow_extra_args(false)
      ->check(whole(1U, 1000000U));
  sub->add_option("--client-mss", a->client_mss, "MSS the client announces")->check(whole(88, 65495));
  sub->add_option("--server-mss", a->server_mss, "MSS the server announces")->check(whole(88, 65495));
  sub->add_flag("--no-wscale", a->no_wscale, "The client does not offer window scaling");
  sub->add_flag("--no-sack", a->no_sack, "The client does not offer SACK");
  sub->add_flag("--no-timestamps", a->no_timestamps, "The client does not offer timestamps");
  sub->add_flag("--server-no-wscale", a->server_no_wscale, "The server does not agree to window scaling");
  sub->add_flag("--server-no-sack", a->server_no_sack, "The server does not agree to SACK");
  sub->add_flag("--server-no-timestamps", a->server_no_timestamps, "The server does not agree to timestamps");
  sub->add_option("--request", a->request, "Bytes the client sends once established (shows resets)")
      ->check(whole(0U, 65536U));
  sub->add_option("--buffer-kib", a->buffer_kib,
                  "Send and receive buffer per connection and host, KiB (default 256; sets the window)")
      ->check(whole(1U, 16384U));
  sub->add_option("--server-mode", a->server_mode, "listen, closed, dead or tiny-backlog")
      ->check(CLI::IsMember({"listen", "closed", "dead", "tiny-backlog"}));
  sub->add_option("--interval", a->interval_ms, "Time between successive client connects, ms")
      ->check(real(0.0, 3.6e6));
  sub->add_option("--connect-timeout", a->connect_timeout_s,
                  "A client gives up a connect not established after S seconds (syn-flood: 3)")
      ->check(real(0.001, 3600.0));
  sub->add_option("--syn-cookies", a->syn_cookies, "The server's SYN-cookie policy (default when-full)")
      ->check(CLI::IsMember({"never", "when-full", "always"}));
  sub->add_option("--syn-queue", a->syn_queue, "The server's SYN-queue bound (syn-flood: 256)")
      ->check(whole(1U, 1U << 20U));
  sub->add_option("--syn-rate", a->syn_rate, "syn-flood: spoofed SYNs per second (default 5000)")
      ->check(real(1.0, 1e6));
  sub->add_option("--flood-duration", a->flood_duration_s,
                  "syn-flood: seconds the attacker sends (default 10)")
      ->check(real(0.001, 600.0));
  sub->footer(
      "Exit codes: 0 the run completed, whatever its outcomes; 1 the pcap could not be written; 2 bad "
      "command line; 130 SIGINT/SIGTERM stopped it (what was done is reported). Colour only on a terminal; "
      "NO_COLOR is respected. See docs/sim.md.");
  sub->add_option("--ladder-limit", a->ladder_limit,
                  "Segments drawn per ladder (default 0: all); a cut ladder says how many were left out")
      ->check(whole(0, 10'000'000));
  add_colour_option(sub, a->colour);
  sub->callback([a, &exit_code] { exit_code = run(*a); });
}

}  // namespace synack::cli
