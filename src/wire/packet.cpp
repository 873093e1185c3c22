#include "synack/wire/packet.hpp"

#include <algorithm>
#include <cstring>

#include "checksum_sum.hpp"
#include "send_header_write.hpp"
#include "synack/wire/checksum.hpp"
#include "synack/wire/ipv4.hpp"
#include "synack/wire/ipv6.hpp"

namespace synack::wire {

bool tcp_checksum_ok(const IpAddress& src, const IpAddress& dst, Bytes segment) noexcept {
  return upper_layer_checksum(src, dst, kProtocolTcp, segment) == 0;
}

std::expected<TcpPacketView, Error> TcpPacketView::parse_other(Bytes datagram,
                                                               ChecksumPolicy policy) noexcept {
  if (datagram.empty()) return std::unexpected(Error::ip_truncated);
  IpInfo ip;
  Bytes segment;
  switch (load_u8(datagram, 0) >> 4U) {
    case 4: {
      auto v4 = Ipv4View::parse(datagram);
      if (!v4) return std::unexpected(v4.error());
      if (policy == ChecksumPolicy::verify && !v4->header_checksum_ok()) {
        return std::unexpected(Error::ipv4_bad_checksum);
      }
      if (v4->is_fragment()) return std::unexpected(Error::ip_fragment);
      if (v4->protocol() != kProtocolTcp) return std::unexpected(Error::ip_not_tcp);
      ip = {v4->src(), v4->dst(), v4->ttl(), v4->ecn()};
      segment = v4->payload();
      break;
    }
    case 6: {
      auto v6 = Ipv6View::parse(datagram);
      if (!v6) return std::unexpected(v6.error());
      if (v6->is_fragment()) return std::unexpected(Error::ip_fragment);
      if (v6->upper_protocol() != kProtocolTcp) return std::unexpected(Error::ip_not_tcp);
      ip = {v6->src(), v6->dst(), v6->hop_limit(), v6->ecn()};
      segment = v6->upper_payload();
      break;
    }
    default:
      return std::unexpected(Error::ip_bad_version);
  }
  auto tcp = TcpView::parse(segment);
  if (!tcp) return std::unexpected(tcp.error());
  if (policy == ChecksumPolicy::verify && !tcp_checksum_ok(ip.src, ip.dst, segment)) {
    return std::unexpected(Error::tcp_bad_checksum);
  }
  return TcpPacketView(ip, *tcp);
}

std::expected<TcpPacketView, Error> TcpPacketView::parse(Bytes datagram, ChecksumPolicy policy) noexcept {
  if (datagram.size() < Ipv4Header::kSize || load_u8(datagram, 0) != 0x45) [[unlikely]]
    return parse_other(datagram, policy);
  // The checks of Ipv4View::parse, header_checksum_ok and parse_other, in their order and
  // with their errors, for the header every datagram carries (version 4, IHL 5): read once, in line,
  // and the TCP checksum's pseudo-header summed from the header's own address bytes (RFC 9293 §3.1).
  const std::byte* d = datagram.data();
  const std::size_t total = load_be16(datagram, 2);
  // RFC 791: total length covers header and data; bytes past it (link padding) are not ours.
  if (total < Ipv4Header::kSize || total > datagram.size())
    return std::unexpected(Error::ip_bad_total_length);
  const bool verify = policy == ChecksumPolicy::verify;
  // A correct header sums to all ones (RFC 1071 §1).
  if (verify && detail::fold_to_wire16(detail::sum_native20(d)) != 0xFFFF)
    return std::unexpected(Error::ipv4_bad_checksum);
  if ((load_be16(datagram, 6) & 0x3FFFU) != 0) return std::unexpected(Error::ip_fragment);  // MF, offset
  if (load_u8(datagram, 9) != kProtocolTcp) return std::unexpected(Error::ip_not_tcp);
  const Bytes segment = datagram.subspan(Ipv4Header::kSize, total - Ipv4Header::kSize);
  auto tcp = TcpView::parse(segment);
  if (!tcp) return std::unexpected(tcp.error());
  if (verify) {
    std::uint64_t acc = detail::sum_pseudo_header(d + 12, d + 16, true, kProtocolTcp,
                                                  static_cast<std::uint32_t>(segment.size()), 0);
    acc = detail::sum_native(segment.data(), segment.size(), acc);
    if (detail::fold_to_wire16(acc) != 0xFFFF) return std::unexpected(Error::tcp_bad_checksum);
  }
  return std::expected<TcpPacketView, Error>(std::in_place, Key{}, d, *tcp);
}

TcpPacketView::TcpPacketView(Key /*unused*/, const std::byte* ipv4_header, TcpView tcp) noexcept
    : ip_{IpAddress::v4({ipv4_header[12], ipv4_header[13], ipv4_header[14], ipv4_header[15]}),
          IpAddress::v4({ipv4_header[16], ipv4_header[17], ipv4_header[18], ipv4_header[19]}),
          static_cast<std::uint8_t>(ipv4_header[8]),
          static_cast<std::uint8_t>(ipv4_header[1] & std::byte{0x03})},
      tcp_(tcp) {}

std::optional<FourTuple> peek_tuple_at_receiver(Bytes datagram) noexcept {
  if (datagram.size() < Ipv4Header::kSize) return std::nullopt;
  const std::uint8_t first = load_u8(datagram, 0);
  if (first >> 4U == 4) {
    const std::size_t ihl = (first & 0x0FU) * std::size_t{4};
    if (ihl < Ipv4Header::kSize || datagram.size() < ihl + 4 || load_u8(datagram, 9) != kProtocolTcp)
      return std::nullopt;
    return FourTuple{{IpAddress::from_bytes(datagram.subspan(16, 4)), load_be16(datagram, ihl + 2)},
                     {IpAddress::from_bytes(datagram.subspan(12, 4)), load_be16(datagram, ihl)}};
  }
  if (first >> 4U != 6 || datagram.size() < Ipv6Header::kSize + 4 || load_u8(datagram, 6) != kProtocolTcp)
    return std::nullopt;
  return FourTuple{
      {IpAddress::from_bytes(datagram.subspan(24, 16)), load_be16(datagram, Ipv6Header::kSize + 2)},
      {IpAddress::from_bytes(datagram.subspan(8, 16)), load_be16(datagram, Ipv6Header::kSize)}};
}

std::size_t tcp_packet_size(IpVersion version, const TcpHeader& header, std::size_t payload_size) noexcept {
  const std::size_t ip = version == IpVersion::v4 ? Ipv4Header::kSize : Ipv6Header::kSize;
  return ip + header.encoded_size() + payload_size;
}

namespace {

// The IP header in front of a TCP segment already written at out[ip_size, ip_size + tcp_size), the
// payload after it, and the TCP checksum: what both emit_tcp_packet() overloads share.
std::expected<std::size_t, Error> finish_packet(const IpAddress& src, const IpAddress& dst,
                                                std::size_t ip_size, std::size_t tcp_size, Bytes payload,
                                                MutableBytes out, const IpParams& params) noexcept {
  const std::size_t segment_size = tcp_size + payload.size();
  if (ip_size + segment_size > 0xFFFF) return std::unexpected(Error::payload_too_long);
  if (out.size() < ip_size + segment_size) return std::unexpected(Error::buffer_too_small);
  if (!payload.empty()) std::memcpy(out.data() + ip_size + tcp_size, payload.data(), payload.size());

  const auto upper_length = static_cast<std::uint16_t>(segment_size);
  if (src.is_v4()) {
    Ipv4Header ip{.src = src,
                  .dst = dst,
                  .protocol = kProtocolTcp,
                  .ttl = params.ttl,
                  .dscp = params.dscp,
                  .ecn = params.ecn,
                  .identification = params.identification,
                  .dont_fragment = true,
                  .payload_length = upper_length};
    if (auto r = ip.emit(out); !r) return std::unexpected(r.error());
  } else {
    Ipv6Header ip{.src = src,
                  .dst = dst,
                  .next_header = kProtocolTcp,
                  .hop_limit = params.ttl,
                  .traffic_class = static_cast<std::uint8_t>((static_cast<unsigned>(params.dscp) << 2U) |
                                                             (params.ecn & 0x03U)),
                  .flow_label = params.flow_label,
                  .payload_length = upper_length};
    if (auto r = ip.emit(out); !r) return std::unexpected(r.error());
  }
  // One pass over pseudo-header, header, options and payload; the checksum field is still zero.
  store_be16(out, ip_size + 16,
             upper_layer_checksum(src, dst, kProtocolTcp, out.subspan(ip_size, segment_size)));
  return ip_size + segment_size;
}

template <typename Header>
std::expected<std::size_t, Error> emit_packet(const IpAddress& src, const IpAddress& dst,
                                              const Header& header, Bytes payload, MutableBytes out,
                                              const IpParams& params) noexcept {
  if (src.version() != dst.version()) return std::unexpected(Error::ip_bad_version);
  const std::size_t ip_size = src.is_v4() ? Ipv4Header::kSize : Ipv6Header::kSize;
  if (out.size() < ip_size) return std::unexpected(Error::buffer_too_small);
  auto tcp_size = header.emit(out.subspan(ip_size));
  if (!tcp_size) return std::unexpected(tcp_size.error());
  return finish_packet(src, dst, ip_size, *tcp_size, payload, out, params);
}

}  // namespace

std::expected<std::size_t, Error> emit_tcp_packet(const IpAddress& src, const IpAddress& dst,
                                                  const TcpHeader& header, Bytes payload, MutableBytes out,
                                                  const IpParams& params) noexcept {
  return emit_packet(src, dst, header, payload, out, params);
}

std::expected<std::size_t, Error> emit_tcp_packet(const IpAddress& src, const IpAddress& dst,
                                                  const SendHeader& header, Bytes payload, MutableBytes out,
                                                  const IpParams& params) noexcept {
  // The engine's own segments, every few hundred instructions counted: sizes are known up front, so the
  // TCP header goes straight into place and an IPv4 header is written here without a header value.
  if (!src.is_v4()) return emit_packet(src, dst, header, payload, out, params);
  if (!dst.is_v4()) return std::unexpected(Error::ip_bad_version);
  const std::size_t tcp_size = header.encoded_size();
  if (tcp_size > TcpView::kMinHeaderSize + kMaxOptionBytes) return std::unexpected(Error::options_too_long);
  const std::size_t size = Ipv4Header::kSize + tcp_size + payload.size();
  if (size > 0xFFFF) return std::unexpected(Error::payload_too_long);
  if (out.size() < size) return std::unexpected(Error::buffer_too_small);
  detail::write_send_header(header, tcp_size, out.data() + Ipv4Header::kSize);  // sized and checked above
  if (!payload.empty())
    std::memcpy(out.data() + Ipv4Header::kSize + tcp_size, payload.data(), payload.size());
  // RFC 791 §3.1: version 4, IHL 5; DSCP/ECN; total length; identification; DF; TTL; protocol.
  store_u8(out, 0, 0x45);
  store_u8(out, 1,
           static_cast<std::uint8_t>((static_cast<unsigned>(params.dscp) << 2U) | (params.ecn & 0x03U)));
  store_be16(out, 2, static_cast<std::uint16_t>(size));
  store_be16(out, 4, params.identification);
  store_be16(out, 6, 0x4000);
  store_u8(out, 8, params.ttl);
  store_u8(out, 9, kProtocolTcp);
  store_be16(out, 10, 0);
  std::memcpy(out.data() + 12, src.bytes().data(), 4);
  std::memcpy(out.data() + 16, dst.bytes().data(), 4);
  store_be16(out, 10, static_cast<std::uint16_t>(~detail::fold_to_wire16(detail::sum_native20(out.data()))));
  // One pass over pseudo-header, header, options and payload; the checksum field is still zero.
  const std::size_t segment_size = size - Ipv4Header::kSize;
  std::uint64_t acc = detail::sum_pseudo_header(out.data() + 12, out.data() + 16, true, kProtocolTcp,
                                                static_cast<std::uint32_t>(segment_size), 0);
  acc = detail::sum_native(out.data() + Ipv4Header::kSize, segment_size, acc);
  store_be16(out, Ipv4Header::kSize + 16, static_cast<std::uint16_t>(~detail::fold_to_wire16(acc)));
  return size;
}

}  // namespace synack::wire
