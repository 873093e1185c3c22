#include "synack/wire/ipv6.hpp"

namespace synack::wire {

namespace {
namespace next_header {
constexpr std::uint8_t kHopByHop = 0;
constexpr std::uint8_t kRouting = 43;
constexpr std::uint8_t kFragment = 44;
constexpr std::uint8_t kEsp = 50;
constexpr std::uint8_t kAuthentication = 51;
constexpr std::uint8_t kDestinationOptions = 60;
constexpr std::uint8_t kMobility = 135;
constexpr std::uint8_t kHip = 139;
constexpr std::uint8_t kShim6 = 140;
}  // namespace next_header
}  // namespace

std::expected<Ipv6View, Error> Ipv6View::parse(Bytes packet) noexcept {
  if (packet.size() < kHeaderSize) return std::unexpected(Error::ip_truncated);
  if ((load_u8(packet, 0) >> 4U) != 6) return std::unexpected(Error::ip_bad_version);
  const std::size_t payload = load_be16(packet, 4);
  // A zero payload length with a Hop-by-Hop header means a jumbogram (RFC 2675): not supported.
  if (payload == 0 && load_u8(packet, 6) == next_header::kHopByHop) {
    return std::unexpected(Error::ipv6_unsupported_header);
  }
  if (kHeaderSize + payload > packet.size()) return std::unexpected(Error::ip_bad_total_length);

  Ipv6View view(packet.first(kHeaderSize + payload));
  const Bytes bytes = view.bytes_;
  std::uint8_t next = load_u8(bytes, 6);
  std::size_t offset = kHeaderSize;
  // RFC 8200 §4: walk the chain; every header's length is checked before it is read past.
  for (;;) {
    std::size_t length = 0;
    switch (next) {
      case next_header::kHopByHop:
      case next_header::kRouting:
      case next_header::kDestinationOptions:
      case next_header::kMobility:
      case next_header::kHip:
      case next_header::kShim6:
        if (offset + 2 > bytes.size()) return std::unexpected(Error::ipv6_extension_truncated);
        length = (static_cast<std::size_t>(load_u8(bytes, offset + 1)) + 1U) * 8U;
        break;
      case next_header::kFragment: {
        if (offset + 8 > bytes.size()) return std::unexpected(Error::ipv6_extension_truncated);
        const std::uint16_t off_flags = load_be16(bytes, offset + 2);
        if ((off_flags & 0xFFF9U) != 0) view.fragment_ = true;  // offset != 0 or M set
        length = 8;
        break;
      }
      case next_header::kAuthentication:  // RFC 4302: length in 4-octet units, minus 2
        if (offset + 2 > bytes.size()) return std::unexpected(Error::ipv6_extension_truncated);
        length = (static_cast<std::size_t>(load_u8(bytes, offset + 1)) + 2U) * 4U;
        break;
      case next_header::kEsp:
        return std::unexpected(Error::ipv6_unsupported_header);
      default:
        view.upper_protocol_ = next;
        view.upper_offset_ = offset;
        return view;
    }
    if (offset + length > bytes.size()) return std::unexpected(Error::ipv6_extension_truncated);
    if (++view.extensions_ > kMaxExtensionHeaders)
      return std::unexpected(Error::ipv6_extension_chain_too_long);
    next = load_u8(bytes, offset);
    offset += length;
  }
}

std::expected<std::size_t, Error> Ipv6Header::emit(MutableBytes out) const noexcept {
  if (!src.is_v6() || !dst.is_v6()) return std::unexpected(Error::ip_bad_version);
  if (out.size() < kSize) return std::unexpected(Error::buffer_too_small);
  store_be32(out, 0,
             (6U << 28U) | (static_cast<std::uint32_t>(traffic_class) << 20U) | (flow_label & 0xFFFFFU));
  store_be16(out, 4, payload_length);
  store_u8(out, 6, next_header);
  store_u8(out, 7, hop_limit);
  const Bytes s = src.bytes();
  const Bytes d = dst.bytes();
  for (std::size_t i = 0; i < 16; ++i) {
    out[8 + i] = s[i];
    out[24 + i] = d[i];
  }
  return kSize;
}

}  // namespace synack::wire
