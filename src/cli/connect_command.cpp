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
  bool json = false;
  bool abort = false;
  double timeout_s = 60.0;
  double linger_s = 2.0;
};

struct Outcome {
  int exit_code = kExitOk;
  observe::Json json = observe::document();
};

class Client {
 public:
  Client(TunSession& s, const ConnectOptions& o) : s_(s), o_(o), scratch_(std::size_t{64} * 1024) {}

  Outcome run_one(const wire::Endpoint& remote, bool& stdin_eof) {
    Outcome out;
    out.json["document"] = "connect";
    out.json["remote"] = remote.to_string();
    // The handshake's outcome and options (docs/json.md), replaced once known; "result" is how the run ended.
    out.json["outcome"] = observe::to_string(observe::Outcome::pending);
    out.json["negotiated"] = nullptr;
    Instant now = link::monotonic_now();
    auto id = s_.stack->connect(now, wire::Endpoint{}, remote);
    if (!id) {
      const bool not_local = id.error() == tcp::Error::address_not_local;
      return fail(
          out, kExitFailure,
          not_local ? fmt::format("no --addr of {}'s family", remote.to_string()) : id.error().message(),
          "error");
    }
    const auto first = s_.stack->info(*id);
    const wire::FourTuple tuple = first ? first->tuple : wire::FourTuple{};
    out.json["local"] = tuple.local.to_string();
    const Instant started = now;
    if (!o_.json) fmt::print(stderr, "connecting {} → {} …\n", tuple.local.to_string(), remote.to_string());

    enum class Phase : std::uint8_t { connecting, open, done };
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
    const int stdin_watch = o_.from_stdin ? stdin_watch_ : -1;
    Instant data_deadline = Instant::max();

    for (std::uint64_t turn = 0; phase != Phase::done; ++turn) {
      const bool want_stdin = phase == Phase::open && o_.from_stdin && !stdin_eof && pending.empty() && !shut;
      if (stdin_watch >= 0) s_.driver->set_watch_enabled(stdin_watch, want_stdin);
      auto step = s_.driver->step(data_deadline);
      if (!step) return fail(out, kExitFailure, step.error(), "error");
      now = step->now;
      if (s_.signal_watch >= 0 && (step->watched & (1U << static_cast<unsigned>(s_.signal_watch))) != 0 &&
          s_.take_signal() != 0) {
        (void)s_.stack->abort(now, *id);
        (void)s_.driver->flush(now);
        return fail(out, kExitFailure, "interrupted", "interrupted");
      }
      for (int i = 0; i < 1024; ++i) {
        auto e = s_.stack->poll_event();
        if (!e) break;
        if (!(e->connection == *id)) continue;
        switch (e->kind) {
          case stack::EventKind::established:
            phase = Phase::open;
            data_deadline =
                now + std::chrono::duration_cast<Duration>(std::chrono::duration<double>(o_.timeout_s));
            report_established(out, *id, tuple, started);
            break;
          case stack::EventKind::refused:
            report_syns(out, tuple, started);
            out.json["outcome"] = observe::to_string(observe::Outcome::refused);
            return fail(out, kExitRefused, fmt::format("{} refused the connection (RST)", remote.to_string()),
                        "refused");
          case stack::EventKind::timed_out:
            report_syns(out, tuple, started);
            if (phase == Phase::connecting) {
              out.json["outcome"] = observe::to_string(observe::Outcome::timed_out);
              return fail(out, kExitTimedOut,
                          fmt::format("no answer from {} after {} SYN retransmission(s) ({:.3f} s)",
                                      remote.to_string(), o_.tun.syn_retries,
                                      tun_cli::millis(now - started) / 1000.0),
                          "timed_out");
            }
            result = "timed_out";
            code = kExitFailure;
            phase = Phase::done;
            break;
          case stack::EventKind::reset:
            if (phase == Phase::connecting) out.json["outcome"] = observe::to_string(observe::Outcome::reset);
            result = "reset";
            code = kExitReset;
            phase = Phase::done;
            break;
          case stack::EventKind::closed:
          case stack::EventKind::aborted:
            phase = Phase::done;
            break;
          default:
            break;
        }
      }
      if (phase != Phase::open) continue;
      if (now >= data_deadline) {
        (void)s_.stack->abort(now, *id);
        (void)s_.driver->flush(now);
        result = "transfer_timeout";
        code = kExitFailure;
        break;
      }
      // --- send ---
      for (int round = 0; round < 64 && !shut; ++round) {
        if (pending_off < pending.size()) {
          auto sent = s_.stack->send(*id, wire::Bytes(pending).subspan(pending_off));
          if (!sent) break;
          pending_off += *sent;
          bytes_out += *sent;
          if (pending_off < pending.size()) break;
        }
        pending.clear();
        pending_off = 0;
        if (o_.send && !text_sent) {
          const auto bytes = std::as_bytes(std::span(o_.send->data(), o_.send->size()));
          pending.assign(bytes.begin(), bytes.end());
          text_sent = true;
          continue;
        }
        if (o_.from_stdin && !stdin_eof &&
            (step->watched & (1U << static_cast<unsigned>(std::max(stdin_watch, 0)))) != 0 && round == 0) {
          const ssize_t n = ::read(STDIN_FILENO, scratch_.data(), scratch_.size());
          if (n > 0) {
            pending.assign(scratch_.begin(), scratch_.begin() + n);
            continue;
          }
          if (n == 0 || (errno != EAGAIN && errno != EINTR)) stdin_eof = true;
        }
        const bool source_done = (!o_.send || text_sent) && (!o_.from_stdin || stdin_eof);
        if (source_done) {
          if (o_.abort) {
            (void)s_.stack->abort(now, *id);
            (void)s_.driver->flush(now);
            result = "aborted";
            phase = Phase::done;
          } else {
            (void)s_.stack->shutdown_write(now, *id);
          }
          shut = true;
        }
        break;
      }
      if (phase == Phase::done) break;
      // --- receive ---
      for (int round = 0; round < 64 && !eof; ++round) {
        auto n = s_.stack->recv(*id, scratch_);
        if (!n) break;
        if (*n == 0) {
          eof = true;
          break;
        }
        const wire::Bytes got = wire::Bytes(scratch_).first(*n);
        bytes_in += *n;
        sha.update(got);
        if (!o_.json) {
          if (std::fwrite(got.data(), 1, got.size(), stdout) != got.size()) break;
        }
      }
      // --- close: once both directions are finished, wait (bounded) for TIME-WAIT or CLOSED ---
      if (eof && shut) {
        if (!closing) {
          closing = true;
          close_started = now;
          data_deadline =
              now + std::chrono::duration_cast<Duration>(std::chrono::duration<double>(o_.linger_s));
        }
        const auto info = s_.stack->info(*id);
        if (!info || info->state == tcp::State::time_wait || info->state == tcp::State::closed ||
            now - close_started >=
                std::chrono::duration_cast<Duration>(std::chrono::duration<double>(o_.linger_s))) {
          result = "closed";
          break;
        }
      }
      if (turn > 100'000'000) break;
    }
    if (result == "closed" || result == "established") (void)s_.stack->close(now, *id);
    (void)s_.driver->flush(now);
    std::fflush(stdout);
    out.json["result"] = result;
    out.json["bytes_sent"] = bytes_out;
    out.json["bytes_received"] = bytes_in;
    out.json["received_sha256"] = sha.hex_digest();
    out.json["exit_code"] = code;
    out.exit_code = code;
    if (!o_.json) {
      fmt::print(stderr, "{}: sent {} B, received {} B (sha256 {})\n", result, bytes_out, bytes_in,
                 out.json["received_sha256"].get<std::string>());
    }
    return out;
  }

  void set_stdin_watch(int w) { stdin_watch_ = w; }

 private:
  Outcome& fail(Outcome& out, int code, const std::string& message, std::string_view result) {
    out.exit_code = code;
    out.json["result"] = result;
    out.json["message"] = message;
    out.json["exit_code"] = code;
    if (!o_.json) fmt::print(stderr, "synack connect: {}\n", message);
    return out;
  }

  void report_syns(Outcome& out, const wire::FourTuple& tuple, Instant started) {
    const tun_cli::Handshake* h = s_.log.find(tuple);
    nlohmann::json times = nlohmann::json::array();
    if (h != nullptr) {
      for (Instant t : h->our_syns) times.push_back(tun_cli::millis(t - started));
    }
    if (!o_.json && h != nullptr && h->our_syns.size() > 1) {
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
    if (!o_.json) {
      fmt::print(stderr, "established {} → {} in {:.3f} ms\n", tuple.local.to_string(),
                 tuple.remote.to_string(), tun_cli::millis(took));
      const observe::Negotiated n = tun_cli::negotiated(h, false, tuple.local.address.version());
      fmt::print(stderr, "  offered: synack <{}>  peer <{}>\n", tun_cli::describe(n.client),
                 tun_cli::describe(n.server));
      fmt::print(stderr, "  agreed:  {}\n", tun_cli::describe(n));
    }
  }

  TunSession& s_;
  const ConnectOptions& o_;
  std::vector<std::byte> scratch_;
  int stdin_watch_ = -1;
};

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
  for (std::uint32_t i = 0; i < std::max<std::uint32_t>(o.count, 1); ++i) {
    Outcome outcome = client.run_one(wire::Endpoint{*host, o.port}, stdin_eof);
    if (o.json) {
      fmt::print("{}\n", outcome.json.dump());
      std::fflush(stdout);
    }
    if (exit_code == kExitOk) exit_code = outcome.exit_code;
  }
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
  cmd->add_option("--send", options->send, "Send this text, then close the sending direction");
  cmd->add_flag("--stdin", options->from_stdin, "Send standard input, then close the sending direction");
  cmd->add_option("--count", options->count, "Connections to make, one after another")
      ->capture_default_str()
      ->check(whole(1, 100000));
  cmd->add_flag("--json", options->json,
                "One JSON object per connection on stdout (received bytes not printed)");
  cmd->add_flag("--abort", options->abort, "Reset the connection (RST) after sending instead of closing it");
  cmd->add_option("--timeout", options->timeout_s, "Seconds allowed for the transfer after the handshake")
      ->capture_default_str()
      ->check(real(0.001, 86400.0));
  cmd->callback([options, privileges, &exit_code] { exit_code = run_connect(*options, *privileges); });
}

}  // namespace synack::cli
