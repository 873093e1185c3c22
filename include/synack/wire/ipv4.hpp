// IPv4 (RFC 791): a checked view over received bytes and a header value to emit.
#pragma once

#include <cstdint>
#include <expected>

#include "synack/wire/bytes.hpp"
#include "synack/wire/error.hpp"
#include "synack/wire/ip_address.hpp"

namespace synack::wire {

inline constexpr std::uint8_t kProtocolTcp = 6;

/// A view over an IPv4 datagram. Once parse() succeeded every accessor reads inside the datagram:
/// version is 4, IHL >= 5, the header fits, and total length lies between the header length and the
/// bytes given (bytes past total length, such as Ethernet padding, are excluded from payload()).
class Ipv4View {
 public:
  static constexpr std::size_t kMinHeaderSize = 20;

  [[nodiscard]] static std::expected<Ipv4View, Error> parse(Bytes datagram) noexcept;

  [[nodiscard]] std::uint8_t header_length() const noexcept {
    return static_cast<std::uint8_t>((load_u8(bytes_, 0) & 0x0FU) * 4U);
  }
  [[nodiscard]] std::uint8_t dscp() const noexcept { return load_u8(bytes_, 1) >> 2U; }
  [[nodiscard]] std::uint8_t ecn() const noexcept { return load_u8(bytes_, 1) & 0x03U; }
  [[nodiscard]] std::uint16_t total_length() const noexcept { return load_be16(bytes_, 2); }
  [[nodiscard]] std::uint16_t identification() const noexcept { return load_be16(bytes_, 4); }
  [[nodiscard]] bool dont_fragment() const noexcept { return (load_u8(bytes_, 6) & 0x40U) != 0; }
  [[nodiscard]] bool more_fragments() const noexcept { return (load_u8(bytes_, 6) & 0x20U) != 0; }
  /// In units of 8 bytes.
  [[nodiscard]] std::uint16_t fragment_offset() const noexcept { return load_be16(bytes_, 6) & 0x1FFFU; }
  [[nodiscard]] bool is_fragment() const noexcept { return more_fragments() || fragment_offset() != 0; }
  [[nodiscard]] std::uint8_t ttl() const noexcept { return load_u8(bytes_, 8); }
  [[nodiscard]] std::uint8_t protocol() const noexcept { return load_u8(bytes_, 9); }
  [[nodiscard]] std::uint16_t header_checksum() const noexcept { return load_be16(bytes_, 10); }
  [[nodiscard]] IpAddress src() const noexcept { return IpAddress::from_bytes(bytes_.subspan(12, 4)); }
  [[nodiscard]] IpAddress dst() const noexcept { return IpAddress::from_bytes(bytes_.subspan(16, 4)); }
  [[nodiscard]] Bytes options() const noexcept { return bytes_.subspan(20, header_length() - 20U); }
  [[nodiscard]] Bytes header() const noexcept { return bytes_.first(header_length()); }
  [[nodiscard]] Bytes payload() const noexcept { return bytes_.subspan(header_length()); }
  /// The datagram, trimmed to its total length.
  [[nodiscard]] Bytes bytes() const noexcept { return bytes_; }
  [[nodiscard]] bool header_checksum_ok() const noexcept;

 private:
  explicit Ipv4View(Bytes bytes) noexcept : bytes_(bytes) {}
  Bytes bytes_;
};

/// The IPv4 header synack emits: 20 bytes, no options.
struct Ipv4Header {
  IpAddress src;  ///< must be IPv4
  IpAddress dst;  ///< must be IPv4
  std::uint8_t protocol = kProtocolTcp;
  std::uint8_t ttl = 64;
  std::uint8_t dscp = 0;
  std::uint8_t ecn = 0;
  std::uint16_t identification = 0;
  bool dont_fragment = true;
  std::uint16_t payload_length = 0;

  static constexpr std::size_t kSize = 20;
  /// Writes the header with its checksum into out[0, 20).
  [[nodiscard]] std::expected<std::size_t, Error> emit(MutableBytes out) const noexcept;
};

}  // namespace synack::wire
