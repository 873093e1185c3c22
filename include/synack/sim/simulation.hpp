/// @file
/// The deterministic network simulator: a client Stack and a server Stack joined by two Links (one per
/// direction) in virtual time. The run jumps from one event to the next (the earliest of both links'
/// next arrival, both stacks' next_deadline() and the next scheduled connect), so a 127-second SYN
/// give-up costs microseconds. Everything random derives from SimConfig::seed: the same configuration
/// gives the same RunResult, byte for byte.
///
/// Many connections run in batches: each batch gets a fresh pair of stacks (bounded memory) and starts
/// where the previous one went quiet, so virtual time only moves forward.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "synack/sim/link.hpp"
#include "synack/sim/trace.hpp"
#include "synack/stack/types.hpp"
#include "synack/tcp/config.hpp"
#include "synack/time.hpp"
#include "synack/wire/bytes.hpp"
#include "synack/wire/ip_address.hpp"

namespace synack::sim {

/// What stands at the server address in a simulation.
enum class ServerMode : std::uint8_t {
  listen,        ///< a listener on the server port; every completed connection is accepted
  closed,        ///< a stack with no listener: it answers the SYN with RST/ACK
  dead,          ///< no host at all: nothing answers
  tiny_backlog,  ///< a listener with an accept queue of SimConfig::tiny_backlog that never accepts
};
/// "listen", "closed", "dead", "tiny-backlog".
[[nodiscard]] std::string_view to_string(ServerMode mode) noexcept;
/// The ServerMode for "listen", "closed", "dead" or "tiny-backlog"; nullopt otherwise.
[[nodiscard]] std::optional<ServerMode> parse_server_mode(std::string_view text) noexcept;

/// The handshake options one host offers.
struct HostOptions {
  std::uint16_t mss = 1460;                  ///< announced MSS (sets the stack's MTU to mss + 40)
  bool window_scaling = true;                ///< offer window scaling (RFC 7323)
  std::uint8_t window_shift = 7;             ///< the shift offered, 0-14
  bool sack = true;                          ///< offer SACK-permitted (RFC 2018)
  bool timestamps = true;                    ///< offer timestamps (RFC 7323)
  tcp::EcnMode ecn = tcp::EcnMode::passive;  ///< ECN: ask (on; accecn: RFC 9768), agree only (passive), off
  std::uint32_t send_buffer = 256 * 1024;    ///< tcp::Config::send_buffer
  std::uint32_t recv_buffer = 256 * 1024;    ///< tcp::Config::recv_buffer (sets the advertised window)
  /// TCP Fast Open (RFC 7413): a client connects with ConnectOptions::fast_open (its request rides in the
  /// SYN once a cookie is cached, a cookie request otherwise); a server listens with a Fast Open queue.
  bool fast_open = false;
};

/// An attacker that floods the server with spoofed SYNs (the syn-flood scenario), as `hping3 -S --flood
/// --rand-source` does: bare SYNs (no options, window 64), evenly spaced at `syn_rate` per second from
/// time 0 for `duration`, each from a random source in 198.51.100.0/24 or 203.0.113.0/24 (hosts 1-254,
/// documentation ranges, RFC 5737), a random port in 1024-65535 and a random ISN, all drawn from the
/// run's seed. They travel the client->server link with the legitimate traffic; the server's answers to
/// them are counted and go nowhere (nobody lives at a spoofed address, so nothing answers with RST).
struct FloodSpec {
  double syn_rate = 5000;                                     ///< SYNs per second
  Duration duration = std::chrono::seconds(10);               ///< how long the attacker sends
  Duration clients_start = std::chrono::seconds(1);           ///< the first legitimate connect
  Duration sample_interval = std::chrono::milliseconds(500);  ///< SYN-queue occupancy samples
};

/// One simulation run, entirely: the hosts, both directions of the link, the workload and the seed. The same
/// SimConfig always gives the same RunResult.
struct SimConfig {
  std::string scenario = "custom";  ///< a name for the output (a named scenario's, or "custom")
  std::uint64_t seed = 1;  ///< the root of every random draw (link fates, jitter, ISN keys, the flood)
  HostOptions client;      ///< what the client offers
  HostOptions server;      ///< what the server offers
  Impairments to_server;   ///< client -> server direction
  Impairments to_client;   ///< server -> client direction
  ServerMode server_mode = ServerMode::listen;  ///< what answers at the server address
  std::uint32_t tiny_backlog = 1;               ///< the accept-queue bound for ServerMode::tiny_backlog
  /// Both hosts open actively at the same instant (the server from its port to the client's).
  bool simultaneous_open = false;

  std::uint32_t connections = 1;                    ///< client connections to open, in order
  Duration stagger = std::chrono::milliseconds(1);  ///< between successive connects in a batch
  /// Connections sharing one pair of stacks. With 1 ms stagger and a 20 ms round trip only ~20 are in
  /// their handshake at once whatever this is; a smaller batch keeps fewer idle connections in the
  /// stacks, whose next_deadline() scans them all.
  std::uint32_t batch_size = 128;
  std::uint32_t request_bytes = 0;  ///< the client sends this many bytes once established
  bool record_segments = true;      ///< keep every SegmentTrace in the result
  bool keep_connections = true;     ///< keep every ConnectionResult in the result
  Duration max_virtual_time = std::chrono::seconds(900);  ///< per batch

  /// 192.0.2.1 (documentation range, RFC 5737); every further 20,000 connections use the next host
  /// address, skipping the server's: 192.0.2.3, 192.0.2.4, ...
  wire::IpAddress client_address = wire::IpAddress::v4(0xC0000201U);
  wire::IpAddress server_address = wire::IpAddress::v4(0xC0000202U);  ///< 192.0.2.2
  std::uint16_t server_port = 80;                                     ///< the port the server listens on
  std::uint16_t first_client_port = 40000;                            ///< the first client's source port

  /// The server listener's SYN-cookie policy (nullopt: the engine's default, when-full).
  std::optional<tcp::SynCookieMode> syn_cookies;
  /// The server listener's SYN-queue bound (nullopt: the engine's default, tcp::Config).
  std::optional<std::uint32_t> syn_queue;
  /// A client connect not established this long after it began is given up (aborted) and counts as a
  /// timeout, like a client with a connect timeout; nullopt: the stack's own SYN retries decide.
  std::optional<Duration> connect_timeout;
  /// An attacker flooding the server; the run is then one batch (every connection shares the stacks).
  std::optional<FloodSpec> flood;
};

/// Callbacks during a run (all optional). Called in virtual-time order; nothing here may throw.
struct SimObserver {
  /// Every segment as it is transmitted, with the number (1-based) of its connection.
  std::function<void(std::uint32_t connection, const SegmentTrace&)> on_segment;
  /// Every transmitted datagram exactly as the sender emitted it (for a pcap).
  std::function<void(Instant at, wire::Bytes datagram)> on_datagram;
  /// A connection's final record (at the end of its batch). Segments are included when recorded.
  std::function<void(const ConnectionResult&)> on_connection;
  /// After each batch: connections finished so far, and the total.
  std::function<void(std::uint64_t done, std::uint64_t total)> on_progress;
  /// Asked between steps of the run: true stops it where it is (RunResult::interrupted), e.g. on SIGINT.
  std::function<bool()> should_stop;
  /// The client's and the server's stack logs (stack::Stack::set_log_hook: state transitions, drops), in
  /// virtual time; unset = no log hook on either stack.
  std::function<void(observe::Role side, const stack::LogRecord&)> on_log;
};

/// Runs the simulation to completion (every batch quiet, or its time cap).
[[nodiscard]] RunResult run(const SimConfig& config, const SimObserver& observer = {});

/// The client endpoint of connection `index`: ports from first_client_port, 20,000 per address, then the
/// address moves up by one, skipping the server's (192.0.2.1, 192.0.2.3, 192.0.2.4, ...).
[[nodiscard]] wire::Endpoint client_endpoint(const SimConfig& config, std::uint32_t index) noexcept;

}  // namespace synack::sim
