// `synack listen`: a synack server on a TUN device, talking to the Linux kernel's TCP (docs/tun.md). The
// TUN session it shares with `connect`, `demo` and `forward` is tun_session.cpp.
#include "listen_command.hpp"

#include <malloc.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <string>
#include <utility>

#include <fmt/core.h>
#include <fmt/format.h>

#include "commands.hpp"
#include "exit_codes.hpp"
#include "listen_report.hpp"
#include "numbers.hpp"
#include "privileges.hpp"
#include "synack/observe/json.hpp"
#include "usage.hpp"

namespace synack::cli {

// ---- synack listen --------------------------------------------------------------------------------

namespace {

using tun_cli::grouped;
using tun_cli::quantile;
using tun_cli::TunSession;

enum class Mode : std::uint8_t { echo, discard, http };

struct ListenOptions {
  tun_cli::TunOptions tun;
  std::vector<std::uint16_t> ports;
  bool echo = false;
  bool discard = false;
  bool http = false;
  std::uint32_t backlog = 0;
  bool json = false;  ///< one document at exit (the summary), nothing before it
  bool json_stream = false;
  bool quiet = false;
  bool sha256 = false;
  std::uint32_t lines_per_second = 20;
  std::string syn_cookies = "when-full";  ///< --syn-cookies, parsed into tun.syn_cookies before the run
};

/// One accepted connection and what the application does with it. Kept in a table indexed by the stack's
/// slot index (ConnectionId::index), so an event finds its connection without a search; the generation
/// tells a stale record from a newer connection in the same slot.
struct ServerConn {
  stack::ConnectionId id;
  wire::FourTuple tuple;
  std::vector<std::byte> pending;  ///< bytes waiting for send-buffer space (echo, http)
  std::size_t pending_off = 0;
  std::string request;  ///< http: the request head read so far
  bool in_use = false;
  bool queued = false;   ///< in the pump's work list
  bool printed = false;  ///< its `established` line was printed (then its end line is too)
  bool responded = false;
  bool eof = false;
  std::uint64_t bytes_in = 0;
  std::uint64_t bytes_out = 0;
  std::optional<tun_cli::Sha256> sha;  ///< only with --sha256
};

constexpr std::string_view kHttpPage =
    "<!doctype html>\n<html><head><title>synack</title></head>\n<body><h1>Hello from synack</h1>\n"
    "<p>This page came over a userspace TCP/IP stack.</p></body></html>\n";

constexpr Duration kInterval = std::chrono::seconds(1);
/// Connect-time samples kept per interval for its percentiles (beyond it the interval's rest is unsampled).
constexpr std::size_t kMaxSamples = 1U << 16U;

class Server {
 public:
  Server(TunSession& session, const ListenOptions& options, Mode mode,
         std::vector<stack::ListenerId> listeners)
      : s_(session),
        o_(options),
        mode_(mode),
        listeners_(std::move(listeners)),
        scratch_(std::size_t{64} * 1024) {
    samples_.reserve(kMaxSamples);
  }

  /// Starts the first interval at `now`.
  void start(Instant now) {
    start_ = now;
    interval_start_ = now;
    line_window_ = now;
  }

  /// When the caller should wake up for the next interval line (Instant::max() when idle).
  [[nodiscard]] Instant wake_by() const {
    return (o_.quiet || !interval_active()) ? Instant::max() : interval_start_ + kInterval;
  }

  void on_event(Instant now, const stack::Event& e) {
    switch (e.kind) {
      case stack::EventKind::acceptable:
        while (auto id = s_.stack->accept(e.listener)) on_accept(now, *id);
        break;
      case stack::EventKind::readable:
      case stack::EventKind::writable:
      case stack::EventKind::peer_closed:
        if (ServerConn* c = find(e.connection)) enqueue(*c);
        break;
      case stack::EventKind::reset:
      case stack::EventKind::timed_out:
      case stack::EventKind::aborted:
        end_by_stack(now, e.connection, e.kind);
        break;
      case stack::EventKind::closed:
        // We closed it (pump) and dropped our record then; the stack released it by itself.
        if (ServerConn* c = find(e.connection)) end(*c, stack::EventKind::closed);
        break;
      default:
        break;
    }
  }

  /// Moves bytes for the connections that had an event (or were left with work); bounded per call.
  void pump(Instant now) {
    work_.swap(active_);
    for (const std::uint32_t index : work_) {
      ServerConn& c = conns_[index];
      c.queued = false;
      if (!c.in_use) continue;
      pump_one(now, c);
    }
    work_.clear();
  }

  /// After each step: the peak, and the interval line when one is due.
  void after_step(Instant now) {
    peak_ = std::max(peak_, s_.stack->connection_count());
    if (now < interval_start_ + kInterval) return;
    if (interval_active() && !o_.quiet) print_interval(now);
    // Connections ended: give the memory of their buffers back to the system (glibc keeps freed heap
    // pages otherwise), so a server's RSS follows its live connections. Once a second at most.
    if (interval_.closed + interval_.reset + interval_.timed_out + interval_.aborted > 0) ::malloc_trim(0);
    interval_start_ = now;
    interval_ = {};
    samples_.clear();
  }

  void summary(int signal) const {
    ListenSummary sum{.signal = signal,
                      .accepted = accepted_,
                      .open = open_,
                      .bytes_in = total_in_,
                      .bytes_out = total_out_,
                      .totals = totals_,
                      .peak = peak_,
                      .suppressed = suppressed_total_,
                      .json = o_.json_stream || o_.json,
                      .document = o_.json,
                      .listeners = {}};
    for (std::size_t i = 0; i < listeners_.size(); ++i) {
      if (const auto l = s_.stack->listener_info(listeners_[i])) sum.listeners.emplace_back(o_.ports[i], *l);
    }
    print_listen_summary(s_, sum);
  }

  /// SIGUSR1: the current counters to stderr, one block (one JSON line with --json-stream).
  void dump_counters(Instant now) const {
    tun_cli::dump_counters(s_, "listen", std::chrono::duration<double>(now - start_).count(), o_.json_stream);
  }

  /// Flushes what this step printed (once per step, not per line).
  void flush_output() {
    if (printed_) std::fflush(stdout);
    printed_ = false;
  }

 private:
  using Counts = ListenCounts;

  [[nodiscard]] bool interval_active() const {
    return interval_.handshakes + interval_.closed + interval_.reset + interval_.timed_out +
               interval_.aborted >
           0;
  }

  ServerConn* find(stack::ConnectionId id) {
    if (id.index >= conns_.size()) return nullptr;
    ServerConn& c = conns_[id.index];
    return c.in_use && c.id == id ? &c : nullptr;
  }

  void enqueue(ServerConn& c) {
    if (c.queued) return;
    c.queued = true;
    active_.push_back(c.id.index);
  }

  /// Whether this connection's lines are printed: up to --lines-per-second new connections per second.
  bool take_line(Instant now) {
    if (o_.quiet) return false;
    if (o_.lines_per_second == 0) return true;
    if (now >= line_window_ + kInterval) {
      line_window_ = now;
      lines_in_window_ = 0;
    }
    if (lines_in_window_ >= o_.lines_per_second) return false;
    ++lines_in_window_;
    return true;
  }

  void on_accept(Instant now, stack::ConnectionId id) {
    const auto info = s_.stack->info(id);
    if (!info) return;
    ++accepted_;
    ++interval_.handshakes;
    const tun_cli::Handshake* h = s_.log.find(info->tuple);
    const Instant started = h != nullptr && h->peer_syn_at
                                ? *h->peer_syn_at
                                : info->syn_sent_at.value_or(info->established_at.value_or(now));
    const Duration took = info->established_at.value_or(now) - started;
    if (samples_.size() < kMaxSamples) samples_.push_back(took);
    const bool print = take_line(now);
    if (!print) {
      ++interval_.suppressed;
      ++suppressed_total_;
    } else if (o_.json_stream) {
      const observe::Negotiated n = tun_cli::negotiated(h, true, info->tuple.local.address.version());
      observe::Json j = observe::event("established");
      j["number"] = accepted_;
      j["peer"] = info->tuple.remote.to_string();
      j["local"] = info->tuple.local.to_string();
      j["syn_to_established_ms"] = tun_cli::millis(took);
      j["isn"] = info->iss.raw();
      j["irs"] = info->irs.raw();
      j["synack_retransmits"] = info->synack_retransmits;
      j["outcome"] = observe::to_string(observe::Outcome::established);
      j["negotiated"] = observe::to_json(n);
      j["fast_open"] = tun_cli::fast_open_json(info->fast_open);
      fmt::print("{}\n", j.dump());
    } else {
      fmt::print("established {} → {} in {:.3f} ms{}\n", info->tuple.remote.to_string(),
                 info->tuple.local.to_string(), tun_cli::millis(took),
                 info->synack_retransmits > 0
                     ? fmt::format(" ({} SYN-ACK retransmissions)", info->synack_retransmits)
                     : "");
      const observe::Negotiated n = tun_cli::negotiated(h, true, info->tuple.local.address.version());
      fmt::print("  offered: peer <{}>  synack <{}>\n", tun_cli::describe(n.client),
                 tun_cli::describe(n.server));
      fmt::print("  agreed:  {}\n", tun_cli::describe(n));
      if (info->fast_open.used) fmt::print("  fast open: {}\n", tun_cli::describe(info->fast_open));
    }
    printed_ = printed_ || print;
    s_.log.erase(info->tuple);

    if (id.index >= conns_.size()) conns_.resize(std::max<std::size_t>(id.index + 1, conns_.size() * 2));
    ServerConn& c = conns_[id.index];
    // A record still here belongs to an older connection in this slot whose end we have not seen (the
    // stack released it after our close()): it has ended.
    if (c.in_use) end(c, stack::EventKind::closed);
    c.id = id;
    c.tuple = info->tuple;
    c.pending.clear();
    c.pending_off = 0;
    c.request.clear();
    c.in_use = true;
    c.printed = print;
    c.responded = false;
    c.eof = false;
    c.bytes_in = 0;
    c.bytes_out = 0;
    if (o_.sha256) {
      c.sha.emplace();
    } else {
      c.sha.reset();
    }
    ++open_;
    enqueue(c);  // the final ACK may have carried data or FIN
  }

  /// The stack ended the connection (reset, timed out, aborted): report it and give the id back, so the
  /// stack frees the slot now (it keeps a connection until its user closes it).
  void end_by_stack(Instant now, stack::ConnectionId id, stack::EventKind kind) {
    if (ServerConn* c = find(id)) end(*c, kind);
    (void)s_.stack->abort(now, id);  // the connection is CLOSED already: no RST, only the release
  }

  /// Reports the end and drops the record.
  void end(ServerConn& c, stack::EventKind kind) {
    switch (kind) {
      case stack::EventKind::reset:
        ++totals_.reset;
        ++interval_.reset;
        break;
      case stack::EventKind::timed_out:
        ++totals_.timed_out;
        ++interval_.timed_out;
        break;
      case stack::EventKind::aborted:
        ++totals_.aborted;
        ++interval_.aborted;
        break;
      default:
        ++totals_.closed;
        ++interval_.closed;
        break;
    }
    if (c.printed) report(c, std::string(stack::to_string(kind)));
    c.in_use = false;
    c.pending = {};
    c.request = {};
    c.sha.reset();
    --open_;
  }

  /// Moves bytes for one connection (at most 64 reads); closes it when the application is done with it.
  void pump_one(Instant now, ServerConn& c) {
    for (int round = 0; round < 64; ++round) {
      if (c.pending_off < c.pending.size()) {
        auto sent = s_.stack->send(c.id, wire::Bytes(c.pending).subspan(c.pending_off));
        if (!sent) return;  // its end arrives as an event
        c.pending_off += *sent;
        c.bytes_out += *sent;
        total_out_ += *sent;
        if (c.pending_off < c.pending.size()) return;  // wait for `writable`
        c.pending.clear();
        c.pending_off = 0;
      }
      if (c.eof || (mode_ == Mode::http && c.responded)) {
        (void)s_.stack->close(now, c.id);
        end(c, stack::EventKind::closed);
        return;
      }
      auto n = s_.stack->recv(c.id, scratch_);
      if (!n) return;  // would_block: the next `readable` brings it back; an error: its event follows
      if (*n == 0) {
        c.eof = true;
        continue;
      }
      const wire::Bytes got = wire::Bytes(scratch_).first(*n);
      c.bytes_in += *n;
      total_in_ += *n;
      if (c.sha) c.sha->update(got);
      switch (mode_) {
        case Mode::discard:
          break;
        case Mode::echo: {
          auto sent = s_.stack->send(c.id, got);
          const std::size_t accepted = sent ? *sent : 0;
          c.bytes_out += accepted;
          total_out_ += accepted;
          c.pending.assign(got.begin() + static_cast<std::ptrdiff_t>(accepted), got.end());
          c.pending_off = 0;
          break;
        }
        case Mode::http:
          if (c.request.size() < 16384) {
            c.request.append(reinterpret_cast<const char*>(got.data()),
                             std::min<std::size_t>(got.size(), 16384));
          }
          if (!c.responded &&
              (c.request.find("\r\n\r\n") != std::string::npos || c.request.size() >= 16384)) {
            const bool get = c.request.starts_with("GET ") || c.request.starts_with("HEAD ");
            const std::string body = get ? std::string(kHttpPage) : std::string("only GET is served here\n");
            const std::string head = fmt::format(
                "HTTP/1.0 {}\r\nServer: synack\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: "
                "close\r\n\r\n",
                get ? "200 OK" : "405 Method Not Allowed", get ? "text/html" : "text/plain", body.size());
            const std::string response = head + (c.request.starts_with("HEAD ") ? "" : body);
            const auto bytes = std::as_bytes(std::span(response.data(), response.size()));
            c.pending.assign(bytes.begin(), bytes.end());
            c.pending_off = 0;
            c.responded = true;
          }
          break;
      }
    }
    enqueue(c);  // more to read than one turn's share: come back next turn
  }

  void report(ServerConn& c, const std::string& how) {
    const std::optional<std::string> sha = c.sha ? std::optional(c.sha->hex_digest()) : std::nullopt;
    if (o_.json_stream) {
      observe::Json j = observe::event(how);
      j["peer"] = c.tuple.remote.to_string();
      j["local"] = c.tuple.local.to_string();
      j["bytes_received"] = c.bytes_in;
      j["bytes_sent"] = c.bytes_out;
      j["received_sha256"] = sha ? nlohmann::json(*sha) : nlohmann::json(nullptr);
      fmt::print("{}\n", j.dump());
    } else {
      fmt::print("{:<11} {} → {}: received {} B{}, sent {} B\n", how, c.tuple.remote.to_string(),
                 c.tuple.local.to_string(), c.bytes_in, sha ? fmt::format(" (sha256 {})", *sha) : "",
                 c.bytes_out);
    }
    printed_ = true;
  }

  void print_interval(Instant now) {
    const double seconds = std::chrono::duration<double>(now - interval_start_).count();
    const std::uint64_t ended = interval_.closed + interval_.reset + interval_.timed_out + interval_.aborted;
    const Duration p50 = quantile(samples_, 0.50);
    const Duration p90 = quantile(samples_, 0.90);
    const Duration p99 = quantile(samples_, 0.99);
    const Duration max = samples_.empty() ? Duration::zero() : *std::ranges::max_element(samples_);
    if (o_.json_stream) {
      observe::Json j = observe::event("interval");
      j["seconds"] = seconds;
      j["handshakes"] = interval_.handshakes;
      j["handshakes_per_second"] = static_cast<double>(interval_.handshakes) / seconds;
      j["connect_ms"] = {{"p50", tun_cli::millis(p50)},
                         {"p90", tun_cli::millis(p90)},
                         {"p99", tun_cli::millis(p99)},
                         {"max", tun_cli::millis(max)},
                         {"samples", samples_.size()}};
      j["ends"] = {{"closed", interval_.closed},
                   {"reset", interval_.reset},
                   {"timed_out", interval_.timed_out},
                   {"aborted", interval_.aborted}};
      j["live_connections"] = s_.stack->connection_count();
      j["lines_suppressed"] = interval_.suppressed;
      fmt::print("{}\n", j.dump());
    } else {
      std::string line =
          fmt::format("{} handshakes in the last {:.2f} s", grouped(interval_.handshakes), seconds);
      if (!samples_.empty()) {
        line += fmt::format(", connect p50 {:.3f} ms p90 {:.3f} ms p99 {:.3f} ms max {:.3f} ms",
                            tun_cli::millis(p50), tun_cli::millis(p90), tun_cli::millis(p99),
                            tun_cli::millis(max));
      }
      line += fmt::format("; {} ended ({} reset", grouped(ended), grouped(interval_.reset));
      if (interval_.timed_out > 0) line += fmt::format(", {} timed out", grouped(interval_.timed_out));
      if (interval_.aborted > 0) line += fmt::format(", {} aborted", grouped(interval_.aborted));
      line += fmt::format("); {} live", grouped(s_.stack->connection_count()));
      if (interval_.suppressed > 0) {
        line +=
            fmt::format("; {} connections not printed (--lines-per-second)", grouped(interval_.suppressed));
      }
      fmt::print("{}\n", line);
    }
    printed_ = true;
  }

  TunSession& s_;
  const ListenOptions& o_;
  Mode mode_;
  std::vector<stack::ListenerId> listeners_;  ///< one per --port, in order
  std::vector<std::byte> scratch_;
  std::vector<ServerConn> conns_;      ///< by ConnectionId::index; grows with the stack's slot pool
  std::vector<std::uint32_t> active_;  ///< connections to pump (an event, or work left over)
  std::vector<std::uint32_t> work_;
  std::size_t open_ = 0;
  std::uint64_t accepted_ = 0;
  std::uint64_t total_in_ = 0;
  std::uint64_t total_out_ = 0;
  Counts totals_;
  Counts interval_;
  std::uint64_t suppressed_total_ = 0;
  std::vector<Duration> samples_;  ///< connect times (peer SYN to ESTABLISHED) of this interval
  Instant interval_start_;
  Instant start_;  ///< when listening began
  Instant line_window_;
  std::uint32_t lines_in_window_ = 0;
  std::size_t peak_ = 0;
  bool printed_ = false;
};

int run_listen(const ListenOptions& o, const PrivilegeOptions& privileges) {
  if (static_cast<int>(o.echo) + static_cast<int>(o.discard) + static_cast<int>(o.http) > 1) {
    fmt::print(stderr, "synack listen: choose one of --echo, --discard, --http\n");
    return kExitUsage;
  }
  const Mode mode = o.discard ? Mode::discard : o.http ? Mode::http : Mode::echo;
  auto session = tun_cli::open_session(o.tun);
  if (!session) {
    fmt::print(stderr, "synack listen: {}\n", session.error().message);
    return session.error().exit_code;
  }
  TunSession& s = **session;
  if (s.signal_fd >= 0) {
    // SIGUSR1 prints the counters and listening goes on: added to the session's signalfd (listen only).
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGUSR1);
    if (::sigprocmask(SIG_BLOCK, &signals, nullptr) == 0) (void)::signalfd(s.signal_fd, &signals, 0);
  }
  // Everything privileged is open (device, namespace, pcap, signalfd): no root from here on.
  if (const int code = drop_privileges_and_sandbox("listen", privileges, sandbox_policy(s)); code != kExitOk)
    return code;
  std::vector<stack::ListenerId> listeners;
  for (std::uint16_t port : o.ports) {
    auto id = s.stack->listen({wire::IpAddress{}, port}, {o.backlog, std::nullopt, o.tun.fast_open});
    if (!id) {
      fmt::print(stderr, "synack listen: port {}: {}\n", port, id.error().message());
      return kExitFailure;
    }
    listeners.push_back(*id);
  }
  const std::string_view mode_name = mode == Mode::echo ? "echo" : mode == Mode::discard ? "discard" : "http";
  if (o.json_stream || !o.quiet) print_listening(s, o.ports, mode_name, o.json_stream);

  // --quiet prints no handshake: the segment observer (the offered options and the peer's SYN time for
  // the per-connection and per-second lines) would only cost time.
  if (o.quiet) s.stack->set_observer({});
  Server server(s, o, mode, std::move(listeners));
  server.start(link::monotonic_now());
  for (;;) {
    auto step = s.driver->step(server.wake_by());
    if (!step) {
      fmt::print(stderr, "synack listen: {}\n", step.error());
      return kExitFailure;
    }
    if (s.signal_watch >= 0 && (step->watched & (1U << static_cast<unsigned>(s.signal_watch))) != 0) {
      const int sig = s.take_signal();
      if (sig == SIGUSR1) {
        server.dump_counters(step->now);
      } else if (sig != 0) {
        server.flush_output();
        server.summary(sig);
        return kExitOk;
      }
    }
    while (auto e = s.stack->poll_event()) server.on_event(step->now, *e);
    server.pump(step->now);
    server.after_step(step->now);
    server.flush_output();
  }
}

}  // namespace

void register_listen_command(CLI::App& app, int& exit_code) {
  auto options = std::make_shared<ListenOptions>();
  auto* cmd = app.add_subcommand("listen", "A synack server on a TUN device, for kernel (or any) clients");
  tun_cli::add_tun_options(cmd, options->tun);
  tun_cli::add_fast_open_listen_option(cmd, options->tun);
  auto privileges = add_privilege_options(cmd);
  cmd->add_option("--port", options->ports, "Port to listen on (repeatable: --port 80 --port 443)")
      ->required()
      ->allow_extra_args(false)
      ->check(whole(1, 65535));
  auto* echo = cmd->add_flag("--echo", options->echo, "Echo received bytes back (the default)");
  auto* discard = cmd->add_flag("--discard", options->discard, "Read and drop received bytes");
  auto* http = cmd->add_flag("--http", options->http, "Answer any GET with a small HTML page");
  echo->excludes(discard)->excludes(http);
  discard->excludes(http);
  cmd->add_option("--backlog", options->backlog, "Accept-queue length (0: the engine's default)")
      ->check(whole(0, 1U << 20U));
  cmd->add_option(
         "--syn-cookies", options->syn_cookies,
         "SYN cookies: never, when-full (only while the SYN queue is full, as Linux's default) or always "
         "(no half-open state at all)")
      ->check(CLI::IsMember({"never", "when-full", "always"}))
      ->capture_default_str();
  cmd->add_option("--syn-queue", options->tun.syn_queue,
                  "Half-open connections kept at once per listener (1-1048576; default 65536); past it "
                  "SYNs get cookies or prune the oldest retransmitted entry")
      ->check(whole(1U, tcp::kMaxSynQueue));
  auto* stream = cmd->add_flag("--json-stream", options->json_stream, "One JSON object per line per event");
  cmd->add_flag("--json", options->json,
                "One JSON document on stdout when the run ends (the summary; nothing printed before it)")
      ->excludes(stream);
  cmd->add_flag("-q,--quiet", options->quiet,
                "No per-connection or per-second lines: only the summary (and, with --json-stream, the "
                "listening event)");
  cmd->add_flag("--sha256", options->sha256, "SHA-256 of each connection's received bytes in its end line");
  cmd->add_option("--lines-per-second", options->lines_per_second,
                  "Connections printed per second (established and end lines); the rest are counted in the "
                  "per-second summary line; 0 prints all")
      ->capture_default_str()
      ->check(whole(0, 1'000'000'000));
  cmd->callback([options, privileges, &exit_code] {
    if (options->json) options->quiet = true;  // stdout carries the one document
    options->tun.syn_cookies =
        tcp::parse_syn_cookie_mode(options->syn_cookies).value_or(tcp::SynCookieMode::when_full);
    exit_code = run_listen(*options, *privileges);
  });
}

}  // namespace synack::cli
