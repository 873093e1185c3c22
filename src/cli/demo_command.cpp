// `synack demo`: the README's one-command tour. synack's TCP meets the Linux kernel's: the demo makes a
// private network namespace with a TUN device (kernel 192.0.2.1/24 + 2001:db8::1/64, synack 192.0.2.2 +
// 2001:db8::2), starts a synack HTTP server and a kernel server, connects kernel → synack and synack →
// kernel over IPv4 and IPv6 (MSS 1460 on the kernel's side, 1360 on synack's, as in the seed capture),
// exchanges a request and a reply, closes, and prints every connection as `synack sim`'s ladder with what
// each side offered and agreed. Then a SYN to a closed port (refused) and a SYN to an address nobody owns
// (retransmitted with backoff, 2 retries, timed out). Everything crossing the device goes to a pcap.
// With --json the tour's text goes to stderr and stdout gets one JSON document of every connection, in the
// vocabulary of `synack sim --json` and `synack analyze --json` (docs/json.md).
//
// Where a namespace or /dev/net/tun is out of reach (unprivileged, user namespaces disabled, a root-only
// /dev/net/tun) it says exactly what is missing in one line and gives the same tour over the simulator.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <fmt/core.h>

#include "commands.hpp"
#include "demo_kernel.hpp"
#include "demo_recorder.hpp"
#include "exit_codes.hpp"
#include "listen_command.hpp"
#include "log_flags.hpp"
#include "privileges.hpp"
#include "synack/driver/driver.hpp"
#include "synack/link/netns.hpp"
#include "synack/observe/json.hpp"
#include "synack/sim/render.hpp"
#include "synack/sim/simulation.hpp"
#include "synack/tcp/error.hpp"
#include "terminal.hpp"
#include "usage.hpp"

namespace synack::cli {
namespace {

using namespace std::chrono_literals;
using wire::IpAddress;

constexpr std::uint16_t kSynackPort = 80;
using demo::KernelSide;
using demo::kKernelPort;
using demo::Recorder;
using demo::Track;
constexpr std::uint16_t kClosedKernelPort = 9;
constexpr std::uint16_t kClosedSynackPort = 81;
constexpr std::uint16_t kSynackMss = 1360;  // the seed capture's server; the kernel offers 1460
constexpr std::uint32_t kSynRetries = 2;    // SYNs at 0, 1, 3 s; timed out at 7 s

const IpAddress kKernel4 = *IpAddress::parse("192.0.2.1");
const IpAddress kSynack4 = *IpAddress::parse("192.0.2.2");
const IpAddress kDead4 = *IpAddress::parse("192.0.2.99");
const IpAddress kKernel6 = *IpAddress::parse("2001:db8::1");
const IpAddress kSynack6 = *IpAddress::parse("2001:db8::2");

// ---- the live tour ----------------------------------------------------------------------------------

struct ClientTask {
  stack::ConnectionId id;
  wire::FourTuple tuple;
  bool sent = false, done = false;
  std::string reply;
};

struct ServerTask {
  stack::ConnectionId id;
  std::string request;
  bool answered = false;
};

/// How a capture written to standard output (--pcap -) is named in messages.
constexpr std::string_view kStandardOutput = "standard output";

/// Where the capture went, and how to read it.
std::string capture_hint(const std::string& shown) {
  if (shown == kStandardOutput)
    return "written to standard output (e.g. synack demo --pcap - | synack analyze -)";
  return fmt::format("{} (open it in Wireshark, or: synack analyze {})", shown, shown);
}

/// --json-stream: one connection as it is shown, `{"schema", "event": "connection", "title", then the
/// fields of a sim connection without segments}` (docs/json.md).
void print_stream_line(const std::string& title, const sim::ConnectionResult& c) {
  observe::Json j = observe::event("connection");
  j["title"] = title;
  j.update(sim::connection_json(c, false));
  fmt::print("{}\n", j.dump());
  std::fflush(stdout);
}

class LiveDemo {
 public:
  LiveDemo(tun_cli::TunSession& s, bool colour, std::FILE* text, bool json_stream)
      : s_(s), colour_(colour), text_(text), json_stream_(json_stream) {}

  int run(const std::string& pcap_path, const PrivilegeOptions& privileges) {
    // The device, the namespace and the pcap are open; the kernel side's sockets need no privilege (ports
    // above 1023, in this namespace): no root from here on, and the sandbox with kernel sockets allowed.
    sandbox::Policy policy = tun_cli::sandbox_policy(s_);
    policy.kernel_sockets = true;
    if (const int code = drop_privileges_and_sandbox("demo", privileges, policy); code != kExitOk)
      return code;
    if (auto l = s_.stack->listen(wire::Endpoint{IpAddress{}, kSynackPort}); !l) {
      fmt::print(stderr, "synack demo: listen: {}\n", l.error().message());
      return kExitFailure;
    }
    if (auto k = kernel_.start_server({kKernel4, kKernel6}); !k) {
      fmt::print(stderr, "synack demo: {}\n", k.error());
      return kExitFailure;
    }
    const Instant t0 = link::monotonic_now();
    // The dead address first: its SYN retransmissions (1 s, then 2 s) run while the rest happens.
    auto dead = start_client(wire::Endpoint{kDead4, 80});
    kernel_.start_clients({wire::Endpoint{kSynack4, kSynackPort}, wire::Endpoint{kSynack6, kSynackPort},
                           wire::Endpoint{kSynack4, kClosedSynackPort}});
    if (!run_until([&] { return kernel_.clients_done(); }, t0 + 10s)) return kExitFailure;
    settle();
    section("The kernel connects to synack (curl-like GET; synack's HTTP server answers and closes)");
    print_tracks_where([](const Track& t) { return !t.synack_is_client; });

    section("synack connects to the kernel's server (request, reply, close)");
    for (const IpAddress& a : {kKernel4, kKernel6}) {
      auto c = start_client(wire::Endpoint{a, kKernelPort});
      if (!c || !run_until([&] { return c->done; }, link::monotonic_now() + 5s)) return kExitFailure;
      settle();
      print_track(c->tuple);
    }
    section("synack connects to a closed kernel port");
    auto refused = start_client(wire::Endpoint{kKernel4, kClosedKernelPort});
    if (!refused || !run_until([&] { return refused->done; }, link::monotonic_now() + 5s))
      return kExitFailure;
    print_track(refused->tuple);

    section(fmt::format("synack connects to {}, which nobody owns (SYN retries {})", kDead4.to_string(),
                        kSynRetries));
    if (!dead || !run_until([&] { return dead->done; }, t0 + 12s)) return kExitFailure;
    print_track(dead->tuple);

    kernel_.stop();
    const auto& d = s_.driver->stats();
    fmt::print(text_, "\n{} datagrams crossed {} ({} from the kernel, {} from synack) in {:.1f} s.\n",
               d.datagrams_in + d.datagrams_out, s_.device->name(), d.datagrams_in, d.datagrams_out,
               tun_cli::millis(link::monotonic_now() - t0) / 1000.0);
    if (s_.pcap) (void)s_.pcap->flush();
    fmt::print(text_, "Capture: {}\n", capture_hint(pcap_path));
    return kExitOk;
  }

 private:
  ClientTask* start_client(const wire::Endpoint& remote) {
    auto id = s_.stack->connect(link::monotonic_now(), wire::Endpoint{}, remote);
    if (!id) {
      fmt::print(stderr, "synack demo: connect {}: {}\n", remote.to_string(), id.error().message());
      return nullptr;
    }
    clients_.push_back(std::make_unique<ClientTask>());
    ClientTask* c = clients_.back().get();
    c->id = *id;
    if (auto info = s_.stack->info(*id)) c->tuple = info->tuple;
    return c;
  }

  template <typename Done>
  bool run_until(Done done, Instant limit, bool quiet = false) {
    for (int turn = 0; turn < 1'000'000; ++turn) {
      if (done()) return true;
      const Instant now = link::monotonic_now();
      if (now >= limit) {
        if (!quiet) fmt::print(stderr, "synack demo: a step did not finish in time\n");
        return false;
      }
      auto step = s_.driver->step(std::min(limit, now + 20ms));
      if (!step) {
        fmt::print(stderr, "synack demo: {}\n", step.error());
        return false;
      }
      if (s_.signal_watch >= 0 && (step->watched & (1U << static_cast<unsigned>(s_.signal_watch))) != 0 &&
          s_.take_signal() != 0) {
        fmt::print(stderr, "synack demo: interrupted\n");
        return false;
      }
      handle_events(step->now);
    }
    return false;
  }

  /// Lets the last ACKs of a close cross the device.
  void settle() {
    const Instant until = link::monotonic_now() + 30ms;
    (void)run_until([] { return false; }, until, true);
  }

  void handle_events(Instant now) {
    for (int i = 0; i < 1024; ++i) {
      auto e = s_.stack->poll_event();
      if (!e) break;
      ClientTask* c = nullptr;
      for (auto& task : clients_) {
        if (task->id == e->connection) c = task.get();
      }
      switch (e->kind) {
        case stack::EventKind::acceptable:
          for (int k = 0; k < 16; ++k) {
            auto id = s_.stack->accept(e->listener);
            if (!id) break;
            servers_.push_back(ServerTask{*id, {}, false});
          }
          break;
        case stack::EventKind::refused:
        case stack::EventKind::reset:
        case stack::EventKind::aborted:
          if (c != nullptr) c->done = true;
          break;
        case stack::EventKind::timed_out:
          if (c != nullptr) {
            c->done = true;
            recorder_.timed_out(c->tuple, now);
          }
          break;
        default:
          break;
      }
    }
    // synack's HTTP server: read the request head, answer, close.
    std::array<std::byte, 4096> buf{};
    for (auto& srv : servers_) {
      if (srv.answered) continue;
      auto n = s_.stack->recv(srv.id, buf);
      if (n && *n > 0) srv.request.append(reinterpret_cast<const char*>(buf.data()), *n);
      if (srv.request.find("\r\n\r\n") != std::string::npos || (n && *n == 0)) {
        const std::string body = "hello from synack\n";
        const std::string reply = fmt::format(
            "HTTP/1.0 200 OK\r\nServer: synack\r\nContent-Length: {}\r\n\r\n{}", body.size(), body);
        (void)s_.stack->send(srv.id, std::as_bytes(std::span(reply.data(), reply.size())));
        (void)s_.stack->close(now, srv.id);
        srv.answered = true;
      }
    }
    // synack's clients: send the request and close our side; read the reply to its end.
    for (auto& c : clients_) {
      if (c->done) continue;
      const auto info = s_.stack->info(c->id);
      if (!info) {
        c->done = true;
        continue;
      }
      if (!tcp::is_synchronized(info->state)) continue;
      if (!c->sent) {
        const std::string request = "GET / HTTP/1.0\r\nHost: kernel\r\n\r\n";
        (void)s_.stack->send(c->id, std::as_bytes(std::span(request.data(), request.size())));
        (void)s_.stack->shutdown_write(now, c->id);
        c->sent = true;
      }
      for (int k = 0; k < 16; ++k) {
        auto n = s_.stack->recv(c->id, buf);
        if (!n) break;
        if (*n == 0) {
          (void)s_.stack->close(now, c->id);
          c->done = true;
          break;
        }
        c->reply.append(reinterpret_cast<const char*>(buf.data()), *n);
      }
    }
  }

  void section(const std::string& title) {
    fmt::print(text_, "\n{}\n{}\n", title, std::string(title.size() > 100 ? 100 : title.size(), '-'));
  }

  void print_tracks_where(const std::function<bool(const Track&)>& pred) {
    for (auto& t : recorder_.tracks()) {
      if (!t.printed && pred(t)) print(t);
    }
  }

  void print_track(const wire::FourTuple& key) {
    if (Track* t = recorder_.find(key); t != nullptr && !t->printed) print(*t);
  }

  void print(Track& t) {
    t.printed = true;
    const std::string client = t.synack_is_client ? "synack" : "kernel";
    const bool nobody = t.synack_is_client && t.key.remote.address == kDead4;
    const std::string server = t.synack_is_client ? (nobody ? "nobody" : "kernel") : "synack";
    t.title = fmt::format("{} (client) → {} (server)", client, server);
    fmt::print(text_, "\n{}\n", t.title);
    fmt::print(text_, "{}",
               sim::render_ladder(t.result, sim::LadderOptions{.colour = colour_, .absolute = false}));
    const observe::Negotiated& n = t.result.negotiated;
    if (n.client || n.server) {
      fmt::print(text_, "  offered: {} <{}>  {} <{}>\n", client,
                 n.client ? observe::to_string(*n.client) : "-", server,
                 n.server ? observe::to_string(*n.server) : "-");
    }
    // The kernel's own view of the same connection (TCP_INFO, what `ss -tni` shows).
    const std::string kernel_end = t.key.remote.to_string();
    const std::string synack_end = t.key.local.to_string();
    for (const auto& [key, view] : kernel_.views()) {
      if ((t.synack_is_client && key == synack_end) || (!t.synack_is_client && view.local == kernel_end)) {
        fmt::print(text_, "  the kernel's view (ss -tni): {}\n", view.text);
      }
    }
    if (json_stream_) print_stream_line(t.title, t.result);
  }

  tun_cli::TunSession& s_;
  bool colour_;
  std::FILE* text_;
  bool json_stream_;
  KernelSide kernel_;

 public:
  Recorder recorder_;

 private:
  std::vector<std::unique_ptr<ClientTask>> clients_;
  std::vector<ServerTask> servers_;
};

/// How the tour is shown: text with or without colour, on stdout; with --json the text on stderr and one
/// JSON document on stdout.
struct Output {
  bool colour = false;
  bool json = false;
  bool json_stream = false;  ///< one line per connection as it is shown
  bool pcap_stdout = false;  ///< --pcap -: the capture owns standard output
  LogFlags log;              ///< -v
  [[nodiscard]] std::FILE* text() const noexcept {
    return json || json_stream || pcap_stdout ? stderr : stdout;
  }
};

/// The --json document: {"schema", "document": "demo", "mode", "pcap", "connections": [{"title", then the
/// fields of `synack sim --json`'s connection objects}]} (docs/json.md).
void print_json(std::string_view mode, const std::string& pcap,
                const std::vector<std::pair<std::string, const sim::ConnectionResult*>>& connections) {
  observe::Json j = observe::document();
  j["document"] = "demo";
  j["mode"] = mode;
  j["pcap"] = pcap;
  observe::Json list = observe::Json::array();
  for (const auto& [title, c] : connections) {
    observe::Json item;
    item["title"] = title;
    item.update(sim::connection_json(*c, false));
    list.push_back(std::move(item));
  }
  j["connections"] = std::move(list);
  fmt::print("{}\n", j.dump(2));
}

/// Where the capture goes: `open_as` is what the writers open (a /proc/self/fd path for a file reserved
/// with O_EXCL), `shown` what the user is told.
struct CapturePath {
  std::string open_as;
  std::string shown;
};

int run_live(const CapturePath& pcap, const Output& out, const PrivilegeOptions& privileges) {
  const std::string& pcap_path = pcap.shown;
  tun_cli::TunOptions o;
  o.device = "synack0";
  o.link.pcap = pcap.open_as;
  o.mss = kSynackMss;
  o.syn_retries = kSynRetries;
  o.log = out.log;
  auto session = tun_cli::open_session(o);
  if (!session) {
    fmt::print(stderr, "synack demo: {}\n", session.error().message);
    return session.error().exit_code;
  }
  tun_cli::TunSession& s = **session;
  std::FILE* text = out.text();
  fmt::print(text,
             "synack demo — synack's TCP meets the Linux kernel's, over a TUN device in a private network "
             "namespace\n");
  fmt::print(text, "  device {}: the kernel has {}/24 and {}/64, synack owns {} and {}\n", s.device->name(),
             kKernel4.to_string(), kKernel6.to_string(), kSynack4.to_string(), kSynack6.to_string());
  fmt::print(
      text,
      "  synack offers MSS {} (IPv6: {}), the kernel {} (IPv6: {}); synack serves HTTP on port {}, the "
      "kernel on port {}\n",
      kSynackMss, kSynackMss - 20, 1460, 1440, kSynackPort, kKernelPort);
  LiveDemo demo(s, out.colour, text, out.json_stream);
  auto* recorder = &demo.recorder_;
  s.stack->set_observer([recorder](const stack::SegmentRecord& r) { recorder->observe(r); });
  const int code = demo.run(pcap_path, privileges);
  if (out.json && code != kExitUnavailable) {
    std::vector<std::pair<std::string, const sim::ConnectionResult*>> list;
    for (const Track& t : recorder->tracks()) list.emplace_back(t.title, &t.result);
    print_json("live", pcap_path, list);
  }
  return code;
}

// ---- the same tour over the simulated link ----------------------------------------------------------

int run_simulated(const CapturePath& pcap, const Output& out) {
  const std::string& pcap_path = pcap.shown;
  auto recorder = sim::PcapRecorder::open(pcap.open_as);
  if (!recorder) {
    fmt::print(stderr, "synack demo: cannot write {}\n", recorder.error());  // "PATH: why"
    return kExitFailure;
  }
  sim::SimObserver observer;
  observer.on_datagram = [&](Instant at, wire::Bytes d) { recorder->record(at, d); };
  observer.on_log = log_printer(out.log, stderr);
  struct Part {
    std::string title;
    sim::SimConfig config;
  };
  std::vector<Part> parts;
  const auto base = [](IpAddress client, IpAddress server, sim::ServerMode mode) {
    sim::SimConfig c;
    c.client.mss = 1460;
    c.server.mss = kSynackMss;
    c.client_address = client;
    c.server_address = server;
    c.server_mode = mode;
    c.request_bytes = 32;
    return c;
  };
  parts.push_back(
      {"client (MSS 1460) → server (MSS 1360) over IPv4", base(kKernel4, kSynack4, sim::ServerMode::listen)});
  parts.push_back({"client → server over IPv6", base(kKernel6, kSynack6, sim::ServerMode::listen)});
  parts.push_back({"a SYN to a closed port", base(kSynack4, kKernel4, sim::ServerMode::closed)});
  parts.push_back({"a SYN to an address nobody owns", base(kSynack4, kDead4, sim::ServerMode::dead)});
  parts.back().config.server_port = 80;
  std::FILE* text = out.text();
  std::vector<sim::ConnectionResult> connections;  // numbered through the whole tour, as in its capture
  std::vector<std::pair<std::string, const sim::ConnectionResult*>> titled;
  for (auto& part : parts) {
    fmt::print(text, "\n{}\n{}\n", part.title, std::string(part.title.size(), '-'));
    sim::RunResult result = sim::run(part.config, observer);
    for (auto& c : result.connections) {
      c.number = static_cast<std::uint32_t>(connections.size() + 1);
      fmt::print(text, "{}",
                 sim::render_ladder(c, sim::LadderOptions{.colour = out.colour, .absolute = false}));
      if (out.json_stream) print_stream_line(part.title, c);
      connections.push_back(std::move(c));
      titled.emplace_back(part.title, nullptr);
    }
  }
  for (std::size_t i = 0; i < connections.size(); ++i) titled[i].second = &connections[i];
  if (auto closed = recorder->close(); !closed) {
    fmt::print(stderr, "synack demo: cannot write {}: {}\n", pcap_path, closed.error());
    return kExitFailure;
  }
  fmt::print(text, "\nCapture (virtual time): {}\n", capture_hint(pcap_path));
  if (out.json) print_json("simulated", pcap_path, titled);
  return kExitOk;
}

constexpr int kMaxDefaultNames = 100;

/// The default capture, in the current directory: synack-demo.pcap, or synack-demo-2.pcap ... -100 when
/// that exists. Created with O_EXCL|O_NOFOLLOW, so a file or symlink already there (another user's, or an
/// attacker's in a shared directory) is never followed or overwritten; the writers reopen the created file
/// through /proc/self/fd, never by name.
std::expected<std::pair<int, std::string>, std::string> create_default_capture() {
  for (int n = 1; n <= kMaxDefaultNames; ++n) {
    const std::string name = n == 1 ? "synack-demo.pcap" : fmt::format("synack-demo-{}.pcap", n);
    const int fd = ::open(name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd >= 0) {
      std::error_code ec;
      const auto absolute = std::filesystem::absolute(name, ec);
      return std::pair{fd, ec ? name : absolute.string()};
    }
    if (errno != EEXIST) {
      return std::unexpected(fmt::format("cannot create {} in the current directory: {} (use --pcap FILE)",
                                         name, std::strerror(errno)));
    }
  }
  return std::unexpected(fmt::format(
      "synack-demo.pcap and synack-demo-2.pcap ... -{}.pcap all exist in the current directory (use --pcap "
      "FILE)",
      kMaxDefaultNames));
}

int run_demo_with(const CapturePath& pcap, const Output& out, bool force_sim,
                  const PrivilegeOptions& privileges) {
  std::string missing;
  if (force_sim) {
    missing = "--simulated was given";
  } else if (auto ns = link::enter_private_netns(); !ns) {
    missing = ns.error().message();
  } else if (auto tun = link::tun_available(); !tun) {
    missing = tun.error().message();
  }
  if (missing.empty()) {
    const int code = run_live(pcap, out, privileges);
    if (code != kExitUnavailable) return code;
    missing = "the TUN device could not be set up (see above)";
  }
  fmt::print(out.text(),
             "synack demo: no live kernel peer ({}); the same tour over the simulated link instead\n",
             missing);
  return run_simulated(pcap, out);
}

int run_demo(const std::string& pcap_option, const Output& out, bool force_sim,
             const PrivilegeOptions& privileges) {
  CapturePath pcap{pcap_option, pcap_option == "-" ? std::string(kStandardOutput) : pcap_option};
  int reserved = -1;
  if (pcap_option.empty()) {
    auto created = create_default_capture();
    if (!created) {
      fmt::print(stderr, "synack demo: {}\n", created.error());
      return kExitFailure;
    }
    reserved = created->first;
    pcap = CapturePath{fmt::format("/proc/self/fd/{}", reserved), created->second};
  }
  const int code = run_demo_with(pcap, out, force_sim, privileges);
  if (reserved >= 0) ::close(reserved);
  return code;
}

}  // namespace

void register_demo_command(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand(
      "demo", "A guided tour: synack and the Linux kernel shake hands over TUN in a private namespace");
  auto pcap = std::make_shared<std::string>();
  auto simulated = std::make_shared<bool>(false);
  auto colour = std::make_shared<ColourMode>(ColourMode::automatic);
  auto json = std::make_shared<bool>(false);
  auto json_stream = std::make_shared<bool>(false);
  auto log = std::make_shared<LogFlags>();
  cmd->add_option(
      "--pcap", *pcap,
      "Where to write the capture ('-': standard output, the tour's text then on stderr; default: "
      "a new synack-demo.pcap, or synack-demo-N.pcap, in the current directory; never an "
      "existing file there)");
  cmd->add_flag("--simulated", *simulated, "Give the tour over the simulated link, without the kernel");
  auto* json_flag = cmd->add_flag(
      "--json", *json,
      "Print one JSON document of every connection (docs/json.md); the tour's text goes to stderr");
  cmd->add_flag(
         "--json-stream", *json_stream,
         "Print one JSON object per line per connection as it is shown; the tour's text goes to stderr")
      ->excludes(json_flag);
  add_colour_option(cmd, *colour);
  add_log_flags(cmd, *log);
  auto privileges = add_privilege_options(cmd);
  cmd->callback([pcap, simulated, colour, json, json_stream, log, privileges, &exit_code] {
    const bool pcap_stdout = *pcap == "-";
    if (pcap_stdout && (*json || *json_stream)) {
      fmt::print(stderr,
                 "synack demo: --pcap -: standard output carries the JSON; give a file name (run "
                 "'synack demo --help')\n");
      exit_code = kExitUsage;
      return;
    }
    const Output out{.colour = use_colour(*colour, *json || *json_stream || pcap_stdout ? stderr : stdout),
                     .json = *json,
                     .json_stream = *json_stream,
                     .pcap_stdout = pcap_stdout,
                     .log = *log};
    exit_code = run_demo(*pcap, out, *simulated, *privileges);
  });
}

}  // namespace synack::cli
