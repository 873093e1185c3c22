// Decoding one captured IP datagram to the TCP facts the analyzer needs, leniently when the capture's
// snaplen cut it short: the fixed TCP header is enough, options past the cut become "unknown".
//
// The options are parsed only when asked for (options()): the analyzer reads them on SYNs and SYN-ACKs, on
// recorded connections and, for "timestamps dropped", on the few segments watched after a handshake;
// every other segment (most of a capture) costs the fixed headers only.
#pragma once

#include <cstdint>
#include <optional>

#include "synack/observe/segment.hpp"
#include "synack/wire/bytes.hpp"
#include "synack/wire/ip_address.hpp"
#include "synack/wire/tcp.hpp"
#include "synack/wire/tcp_options.hpp"

namespace synack::analyze::detail {

/// A captured segment: the observation layer's lazily decoded TCP segment (observe::Segment: fixed fields,
/// options parsed on first use) with the IP facts the analyzer adds (endpoints, ECN, duplicate detection).
struct DecodedSegment : observe::Segment {
  wire::Endpoint src;
  wire::Endpoint dst;
  bool cut_short = false;          ///< the capture held fewer bytes than the datagram had
  bool has_ip_id = false;          ///< IPv4: ip_id holds the datagram's Identification field
  std::uint8_t ip_ecn = 0;         ///< the IP header's ECN field (RFC 3168 §5: 1 ECT(1), 2 ECT(0), 3 CE)
  std::uint16_t ip_id = 0;         ///< IPv4 Identification
  std::uint16_t tcp_checksum = 0;  ///< the checksum field as captured (not verified)

  /// Makes the segment ready for decode_segment() again: what a decoder may leave unset is reset (the
  /// options, the flags of a cut or an IPv4 datagram); the rest every decoder writes.
  void reset() noexcept {
    reset_options();
    cut_short = false;
    has_ip_id = false;
    ip_ecn = 0;
    ip_id = 0;
  }
};

enum class DecodeError : std::uint8_t { not_tcp, malformed };

/// Decodes `datagram` into `out` (a fresh DecodedSegment, or one reset(): filled in place, never copied). The
/// option bytes stay a view of `datagram`, which must outlive the use of `out`.
[[nodiscard]] std::optional<DecodeError> decode_segment(wire::Bytes datagram, bool cut_short,
                                                        DecodedSegment& out) noexcept;

}  // namespace synack::analyze::detail
