/// @file
/// IPv4 (RFC 791): a checked view over received bytes and a header value to emit.
#pragma once

#include <cstdint>
#include <expected>

#include "synack/wire/bytes.hpp"
#include "synack/wire/error.hpp"
#include "synack/wire/ip_address.hpp"

namespace synack::wire {

/// The IP protocol number of TCP (IANA), as carried in the IPv4 protocol field and IPv6 next header.
inline constexpr std::uint8_t kProtocolTcp = 6;

/// A view over an IPv4 datagram. Once parse() succeeded every accessor reads inside the datagram:
/// version is 4, IHL >= 5, the header fits, and total length lies between the header length and the
/// bytes given (bytes past total length, such as Ethernet padding, are excluded from payload()).
class Ipv4View {
 public:
  /// The smallest IPv4 header: 20 bytes, IHL 5, no options.
  static constexpr std::size_t kMinHeaderSize = 20;

  /// Checks `datagram` as described above. Errors: ip_truncated, ip_bad_version, ipv4_bad_header_length,
  /// ip_bad_total_length. The header checksum is not verified here: see header_checksum_ok().
  [[nodiscard]] static std::expected<Ipv4View, Error> parse(Bytes datagram) noexcept;

  /// The header length in bytes (IHL × 4): 20 to 60.
  [[nodiscard]] std::uint8_t header_length() const noexcept {
    return static_cast<std::uint8_t>((load_u8(bytes_, 0) & 0x0FU) * 4U);
  }
  [[nodiscard]] std::uint8_t dscp() const noexcept {
    return load_u8(bytes_, 1) >> 2U;
  }  ///< Differentiated Services code point (RFC 2474), 6 bits
  [[nodiscard]] std::uint8_t ecn() const noexcept {
    return load_u8(bytes_, 1) & 0x03U;
  }  ///< the ECN field (RFC 3168), 2 bits
  [[nodiscard]] std::uint16_t total_length() const noexcept {
    return load_be16(bytes_, 2);
  }  ///< the total length field: header plus payload, in bytes
  [[nodiscard]] std::uint16_t identification() const noexcept {
    return load_be16(bytes_, 4);
  }  ///< the identification field (fragment reassembly)
  [[nodiscard]] bool dont_fragment() const noexcept {
    return (load_u8(bytes_, 6) & 0x40U) != 0;
  }  ///< the DF flag
  [[nodiscard]] bool more_fragments() const noexcept {
    return (load_u8(bytes_, 6) & 0x20U) != 0;
  }  ///< the MF flag
  /// In units of 8 bytes.
  [[nodiscard]] std::uint16_t fragment_offset() const noexcept { return load_be16(bytes_, 6) & 0x1FFFU; }
  [[nodiscard]] bool is_fragment() const noexcept {
    return more_fragments() || fragment_offset() != 0;
  }  ///< a fragment (MF set or a non-zero offset): the TCP header may be absent
  [[nodiscard]] std::uint8_t ttl() const noexcept { return load_u8(bytes_, 8); }  ///< time to live
  [[nodiscard]] std::uint8_t protocol() const noexcept {
    return load_u8(bytes_, 9);
  }  ///< the upper-layer protocol (kProtocolTcp for TCP)
  [[nodiscard]] std::uint16_t header_checksum() const noexcept {
    return load_be16(bytes_, 10);
  }  ///< the header checksum field as received
  [[nodiscard]] IpAddress src() const noexcept {
    return IpAddress::v4(load_be32(bytes_, 12));  // inline: read for every datagram
  }  ///< source address
  [[nodiscard]] IpAddress dst() const noexcept {
    return IpAddress::v4(load_be32(bytes_, 16));
  }  ///< destination address
  [[nodiscard]] Bytes options() const noexcept {
    return bytes_.subspan(20, header_length() - 20U);
  }  ///< the IP options (header bytes past the first 20), possibly empty
  [[nodiscard]] Bytes header() const noexcept {
    return bytes_.first(header_length());
  }  ///< the whole header, options included
  [[nodiscard]] Bytes payload() const noexcept {
    return bytes_.subspan(header_length());
  }  ///< the bytes after the header, up to the total length
  /// The datagram, trimmed to its total length.
  [[nodiscard]] Bytes bytes() const noexcept { return bytes_; }
  /// True when the header checksum verifies (RFC 791, RFC 1071).
  [[nodiscard]] bool header_checksum_ok() const noexcept;

 private:
  explicit Ipv4View(Bytes bytes) noexcept : bytes_(bytes) {}
  Bytes bytes_;
};

/// The IPv4 header synack emits: 20 bytes, no options.
struct Ipv4Header {
  IpAddress src;                         ///< must be IPv4
  IpAddress dst;                         ///< must be IPv4
  std::uint8_t protocol = kProtocolTcp;  ///< the protocol field
  std::uint8_t ttl = 64;                 ///< time to live
  std::uint8_t dscp = 0;                 ///< Differentiated Services code point, 6 bits
  std::uint8_t ecn = 0;                  ///< the ECN field, 2 bits
  std::uint16_t identification = 0;      ///< the identification field
  bool dont_fragment = true;             ///< the DF flag
  std::uint16_t payload_length = 0;      ///< bytes after the header; total length is this + 20

  /// The emitted header's size: 20 bytes, no options.
  static constexpr std::size_t kSize = 20;
  /// Writes the header with its checksum into out[0, 20).
  [[nodiscard]] std::expected<std::size_t, Error> emit(MutableBytes out) const noexcept;
};

}  // namespace synack::wire
