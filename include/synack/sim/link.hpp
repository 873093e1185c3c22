/// @file
/// One direction of the simulated network: an in-memory link in virtual time with seeded impairments.
///
/// send(now, datagram) decides the segment's fate at once (scripted rules first, then the random draws)
/// and schedules its arrival(s); the driver asks next_delivery() and takes arrivals with pop_due(now).
/// Everything random comes from the link's own Rng stream, so the same seed gives the same fates.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "synack/sim/random.hpp"
#include "synack/time.hpp"
#include "synack/wire/bytes.hpp"

namespace synack::sim {

using namespace std::chrono_literals;

/// What the network did with one transmitted segment.
enum class Fate : std::uint8_t {
  delivered,   ///< arrived once, intact (possibly late: see SendOutcome::reordered)
  dropped,     ///< never arrived
  duplicated,  ///< arrived twice, intact
  corrupted,   ///< arrived with one byte of its TCP part flipped (the receiver's checksum drops it)
  marked,      ///< arrived once with its IP ECN field set to CE by the queue (Impairments::aqm_threshold)
};
/// "delivered", "dropped", "duplicated", "corrupted", "marked" (the JSON spelling).
[[nodiscard]] std::string_view to_string(Fate fate) noexcept;

/// A scripted fate: applies to the segments of each connection (4-tuple) in this direction that match.
struct ScriptRule {
  /// Which segments a rule applies to.
  enum class Match : std::uint8_t {
    nth_syn,        ///< the Nth SYN without ACK of the connection (1 = the first)
    every_syn,      ///< every SYN without ACK
    nth_syn_ack,    ///< the Nth SYN-ACK
    every_syn_ack,  ///< every SYN-ACK
    final_ack,      ///< the first pure ACK after this side sent a SYN: the handshake's third segment
    nth_segment,    ///< the Nth segment of the connection in this direction, whatever it carries
    /// every SYN without ACK that carries data or a Fast Open option: a middlebox hostile to TCP Fast
    /// Open (RFC 7413 §7.1), as the client's fallback must cope with
    tfo_syn,
  };
  Match match = Match::nth_syn;  ///< which segments
  std::uint32_t n = 1;           ///< for the nth_* kinds
  Fate fate = Fate::dropped;     ///< what happens to them
};

/// Impairments of one direction. Probabilities are in [0, 1].
struct Impairments {
  Duration delay = 10ms;   ///< fixed one-way propagation delay
  Duration jitter = 0ms;   ///< extra delay, uniform in [0, jitter]
  double loss = 0.0;       ///< probability a segment is dropped
  double duplicate = 0.0;  ///< probability a segment arrives twice
  double reorder = 0.0;    ///< probability a segment is held back (by delay + 1 ms) so later ones pass it
  double corrupt = 0.0;    ///< probability one byte of the TCP part is flipped
  std::uint64_t bandwidth_bps = 0;  ///< serialisation rate in bits per second; 0 = unlimited
  /// A step AQM on the bottleneck queue (with bandwidth_bps): a datagram that finds more than this much
  /// serialisation backlog ahead of it is marked CE when it is ECN-capable (ECT(0) or ECT(1), RFC 3168
  /// §5) and dropped otherwise (it never enters the queue). Zero: no AQM, the queue is unlimited.
  Duration aqm_threshold = 0ms;
  std::vector<ScriptRule> script;  ///< scripted fates, checked before the random draws
};

/// What send() decided.
struct SendOutcome {
  Fate fate = Fate::delivered;     ///< what happens to the segment
  bool reordered = false;          ///< held back so later segments overtake it (Impairments::reorder)
  bool scripted = false;           ///< the fate came from a ScriptRule
  std::optional<Instant> arrival;  ///< first arrival; nullopt when dropped
};

/// What one direction of the link counted (monotonic).
struct LinkStats {
  std::uint64_t sent = 0;         ///< datagrams given to send()
  std::uint64_t delivered = 0;    ///< arrivals handed out by pop_due (a duplicate counts twice)
  std::uint64_t dropped = 0;      ///< datagrams whose fate was `dropped`
  std::uint64_t duplicated = 0;   ///< datagrams whose fate was `duplicated`
  std::uint64_t corrupted = 0;    ///< datagrams whose fate was `corrupted`
  std::uint64_t reordered = 0;    ///< datagrams held back so later ones passed them
  std::uint64_t marked = 0;       ///< datagrams the AQM marked CE (Impairments::aqm_threshold)
  std::uint64_t aqm_dropped = 0;  ///< Not-ECT datagrams the AQM dropped (included in `dropped`)
  std::uint64_t bytes = 0;        ///< bytes given to send()
};

/// One direction of the simulated network (see the file comment). Owns the datagrams in flight.
class Link {
 public:
  /// A link with `impairments`, drawing from Rng(seed, stream) (one stream per direction).
  Link(Impairments impairments, std::uint64_t seed, std::uint64_t stream);

  /// Transmits one IP datagram at `now`.
  SendOutcome send(Instant now, wire::Bytes datagram);
  /// The earliest pending arrival; Instant::max() when nothing is in flight.
  [[nodiscard]] Instant next_delivery() const noexcept;
  /// The next datagram due at or before `now` (earliest first, ties in send order); nullopt otherwise.
  [[nodiscard]] std::optional<std::vector<std::byte>> pop_due(Instant now);
  /// Datagrams scheduled but not yet taken by pop_due() (a duplicate counts twice).
  [[nodiscard]] std::size_t in_flight() const noexcept { return queue_.size(); }
  /// What the link counted so far.
  [[nodiscard]] const LinkStats& stats() const noexcept { return stats_; }
  /// The impairments it was built with.
  [[nodiscard]] const Impairments& impairments() const noexcept { return impairments_; }
  /// Forgets the per-connection counters of the scripted rules (between independent batches).
  void reset_script_state() { flows_.clear(); }

 private:
  struct Pending {
    Instant at;
    std::uint64_t order = 0;
    std::vector<std::byte> bytes;
  };
  struct Later {
    bool operator()(const Pending& a, const Pending& b) const noexcept {
      return a.at != b.at ? a.at > b.at : a.order > b.order;
    }
  };
  struct FlowCounters {
    std::uint32_t segments = 0;
    std::uint32_t syns = 0;
    std::uint32_t syn_acks = 0;
    bool sent_syn = false;
    bool final_ack_seen = false;
  };

  [[nodiscard]] std::optional<Fate> scripted_fate(wire::Bytes datagram);
  void schedule(Instant at, std::vector<std::byte> bytes);

  Impairments impairments_;
  Rng rng_;
  Instant busy_until_;
  std::uint64_t order_ = 0;
  std::vector<Pending> queue_;  ///< a binary heap ordered by Later (earliest on top)
  std::unordered_map<std::uint64_t, FlowCounters> flows_;
  LinkStats stats_;
};

/// The IP ECN field of a datagram (RFC 3168 §5): IPv4's TOS low bits, IPv6's Traffic Class low bits.
[[nodiscard]] std::uint8_t ecn_field(wire::Bytes datagram) noexcept;
/// Sets the IP ECN field to CE (0b11), as a congested router does; an IPv4 header checksum is mended
/// (RFC 1624), IPv6 has none.
void mark_ce(std::span<std::byte> datagram) noexcept;

/// Flips one byte of the TCP part of `datagram` (after the IP header) to a different value, chosen by
/// `rng`. A single-byte change always breaks the Internet checksum, so the receiver drops the segment.
void corrupt_tcp_byte(std::vector<std::byte>& datagram, Rng& rng);

}  // namespace synack::sim
