#include "synack/wire/ipv4.hpp"

#include <cstring>

#include "checksum_sum.hpp"
#include "synack/wire/checksum.hpp"

namespace synack::wire {

std::expected<Ipv4View, Error> Ipv4View::parse(Bytes datagram) noexcept {
  if (datagram.size() < kMinHeaderSize) return std::unexpected(Error::ip_truncated);
  if ((load_u8(datagram, 0) >> 4U) != 4) return std::unexpected(Error::ip_bad_version);
  const std::size_t ihl = static_cast<std::size_t>(load_u8(datagram, 0) & 0x0FU) * 4U;
  if (ihl < kMinHeaderSize || ihl > datagram.size()) return std::unexpected(Error::ipv4_bad_header_length);
  const std::size_t total = load_be16(datagram, 2);
  // RFC 791: total length covers header and data; bytes past it (link padding) are not ours.
  if (total < ihl || total > datagram.size()) return std::unexpected(Error::ip_bad_total_length);
  return Ipv4View(datagram.first(total));
}

bool Ipv4View::header_checksum_ok() const noexcept {
  // A correct header sums to all ones (RFC 1071 §1); the common 20-byte header without the loop.
  if (header_length() == kMinHeaderSize)
    return detail::fold_to_wire16(detail::sum_native20(bytes_.data())) == 0xFFFF;
  return internet_checksum(header()) == 0;
}

std::expected<std::size_t, Error> Ipv4Header::emit(MutableBytes out) const noexcept {
  if (!src.is_v4() || !dst.is_v4()) return std::unexpected(Error::ip_bad_version);
  if (out.size() < kSize) return std::unexpected(Error::buffer_too_small);
  if (payload_length > 0xFFFF - kSize) return std::unexpected(Error::payload_too_long);
  store_u8(out, 0, 0x45);  // version 4, IHL 5
  store_u8(out, 1, static_cast<std::uint8_t>((static_cast<unsigned>(dscp) << 2U) | (ecn & 0x03U)));
  store_be16(out, 2, static_cast<std::uint16_t>(kSize + payload_length));
  store_be16(out, 4, identification);
  store_be16(out, 6, dont_fragment ? 0x4000 : 0);
  store_u8(out, 8, ttl);
  store_u8(out, 9, protocol);
  store_be16(out, 10, 0);
  std::memcpy(&out[12], src.bytes().data(), 4);
  std::memcpy(&out[16], dst.bytes().data(), 4);
  store_be16(out, 10, static_cast<std::uint16_t>(~detail::fold_to_wire16(detail::sum_native20(out.data()))));
  return kSize;
}

}  // namespace synack::wire
