// Decoding one captured IP datagram to the TCP facts the analyzer needs, leniently when the capture's
// snaplen cut it short: the fixed TCP header is enough, options past the cut become "unknown".
#pragma once

#include <cstdint>
#include <expected>

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
  bool options_unknown = false;      ///< the options were cut off (or malformed): nothing is known of them
  bool options_malformed = false;
  bool has_ip_id = false;  ///< IPv4: ip_id holds the datagram's Identification field
  std::uint16_t ip_id = 0;
  std::uint16_t tcp_checksum = 0;  ///< the checksum field as captured (not verified)
  wire::TcpOptions options;

  [[nodiscard]] bool is_pure_syn() const noexcept { return flags.syn() && !flags.ack(); }
  [[nodiscard]] bool is_synack() const noexcept { return flags.syn() && flags.ack(); }
};

enum class DecodeError : std::uint8_t { not_tcp, malformed };

[[nodiscard]] std::expected<DecodedSegment, DecodeError> decode_segment(wire::Bytes datagram,
                                                                        bool cut_short) noexcept;

}  // namespace synack::analyze::detail
