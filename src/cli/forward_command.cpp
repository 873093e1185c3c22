// `synack forward`: a transparent TCP forwarder from a TUN device to kernel sockets, answering each SYN only
// after the upstream answered (docs/forward.md). The device, its kernel side and routes are set up as
// `listen` does (tun_session.cpp); the upstream sockets live in --upstream-netns (entered before the
// privilege drop) or leave through --upstream-device / --upstream-mark; the relay is forward_relay.cpp.
#include "forward_command.hpp"

#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

#include <fmt/core.h>

#include "exit_codes.hpp"
#include "forward_relay.hpp"
#include "numbers.hpp"
#include "privileges.hpp"
#include "synack/observe/json.hpp"
#include "tun_session.hpp"

namespace synack::cli {

namespace {

using tun_cli::grouped;
using tun_cli::TunSession;

struct ForwardOptions {
  tun_cli::TunOptions tun;
  std::string upstream_netns;
  std::string upstream_device;
  std::optional<std::uint32_t> upstream_mark;
  double connect_timeout = 5.0;
  double idle_timeout = 300.0;
  std::uint32_t max_connections = 1024;
  std::string when_full = "drop";
  bool json = false;  ///< one document at exit (the summary), nothing before it
  bool json_stream = false;
  bool quiet = false;
  bool icmp_unreachable = false;
};

Duration seconds(double s) {
  return std::chrono::duration_cast<Duration>(std::chrono::duration<double>(s));
}

/// Moves the process into the named network namespace (/run/netns/NAME, as `ip netns` makes them): every
/// socket made afterwards lives there. Needs CAP_SYS_ADMIN: done before the privilege drop.
std::expected<void, tun_cli::Failure> enter_upstream_netns(const std::string& name) {
  if (name.empty() || name == "." || name == ".." || name.find('/') != std::string::npos) {
    return std::unexpected(
        tun_cli::Failure{kExitUsage, fmt::format("--upstream-netns: '{}' is not a name", name)});
  }
  const std::string path = "/run/netns/" + name;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int code = errno == ENOENT ? kExitUsage : kExitUnavailable;
    return std::unexpected(tun_cli::Failure{
        code, fmt::format("--upstream-netns {}: cannot open {}: {}", name, path, std::strerror(errno))});
  }
  const int rc = ::setns(fd, CLONE_NEWNET);
  const int error = errno;
  ::close(fd);
  if (rc != 0) {
    return std::unexpected(tun_cli::Failure{
        kExitUnavailable,
        fmt::format("--upstream-netns {}: setns: {} (it needs CAP_SYS_ADMIN)", name, std::strerror(error))});
  }
  return {};
}

std::string upstream_text(const ForwardOptions& o) {
  if (!o.upstream_netns.empty()) return fmt::format("network namespace {}", o.upstream_netns);
  if (!o.upstream_device.empty()) return fmt::format("device {}", o.upstream_device);
  if (o.upstream_mark) return fmt::format("fwmark {}", *o.upstream_mark);
  return "this network namespace";
}

void print_summary(const TunSession& s, const forward::Relay& relay, int signal, const ForwardOptions& o) {
  const forward::RelayCounters& c = relay.counters();
  const stack::StackStats& st = s.stack->stats();
  if (o.json || o.json_stream) {
    observe::Json j = o.json ? observe::document() : observe::event("summary");
    if (o.json) j["document"] = "forward";
    j["signal"] = signal;
    j["offers"] = {{"total", c.offers},
                   {"accepted", c.accepted},
                   {"refused", c.refused},
                   {"dropped", c.dropped},
                   {"expired", c.expired},
                   {"icmp_unreachable", c.icmp_sent},
                   {"over_limit", c.over_limit},
                   {"overflow", st.offers_overflow},
                   {"half_open_expired", c.half_open_expired}};
    j["relays"] = {{"live", relay.live()},
                   {"peak", c.peak},
                   {"closed", c.closed},
                   {"reset_by_client", c.reset_by_client},
                   {"reset_by_upstream", c.reset_by_upstream},
                   {"idle_timeout", c.idle}};
    j["bytes_up"] = c.bytes_up;
    j["bytes_down"] = c.bytes_down;
    j["counters"] = tun_cli::counters_json(s);
    fmt::print("{}\n", j.dump());
  } else {
    fmt::print(
        "synack forward: {} offers: {} accepted, {} refused, {} dropped ({} over --max-connections), {} "
        "expired; {} ICMP unreachable sent; {} SYNs past the pending bound; {} accepted but never "
        "completed by the client\n",
        grouped(c.offers), grouped(c.accepted), grouped(c.refused), grouped(c.dropped), grouped(c.over_limit),
        grouped(c.expired), grouped(c.icmp_sent), grouped(st.offers_overflow), grouped(c.half_open_expired));
    fmt::print(
        "  relays: {} closed, {} reset by the client, {} reset by the upstream, {} idle timeouts; {} live, "
        "peak {}; {} B up, {} B down\n",
        grouped(c.closed), grouped(c.reset_by_client), grouped(c.reset_by_upstream), grouped(c.idle),
        relay.live(), c.peak, grouped(c.bytes_up), grouped(c.bytes_down));
    tun_cli::print_counters(stdout, s);
  }
  std::fflush(stdout);
}

void print_banner(const TunSession& s, const ForwardOptions& o) {
  if (o.json) return;  // stdout carries the one document
  if (o.json_stream) {
    observe::Json j = observe::event("forwarding");
    j["device"] = s.device->name();
    j["routes"] = o.tun.routes;
    j["upstream"] = upstream_text(o);
    j["pid"] = ::getpid();
    fmt::print("{}\n", j.dump());
  } else {
    std::string routes;
    for (const auto& r : o.tun.routes) routes += (routes.empty() ? "" : ", ") + r;
    fmt::print("synack forward: relaying TCP from {}{} to {}; Ctrl-C for a summary\n", s.device->name(),
               routes.empty() ? "" : fmt::format(" ({})", routes), upstream_text(o));
  }
  std::fflush(stdout);
}

/// Everything privileged: the device and its kernel side, the upstream namespace, the epoll set; then the
/// drop. Returns the session, or the exit code.
std::expected<std::unique_ptr<TunSession>, int> set_up(const ForwardOptions& o, const PrivilegeOptions& p,
                                                       int& epoll_fd) {
  if (o.upstream_netns.empty() && o.upstream_device.empty() && !o.upstream_mark && !o.tun.no_configure) {
    fmt::print(stderr,
               "synack forward: the upstream sockets would be routed back into {}: give --upstream-netns, "
               "--upstream-device or --upstream-mark (or --no-configure and route them yourself)\n",
               o.tun.device);
    return std::unexpected(kExitUsage);
  }
  if (o.upstream_mark && !p.no_drop) {
    fmt::print(
        stderr,
        "synack forward: --upstream-mark sets SO_MARK on every upstream socket, which needs "
        "CAP_NET_ADMIN for the whole run: add --no-drop (docs/security.md), or use --upstream-netns\n");
    return std::unexpected(kExitUsage);
  }
  auto session = tun_cli::open_session(o.tun);
  if (!session) {
    fmt::print(stderr, "synack forward: {}\n", session.error().message);
    return std::unexpected(session.error().exit_code);
  }
  if (!o.upstream_netns.empty()) {
    if (auto entered = enter_upstream_netns(o.upstream_netns); !entered) {
      fmt::print(stderr, "synack forward: {}\n", entered.error().message);
      return std::unexpected(entered.error().exit_code);
    }
  }
  if (!o.upstream_device.empty() && ::if_nametoindex(o.upstream_device.c_str()) == 0) {
    fmt::print(stderr, "synack forward: --upstream-device {}: no such interface\n", o.upstream_device);
    return std::unexpected(kExitUsage);
  }
  epoll_fd = ::epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd < 0) {
    fmt::print(stderr, "synack forward: epoll_create1: {}\n", std::strerror(errno));
    return std::unexpected(kExitFailure);
  }
  TunSession& s = **session;
  s.driver->watch(epoll_fd);
  sandbox::Policy policy = tun_cli::sandbox_policy(s);
  policy.upstream_sockets = true;
  if (const int code = drop_privileges_and_sandbox("forward", p, policy); code != kExitOk) {
    return std::unexpected(code);
  }
  return std::move(*session);
}

/// The relay's options from the command line; --icmp-unreachable writes to the device (and the pcap).
forward::RelayOptions relay_options(const ForwardOptions& o, TunSession& s) {
  forward::RelayOptions r{
      .device = o.upstream_device,
      .mark = o.upstream_mark,
      .connect_timeout = seconds(o.connect_timeout),
      .idle_timeout = seconds(o.idle_timeout),
      .max_connections = o.max_connections,
      .when_full = o.when_full == "refuse" ? forward::WhenFull::refuse : forward::WhenFull::drop,
      .json = o.json_stream,
      .quiet = o.quiet,
      .send_datagram = {}};
  if (o.icmp_unreachable) {
    // Through the decorators, so the capture and the impairments see it like any datagram.
    r.send_datagram = [&s](wire::Bytes datagram) { (void)s.link->transmit(link::monotonic_now(), datagram); };
  }
  return r;
}

int run_forward(const ForwardOptions& o, const PrivilegeOptions& p) {
  int epoll_fd = -1;
  auto session = set_up(o, p, epoll_fd);
  if (!session) {
    if (epoll_fd >= 0) ::close(epoll_fd);
    return session.error();
  }
  TunSession& s = **session;
  s.stack->set_observer({});
  stack::ForwarderConfig forwarder;
  // Pending offers: every relay still connecting, and room to answer SYNs past --max-connections ourselves.
  forwarder.max_pending = o.max_connections + 64;
  forwarder.syn_queue = o.max_connections + 64;
  forwarder.pending_timeout = seconds(o.connect_timeout) + std::chrono::seconds(2);  // ours fires first
  forwarder.syn_cookies = tcp::SynCookieMode::never;  // a cookie would answer before the upstream did
  s.stack->set_forwarder(forwarder);
  forward::Relay relay(*s.stack, epoll_fd, relay_options(o, s));
  print_banner(s, o);
  for (;;) {
    auto step = s.driver->step(relay.wake_by());
    if (!step) {
      fmt::print(stderr, "synack forward: {}\n", step.error());
      return kExitFailure;
    }
    if (s.signal_watch >= 0 && (step->watched & (1U << static_cast<unsigned>(s.signal_watch))) != 0) {
      if (const int sig = s.take_signal(); sig != 0) {
        std::fflush(stdout);
        print_summary(s, relay, sig, o);
        return kExitOk;
      }
    }
    relay.on_sockets(step->now);
    relay.on_timers(step->now);
    while (auto e = s.stack->poll_event()) relay.on_event(step->now, *e);
    std::fflush(stdout);
  }
}

}  // namespace

void register_forward_command(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<ForwardOptions>();
  auto* cmd = app.add_subcommand(
      "forward",
      "A transparent TCP forwarder from a TUN device to kernel sockets: each SYN is answered only "
      "after the upstream connection answered (docs/forward.md)");
  o->tun.own_no_address = true;
  cmd->add_option("--tun", o->tun.device, "TUN device to create")->capture_default_str();
  cmd->add_option("--kernel-addr", o->tun.kernel_addrs,
                  "ADDR/PREFIX for the kernel's side of the device (repeatable; default 192.0.2.1/24 and "
                  "2001:db8::1/64)")
      ->allow_extra_args(false);
  cmd->add_flag("--no-configure", o->tun.no_configure,
                "Leave the kernel's side of the device (addresses, routes) to you: for a namespace that is "
                "not private, e.g. with --upstream-device");
  cmd->add_option("--route", o->tun.routes, "PREFIX/LENGTH the kernel routes into the device (repeatable)")
      ->allow_extra_args(false);
  auto* netns = cmd->add_option("--upstream-netns", o->upstream_netns,
                                "Open upstream sockets in this network namespace (/run/netns/NAME)");
  auto* device = cmd->add_option("--upstream-device", o->upstream_device,
                                 "Bind upstream sockets to this interface (SO_BINDTODEVICE)");
  auto* mark = cmd->add_option("--upstream-mark", o->upstream_mark,
                               "Mark upstream sockets (SO_MARK) for policy routing; needs --no-drop");
  netns->excludes(device)->excludes(mark);
  device->excludes(mark);
  cmd->add_option("--connect-timeout", o->connect_timeout,
                  "Seconds an upstream connect may take; then the SYN is dropped")
      ->capture_default_str()
      ->check(real(0.01, 600.0));
  cmd->add_option("--idle-timeout", o->idle_timeout,
                  "Seconds without data before a relay is reset (0: never)")
      ->capture_default_str()
      ->check(real(0.0, 86400.0));
  cmd->add_option("--max-connections", o->max_connections,
                  "Relays at once, connecting ones included; past it SYNs get --when-full")
      ->capture_default_str()
      ->check(whole(1, 1U << 20U));
  cmd->add_option("--when-full", o->when_full, "What a SYN past --max-connections gets: drop or refuse")
      ->capture_default_str()
      ->check(CLI::IsMember({"drop", "refuse"}));
  add_link_flags(cmd, o->tun.link, LinkKind::device);
  add_log_flags(cmd, o->tun.log);
  tun_cli::add_ecn_option(cmd, o->tun.ecn);
  cmd->add_option("--buffers", o->tun.buffers, "Send and receive buffer bytes per connection")
      ->check(whole(1024U, 1U << 30U));
  auto* stream = cmd->add_flag("--json-stream", o->json_stream, "One JSON object per line per event");
  cmd->add_flag("--json", o->json,
                "One JSON document on stdout when the run ends (the summary; nothing printed before it)")
      ->excludes(stream);
  cmd->add_flag("-q,--quiet", o->quiet, "No per-connection lines: only the summary");
  cmd->add_flag(
      "--icmp-unreachable", o->icmp_unreachable,
      "Answer a SYN whose upstream is unreachable (not silent) with an ICMP destination-unreachable "
      "instead of dropping it silently");
  auto privileges = add_privilege_options(cmd);
  cmd->callback([o, privileges, &exit_code] {
    if (o->json) o->quiet = true;  // stdout carries the one document
    exit_code = run_forward(*o, *privileges);
  });
}

}  // namespace synack::cli
