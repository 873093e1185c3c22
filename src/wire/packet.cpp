#include "synack/wire/packet.hpp"

#include <algorithm>

#include "synack/wire/checksum.hpp"
#include "synack/wire/ipv4.hpp"
#include "synack/wire/ipv6.hpp"

namespace synack::wire {

bool tcp_checksum_ok(const IpAddress& src, const IpAddress& dst, Bytes segment) noexcept {
  return upper_layer_checksum(src, dst, kProtocolTcp, segment) == 0;
}

std::expected<TcpPacketView, Error> TcpPacketView::parse(Bytes datagram, ChecksumPolicy policy) noexcept {
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

std::size_t tcp_packet_size(IpVersion version, const TcpHeader& header, std::size_t payload_size) noexcept {
  const std::size_t ip = version == IpVersion::v4 ? Ipv4Header::kSize : Ipv6Header::kSize;
  return ip + header.encoded_size() + payload_size;
}

std::expected<std::size_t, Error> emit_tcp_packet(const IpAddress& src, const IpAddress& dst,
                                                  const TcpHeader& header, Bytes payload, MutableBytes out,
                                                  const IpParams& params) noexcept {
  if (src.version() != dst.version()) return std::unexpected(Error::ip_bad_version);
  const std::size_t ip_size = src.is_v4() ? Ipv4Header::kSize : Ipv6Header::kSize;
  if (out.size() < ip_size) return std::unexpected(Error::buffer_too_small);
  auto tcp_size = header.emit(out.subspan(ip_size));
  if (!tcp_size) return std::unexpected(tcp_size.error());
  const std::size_t segment_size = *tcp_size + payload.size();
  if (ip_size + segment_size > 0xFFFF) return std::unexpected(Error::payload_too_long);
  if (out.size() < ip_size + segment_size) return std::unexpected(Error::buffer_too_small);
  std::copy(payload.begin(), payload.end(), out.begin() + static_cast<std::ptrdiff_t>(ip_size + *tcp_size));

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

}  // namespace synack::wire
