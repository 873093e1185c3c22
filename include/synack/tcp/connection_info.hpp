/// @file
/// A connection as plain values (Stack::info, the simulator's JSON, the CLI ladder, tests): everything an
/// embedder reads about a connection without the engine's own types.
#pragma once

#include <cstdint>
#include <optional>
#include <system_error>

#include "synack/tcp/fast_open.hpp"
#include "synack/tcp/options.hpp"
#include "synack/tcp/state.hpp"
#include "synack/time.hpp"
#include "synack/wire/ip_address.hpp"
#include "synack/wire/seq.hpp"

namespace synack::tcp {

/// A snapshot for the simulator's JSON, the CLI ladder and tests.
struct ConnectionInfo {
  State state = State::closed;  ///< the state when the snapshot was taken
  wire::FourTuple tuple;        ///< local = our side
  bool passive = false;         ///< true for a passive open (accepted from a listener or a forwarder offer)
  wire::SeqNum iss;             ///< our initial sequence number
  wire::SeqNum irs;             ///< the peer's initial sequence number (valid once its SYN arrived)
  Negotiated negotiated;        ///< the options in effect (meaningful once synchronized)
  std::uint32_t syn_retransmits = 0;     ///< our SYN (active) or SYN-ACK (simultaneous open)
  std::uint32_t synack_retransmits = 0;  ///< SYN-ACKs retransmitted while half-open (passive)
  std::uint32_t data_retransmits = 0;    ///< RTO and fast retransmissions after the handshake
  std::optional<Instant> syn_sent_at;    ///< our first SYN (active) or SYN-ACK (passive)
  /// When the connection reached ESTABLISHED; nullopt before that.
  std::optional<Instant> established_at;
  /// The smoothed RTT (RFC 6298); nullopt before the first sample.
  std::optional<Duration> srtt;
  Duration rto{0};                   ///< the current retransmission timeout
  wire::SeqNum snd_una;              ///< SND.UNA: oldest unacknowledged sequence number
  wire::SeqNum snd_nxt;              ///< the next new sequence number (SND.MAX; see Connection::snd_nxt())
  wire::SeqNum rcv_nxt;              ///< RCV.NXT: the next sequence number we expect
  std::uint32_t snd_wnd = 0;         ///< the peer's window, scaled
  std::uint32_t rcv_wnd = 0;         ///< our window
  std::uint64_t bytes_acked = 0;     ///< payload bytes the peer acknowledged
  std::uint64_t bytes_received = 0;  ///< payload bytes received in order
  std::uint32_t challenge_acks_sent = 0;  ///< RFC 5961 challenge ACKs sent
  std::uint32_t challenge_acks_suppressed =
      0;                       ///< challenge ACKs not sent because of Config::challenge_ack_limit
  std::uint32_t cwnd = 0;      ///< congestion window, bytes (RFC 5681)
  std::uint32_t ssthresh = 0;  ///< slow-start threshold, bytes (Congestion::kInfinite before a loss)
  std::uint16_t smss = 0;      ///< payload bytes per full segment: send MSS less our TCP options (RFC 6691)
  std::uint32_t fast_retransmits = 0;  ///< entries into fast recovery (RFC 6582)
  std::uint32_t timeouts = 0;          ///< retransmission timeouts after the handshake
  std::uint32_t ecn_ce_received = 0;   ///< segments that arrived marked CE (negotiated.ecn only)
  std::uint32_t ecn_reductions = 0;    ///< congestion-window reductions for ECE (RFC 3168 §6.1.2)
  std::uint32_t ecn_ce_delivered = 0;  ///< AccECN: CE marks the peer's ACE counter reported (RFC 9768)
  /// How the connection ended: a tcp::Error (refused, timed_out, reset, aborted), or empty while it is open
  /// and after a normal close.
  std::error_code error;
  FastOpenInfo fast_open;  ///< TCP Fast Open (RFC 7413): what happened on the handshake
};

}  // namespace synack::tcp
