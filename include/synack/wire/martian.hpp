/// @file
/// Martian addresses: sources and destinations no TCP segment may legitimately carry (RFC 1122 §3.2.1.3,
/// RFC 1812 §5.3.7, RFC 4291 §2.5.2-§2.7). Pure classification of one address; what a host owns (the
/// "land" attack: our own address as source) is the Stack's to check, it knows its addresses.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "synack/wire/ip_address.hpp"

namespace synack::wire {

/// Why an address is martian: which reserved range (and which RFC) rules it out.
enum class MartianReason : std::uint8_t {
  zero_net,            ///< 0.0.0.0/8: "this host on this network", never a source on the wire (§3.2.1.3 (a))
  loopback,            ///< 127.0.0.0/8: "MUST NOT appear outside a host" (§3.2.1.3 (g))
  multicast,           ///< 224.0.0.0/4: a class D address is never a source (RFC 1812 §5.3.7)
  broadcast_reserved,  ///< 240.0.0.0/4, 255.255.255.255 included: class E and the limited broadcast
  v6_unspecified,  ///< :: (RFC 4291 §2.5.2: "must not be used as the source address" of a forwarded packet)
  v6_loopback,     ///< ::1 (RFC 4291 §2.5.3: "must never be sent outside a single node")
  v6_multicast,    ///< ff00::/8 (RFC 4291 §2.7: "must not be used as source addresses")
  v4_mapped,       ///< \::ffff:0:0/96: IPv4 addresses for dual-stack APIs, not expected on the wire
};
/// The enumerator's name, e.g. "loopback" (for counters and JSON).
[[nodiscard]] std::string_view to_string(MartianReason reason) noexcept;

/// Why `source` cannot be the source of a segment we receive; nullopt when it can.
[[nodiscard]] std::optional<MartianReason> martian_source(const IpAddress& source) noexcept;

/// Why `destination` cannot be the destination of a TCP segment (TCP is unicast: RFC 1122 §4.2.3.10
/// "A TCP implementation MUST silently discard an incoming SYN segment that is addressed to a broadcast
/// or multicast address"): multicast, broadcast_reserved or v6_multicast; nullopt when it can. A
/// directed broadcast (the all-ones host of a subnet) needs the prefix length, which the stack does not
/// have: it is not detected.
[[nodiscard]] std::optional<MartianReason> martian_destination(const IpAddress& destination) noexcept;

/// The per-datagram fast path: an IPv4 first octet outside 0/8, 127/8 and 224/3 (multicast, class E,
/// limited broadcast) is neither a martian source nor a martian destination. False means "classify".
[[nodiscard]] constexpr bool ordinary_v4_octet(std::uint8_t first) noexcept {
  return first != 0 && first != 127 && first < 224;
}

}  // namespace synack::wire
