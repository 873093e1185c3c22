/// @file
/// The one incremental per-connection tracker: fed each segment of one connection (time, direction, TCP
/// segment with its payload length) from the Stack's observer (the demo, the simulator, listen, connect)
/// or from a capture (the analyzer), it keeps what every presenter reports from the wire — each side's ISN
/// and offer, what both agreed, SYN and data retransmissions by the one rule (RetransmissionRule), the
/// FINs, when each side's SYNs went, and the handshake's outcome the wire shows, with the cases real
/// captures hold: a refused client retrying the same SYN, an RST that does not acknowledge the SYN, a
/// simultaneous open, and a capture that began with the server's SYN-ACK (late start).
///
/// The segment is an observe::Segment: a capture's decoder hands in its fixed fields with the options
/// still undecoded, and the tracker reads them only on SYNs and SYN-ACKs.
#pragma once

#include <array>
#include <cstdint>
#include <optional>

#include "synack/observe/handshake.hpp"
#include "synack/observe/segment.hpp"
#include "synack/time.hpp"
#include "synack/wire/ip_address.hpp"
#include "synack/wire/tcp.hpp"

namespace synack::observe {

/// One connection's observation, segment by segment (see the file comment). A plain value: copy it freely.
class ConnectionTracker {
 public:
  /// `version` decides the default MSS of an offer without one (RFC 9293 §3.7.1: 536, IPv6 1220).
  explicit ConnectionTracker(wire::IpVersion version = wire::IpVersion::v4) noexcept : version_(version) {}

  /// Feeds the next segment of this connection, in the order sent, seen or recorded. Returns true when it
  /// is a retransmission (RetransmissionRule). The first segment is the client's SYN, or, for a capture
  /// that missed it, the server's SYN-ACK (late_start()).
  bool observe(Instant at, Direction direction, const Segment& segment);
  /// The same for a parsed header (the Stack's observer, the simulator).
  bool observe(Instant at, Direction direction, const wire::TcpHeader& header, std::uint32_t payload_length) {
    return observe(at, direction, Segment::from(header, payload_length));
  }

  /// Each side's first SYN / SYN-ACK offer (nullopt also when its options were unreadable: offer()), and
  /// agree() over both once both were seen.
  [[nodiscard]] const Negotiated& negotiated() const noexcept { return negotiated_; }
  /// `side`'s first SYN (client) or SYN-ACK (server) offer as seen; when its options were unreadable
  /// (options_unknown()) only its ECN setup flags are filled in. nullopt before it was seen.
  [[nodiscard]] const std::optional<Offer>& offer(Role side) const noexcept { return at(side).offer; }
  /// The options of `side`'s first SYN / SYN-ACK were cut off by a capture's snaplen or malformed.
  [[nodiscard]] bool options_unknown(Role side) const noexcept { return at(side).options_unknown; }
  /// The ISN of `side`'s latest SYN (a new ISN is a new attempt); nullopt before its first.
  [[nodiscard]] std::optional<std::uint32_t> isn(Role side) const noexcept { return at(side).isn; }
  /// SYNs `side` sent: SYN alone, or SYN-ACK (retransmissions included, retries after a refusal not).
  [[nodiscard]] std::uint32_t syns(Role side) const noexcept { return at(side).syns; }
  /// SYN-ACKs `side` sent (retransmissions included); a server's, or both sides' in a simultaneous open.
  [[nodiscard]] std::uint32_t syn_acks(Role side) const noexcept { return at(side).syn_acks; }
  /// SYNs (or SYN-ACKs) `side` sent again.
  [[nodiscard]] std::uint32_t syn_retransmits(Role side) const noexcept { return at(side).syn_retransmits; }
  /// Segments with data or FIN `side` sent again.
  [[nodiscard]] std::uint32_t data_retransmits(Role side) const noexcept { return at(side).data_retransmits; }
  /// Whether `side` sent a FIN.
  [[nodiscard]] bool fin(Role side) const noexcept { return at(side).fin; }
  /// When `side` sent its first SYN (client) or SYN-ACK (server; a simultaneous open's SYN); nullopt
  /// before it.
  [[nodiscard]] std::optional<Instant> first_syn_at(Role side) const noexcept { return at(side).first_syn; }
  /// When `side` sent its latest SYN / SYN-ACK (the origin before its first).
  [[nodiscard]] Instant last_syn_at(Role side) const noexcept { return at(side).last_syn; }
  /// When `side` sent the SYN / SYN-ACK before its latest (the last retransmission gap).
  [[nodiscard]] Instant previous_syn_at(Role side) const noexcept { return at(side).previous_syn; }
  /// When the client sent the SYN the server first answered (SYN-ACK, its own SYN, or a refusing RST): the
  /// client's latest SYN then; nullopt while unanswered.
  [[nodiscard]] std::optional<Instant> answered_syn_at() const noexcept { return answered_syn_; }
  /// When the server's SYN-ACK that the client's ACK acknowledged was sent (established).
  [[nodiscard]] std::optional<Instant> acknowledged_syn_ack_at() const noexcept { return acked_syn_ack_; }

  /// The first segment was the server's SYN-ACK: the capture missed the client's SYN.
  [[nodiscard]] bool late_start() const noexcept { return late_start_; }
  /// Still pending with the client's SYN sent and no answer (SYN-ACK, SYN or refusing RST) yet.
  [[nodiscard]] bool awaiting_answer() const noexcept {
    return handshake_ == Outcome::pending && !late_start_ && !answered_syn_;
  }
  /// The same SYN (the same ISN) sent again after the server refused it (Windows retries a refused port,
  /// 0.5 s apart); not counted in syns() or syn_retransmits().
  [[nodiscard]] std::uint32_t retries_after_refusal() const noexcept { return retries_after_refusal_; }
  /// When the latest retry after the refusal was sent.
  [[nodiscard]] std::optional<Instant> last_retry_at() const noexcept { return last_retry_; }
  /// RSTs from the server while the SYN was unanswered that did not acknowledge it, and were ignored
  /// (RFC 9293 §3.10.7.3).
  [[nodiscard]] std::uint32_t ignored_rsts() const noexcept { return ignored_rsts_; }
  /// The side whose RST ended the connection (refused, reset); nullopt otherwise.
  [[nodiscard]] std::optional<Role> reset_by() const noexcept { return reset_by_; }

  /// How the connection stands: established (the client's ACK of the server's SYN-ACK), refused (an
  /// acceptable RST from the server before any SYN-ACK), simultaneous_open (the server's own SYN while the
  /// client's was unanswered), reset (an RST during the handshake after the SYN-ACK, or once established,
  /// unless both FINs came first: a closed peer answering a late segment), incomplete (a late start,
  /// decided by the client's ACK or RST), pending otherwise. A timeout is not visible on the wire: the
  /// caller's (timed_out()).
  [[nodiscard]] Outcome outcome() const noexcept { return outcome_; }
  /// The same for the handshake alone: what outcome() was when the handshake was decided (an established
  /// connection reset later stays established here).
  [[nodiscard]] Outcome handshake_outcome() const noexcept { return handshake_; }
  /// When the client's ACK of the server's SYN was seen (established, or a late start completed).
  [[nodiscard]] std::optional<Instant> established_at() const noexcept { return established_at_; }
  /// When the outcome became a failure: the RST (refused, reset) or timed_out()'s instant.
  [[nodiscard]] std::optional<Instant> ended_at() const noexcept { return ended_at_; }
  /// The caller knows the client gave up (its stack said so, or its last retransmission went unanswered).
  void timed_out(Instant at) noexcept;

 private:
  struct Side {
    std::optional<std::uint32_t> isn;
    std::optional<Offer> offer;
    std::optional<Instant> first_syn;
    Instant last_syn;
    Instant previous_syn;
    std::uint32_t syns = 0;
    std::uint32_t syn_acks = 0;
    std::uint32_t syn_retransmits = 0;
    std::uint32_t data_retransmits = 0;
    bool options_unknown = false;
    bool fin = false;
  };
  [[nodiscard]] const Side& at(Role side) const noexcept { return sides_[static_cast<std::size_t>(side)]; }
  [[nodiscard]] Side& at(Role side) noexcept { return sides_[static_cast<std::size_t>(side)]; }
  void on_syn(Instant at, Role role, const Segment& segment, bool retransmission);
  void decide(Instant at, Direction direction, const Segment& segment) noexcept;
  void decide_from_client(Instant at, const Segment& segment) noexcept;
  void decide_from_server(Instant at, const Segment& segment) noexcept;
  void end(Outcome outcome, Instant at, std::optional<Role> by) noexcept;

  wire::IpVersion version_;
  RetransmissionRule retransmissions_;
  std::array<Side, 2> sides_{};  ///< [Role::client], [Role::server]
  Negotiated negotiated_;
  Outcome outcome_ = Outcome::pending;
  Outcome handshake_ = Outcome::pending;
  bool late_start_ = false;
  bool seen_any_ = false;
  std::optional<Role> reset_by_;
  std::uint32_t retries_after_refusal_ = 0;
  std::uint32_t ignored_rsts_ = 0;
  std::optional<Instant> answered_syn_;
  std::optional<Instant> acked_syn_ack_;
  std::optional<Instant> last_retry_;
  std::optional<Instant> established_at_;
  std::optional<Instant> ended_at_;
};

}  // namespace synack::observe
