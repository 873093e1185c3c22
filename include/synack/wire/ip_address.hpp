// IP addresses (v4 or v6) and transport endpoints as small values.
#pragma once

#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "synack/wire/bytes.hpp"

namespace synack::wire {

enum class IpVersion : std::uint8_t { v4 = 4, v6 = 6 };

class IpAddress {
 public:
  constexpr IpAddress() noexcept = default;  // 0.0.0.0
  [[nodiscard]] static constexpr IpAddress v4(std::array<std::byte, 4> octets) noexcept {
    IpAddress a;
    for (std::size_t i = 0; i < 4; ++i) a.bytes_[i] = octets[i];
    return a;
  }
  [[nodiscard]] static constexpr IpAddress v4(std::uint32_t host_order) noexcept {
    IpAddress a;
    for (std::size_t i = 0; i < 4; ++i) {
      a.bytes_[i] = static_cast<std::byte>((host_order >> (24U - 8U * i)) & 0xFFU);
    }
    return a;
  }
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

  [[nodiscard]] constexpr IpVersion version() const noexcept { return version_; }
  [[nodiscard]] constexpr bool is_v4() const noexcept { return version_ == IpVersion::v4; }
  [[nodiscard]] constexpr bool is_v6() const noexcept { return version_ == IpVersion::v6; }
  /// 4 bytes for IPv4, 16 for IPv6.
  [[nodiscard]] Bytes bytes() const noexcept { return Bytes(bytes_).first(is_v4() ? 4 : 16); }
  [[nodiscard]] std::string to_string() const;

  friend constexpr bool operator==(const IpAddress&, const IpAddress&) noexcept = default;
  friend constexpr std::strong_ordering operator<=>(const IpAddress&, const IpAddress&) noexcept = default;

 private:
  IpVersion version_ = IpVersion::v4;
  std::array<std::byte, 16> bytes_{};
};

struct Endpoint {
  IpAddress address;
  std::uint16_t port = 0;

  /// "192.0.2.1:80" or "[2001:db8::1]:80".
  [[nodiscard]] std::string to_string() const;
  friend constexpr bool operator==(const Endpoint&, const Endpoint&) noexcept = default;
  friend constexpr std::strong_ordering operator<=>(const Endpoint&, const Endpoint&) noexcept = default;
};

/// A connection's identity seen from one host.
struct FourTuple {
  Endpoint local;
  Endpoint remote;

  [[nodiscard]] FourTuple reversed() const noexcept { return {remote, local}; }
  friend constexpr bool operator==(const FourTuple&, const FourTuple&) noexcept = default;
};

/// A fast, non-cryptographic hash for flow tables (the tuple is attacker-chosen: tables keyed by it
/// should bound their buckets or mix in a secret, as tcp/ does).
[[nodiscard]] std::size_t hash_value(const FourTuple& tuple, std::uint64_t seed = 0) noexcept;

}  // namespace synack::wire

template <>
struct std::hash<synack::wire::FourTuple> {
  std::size_t operator()(const synack::wire::FourTuple& t) const noexcept {
    return synack::wire::hash_value(t);
  }
};
