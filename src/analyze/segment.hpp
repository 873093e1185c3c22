// Decoding one captured IP datagram to the TCP facts the analyzer needs, leniently when the capture's
// snaplen cut it short: the fixed TCP header is enough, options past the cut become "unknown".
//
// The options are parsed only when asked for (options()): the analyzer reads them on SYNs and SYN-ACKs, on
// recorded connections and, for "timestamps dropped", on the few segments watched after a handshake;
// every other segment (most of a capture) costs the fixed headers only.
#pragma once

#include <cstdint>
#include <optional>

#include "synack/wire/bytes.hpp"
#include "synack/wire/ip_address.hpp"
#include "synack/wire/tcp.hpp"
#include "synack/wire/tcp_options.hpp"

namespace synack::analyze::detail {

struct DecodedSegment {
  wire::Endpoint src;
  wire::Endpoint dst;
  std::uint32_t seq = 0;
  std::uint32_t ack = 0;
  wire::TcpFlags flags;
  std::uint16_t window = 0;
  std::uint32_t payload_length = 0;  ///< from the IP length fields, not the bytes captured
  bool cut_short = false;            ///< the capture held fewer bytes than the datagram had
  bool has_ip_id = false;            ///< IPv4: ip_id holds the datagram's Identification field
  std::uint8_t ip_ecn = 0;           ///< the IP header's ECN field (RFC 3168 §5: 1 ECT(1), 2 ECT(0), 3 CE)
  std::uint16_t ip_id = 0;
  std::uint16_t tcp_checksum = 0;  ///< the checksum field as captured (not verified)
  bool options_cut = false;        ///< the options run past the snaplen's cut: nothing is known of them
  wire::Bytes option_bytes;        ///< the options as captured (a view of the datagram), until parsed

  [[nodiscard]] bool is_pure_syn() const noexcept { return flags.syn() && !flags.ack(); }
  [[nodiscard]] bool is_synack() const noexcept { return flags.syn() && flags.ack(); }

  /// The options (empty when unknown), parsed on first use.
  [[nodiscard]] const wire::TcpOptions& options() const noexcept {
    if (!parsed_) parse_options();
    return *parsed_;
  }
  /// The options were cut off by the snaplen or malformed: nothing is known of them.
  [[nodiscard]] bool options_unknown() const noexcept {
    if (!parsed_) parse_options();
    return options_cut || malformed_;
  }
  /// The segment carries a Timestamps option, or its options are unknown: what "timestamps dropped" asks,
  /// answered without the full parse when a Timestamps option comes first (the common case).
  [[nodiscard]] bool timestamps_or_unknown() const noexcept;

  /// For decoders that parse the options themselves (a copy of a cut datagram).
  void set_options(const wire::TcpOptions& options, bool malformed) noexcept {
    parsed_ = options;
    malformed_ = malformed;
    option_bytes = {};
  }

 private:
  void parse_options() const noexcept;
  mutable std::optional<wire::TcpOptions> parsed_;
  mutable bool malformed_ = false;
};

enum class DecodeError : std::uint8_t { not_tcp, malformed };

/// Decodes `datagram` into `out` (a fresh DecodedSegment: filled in place, never copied). The option bytes
/// stay a view of `datagram`, which must outlive the use of `out`.
[[nodiscard]] std::optional<DecodeError> decode_segment(wire::Bytes datagram, bool cut_short,
                                                        DecodedSegment& out) noexcept;

}  // namespace synack::analyze::detail
