/// @file
/// The one incremental per-connection tracker: fed each segment of one connection (time, direction, TCP
/// header, payload length) from the Stack's observer (the demo, the simulator) or from a capture, it keeps
/// what every presenter reports from the wire — each side's ISN and offer, what both agreed, SYN and data
/// retransmissions by the one rule (RetransmissionRule), the FINs, and the outcome the wire shows.
#pragma once

#include <array>
#include <cstdint>
#include <optional>

#include "synack/observe/handshake.hpp"
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
  /// is a retransmission (RetransmissionRule).
  bool observe(Instant at, Direction direction, const wire::TcpHeader& header, std::uint32_t payload_length);

  /// Each side's first SYN / SYN-ACK offer, and agree() over both once both were seen.
  [[nodiscard]] const Negotiated& negotiated() const noexcept { return negotiated_; }
  /// The ISN of `side`'s latest SYN (a new ISN is a new attempt); nullopt before its first.
  [[nodiscard]] std::optional<std::uint32_t> isn(Role side) const noexcept { return at(side).isn; }
  /// SYNs `side` sent: SYN alone, or SYN-ACK (retransmissions included).
  [[nodiscard]] std::uint32_t syns(Role side) const noexcept { return at(side).syns; }
  /// SYN-ACKs `side` sent (retransmissions included); a server's, or both sides' in a simultaneous open.
  [[nodiscard]] std::uint32_t syn_acks(Role side) const noexcept { return at(side).syn_acks; }
  /// SYNs (or SYN-ACKs) `side` sent again.
  [[nodiscard]] std::uint32_t syn_retransmits(Role side) const noexcept { return at(side).syn_retransmits; }
  /// Segments with data or FIN `side` sent again.
  [[nodiscard]] std::uint32_t data_retransmits(Role side) const noexcept { return at(side).data_retransmits; }
  /// Whether `side` sent a FIN.
  [[nodiscard]] bool fin(Role side) const noexcept { return at(side).fin; }

  /// What the wire shows: established (the client's ACK of the server's ISN + 1), refused (an RST from the
  /// server before any SYN-ACK), reset (an RST once established, unless both FINs came first: a closed peer
  /// answering a late segment), pending otherwise. A timeout is not visible on the wire: the caller's
  /// (timed_out()).
  [[nodiscard]] Outcome outcome() const noexcept { return outcome_; }
  /// When the client's ACK of the server's SYN was seen (established).
  [[nodiscard]] std::optional<Instant> established_at() const noexcept { return established_at_; }
  /// When the outcome became a failure: the RST (refused, reset) or timed_out()'s instant.
  [[nodiscard]] std::optional<Instant> ended_at() const noexcept { return ended_at_; }
  /// The caller knows the client gave up (its stack said so, or its last retransmission went unanswered).
  void timed_out(Instant at) noexcept;

 private:
  struct Side {
    std::optional<std::uint32_t> isn;
    std::uint32_t syns = 0;
    std::uint32_t syn_acks = 0;
    std::uint32_t syn_retransmits = 0;
    std::uint32_t data_retransmits = 0;
    bool fin = false;
  };
  [[nodiscard]] const Side& at(Role side) const noexcept { return sides_[static_cast<std::size_t>(side)]; }
  void on_syn(Direction direction, const wire::TcpHeader& header, bool retransmission);
  void decide(Instant at, Direction direction, wire::TcpFlags flags, const wire::TcpHeader& header) noexcept;

  wire::IpVersion version_;
  RetransmissionRule retransmissions_;
  std::array<Side, 2> sides_{};  ///< [Role::client], [Role::server]
  Negotiated negotiated_;
  Outcome outcome_ = Outcome::pending;
  std::optional<Instant> established_at_;
  std::optional<Instant> ended_at_;
};

}  // namespace synack::observe
