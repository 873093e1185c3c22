/// @file
/// Typed errors for everything wire/ parses or emits, registered as a std::error_code category
/// ("synack.wire") so they compose with the rest of the program's error handling.
#pragma once

#include <cstdint>
#include <string_view>
#include <system_error>

namespace synack::wire {

/// Why wire/ rejected a packet or could not emit one. 0 is never used, so a zero std::error_code means
/// success; the value is also the error_code's value in the "synack.wire" category.
enum class Error : std::uint8_t {
  // IPv4 / IPv6 network layer
  ip_truncated = 1,          ///< fewer bytes than the fixed IP header
  ip_bad_version,            ///< version nibble is neither 4 nor 6 (or not the one asked for)
  ipv4_bad_header_length,    ///< IHL below 5, or past the end of the packet
  ip_bad_total_length,       ///< IPv4 total length / IPv6 payload length disagrees with the bytes present
  ipv4_bad_checksum,         ///< IPv4 header checksum does not verify
  ip_fragment,               ///< a fragment: the TCP header cannot be read without reassembly
  ip_not_tcp,                ///< the upper-layer protocol is not TCP
  ipv6_extension_truncated,  ///< an IPv6 extension header runs off the end of the packet
  ipv6_extension_chain_too_long,  ///< more extension headers than we are willing to walk
  ipv6_unsupported_header,        ///< a header we cannot walk past (ESP, jumbogram)
  // TCP
  tcp_truncated,             ///< fewer than 20 bytes of TCP header
  tcp_bad_data_offset,       ///< data offset below 5 words
  tcp_data_offset_past_end,  ///< data offset points past the end of the segment
  tcp_bad_checksum,          ///< the TCP checksum (with pseudo-header) does not verify
  // TCP options
  option_truncated,     ///< an option kind with no room for its length byte
  option_bad_length,    ///< length 0 or 1, or running past the end of the option space
  option_wrong_length,  ///< a known kind with a length its definition does not allow (MSS of 3 …)
  // emission
  buffer_too_small,  ///< the output buffer cannot hold what is being emitted
  options_too_long,  ///< options do not fit the 40 bytes a TCP header allows
  payload_too_long,  ///< the datagram would exceed 65,535 bytes
  // link layer (captures)
  link_truncated,    ///< the frame ends inside its link-layer header
  link_unsupported,  ///< a link type synack does not decode
  link_not_ip,       ///< the frame carries something other than IPv4 or IPv6
};

/// The enumerator's name, e.g. "tcp_bad_checksum" (for counters and JSON).
[[nodiscard]] std::string_view to_string(Error error) noexcept;
/// The "synack.wire" category; its message() is a human-readable sentence per Error.
[[nodiscard]] const std::error_category& wire_category() noexcept;
/// Makes an Error usable as a std::error_code (found by argument-dependent lookup).
[[nodiscard]] inline std::error_code make_error_code(Error error) noexcept {
  return {static_cast<int>(error), wire_category()};
}

}  // namespace synack::wire

template <>
struct std::is_error_code_enum<synack::wire::Error> : std::true_type {};
