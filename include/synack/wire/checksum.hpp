/// @file
/// The Internet checksum (RFC 1071), the IPv4 and IPv6 pseudo-headers (RFC 9293 §3.1, RFC 8200 §8.1)
/// and incremental update (RFC 1624).
#pragma once

#include <cstddef>
#include <cstdint>

#include "synack/wire/bytes.hpp"

namespace synack::wire {

class IpAddress;

/// Accumulates the one's-complement sum of a byte stream that may arrive in pieces of any length.
class ChecksumAccumulator {
 public:
  /// Adds `bytes` to the sum; pieces may have any length, odd ones included (the next piece continues at the
  /// odd byte).
  void add(Bytes bytes) noexcept;
  /// Adds a 16-bit value as if it were two bytes in network order (must fall on an even byte boundary).
  void add_u16(std::uint16_t value) noexcept;
  /// Adds a 32-bit value as if it were four bytes in network order (must fall on an even byte boundary).
  void add_u32(std::uint32_t value) noexcept;
  /// The pseudo-header for an upper-layer protocol of `upper_length` bytes (IPv4 or IPv6 by address family).
  void add_pseudo_header(const IpAddress& src, const IpAddress& dst, std::uint8_t protocol,
                         std::uint32_t upper_length) noexcept;
  /// The folded 16-bit sum, not complemented.
  [[nodiscard]] std::uint16_t folded() const noexcept;
  /// The value to put in a checksum field (complement of the folded sum).
  [[nodiscard]] std::uint16_t checksum() const noexcept { return static_cast<std::uint16_t>(~folded()); }

 private:
  std::uint64_t sum_ = 0;
  bool odd_ = false;  // the bytes so far had odd length: the next byte is a low-order byte
};

/// The checksum of `bytes` alone; 0 when `bytes` already contains a correct checksum field.
[[nodiscard]] std::uint16_t internet_checksum(Bytes bytes) noexcept;

/// The checksum of an upper-layer packet (TCP, UDP) under the pseudo-header for `src` and `dst` (IPv4 or
/// IPv6 by address family, RFC 9293 §3.1 / RFC 8200 §8.1; the length is `upper.size()`), computed in one
/// pass. With the checksum field zeroed it is the value to store there; over a packet whose field already
/// holds a correct checksum it is 0.
[[nodiscard]] std::uint16_t upper_layer_checksum(const IpAddress& src, const IpAddress& dst,
                                                 std::uint8_t protocol, Bytes upper) noexcept;

/// RFC 1624 eqn. 3: the new checksum after a 16-bit field changed from `old_value` to `new_value`.
[[nodiscard]] std::uint16_t checksum_update(std::uint16_t checksum, std::uint16_t old_value,
                                            std::uint16_t new_value) noexcept;
/// The same for a 32-bit field (an address, a sequence number), as two 16-bit updates.
[[nodiscard]] std::uint16_t checksum_update(std::uint16_t checksum, std::uint32_t old_value,
                                            std::uint32_t new_value) noexcept;

}  // namespace synack::wire
