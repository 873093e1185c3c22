/// @file
/// What a simulation run produced: every segment on the link with its fate, each connection's outcome and
/// negotiated options, and a summary. Plain values; renderers (render.hpp) turn them into a ladder, JSON
/// or a pcap.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "synack/observe/handshake.hpp"
#include "synack/observe/stats.hpp"
#include "synack/sim/link.hpp"
#include "synack/time.hpp"
#include "synack/wire/ip_address.hpp"
#include "synack/wire/tcp.hpp"

namespace synack::sim {

/// Which way a segment travelled: the observation layer's one direction type.
using observe::Direction;

/// One transmitted segment as the sender emitted it (before any corruption), with what the link did.
struct SegmentTrace {
  Instant at;                            ///< when the sender transmitted it
  Direction dir = Direction::to_server;  ///< which way it travelled
  wire::TcpHeader header;                ///< its TCP header as sent, options included
  std::uint32_t payload_len = 0;         ///< payload bytes
  Fate fate = Fate::delivered;           ///< what the link did with it
  bool retransmission = false;           ///< it re-sends sequence space this side had already sent
  bool reordered = false;                ///< held back so that later segments overtook it
  /// A SYN-ACK the server's listener answered with a SYN cookie (no SYN-queue entry behind it).
  bool syn_cookie = false;
  /// When it (first) arrived; nullopt when dropped.
  std::optional<Instant> arrival;
};

/// One client connection of a run: its outcome, times, retransmissions and (optionally) every segment.
struct ConnectionResult {
  std::uint32_t number = 1;  ///< 1-based, in start order
  wire::FourTuple tuple;     ///< local = the client
  /// The client's view: established, refused, timed_out, reset or pending (observe/handshake.hpp).
  observe::Outcome outcome = observe::Outcome::pending;
  Instant started_at;                       ///< when the client called connect
  std::optional<Instant> established_at;    ///< when the client reached ESTABLISHED
  std::optional<Instant> ended_at;          ///< when refused / timed out / reset was reported
  std::uint32_t syn_retransmits = 0;        ///< SYNs the client sent again
  std::uint32_t synack_retransmits = 0;     ///< SYN-ACKs the server sent again
  std::uint32_t data_retransmits = 0;       ///< data segments sent again (after the handshake)
  std::optional<std::uint32_t> client_isn;  ///< the client's ISN, once its SYN was sent
  std::optional<std::uint32_t> server_isn;  ///< the server's ISN, once its SYN-ACK was seen
  /// The client's SYN and the server's SYN-ACK as they were sent, and what both agreed once both were sent.
  observe::Negotiated negotiated;
  std::vector<SegmentTrace> segments;  ///< empty unless the run recorded segments

  /// established_at - started_at.
  [[nodiscard]] std::optional<Duration> handshake_time() const noexcept {
    if (!established_at) return std::nullopt;
    return *established_at - started_at;
  }
};

/// The run's totals over every connection and both links.
struct Summary {
  std::array<std::uint64_t, observe::kAllOutcomes.size()> outcomes{};  ///< indexed by observe::Outcome
  std::optional<observe::Percentiles> handshake_ms;                    ///< over established connections
  std::uint64_t syn_retransmits = 0;     ///< SYN retransmissions, all connections
  std::uint64_t synack_retransmits = 0;  ///< SYN-ACK retransmissions, all connections
  std::uint64_t segments = 0;            ///< segments transmitted onto the links (both directions)
  std::uint64_t dropped = 0;             ///< datagrams the links dropped
  std::uint64_t duplicated = 0;          ///< datagrams delivered twice
  std::uint64_t corrupted = 0;           ///< datagrams corrupted
  std::uint64_t reordered = 0;           ///< datagrams held back so later ones passed them
  std::uint64_t checksum_drops = 0;      ///< datagrams the receiving stacks rejected for a bad checksum
  std::uint64_t malformed_drops =
      0;                       ///< ... or as malformed (a flipped data-offset byte fails before the checksum)
  double virtual_seconds = 0;  ///< virtual time the run covered
  /// Handshake-time histogram: bucket i counts handshakes in [edges[i], edges[i+1]) ms; the last is open.
  std::vector<double> histogram_edges_ms;
  std::vector<std::uint64_t> histogram;  ///< handshakes per bucket of histogram_edges_ms

  /// Connections with outcome `o`.
  [[nodiscard]] std::uint64_t count(observe::Outcome o) const noexcept {
    return outcomes[static_cast<std::size_t>(o)];
  }
};

/// The SYN queue's occupancy during one interval of a flood run.
struct QueueSample {
  double from_s = 0;      ///< start of the interval (virtual seconds)
  std::uint32_t max = 0;  ///< most half-open entries at once during it
};

/// What the server saw during a SYN flood (SimConfig::flood). Counts come from the server's own counters
/// (stack::named_counters names in the comments) except where "on the wire" says the simulator counted
/// the segments it carried.
struct FloodReport {
  std::string cookie_policy;          ///< "never", "when-full" or "always"
  std::uint32_t syn_queue_bound = 0;  ///< the listener's SYN-queue bound during the run
  double syn_rate = 0;                ///< attacker SYNs per second
  double duration_s = 0;              ///< how long the attacker sent
  std::uint64_t attacker_syns = 0;    ///< spoofed SYNs the attacker sent (on the wire)
  std::uint64_t legit_syns = 0;  ///< SYNs the legitimate clients sent, retransmissions included (on the wire)
  /// SYNs that reached the listener without a half-open entry of their own (SynackListenSyns): each is
  /// answered from the queue, with a cookie, or dropped. A retransmitted SYN of an entry is not counted.
  std::uint64_t syns_received = 0;
  std::uint64_t synacks_from_queue = 0;  ///< first SYN-ACKs of new SYN-queue entries (on the wire)
  std::uint64_t synack_retransmits = 0;  ///< SYN-ACKs re-sent for queue entries (on the wire)
  std::uint64_t cookies_sent = 0;        ///< TcpExtSyncookiesSent
  std::uint64_t cookie_synacks = 0;      ///< SYN-ACKs marked as cookies (on the wire)
  std::uint64_t cookies_recv = 0;        ///< TcpExtSyncookiesRecv: final ACKs with a valid cookie
  std::uint64_t cookies_failed = 0;      ///< TcpExtSyncookiesFailed
  // Drops by reason.
  std::uint64_t drops_syn_queue_full = 0;     ///< TcpExtTCPReqQFullDrop: queue full, no cookie
  std::uint64_t drops_accept_queue_full = 0;  ///< TcpExtListenOverflows (SYNs and final ACKs)
  std::uint64_t drops_control_queue = 0;      ///< SynackControlQueueDrops: an answer found no room
  std::uint64_t syn_queue_pruned =
      0;  ///< SynackSynQueuePruned: entries dropped to make room (not a SYN drop)
  std::uint64_t synacks_to_spoofed = 0;  ///< SYN-ACKs addressed to spoofed sources (nobody answers them)
  std::uint32_t syn_queue_peak = 0;      ///< most half-open entries at once
  std::vector<QueueSample> syn_queue;    ///< occupancy per interval, from the start of the flood
};

/// Everything a run produced (see the file comment). Renderers in render.hpp turn it into text, JSON or pcap.
struct RunResult {
  std::string scenario;    ///< SimConfig::scenario
  std::uint64_t seed = 0;  ///< SimConfig::seed
  std::vector<ConnectionResult>
      connections;  ///< every connection, in start order (empty when SimConfig::keep_connections was false)
  Summary summary;  ///< the totals
  /// A batch stopped with work left: at SimConfig::max_virtual_time, or because a stack kept reporting an
  /// overdue deadline (a stack bug the simulator refuses to spin on).
  bool hit_time_cap = false;
  /// SimObserver::should_stop stopped the run: connections not finished by then are pending, later ones
  /// were never started (and are not counted).
  bool interrupted = false;
  std::optional<FloodReport> flood;  ///< set when the run had an attacker (SimConfig::flood)
};

/// The histogram's bucket edges in milliseconds (0, 1, 2, 5, 10, 20, 50, ... 100000).
[[nodiscard]] const std::vector<double>& histogram_edges_ms();

/// Counts one connection into `summary` (outcome, retransmissions, histogram) and appends its handshake
/// time (ms) to `handshake_ms` when it was established.
void add_connection(const ConnectionResult& c, Summary& summary, std::vector<double>& handshake_ms);
/// Sets summary.handshake_ms from the collected handshake times.
void finish_summary(Summary& summary, std::vector<double> handshake_ms);
/// add_connection() for each of `connections`, then finish_summary(). Segment and link counters are
/// left as they are.
void summarise(const std::vector<ConnectionResult>& connections, Summary& summary);

}  // namespace synack::sim
