// The named scenarios (each a SimConfig; the CLI's flags then override parts of it), the server modes'
// names, and where the simulated clients live.
#include <chrono>
#include <string>

#include "synack/sim/scenario.hpp"
#include "synack/sim/simulation.hpp"

namespace synack::sim {

using namespace std::chrono_literals;

std::string_view to_string(ServerMode mode) noexcept {
  switch (mode) {
    case ServerMode::listen:
      return "listen";
    case ServerMode::closed:
      return "closed";
    case ServerMode::dead:
      return "dead";
    case ServerMode::tiny_backlog:
      return "tiny-backlog";
  }
  return "listen";
}

std::optional<ServerMode> parse_server_mode(std::string_view text) noexcept {
  for (const ServerMode m :
       {ServerMode::listen, ServerMode::closed, ServerMode::dead, ServerMode::tiny_backlog}) {
    if (to_string(m) == text) return m;
  }
  return std::nullopt;
}

wire::Endpoint client_endpoint(const SimConfig& config, std::uint32_t index) noexcept {
  constexpr std::uint32_t kPortsPerAddress = 20000;
  const wire::Bytes b = config.client_address.bytes();
  const std::uint32_t base = wire::load_be32(b, b.size() - 4);
  wire::IpAddress address = config.client_address;
  // 192.0.2.1, then the next host addresses, never the server's: one /24 holds 250 of them.
  if (config.client_address.is_v4()) {
    std::uint32_t next = base + index / kPortsPerAddress;
    const wire::Bytes s = config.server_address.bytes();
    if (config.server_address.is_v4() && next >= wire::load_be32(s, 0) && base < wire::load_be32(s, 0))
      ++next;
    address = wire::IpAddress::v4(next);
  }
  const auto port = static_cast<std::uint16_t>(config.first_client_port + index % kPortsPerAddress);
  return {address, port};
}

const std::vector<ScenarioInfo>& scenarios() {
  static const std::vector<ScenarioInfo> list{
      {"normal", "a clean 20 ms round trip: SYN, SYN-ACK, ACK; every option agreed"},
      {"lossy", "the first SYN is lost (retransmitted after 1 s) on a path with 10 % loss and jitter"},
      {"dead-server", "nobody answers: SYNs at 0, 1, 3, 7, 15, 31, 63 s, then the give-up at 127 s"},
      {"closed-port", "the host is up but nothing listens: the SYN is answered with RST/ACK (refused)"},
      {"simultaneous-open", "both ends send a SYN at the same instant (RFC 9293 Figure 7)"},
      {"mss-mismatch", "client announces MSS 1460, server 1360: both send at most 1360 bytes"},
      {"no-options", "the client offers only an MSS: no window scaling, SACK or timestamps"},
      {"tiny-backlog", "a server with a backlog of 1 that never accepts: the later connections time out"},
      {"tfo-hostile",
       "Fast Open through a middlebox that drops SYNs with data or the option: the client falls back after "
       "one SYN timeout (1 s), and its next connection sends a plain SYN at once"},
      {"syn-flood",
       "5,000 spoofed SYN/s for 10 s at a SYN queue of 256 while 20 clients connect (3 s timeout)"},
  };
  return list;
}

std::optional<SimConfig> scenario_config(std::string_view name, std::uint64_t seed) {
  SimConfig c;
  c.scenario = std::string(name);
  c.seed = seed;
  c.to_server.delay = 10ms;
  c.to_client.delay = 10ms;
  if (name == "normal") return c;
  if (name == "lossy") {
    for (Impairments* d : {&c.to_server, &c.to_client}) {
      d->loss = 0.10;
      d->jitter = 5ms;
    }
    c.to_server.script.push_back({ScriptRule::Match::nth_syn, 1, Fate::dropped});
    return c;
  }
  if (name == "dead-server") {
    c.server_mode = ServerMode::dead;
    return c;
  }
  if (name == "closed-port") {
    c.server_mode = ServerMode::closed;
    return c;
  }
  if (name == "simultaneous-open") {
    c.simultaneous_open = true;
    return c;
  }
  if (name == "mss-mismatch") {
    c.client.mss = 1460;
    c.server.mss = 1360;
    return c;
  }
  if (name == "no-options") {
    c.client.window_scaling = false;
    c.client.sack = false;
    c.client.timestamps = false;
    return c;
  }
  if (name == "tiny-backlog") {
    c.server_mode = ServerMode::tiny_backlog;
    c.tiny_backlog = 1;
    c.connections = 3;
    c.stagger = 100ms;
    return c;
  }
  if (name == "tfo-hostile") {
    // RFC 7413 §7.1: the first SYN (a cookie request) vanishes; its retransmission goes without the option
    // and the server is remembered as hostile, so the second connection, 3 s later, starts plain.
    c.client.fast_open = true;
    c.server.fast_open = true;
    c.to_server.script.push_back({ScriptRule::Match::tfo_syn, 1, Fate::dropped});
    c.connections = 2;
    c.stagger = 3s;
    return c;
  }
  if (name == "syn-flood") {
    // A bound small enough that the attacker fills it at once: with cookies `never` only the entries
    // pruning frees let a client in; with `when-full` (the default) every client completes.
    c.flood = FloodSpec{};
    c.syn_queue = 256;
    c.connections = 20;
    c.stagger = 400ms;
    c.connect_timeout = 3s;
    return c;
  }
  return std::nullopt;
}

}  // namespace synack::sim
