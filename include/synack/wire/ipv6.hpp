/// @file
/// IPv6 (RFC 8200): a checked view that walks extension headers to the upper-layer header, and a fixed
/// header value to emit.
#pragma once

#include <cstdint>
#include <expected>

#include "synack/wire/bytes.hpp"
#include "synack/wire/error.hpp"
#include "synack/wire/ip_address.hpp"

namespace synack::wire {

/// A view over an IPv6 packet. parse() checks the 40-byte header and the payload length, then walks
/// Hop-by-Hop, Routing, Fragment, Destination Options and AH headers (each checked to fit) up to
/// kMaxExtensionHeaders of them. The upper-layer protocol is whatever follows the chain.
class Ipv6View {
 public:
  /// The fixed header's size: 40 bytes.
  static constexpr std::size_t kHeaderSize = 40;
  /// At most this many extension headers are walked; a longer chain is ipv6_extension_chain_too_long.
  static constexpr int kMaxExtensionHeaders = 8;

  /// Checks `packet` and walks its extension headers as described above. Errors: ip_truncated,
  /// ip_bad_version, ip_bad_total_length, ipv6_extension_truncated, ipv6_extension_chain_too_long,
  /// ipv6_unsupported_header.
  [[nodiscard]] static std::expected<Ipv6View, Error> parse(Bytes packet) noexcept;

  [[nodiscard]] std::uint8_t traffic_class()
      const noexcept {  ///< the Traffic Class byte (DSCP in the high 6 bits, ECN in the low 2)
    return static_cast<std::uint8_t>((load_be16(bytes_, 0) >> 4U) & 0xFFU);
  }
  [[nodiscard]] std::uint8_t ecn() const noexcept {
    return traffic_class() & 0x03U;
  }  ///< the ECN field (RFC 3168), 2 bits
  [[nodiscard]] std::uint32_t flow_label() const noexcept {
    return load_be32(bytes_, 0) & 0xFFFFFU;
  }  ///< the 20-bit flow label
  [[nodiscard]] std::uint16_t payload_length() const noexcept {
    return load_be16(bytes_, 4);
  }  ///< bytes after the 40-byte fixed header, extension headers included
  /// The Next Header field of the fixed header (the first extension header, if any).
  [[nodiscard]] std::uint8_t next_header() const noexcept { return load_u8(bytes_, 6); }
  [[nodiscard]] std::uint8_t hop_limit() const noexcept {
    return load_u8(bytes_, 7);
  }  ///< hop limit (IPv4's TTL)
  [[nodiscard]] IpAddress src() const noexcept {
    return IpAddress::from_bytes(bytes_.subspan(8, 16));
  }  ///< source address
  [[nodiscard]] IpAddress dst() const noexcept {
    return IpAddress::from_bytes(bytes_.subspan(24, 16));
  }  ///< destination address

  /// The protocol after the extension-header chain.
  [[nodiscard]] std::uint8_t upper_protocol() const noexcept { return upper_protocol_; }
  /// Bytes from the start of the packet to the upper-layer header.
  [[nodiscard]] std::size_t upper_offset() const noexcept { return upper_offset_; }
  [[nodiscard]] Bytes upper_payload() const noexcept {
    return bytes_.subspan(upper_offset_);
  }  ///< the bytes from the upper-layer header on (the TCP segment)
  [[nodiscard]] int extension_count() const noexcept {
    return extensions_;
  }  ///< how many extension headers parse() walked past
  /// A Fragment header with a non-zero offset or the M flag was on the chain.
  [[nodiscard]] bool is_fragment() const noexcept { return fragment_; }
  /// The packet, trimmed to 40 + payload length.
  [[nodiscard]] Bytes bytes() const noexcept { return bytes_; }

 private:
  explicit Ipv6View(Bytes bytes) noexcept : bytes_(bytes) {}
  Bytes bytes_;
  std::size_t upper_offset_ = kHeaderSize;
  std::uint8_t upper_protocol_ = 0;
  std::uint8_t extensions_ = 0;
  bool fragment_ = false;
};

/// The IPv6 header synack emits: 40 bytes, no extension headers.
struct Ipv6Header {
  IpAddress src;                     ///< must be IPv6
  IpAddress dst;                     ///< must be IPv6
  std::uint8_t next_header = 6;      ///< the Next Header field (6: TCP, no extension headers)
  std::uint8_t hop_limit = 64;       ///< hop limit
  std::uint8_t traffic_class = 0;    ///< Traffic Class (DSCP << 2 | ECN)
  std::uint32_t flow_label = 0;      ///< flow label, 20 bits
  std::uint16_t payload_length = 0;  ///< bytes after the 40-byte header

  /// The emitted header's size: 40 bytes.
  static constexpr std::size_t kSize = 40;
  /// Writes the header into out[0, 40); returns 40, or buffer_too_small.
  [[nodiscard]] std::expected<std::size_t, Error> emit(MutableBytes out) const noexcept;
};

}  // namespace synack::wire
