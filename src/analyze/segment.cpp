#include "segment.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cstddef>
#include <cstring>
#include <optional>

#include "synack/wire/ipv4.hpp"
#include "synack/wire/ipv6.hpp"
#include "synack/wire/packet.hpp"

namespace synack::analyze::detail {
namespace {

/// A big-endian field at `p` (the caller checked the bytes are there): one load, not a byte loop.
template <typename T>
T load_be(const std::byte* p) noexcept {
  T v;
  std::memcpy(&v, p, sizeof v);
  if constexpr (std::endian::native == std::endian::little) v = std::byteswap(v);
  return v;
}

/// The TCP header's fields from its bytes: `header` holds `header_length` valid bytes (what
/// wire::TcpView::parse checks), the options a view of them.
void fill_tcp(const std::byte* header, std::size_t header_length, DecodedSegment& out) noexcept {
  out.src.port = load_be<std::uint16_t>(header);
  out.dst.port = load_be<std::uint16_t>(header + 2);
  out.seq = load_be<std::uint32_t>(header + 4);
  out.ack = load_be<std::uint32_t>(header + 8);
  out.flags = wire::TcpFlags(load_be<std::uint16_t>(header + 12) & wire::TcpFlags::kMask);
  out.window = load_be<std::uint16_t>(header + 14);
  out.tcp_checksum = load_be<std::uint16_t>(header + 16);
  out.option_bytes =
      wire::Bytes(header + wire::TcpView::kMinHeaderSize, header_length - wire::TcpView::kMinHeaderSize);
}

void fill_from(const wire::TcpView& tcp, DecodedSegment& out) noexcept {
  // The header begins kMinHeaderSize bytes before its options.
  fill_tcp(tcp.option_bytes().data() - wire::TcpView::kMinHeaderSize, tcp.header_length(), out);
}

bool is_length_error(wire::Error e) noexcept {
  return e == wire::Error::ip_bad_total_length || e == wire::Error::tcp_truncated ||
         e == wire::Error::tcp_data_offset_past_end || e == wire::Error::ip_truncated ||
         e == wire::Error::ipv6_extension_truncated || e == wire::Error::ipv4_bad_header_length;
}

DecodeError classify(wire::Error e) noexcept {
  return (e == wire::Error::ip_not_tcp || e == wire::Error::ip_fragment || e == wire::Error::ip_bad_version ||
          e == wire::Error::ipv6_unsupported_header)
             ? DecodeError::not_tcp
             : DecodeError::malformed;
}

// The datagram was cut by the snaplen: copy what we have, make the IP length fields agree with it, and
// read as much of the TCP header as survived.
std::optional<DecodeError> decode_cut(wire::Bytes datagram, DecodedSegment& out) noexcept {
  std::array<std::byte, 1024> buffer{};
  const std::size_t n = std::min(datagram.size(), buffer.size());
  std::copy_n(datagram.begin(), n, buffer.begin());
  const wire::MutableBytes buf(buffer.data(), n);
  if (n == 0) return DecodeError::malformed;
  out.cut_short = true;
  std::size_t tcp_offset = 0;
  std::size_t upper_length = 0;  // the TCP segment's length on the wire
  const unsigned version = wire::load_u8(buf, 0) >> 4U;
  if (version == 4) {
    if (n < wire::Ipv4View::kMinHeaderSize) return DecodeError::malformed;
    const std::size_t ihl = static_cast<std::size_t>(wire::load_u8(buf, 0) & 0x0FU) * 4U;
    if (ihl < wire::Ipv4View::kMinHeaderSize || ihl > n) return DecodeError::malformed;
    const std::size_t total = wire::load_be16(buf, 2);
    wire::store_be16(buf, 2, static_cast<std::uint16_t>(n));
    auto v4 = wire::Ipv4View::parse(buf);
    if (!v4) return classify(v4.error());
    if (v4->is_fragment() || v4->protocol() != wire::kProtocolTcp) return DecodeError::not_tcp;
    out.src.address = v4->src();
    out.dst.address = v4->dst();
    out.has_ip_id = true;
    out.ip_id = wire::load_be16(buf, 4);
    out.ip_ecn = v4->ecn();
    tcp_offset = ihl;
    upper_length = total > ihl ? total - ihl : 0;
  } else if (version == 6) {
    if (n < wire::Ipv6View::kHeaderSize) return DecodeError::malformed;
    const std::size_t payload = wire::load_be16(buf, 4);
    wire::store_be16(buf, 4, static_cast<std::uint16_t>(n - wire::Ipv6View::kHeaderSize));
    auto v6 = wire::Ipv6View::parse(buf);
    if (!v6) return classify(v6.error());
    if (v6->is_fragment() || v6->upper_protocol() != wire::kProtocolTcp) {
      return DecodeError::not_tcp;
    }
    out.src.address = v6->src();
    out.dst.address = v6->dst();
    out.ip_ecn = v6->ecn();
    tcp_offset = v6->upper_offset();
    const std::size_t whole = payload + wire::Ipv6View::kHeaderSize;
    upper_length = whole > tcp_offset ? whole - tcp_offset : 0;
  } else {
    return DecodeError::not_tcp;
  }
  if (n < tcp_offset + wire::TcpView::kMinHeaderSize) return DecodeError::malformed;
  const std::size_t header_length = static_cast<std::size_t>(wire::load_u8(buf, tcp_offset + 12) >> 4U) * 4U;
  if (header_length < wire::TcpView::kMinHeaderSize) return DecodeError::malformed;
  if (tcp_offset + header_length > n) {
    // The options run past the cut: read the fixed header only.
    out.options_cut = true;
    wire::store_u8(buf, tcp_offset + 12,
                   static_cast<std::uint8_t>((wire::load_u8(buf, tcp_offset + 12) & 0x0FU) | 0x50U));
  }
  auto tcp = wire::TcpView::parse(buf.subspan(tcp_offset));
  if (!tcp) return DecodeError::malformed;
  fill_from(*tcp, out);
  // The copy dies with this function: the options are parsed now (a cut datagram is rare).
  if (out.options_cut) {
    out.set_options({}, false);
  } else {
    auto options = wire::parse_tcp_options(out.option_bytes);
    out.set_options(options.value_or(wire::TcpOptions{}), !options.has_value());
  }
  out.payload_length =
      static_cast<std::uint32_t>(upper_length > header_length ? upper_length - header_length : 0);
  return std::nullopt;
}

}  // namespace

namespace {

// The common datagram read straight from its bytes: IPv4 without options (IHL 5), not a fragment, TCP, the
// total length within what was captured. Exactly the checks wire::TcpPacketView::parse makes for such a
// datagram (RFC 791: bytes past the total length are link padding); anything else, including every error,
// goes through it (decode_segment), so the answers are the same.
bool decode_plain_ipv4(wire::Bytes datagram, DecodedSegment& out) noexcept {
  constexpr std::size_t kHeader = wire::Ipv4View::kMinHeaderSize;
  constexpr std::size_t kTcpHeader = wire::TcpView::kMinHeaderSize;
  if (datagram.size() < kHeader + kTcpHeader || datagram[0] != std::byte{0x45}) return false;
  const std::byte* ip = datagram.data();
  const std::size_t total = load_be<std::uint16_t>(ip + 2);
  constexpr std::uint16_t kFragmentBits = 0x3FFF;  // MF and the fragment offset
  if (total > datagram.size() || (load_be<std::uint16_t>(ip + 6) & kFragmentBits) != 0 ||
      static_cast<std::uint8_t>(ip[9]) != wire::kProtocolTcp) {
    return false;
  }
  // wire::TcpView::parse's checks on the segment [kHeader, total): 20 bytes, a data offset of at least 5
  // words that stays inside it.
  const std::size_t segment = total > kHeader ? total - kHeader : 0;
  const std::byte* tcp = ip + kHeader;
  const std::size_t header_length = static_cast<std::size_t>(static_cast<std::uint8_t>(tcp[12]) >> 4U) * 4U;
  if (segment < kTcpHeader || header_length < kTcpHeader || header_length > segment) return false;
  out.src.address = wire::IpAddress::v4(load_be<std::uint32_t>(ip + 12));
  out.dst.address = wire::IpAddress::v4(load_be<std::uint32_t>(ip + 16));
  out.ip_ecn = static_cast<std::uint8_t>(ip[1]) & 0x03U;
  out.has_ip_id = true;
  out.ip_id = load_be<std::uint16_t>(ip + 4);
  fill_tcp(tcp, header_length, out);
  out.payload_length = static_cast<std::uint32_t>(segment - header_length);
  return true;
}

}  // namespace

std::optional<DecodeError> decode_segment(wire::Bytes datagram, bool cut_short,
                                          DecodedSegment& out) noexcept {
  if (decode_plain_ipv4(datagram, out)) return std::nullopt;
  auto packet = wire::TcpPacketView::parse(datagram, wire::ChecksumPolicy::ignore);
  if (!packet) {
    if (cut_short && is_length_error(packet.error())) return decode_cut(datagram, out);
    return classify(packet.error());
  }
  out.src.address = packet->ip().src;
  out.dst.address = packet->ip().dst;
  out.ip_ecn = packet->ip().ecn;
  if ((wire::load_u8(datagram, 0) >> 4U) == 4) {
    out.has_ip_id = true;
    out.ip_id = wire::load_be16(datagram, 4);
  }
  fill_from(packet->tcp(), out);
  out.payload_length = static_cast<std::uint32_t>(packet->tcp().payload().size());
  return std::nullopt;
}

}  // namespace synack::analyze::detail
