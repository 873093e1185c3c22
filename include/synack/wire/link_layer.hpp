/// @file
/// Link-layer decapsulation for captured frames: finds the IP datagram inside a frame of a given pcap
/// link type (raw IP, Ethernet with VLAN tags, Linux cooked SLL/SLL2, BSD loopback). Pure, no I/O.
#pragma once

#include <cstddef>
#include <cstdint>
#include <expected>

#include "synack/wire/bytes.hpp"
#include "synack/wire/error.hpp"
#include "synack/wire/ip_address.hpp"

namespace synack::wire {

/// pcap DLT_ values (as pcap_datalink() reports them) that decapsulate() understands.
namespace dlt {
inline constexpr std::uint32_t kNull = 0;           ///< BSD loopback, 4-byte AF in the capturer's byte order
inline constexpr std::uint32_t kEn10Mb = 1;         ///< Ethernet II
inline constexpr std::uint32_t kRaw = 12;           ///< raw IP (DLT_RAW on most platforms)
inline constexpr std::uint32_t kRawAlt = 14;        ///< raw IP (DLT_RAW on OpenBSD)
inline constexpr std::uint32_t kLinktypeRaw = 101;  ///< raw IP (LINKTYPE_RAW, the on-disk value)
inline constexpr std::uint32_t kLoop = 108;         ///< OpenBSD loopback, 4-byte AF in network byte order
inline constexpr std::uint32_t kLinuxSll = 113;     ///< Linux cooked capture v1 (16-byte header)
inline constexpr std::uint32_t kIpv4 = 228;         ///< raw IPv4 only
inline constexpr std::uint32_t kIpv6 = 229;         ///< raw IPv6 only
inline constexpr std::uint32_t kLinuxSll2 = 276;    ///< Linux cooked capture v2 (20-byte header)
}  // namespace dlt

/// Ethertypes decapsulate() recognises.
namespace ethertype {
inline constexpr std::uint16_t kIpv4 = 0x0800;     ///< IPv4 (RFC 894)
inline constexpr std::uint16_t kIpv6 = 0x86DD;     ///< IPv6 (RFC 2464)
inline constexpr std::uint16_t kArp = 0x0806;      ///< ARP: recognised so it can be reported as link_not_ip
inline constexpr std::uint16_t kVlan = 0x8100;     ///< 802.1Q customer tag
inline constexpr std::uint16_t kQinQ = 0x88A8;     ///< 802.1ad service tag
inline constexpr std::uint16_t kQinQOld = 0x9100;  ///< pre-standard double tagging
}  // namespace ethertype

/// At most this many stacked VLAN tags are walked; a frame with more is reported as link_not_ip.
inline constexpr std::size_t kMaxVlanTags = 4;

/// The network-layer datagram found inside a captured frame.
struct LinkPayload {
  /// IPv4 or IPv6, from the ethertype, address family or version nibble.
  IpVersion version = IpVersion::v4;
  /// Everything after the link-layer header(s). May end with link padding (Ethernet pads to 60 bytes);
  /// the IP views trim to the datagram's own length.
  Bytes datagram;
  /// Bytes of link-layer header skipped before the datagram (including VLAN tags).
  std::size_t header_length = 0;
  /// How many VLAN tags were walked past.
  std::uint8_t vlan_tags = 0;
};

/// Finds the IP datagram inside `frame`, captured with pcap link type `linktype` (a DLT_ value as
/// pcap_datalink() returns it; LINKTYPE_RAW 101 is accepted too). Errors: link_truncated when the frame
/// ends inside a link header (or is empty for raw IP), link_unsupported for an unknown link type,
/// link_not_ip when the frame carries something other than IPv4/IPv6 (ARP, an unknown AF, a
/// version nibble that is neither 4 nor 6, too many VLAN tags).
[[nodiscard]] std::expected<LinkPayload, Error> decapsulate(std::uint32_t linktype, Bytes frame) noexcept;

/// True when decapsulate() knows `linktype`.
[[nodiscard]] bool is_supported_linktype(std::uint32_t linktype) noexcept;

}  // namespace synack::wire
