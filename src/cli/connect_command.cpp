// `synack connect HOST PORT`: connects from the synack stack on a TUN device to a server (the kernel's,
// typically), sends text or stdin, prints what comes back, closes; the exit code tells established (0),
// refused (4), timed out (5) and reset (6) apart (docs/cli.md).
#include "connect_command.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <string>
#include <vector>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "exit_codes.hpp"
#include "listen_command.hpp"
#include "numbers.hpp"
#include "privileges.hpp"
#include "synack/observe/json.hpp"
#include "synack/tcp/error.hpp"

namespace synack::cli {
namespace {

using tun_cli::TunSession;

struct ConnectOptions {
  tun_cli::TunOptions tun;
  std::string host;
  std::uint16_t port = 0;
  std::optional<std::string> send;
  bool from_stdin = false;
  std::uint32_t count = 1;
  bool json = false;         ///< one document at the end
  bool json_stream = false;  ///< one line per connection as it ends
  bool abort = false;
  double timeout_s = 60.0;
  double linger_s = 2.0;

  /// Standard output carries JSON only (no received bytes), the text goes nowhere.
  [[nodiscard]] bool machine_output() const noexcept { return json || json_stream; }
};

struct Outcome {
  int exit_code = kExitOk;
  observe::Json json = observe::document();
};

class Client {
 public:
  Client(TunSession& s, const ConnectOptions& o) : s_(s), o_(o), scratch_(std::size_t{64} * 1024) {}

  /// One connection to `remote`: connect, send, receive, close; what happened as text (stderr) and JSON.
  Outcome run_one(const wire::Endpoint& remote, bool& stdin_eof) {
    Outcome out;
    out.json["document"] = "connect";
    out.json["remote"] = remote.to_string();
    // The handshake's outcome and options (docs/json.md), replaced once known; "result" is how the run ended.
    out.json["outcome"] = observe::to_string(observe::Outcome::pending);
    out.json["negotiated"] = nullptr;
    Transfer t;
    if (!start(out, remote, t)) return out;
    for (std::uint64_t turn = 0; t.phase != Phase::done; ++turn) {
      const Next next = turn_once(out, t, stdin_eof);
      if (next == Next::failed) return out;
      if (next == Next::stop) break;
      if (next == Next::more && turn > 100'000'000) break;
    }
    finish(out, t);
    return out;
  }

  void set_stdin_watch(int w) { stdin_watch_ = w; }

 private:
  enum class Phase : std::uint8_t { connecting, open, done };
  /// What one turn of the loop asks for: another turn (`waiting`: still connecting), the end of the
  /// transfer (then its report), or an end already reported by fail().
  enum class Next : std::uint8_t { more, waiting, stop, failed };

  /// The state of one connection's run.
  struct Transfer {
    stack::ConnectionId id;
    wire::Endpoint remote;
    wire::FourTuple tuple;
    Instant started;
    Instant now;
    Phase phase = Phase::connecting;
    bool text_sent = false;
    bool shut = false;
    bool eof = false;
    bool closing = false;
    Instant close_started;
    std::vector<std::byte> pending;
    std::size_t pending_off = 0;
    std::uint64_t bytes_out = 0;
    std::uint64_t bytes_in = 0;
    tun_cli::Sha256 sha;
    std::string result = "established";
    int code = kExitOk;
    Instant data_deadline = Instant::max();
  };

  static Duration seconds(double s) {
    return std::chrono::duration_cast<Duration>(std::chrono::duration<double>(s));
  }

  /// Sends the SYN; false (after fail()) when the stack cannot connect there.
  bool start(Outcome& out, const wire::Endpoint& remote, Transfer& t) {
    t.now = link::monotonic_now();
    stack::ConnectOptions co;
    if (o_.tun.fast_open != 0 && o_.send) {
      // RFC 7413: --send's text is queued with the SYN (in it when a cookie is cached).
      co.data = std::as_bytes(std::span(o_.send->data(), o_.send->size()));
      t.text_sent = true;
      t.bytes_out += co.data.size();
    }
    co.fast_open = o_.tun.fast_open != 0;
    auto id = s_.stack->connect(t.now, wire::Endpoint{}, remote, co);
    if (!id) {
      const bool not_local = id.error() == tcp::Error::address_not_local;
      fail(out, kExitFailure,
           not_local ? fmt::format("no --addr of {}'s family", remote.to_string()) : id.error().message(),
           "error");
      return false;
    }
    t.id = *id;
    t.remote = remote;
    const auto first = s_.stack->info(*id);
    t.tuple = first ? first->tuple : wire::FourTuple{};
    out.json["local"] = t.tuple.local.to_string();
    t.started = t.now;
    if (!o_.machine_output())
      fmt::print(stderr, "connecting {} → {} …\n", t.tuple.local.to_string(), remote.to_string());
    return true;
  }

  /// One driver step and what follows from it.
  Next turn_once(Outcome& out, Transfer& t, bool& stdin_eof) {
    const int stdin_watch = o_.from_stdin ? stdin_watch_ : -1;
    const bool want_stdin =
        t.phase == Phase::open && o_.from_stdin && !stdin_eof && t.pending.empty() && !t.shut;
    if (stdin_watch >= 0) s_.driver->set_watch_enabled(stdin_watch, want_stdin);
    auto step = s_.driver->step(t.data_deadline);
    if (!step) {
      fail(out, kExitFailure, step.error(), "error");
      return Next::failed;
    }
    t.now = step->now;
    if (s_.signal_watch >= 0 && (step->watched & (1U << static_cast<unsigned>(s_.signal_watch))) != 0 &&
        s_.take_signal() != 0) {
      (void)s_.stack->abort(t.now, t.id);
      (void)s_.driver->flush(t.now);
      fail(out, kExitFailure, "interrupted", "interrupted");
      return Next::failed;
    }
    if (!drain_events(out, t)) return Next::failed;
    if (t.phase != Phase::open) return Next::waiting;
    if (t.now >= t.data_deadline) {
      (void)s_.stack->abort(t.now, t.id);
      (void)s_.driver->flush(t.now);
      t.result = "transfer_timeout";
      t.code = kExitFailure;
      return Next::stop;
    }
    const bool stdin_ready = (step->watched & (1U << static_cast<unsigned>(std::max(stdin_watch, 0)))) != 0;
    send_some(t, stdin_ready, stdin_eof);
    if (t.phase == Phase::done) return Next::stop;
    receive_some(t);
    if (closed(t)) {
      t.result = "closed";
      return Next::stop;
    }
    return Next::more;
  }

  /// The stack's events for this connection; false when one ended the run (already reported by fail()).
  bool drain_events(Outcome& out, Transfer& t) {
    for (int i = 0; i < 1024; ++i) {
      auto e = s_.stack->poll_event();
      if (!e) break;
      if (!(e->connection == t.id)) continue;
      switch (e->kind) {
        case stack::EventKind::established:
          t.phase = Phase::open;
          t.data_deadline = t.now + seconds(o_.timeout_s);
          report_established(out, t.id, t.tuple, t.started);
          break;
        case stack::EventKind::refused:
          report_syns(out, t.tuple, t.started);
          out.json["outcome"] = observe::to_string(observe::Outcome::refused);
          fail(out, kExitRefused, fmt::format("{} refused the connection (RST)", t.remote.to_string()),
               "refused");
          return false;
        case stack::EventKind::timed_out:
          report_syns(out, t.tuple, t.started);
          if (t.phase == Phase::connecting) {
            out.json["outcome"] = observe::to_string(observe::Outcome::timed_out);
            fail(out, kExitTimedOut,
                 fmt::format("no answer from {} after {} SYN retransmission(s) ({:.3f} s)",
                             t.remote.to_string(), o_.tun.syn_retries,
                             tun_cli::millis(t.now - t.started) / 1000.0),
                 "timed_out");
            return false;
          }
          t.result = "timed_out";
          t.code = kExitFailure;
          t.phase = Phase::done;
          break;
        case stack::EventKind::reset:
          if (t.phase == Phase::connecting) out.json["outcome"] = observe::to_string(observe::Outcome::reset);
          t.result = "reset";
          t.code = kExitReset;
          t.phase = Phase::done;
          break;
        case stack::EventKind::closed:
        case stack::EventKind::aborted:
          t.phase = Phase::done;
          break;
        default:
          break;
      }
    }
    return true;
  }

  /// Hands the stack what is pending, then the next piece of the source (--send, stdin); at the source's
  /// end closes the sending direction (or aborts, --abort).
  void send_some(Transfer& t, bool stdin_ready, bool& stdin_eof) {
    for (int round = 0; round < 64 && !t.shut; ++round) {
      if (t.pending_off < t.pending.size()) {
        auto sent = s_.stack->send(t.id, wire::Bytes(t.pending).subspan(t.pending_off));
        if (!sent) break;
        t.pending_off += *sent;
        t.bytes_out += *sent;
        if (t.pending_off < t.pending.size()) break;
      }
      t.pending.clear();
      t.pending_off = 0;
      if (o_.send && !t.text_sent) {
        const auto bytes = std::as_bytes(std::span(o_.send->data(), o_.send->size()));
        t.pending.assign(bytes.begin(), bytes.end());
        t.text_sent = true;
        continue;
      }
      if (o_.from_stdin && !stdin_eof && stdin_ready && round == 0) {
        const ssize_t n = ::read(STDIN_FILENO, scratch_.data(), scratch_.size());
        if (n > 0) {
          t.pending.assign(scratch_.begin(), scratch_.begin() + n);
          continue;
        }
        if (n == 0 || (errno != EAGAIN && errno != EINTR)) stdin_eof = true;
      }
      const bool source_done = (!o_.send || t.text_sent) && (!o_.from_stdin || stdin_eof);
      if (source_done) {
        if (o_.abort) {
          (void)s_.stack->abort(t.now, t.id);
          (void)s_.driver->flush(t.now);
          t.result = "aborted";
          t.phase = Phase::done;
        } else {
          (void)s_.stack->shutdown_write(t.now, t.id);
        }
        t.shut = true;
      }
      break;
    }
  }

  /// Takes what arrived: counted, hashed, and printed on stdout (unless --json).
  void receive_some(Transfer& t) {
    for (int round = 0; round < 64 && !t.eof; ++round) {
      auto n = s_.stack->recv(t.id, scratch_);
      if (!n) break;
      if (*n == 0) {
        t.eof = true;
        break;
      }
      const wire::Bytes got = wire::Bytes(scratch_).first(*n);
      t.bytes_in += *n;
      t.sha.update(got);
      if (!o_.machine_output()) {
        if (std::fwrite(got.data(), 1, got.size(), stdout) != got.size()) break;
      }
    }
  }

  /// Once both directions are finished: true at TIME-WAIT or CLOSED, or after --linger (bounded wait).
  bool closed(Transfer& t) {
    if (!t.eof || !t.shut) return false;
    if (!t.closing) {
      t.closing = true;
      t.close_started = t.now;
      t.data_deadline = t.now + seconds(o_.linger_s);
    }
    const auto info = s_.stack->info(t.id);
    return !info || info->state == tcp::State::time_wait || info->state == tcp::State::closed ||
           t.now - t.close_started >= seconds(o_.linger_s);
  }

  /// Closes (when the run ended well) and reports: the JSON's result and counts, the text's last line.
  void finish(Outcome& out, Transfer& t) {
    if (t.result == "closed" || t.result == "established") (void)s_.stack->close(t.now, t.id);
    (void)s_.driver->flush(t.now);
    std::fflush(stdout);
    out.json["result"] = t.result;
    out.json["bytes_sent"] = t.bytes_out;
    out.json["bytes_received"] = t.bytes_in;
    out.json["received_sha256"] = t.sha.hex_digest();
    out.json["exit_code"] = t.code;
    out.exit_code = t.code;
    if (!o_.machine_output()) {
      fmt::print(stderr, "{}: sent {} B, received {} B (sha256 {})\n", t.result, t.bytes_out, t.bytes_in,
                 out.json["received_sha256"].get<std::string>());
    }
  }

  Outcome& fail(Outcome& out, int code, const std::string& message, std::string_view result) {
    out.exit_code = code;
    out.json["result"] = result;
    out.json["message"] = message;
    out.json["exit_code"] = code;
    if (!o_.machine_output()) fmt::print(stderr, "synack connect: {}\n", message);
    return out;
  }

  void report_syns(Outcome& out, const wire::FourTuple& tuple, Instant started) {
    const tun_cli::Handshake* h = s_.log.find(tuple);
    nlohmann::json times = nlohmann::json::array();
    if (h != nullptr) {
      for (Instant t : h->our_syns) times.push_back(tun_cli::millis(t - started));
    }
    if (!o_.machine_output() && h != nullptr && h->our_syns.size() > 1) {
      std::string line;
      for (Instant t : h->our_syns) line += fmt::format(" +{:.3f}s", tun_cli::millis(t - started) / 1000.0);
      fmt::print(stderr, "SYNs sent at{}\n", line);
    }
    out.json["syn_times_ms"] = times;
    out.json["negotiated"] = observe::to_json(tun_cli::negotiated(h, false, tuple.local.address.version()));
  }

  void report_established(Outcome& out, stack::ConnectionId id, const wire::FourTuple& tuple,
                          Instant started) {
    const auto info = s_.stack->info(id);
    report_syns(out, tuple, started);
    if (!info) return;
    const tun_cli::Handshake* h = s_.log.find(tuple);
    const Duration took = info->established_at.value_or(started) - info->syn_sent_at.value_or(started);
    out.json["syn_to_established_ms"] = tun_cli::millis(took);
    out.json["isn"] = info->iss.raw();
    out.json["irs"] = info->irs.raw();
    out.json["syn_retransmits"] = info->syn_retransmits;
    out.json["outcome"] = observe::to_string(observe::Outcome::established);
    out.json["fast_open"] = tun_cli::fast_open_json(info->fast_open);
    if (!o_.machine_output()) {
      fmt::print(stderr, "established {} → {} in {:.3f} ms\n", tuple.local.to_string(),
                 tuple.remote.to_string(), tun_cli::millis(took));
      const observe::Negotiated n = tun_cli::negotiated(h, false, tuple.local.address.version());
      fmt::print(stderr, "  offered: synack <{}>  peer <{}>\n", tun_cli::describe(n.client),
                 tun_cli::describe(n.server));
      fmt::print(stderr, "  agreed:  {}\n", tun_cli::describe(n));
      if (info->fast_open.used) fmt::print(stderr, "  fast open: {}\n", tun_cli::describe(info->fast_open));
    }
  }

  TunSession& s_;
  const ConnectOptions& o_;
  std::vector<std::byte> scratch_;
  int stdin_watch_ = -1;
};

/// --json: the one connection's document, or with --count N one document holding N of them.
void print_document(observe::Json& connections) {
  if (connections.size() == 1) {
    fmt::print("{}\n", connections[0].dump());
  } else {
    observe::Json j = observe::document();
    j["document"] = "connect";
    for (auto& c : connections) {
      c.erase("schema");
      c.erase("document");
    }
    j["connections"] = std::move(connections);
    fmt::print("{}\n", j.dump());
  }
  std::fflush(stdout);
}

int run_connect(const ConnectOptions& o, const PrivilegeOptions& privileges) {
  auto host = wire::IpAddress::parse(o.host);
  if (!host) {
    fmt::print(stderr, "synack connect: '{}' is not an IP address (names are not resolved)\n", o.host);
    return kExitUsage;
  }
  if (o.send && o.from_stdin) {
    fmt::print(stderr, "synack connect: choose one of --send and --stdin\n");
    return kExitUsage;
  }
  auto session = tun_cli::open_session(o.tun);
  if (!session) {
    fmt::print(stderr, "synack connect: {}\n", session.error().message);
    return session.error().exit_code;
  }
  TunSession& s = **session;
  Client client(s, o);
  if (o.from_stdin) {
    client.set_stdin_watch(s.driver->watch(STDIN_FILENO, POLLIN));
  }
  // Everything privileged is open (device, namespace, pcap, signalfd): no root from here on.
  if (const int code = drop_privileges_and_sandbox("connect", privileges, tun_cli::sandbox_policy(s));
      code != kExitOk)
    return code;
  int exit_code = kExitOk;
  bool stdin_eof = false;
  observe::Json all = nlohmann::json::array();
  const std::uint32_t count = std::max<std::uint32_t>(o.count, 1);
  for (std::uint32_t i = 0; i < count; ++i) {
    Outcome outcome = client.run_one(wire::Endpoint{*host, o.port}, stdin_eof);
    outcome.json["number"] = i + 1;
    if (o.json_stream) {
      observe::Json line = observe::event("connection");
      line.update(outcome.json);
      line.erase("document");
      fmt::print("{}\n", line.dump());
      std::fflush(stdout);
    } else if (o.json) {
      all.push_back(std::move(outcome.json));
    }
    if (exit_code == kExitOk) exit_code = outcome.exit_code;
  }
  if (o.json) print_document(all);
  tun_cli::save_fast_open_cache(s);
  // Let the last FIN/ACK exchange leave the device (bounded).
  const Instant until = link::monotonic_now() + std::chrono::milliseconds(50);
  for (int i = 0; i < 100 && link::monotonic_now() < until; ++i) {
    if (!s.driver->step(until)) break;
  }
  return exit_code;
}

}  // namespace

void register_connect_command(CLI::App& app, int& exit_code) {
  auto options = std::make_shared<ConnectOptions>();
  auto* cmd =
      app.add_subcommand("connect", "Connect from the synack stack on a TUN device to a (kernel) server");
  tun_cli::add_tun_options(cmd, options->tun);
  auto privileges = add_privilege_options(cmd);
  cmd->add_option("HOST", options->host, "Server address (IPv4 or IPv6 literal)")->required();
  cmd->add_option("PORT", options->port, "Server port")->required()->check(whole(1, 65535));
  tun_cli::add_fast_open_connect_options(cmd, options->tun);
  cmd->add_option("--send", options->send, "Send this text, then close the sending direction");
  cmd->add_flag("--stdin", options->from_stdin, "Send standard input, then close the sending direction");
  cmd->add_option("--count", options->count, "Connections to make, one after another")
      ->capture_default_str()
      ->check(whole(1, 100000));
  auto* json = cmd->add_flag("--json", options->json,
                             "One JSON document on stdout once done: the connection's, or with --count N one "
                             "holding N (received bytes not printed)");
  cmd->add_flag("--json-stream", options->json_stream,
                "One JSON object per line on stdout as each connection ends (received bytes not printed)")
      ->excludes(json);
  cmd->add_flag("--abort", options->abort, "Reset the connection (RST) after sending instead of closing it");
  cmd->add_option("--timeout", options->timeout_s, "Seconds allowed for the transfer after the handshake")
      ->capture_default_str()
      ->check(real(0.001, 86400.0));
  cmd->callback([options, privileges, &exit_code] { exit_code = run_connect(*options, *privileges); });
}

}  // namespace synack::cli
