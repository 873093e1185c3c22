// `synack forward`'s relay (docs/forward.md): every forwarder offer of the Stack becomes a non-blocking
// kernel connection to the SYN's destination, and the offer is decided by what that connection does —
// connected: accept (only now does the client get its SYN-ACK); refused: refuse (RST); unreachable or no
// answer within the connect timeout: drop (the client's SYN retransmissions go unanswered, as against a
// filtered port). Accepted connections are relayed both ways with back-pressure on both sides, half-close
// (FIN <-> shutdown(SHUT_WR)) and resets (RST <-> SO_LINGER 0) propagated, and an idle timeout.
//
// Single-threaded: every upstream socket is in one epoll set whose fd the TUN driver's ppoll() watches, so
// one wait covers the device, the upstream sockets, the signals and the Stack's next deadline.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "synack/stack/stack.hpp"
#include "synack/time.hpp"
#include "synack/wire/ip_address.hpp"

namespace synack::cli::forward {

/// What a SYN gets once --max-connections relays are live.
enum class WhenFull : std::uint8_t { drop, refuse };

/// How upstream sockets are made and how long relays may wait.
struct RelayOptions {
  std::string device;                 ///< --upstream-device: SO_BINDTODEVICE (empty: none)
  std::optional<std::uint32_t> mark;  ///< --upstream-mark: SO_MARK
  Duration connect_timeout = std::chrono::seconds(5);
  Duration idle_timeout = std::chrono::seconds(300);  ///< zero: none
  std::uint32_t max_connections = 1024;               ///< relays at once (connecting and connected)
  WhenFull when_full = WhenFull::drop;
  std::size_t chunk = std::size_t{64} * 1024;  ///< bytes moved per read, and held per direction at most
  bool json = false;                           ///< --json-stream: one JSON object per line
  bool quiet = false;                          ///< no per-connection lines
  /// --icmp-unreachable: a dropped offer whose upstream connect failed (not timed out) is answered with
  /// an ICMP destination-unreachable written with this (to the device); empty: dropped silently.
  std::function<void(wire::Bytes)> send_datagram;
};

/// What the relay counted (the summary and --json-stream's "summary" event).
struct RelayCounters {
  std::uint64_t offers = 0;             ///< SYN offers seen
  std::uint64_t accepted = 0;           ///< upstream connected: offer accepted
  std::uint64_t refused = 0;            ///< upstream refused: offer refused
  std::uint64_t dropped = 0;            ///< upstream unreachable or silent: offer dropped
  std::uint64_t expired = 0;            ///< offers the Stack expired before the upstream answered
  std::uint64_t over_limit = 0;         ///< offers dropped or refused for --max-connections
  std::uint64_t half_open_expired = 0;  ///< accepted, but the client never completed the handshake
  std::uint64_t closed = 0;             ///< relays ended by FIN both ways
  std::uint64_t reset_by_client = 0;    ///< relays the client reset (or timed out on)
  std::uint64_t reset_by_upstream = 0;  ///< relays the upstream reset
  std::uint64_t idle = 0;               ///< relays reset for --idle-timeout
  std::uint64_t icmp_sent = 0;          ///< --icmp-unreachable answers
  std::uint64_t bytes_up = 0;           ///< client -> upstream
  std::uint64_t bytes_down = 0;         ///< upstream -> client
  std::size_t peak = 0;                 ///< most relays live at once
};

/// The relay engine (see the file comment). Owns the upstream sockets and the epoll fd given to it.
class Relay {
 public:
  /// `epoll_fd`: an epoll instance the caller made (and the TUN driver watches); closed by the destructor.
  Relay(stack::Stack& stack, int epoll_fd, RelayOptions options);
  Relay(const Relay&) = delete;
  Relay& operator=(const Relay&) = delete;
  ~Relay();

  /// One Stack event (call for every poll_event() result).
  void on_event(Instant now, const stack::Event& e);
  /// Handles every ready upstream socket (epoll_wait with a zero timeout).
  void on_sockets(Instant now);
  /// Connect timeouts and idle timeouts due at `now`.
  void on_timers(Instant now);
  /// When on_timers must run next (Instant::max() when nothing waits).
  [[nodiscard]] Instant wake_by() const;
  [[nodiscard]] const RelayCounters& counters() const noexcept { return counters_; }
  /// Relays live now (connecting, accepted or relaying).
  [[nodiscard]] std::size_t live() const noexcept { return live_; }

 private:
  enum class Phase : std::uint8_t { connecting, accepted, relaying };
  struct Conn {
    std::uint32_t generation = 0;
    bool in_use = false;
    Phase phase = Phase::connecting;
    int fd = -1;
    std::uint32_t interest = 0;  ///< events registered with epoll (0: not registered)
    stack::OfferId offer;
    stack::ConnectionId conn;
    wire::FourTuple tuple;  ///< local = the destination, remote = the client
    Instant syn_at;
    wire::SeqNum seq;  ///< the client's ISN (quoted by an ICMP unreachable)
    Instant connected_at;
    Instant last_active;
    std::vector<std::byte> to_upstream;  ///< read from the client, not yet taken by the upstream socket
    std::size_t to_upstream_off = 0;
    std::vector<std::byte> to_client;  ///< read from the upstream, not yet taken by the Stack
    std::size_t to_client_off = 0;
    bool client_eof = false;     ///< the client's FIN was read
    bool upstream_shut = false;  ///< shutdown(SHUT_WR) done on the upstream socket
    bool upstream_eof = false;   ///< the upstream's FIN was read
    bool client_shut = false;    ///< Stack::shutdown_write done
    std::uint64_t bytes_up = 0;
    std::uint64_t bytes_down = 0;
  };
  struct Deadline {
    Instant at;
    std::uint64_t key;
  };

  [[nodiscard]] static std::uint64_t key_of(std::uint32_t index, const Conn& c) {
    return (std::uint64_t{c.generation} << 32U) | index;
  }
  Conn* find(std::uint64_t key);
  std::uint32_t allocate();
  void release(Conn& c);

  void on_offer(Instant now, stack::OfferId id);
  void start_connect(Instant now, std::uint32_t index);
  void finish_connect(Instant now, Conn& c, int error);
  void on_established(Instant now, const stack::Event& e);
  void on_socket(Instant now, std::uint64_t key, std::uint32_t events);
  void pump_up(Instant now, Conn& c);    ///< client -> upstream
  void pump_down(Instant now, Conn& c);  ///< upstream -> client
  void maybe_finish(Instant now, Conn& c);
  void update_interest(Conn& c);
  /// Ends a relay: closes the upstream socket (with an RST when `rst_upstream`), gives the Stack's id back
  /// (abort: an RST to the client when it is still connected) when `rst_client`, reports and releases.
  void end(Instant now, Conn& c, std::string_view how, bool rst_upstream, bool rst_client);
  void report_offer(Instant now, const Conn& c, std::string_view verdict, int error);
  void report_end(Instant now, const Conn& c, std::string_view how);

  stack::Stack& stack_;
  int epoll_fd_;
  RelayOptions o_;
  std::vector<Conn> conns_;
  std::vector<std::uint32_t> free_;
  std::deque<Deadline> connect_deadlines_;  ///< in order (every connect waits the same time)
  Instant next_sweep_ = Instant::max();
  std::vector<std::byte> scratch_;
  std::size_t live_ = 0;
  RelayCounters counters_;
};

}  // namespace synack::cli::forward
