/// @file
/// IP addresses (v4 or v6) and transport endpoints as small values.
#pragma once

#include <array>
#include <bit>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "synack/wire/bytes.hpp"

namespace synack::wire {

/// The IP version of an address; the values are the header's version nibble.
enum class IpVersion : std::uint8_t { v4 = 4, v6 = 6 };

/// An IPv4 or IPv6 address as a 17-byte value (family + 16 bytes, IPv4 in the first 4). Cheap to copy,
/// totally ordered (IPv4 before IPv6, then bytewise), hashable through FourTuple.
class IpAddress {
 public:
  /// The unspecified IPv4 address 0.0.0.0.
  constexpr IpAddress() noexcept = default;  // 0.0.0.0
  /// The IPv4 address with these octets, in network order (`{192, 0, 2, 1}` is 192.0.2.1).
  [[nodiscard]] static constexpr IpAddress v4(std::array<std::byte, 4> octets) noexcept {
    IpAddress a;
    if !consteval {
      std::memcpy(a.bytes_.data(), octets.data(), octets.size());  // one 32-bit store, not four bytes
      return a;
    }
    for (std::size_t i = 0; i < 4; ++i) a.bytes_[i] = octets[i];
    return a;
  }
  /// The IPv4 address `host_order` (0xC0000201 is 192.0.2.1).
  [[nodiscard]] static constexpr IpAddress v4(std::uint32_t host_order) noexcept {
    IpAddress a;
    if !consteval {
      // A byte swap and one 32-bit store: GCC kept the loop below as four shifted byte stores (issue 10).
      if constexpr (std::endian::native == std::endian::little) host_order = std::byteswap(host_order);
      std::memcpy(a.bytes_.data(), &host_order, sizeof host_order);
      return a;
    }
    for (std::size_t i = 0; i < 4; ++i) {
      a.bytes_[i] = static_cast<std::byte>((host_order >> (24U - 8U * i)) & 0xFFU);
    }
    return a;
  }
  /// The IPv6 address with these 16 bytes, in network order.
  [[nodiscard]] static constexpr IpAddress v6(std::array<std::byte, 16> octets) noexcept {
    IpAddress a;
    a.version_ = IpVersion::v6;
    a.bytes_ = octets;
    return a;
  }
  /// Reads 4 or 16 bytes; any other size is a programming error (returns 0.0.0.0).
  [[nodiscard]] static IpAddress from_bytes(Bytes bytes) noexcept;
  /// "192.0.2.1" or "2001:db8::1" (brackets allowed for IPv6); nullopt when it is neither.
  [[nodiscard]] static std::optional<IpAddress> parse(std::string_view text);

  /// Which family the address belongs to.
  [[nodiscard]] constexpr IpVersion version() const noexcept { return version_; }
  /// @{
  /// True for an IPv4 (is_v4) or IPv6 (is_v6) address.
  [[nodiscard]] constexpr bool is_v4() const noexcept { return version_ == IpVersion::v4; }
  [[nodiscard]] constexpr bool is_v6() const noexcept { return version_ == IpVersion::v6; }
  /// @}
  /// 4 bytes for IPv4, 16 for IPv6.
  [[nodiscard]] Bytes bytes() const noexcept { return Bytes(bytes_).first(is_v4() ? 4 : 16); }
  /// The first address byte (an IPv4 address's first octet): classification without a span.
  [[nodiscard]] constexpr std::uint8_t first_octet() const noexcept {
    return static_cast<std::uint8_t>(bytes_[0]);
  }
  /// The conventional text form (inet_ntop): "192.0.2.1", or compressed IPv6 ("2001:db8::1").
  [[nodiscard]] std::string to_string() const;

  /// The 16 address bytes (an IPv4 address in the first 4, the rest zero) as two words in native byte
  /// order: for equality and hashing, not for the wire.
  [[nodiscard]] constexpr std::array<std::uint64_t, 2> words() const noexcept {
    return std::bit_cast<std::array<std::uint64_t, 2>>(bytes_);
  }

  /// Equality: same family and the same bytes.
  // Two 64-bit compares and a byte, not a byte loop (the flow table compares tuples on every packet).
  // Always in line: GCC otherwise kept it out of line in the flow table's tuple compares (a call for
  // three loads and compares, five a handshake).
  [[gnu::always_inline]] friend constexpr bool operator==(const IpAddress& a, const IpAddress& b) noexcept {
    const auto x = a.words();
    const auto y = b.words();
    return a.version_ == b.version_ && ((x[0] ^ y[0]) | (x[1] ^ y[1])) == 0;
  }
  /// Total order: family first (IPv4 < IPv6), then the bytes in network order. For ordered containers and
  /// stable output, not for anything on the wire.
  friend constexpr std::strong_ordering operator<=>(const IpAddress&, const IpAddress&) noexcept = default;

 private:
  IpVersion version_ = IpVersion::v4;
  std::array<std::byte, 16> bytes_{};
};

/// A transport endpoint: an address and a port (host byte order).
struct Endpoint {
  /// The IP address (either family).
  IpAddress address;
  /// The TCP port, in host byte order; 0 means "any" where an API says so.
  std::uint16_t port = 0;

  /// "192.0.2.1:80" or "[2001:db8::1]:80".
  [[nodiscard]] std::string to_string() const;
  /// @{
  /// Compared by address, then port.
  friend constexpr bool operator==(const Endpoint&, const Endpoint&) noexcept = default;
  friend constexpr std::strong_ordering operator<=>(const Endpoint&, const Endpoint&) noexcept = default;
  /// @}
};

/// A connection's identity seen from one host.
struct FourTuple {
  /// Our side: the address and port this host uses.
  Endpoint local;
  /// The peer's side.
  Endpoint remote;

  /// The same connection seen from the peer: local and remote swapped.
  [[nodiscard]] FourTuple reversed() const noexcept { return {remote, local}; }
  /// Equal when both endpoints are equal.
  friend constexpr bool operator==(const FourTuple&, const FourTuple&) noexcept = default;
};

/// A fast, non-cryptographic hash for flow tables (the tuple is attacker-chosen: tables keyed by it
/// should bound their buckets or mix in a secret, as tcp/ does). Every bit of the result depends on every
/// bit of the tuple and of the seed; the low bits are fit for a home slot.
[[nodiscard]] constexpr std::size_t hash_value(const FourTuple& tuple, std::uint64_t seed = 0) noexcept {
  // Keyed from the first step: the seed enters before any tuple word, and each step h -> (h ^ w) * K,
  // h ^= h >> 32 is a bijection of h, so tuples that differ in one word never collide on 64 bits and
  // which ones collide on fewer bits depends on the seed. A splitmix64-style finaliser spreads the last
  // words into the low bits.
  constexpr std::uint64_t kMul = 0x9E3779B97F4A7C15ULL;
  const auto step = [](std::uint64_t h, std::uint64_t w) constexpr noexcept {
    h = (h ^ w) * kMul;
    return h ^ (h >> 32U);
  };
  const auto local = tuple.local.address.words();
  const auto remote = tuple.remote.address.words();
  std::uint64_t h = seed ^ 0x243F6A8885A308D3ULL;
  h = step(h, local[0]);
  h = step(h, local[1]);
  h = step(h, remote[0]);
  h = step(h, remote[1]);
  h = step(h, (static_cast<std::uint64_t>(tuple.local.port) << 16U) | tuple.remote.port |
                  (static_cast<std::uint64_t>(tuple.local.address.version()) << 32U) |
                  (static_cast<std::uint64_t>(tuple.remote.address.version()) << 40U));
  h ^= h >> 29U;
  h *= 0xBF58476D1CE4E5B9ULL;
  h ^= h >> 32U;
  return static_cast<std::size_t>(h);
}

}  // namespace synack::wire

template <>
struct std::hash<synack::wire::FourTuple> {
  std::size_t operator()(const synack::wire::FourTuple& t) const noexcept {
    return synack::wire::hash_value(t);
  }
};
