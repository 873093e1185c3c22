// Martian source and destination addresses (RFC 1122 §3.2.1.3, RFC 1812 §5.3.7, RFC 4291).
#include "synack/wire/martian.hpp"

#include <algorithm>
#include <array>
#include <cstddef>

namespace synack::wire {

std::string_view to_string(MartianReason reason) noexcept {
  switch (reason) {
    case MartianReason::zero_net:
      return "zero_net";
    case MartianReason::loopback:
      return "loopback";
    case MartianReason::multicast:
      return "multicast";
    case MartianReason::broadcast_reserved:
      return "broadcast_reserved";
    case MartianReason::v6_unspecified:
      return "v6_unspecified";
    case MartianReason::v6_loopback:
      return "v6_loopback";
    case MartianReason::v6_multicast:
      return "v6_multicast";
    case MartianReason::v4_mapped:
      return "v4_mapped";
  }
  return "?";
}

namespace {

std::optional<MartianReason> v4_class(std::byte first) noexcept {
  const auto top = static_cast<std::uint8_t>(first);
  if (top == 0) return MartianReason::zero_net;
  if (top == 127) return MartianReason::loopback;
  if ((top & 0xF0U) == 0xE0U) return MartianReason::multicast;
  if ((top & 0xF0U) == 0xF0U) return MartianReason::broadcast_reserved;  // 255.255.255.255 is in 240/4
  return std::nullopt;
}

}  // namespace

std::optional<MartianReason> martian_source(const IpAddress& source) noexcept {
  const Bytes b = source.bytes();
  if (source.is_v4()) return v4_class(b[0]);
  if (b[0] == std::byte{0xFF}) return MartianReason::v6_multicast;
  // The remaining IPv6 martians all start with 80 zero bits.
  if (!std::all_of(b.begin(), b.begin() + 10, [](std::byte x) { return x == std::byte{0}; })) {
    return std::nullopt;
  }
  if (b[10] == std::byte{0xFF} && b[11] == std::byte{0xFF}) return MartianReason::v4_mapped;
  if (b[10] != std::byte{0} || b[11] != std::byte{0}) return std::nullopt;
  if (std::all_of(b.begin() + 12, b.begin() + 15, [](std::byte x) { return x == std::byte{0}; })) {
    if (b[15] == std::byte{0}) return MartianReason::v6_unspecified;
    if (b[15] == std::byte{1}) return MartianReason::v6_loopback;
  }
  return std::nullopt;
}

std::optional<MartianReason> martian_destination(const IpAddress& destination) noexcept {
  const Bytes b = destination.bytes();
  if (destination.is_v4()) {
    const auto reason = v4_class(b[0]);
    if (reason == MartianReason::multicast || reason == MartianReason::broadcast_reserved) return reason;
    return std::nullopt;
  }
  if (b[0] == std::byte{0xFF}) return MartianReason::v6_multicast;
  return std::nullopt;
}

}  // namespace synack::wire
