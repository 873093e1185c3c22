// Link-layer decapsulation for captured frames (see link_layer.hpp). Every header field is read with an
// explicit load at a checked offset; nothing here allocates or performs I/O.
#include "synack/wire/link_layer.hpp"

namespace synack::wire {
namespace {

constexpr std::size_t kEthernetHeaderSize = 14;  // dst(6) src(6) ethertype(2)
constexpr std::size_t kVlanTagSize = 4;          // TCI(2) inner ethertype(2)
constexpr std::size_t kSllHeaderSize = 16;
constexpr std::size_t kSllProtocolOffset = 14;
constexpr std::size_t kSll2HeaderSize = 20;
constexpr std::size_t kSll2ProtocolOffset = 0;
constexpr std::size_t kLoopbackHeaderSize = 4;

// Address-family values found in DLT_NULL / DLT_LOOP headers across the systems that write them.
constexpr std::uint32_t kAfInet = 2;
constexpr std::uint32_t kAfInet6Linux = 10;
constexpr std::uint32_t kAfInet6NetOpenBsd = 24;
constexpr std::uint32_t kAfInet6FreeBsd = 28;
constexpr std::uint32_t kAfInet6Darwin = 30;

using Result = std::expected<LinkPayload, Error>;

constexpr bool is_vlan_ethertype(std::uint16_t type) noexcept {
  return type == ethertype::kVlan || type == ethertype::kQinQ || type == ethertype::kQinQOld;
}

// The ethertype sits at frame[type_offset, type_offset + 2) and the payload starts right after it.
// Walks up to kMaxVlanTags stacked VLAN tags, then maps IPv4/IPv6 ethertypes to a version.
Result from_ethertype(Bytes frame, std::size_t type_offset, std::size_t payload_offset) noexcept {
  std::uint16_t type = load_be16(frame, type_offset);
  std::size_t offset = payload_offset;
  std::uint8_t tags = 0;
  while (is_vlan_ethertype(type)) {
    if (tags == kMaxVlanTags) return std::unexpected(Error::link_not_ip);
    if (frame.size() - offset < kVlanTagSize) return std::unexpected(Error::link_truncated);
    type = load_be16(frame, offset + 2);
    offset += kVlanTagSize;
    ++tags;
  }
  IpVersion version{};
  if (type == ethertype::kIpv4) {
    version = IpVersion::v4;
  } else if (type == ethertype::kIpv6) {
    version = IpVersion::v6;
  } else {
    return std::unexpected(Error::link_not_ip);
  }
  return LinkPayload{version, frame.subspan(offset), offset, tags};
}

Result raw_ip(Bytes frame, std::uint32_t linktype) noexcept {
  if (frame.empty()) return std::unexpected(Error::link_truncated);
  const auto nibble = static_cast<std::uint8_t>(load_u8(frame, 0) >> 4U);
  IpVersion version{};
  if (nibble == 4 && linktype != dlt::kIpv6) {
    version = IpVersion::v4;
  } else if (nibble == 6 && linktype != dlt::kIpv4) {
    version = IpVersion::v6;
  } else {
    return std::unexpected(Error::link_not_ip);
  }
  return LinkPayload{version, frame, 0, 0};
}

std::expected<IpVersion, Error> version_from_af(std::uint32_t af) noexcept {
  switch (af) {
    case kAfInet:
      return IpVersion::v4;
    case kAfInet6Linux:
    case kAfInet6NetOpenBsd:
    case kAfInet6FreeBsd:
    case kAfInet6Darwin:
      return IpVersion::v6;
    default:
      return std::unexpected(Error::link_not_ip);
  }
}

// DLT_NULL stores the AF in the capturing host's byte order; DLT_LOOP always in network byte order.
// AF values are small, so at most one of the two readings can name a known family.
Result loopback(Bytes frame, bool either_byte_order) noexcept {
  if (frame.size() < kLoopbackHeaderSize) return std::unexpected(Error::link_truncated);
  const std::uint32_t big = load_be32(frame, 0);
  auto version = version_from_af(big);
  if (!version && either_byte_order) {
    const std::uint32_t little =
        (big >> 24U) | ((big >> 8U) & 0xFF00U) | ((big << 8U) & 0xFF0000U) | (big << 24U);
    version = version_from_af(little);
  }
  if (!version) return std::unexpected(version.error());
  return LinkPayload{*version, frame.subspan(kLoopbackHeaderSize), kLoopbackHeaderSize, 0};
}

}  // namespace

std::expected<LinkPayload, Error> decapsulate(std::uint32_t linktype, Bytes frame) noexcept {
  switch (linktype) {
    case dlt::kRaw:
    case dlt::kRawAlt:
    case dlt::kLinktypeRaw:
    case dlt::kIpv4:
    case dlt::kIpv6:
      return raw_ip(frame, linktype);
    case dlt::kEn10Mb:
      if (frame.size() < kEthernetHeaderSize) return std::unexpected(Error::link_truncated);
      return from_ethertype(frame, 12, kEthernetHeaderSize);
    case dlt::kLinuxSll:
      if (frame.size() < kSllHeaderSize) return std::unexpected(Error::link_truncated);
      return from_ethertype(frame, kSllProtocolOffset, kSllHeaderSize);
    case dlt::kLinuxSll2:
      if (frame.size() < kSll2HeaderSize) return std::unexpected(Error::link_truncated);
      return from_ethertype(frame, kSll2ProtocolOffset, kSll2HeaderSize);
    case dlt::kNull:
      return loopback(frame, /*either_byte_order=*/true);
    case dlt::kLoop:
      return loopback(frame, /*either_byte_order=*/false);
    default:
      return std::unexpected(Error::link_unsupported);
  }
}

bool is_supported_linktype(std::uint32_t linktype) noexcept {
  switch (linktype) {
    case dlt::kNull:
    case dlt::kEn10Mb:
    case dlt::kRaw:
    case dlt::kRawAlt:
    case dlt::kLinktypeRaw:
    case dlt::kLoop:
    case dlt::kLinuxSll:
    case dlt::kIpv4:
    case dlt::kIpv6:
    case dlt::kLinuxSll2:
      return true;
    default:
      return false;
  }
}

}  // namespace synack::wire
