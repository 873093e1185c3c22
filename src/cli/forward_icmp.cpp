// `synack forward --icmp-unreachable` (forward_icmp.hpp).
#include "forward_icmp.hpp"

#include <cerrno>
#include <cstdint>
#include <cstring>

#include "synack/wire/bytes.hpp"
#include "synack/wire/checksum.hpp"

namespace synack::cli::forward {

namespace {

constexpr std::size_t kV4Header = 20;
constexpr std::size_t kV6Header = 40;
constexpr std::size_t kIcmpHeader = 8;
constexpr std::size_t kQuotedTcp = 8;  ///< ports and sequence number
constexpr std::uint8_t kTtl = 64;

void put_address(std::vector<std::byte>& d, std::size_t at, const wire::IpAddress& a) {
  const wire::Bytes b = a.bytes();
  std::memcpy(d.data() + at, b.data(), b.size());
}

/// An IPv4 header at `at`: `total` bytes long, protocol `proto`, from `src` to `dst`, checksummed.
void ipv4_header(std::vector<std::byte>& d, std::size_t at, std::size_t total, std::uint8_t proto,
                 const wire::IpAddress& src, const wire::IpAddress& dst) {
  const wire::MutableBytes m(d);
  d[at] = std::byte{0x45};
  wire::store_be16(m, at + 2, static_cast<std::uint16_t>(total));
  d[at + 8] = std::byte{kTtl};
  d[at + 9] = std::byte{proto};
  put_address(d, at + 12, src);
  put_address(d, at + 16, dst);
  wire::store_be16(m, at + 10, wire::internet_checksum(wire::Bytes(d).subspan(at, kV4Header)));
}

/// An IPv6 header at `at`: `payload` bytes follow, next header `next`, from `src` to `dst`.
void ipv6_header(std::vector<std::byte>& d, std::size_t at, std::size_t payload, std::uint8_t next,
                 const wire::IpAddress& src, const wire::IpAddress& dst) {
  d[at] = std::byte{0x60};
  wire::store_be16(wire::MutableBytes(d), at + 4, static_cast<std::uint16_t>(payload));
  d[at + 6] = std::byte{next};
  d[at + 7] = std::byte{kTtl};
  put_address(d, at + 8, src);
  put_address(d, at + 24, dst);
}

/// The SYN's first 8 TCP bytes (from the client's port to the destination's, its sequence number).
void quoted_tcp(std::vector<std::byte>& d, std::size_t at, const wire::FourTuple& t, wire::SeqNum seq) {
  const wire::MutableBytes m(d);
  wire::store_be16(m, at, t.remote.port);
  wire::store_be16(m, at + 2, t.local.port);
  wire::store_be32(m, at + 4, seq.raw());
}

}  // namespace

std::vector<std::byte> icmp_unreachable(const wire::FourTuple& t, wire::SeqNum seq, int error) {
  const wire::IpAddress& destination = t.local.address;
  const wire::IpAddress& client = t.remote.address;
  constexpr std::uint8_t kTcp = 6;
  if (destination.is_v4()) {
    // RFC 792 / RFC 1812 §5.2.7.1: 0 net unreachable, 1 host unreachable, 13 communication administratively
    // prohibited.
    const std::uint8_t code = error == ENETUNREACH ? 0 : (error == EACCES || error == EPERM) ? 13 : 1;
    const std::size_t quoted = kV4Header + kQuotedTcp;
    std::vector<std::byte> d(kV4Header + kIcmpHeader + quoted);
    ipv4_header(d, 0, d.size(), 1, destination, client);
    d[kV4Header] = std::byte{3};
    d[kV4Header + 1] = std::byte{code};
    ipv4_header(d, kV4Header + kIcmpHeader, kV4Header + 40, kTcp, client, destination);  // the SYN: 40 bytes
    quoted_tcp(d, kV4Header + kIcmpHeader + kV4Header, t, seq);
    const auto icmp = wire::Bytes(d).subspan(kV4Header);
    wire::store_be16(wire::MutableBytes(d), kV4Header + 2, wire::internet_checksum(icmp));
    return d;
  }
  // RFC 4443 §3.1: 0 no route to destination, 1 administratively prohibited, 3 address unreachable.
  const std::uint8_t code = error == ENETUNREACH ? 0 : (error == EACCES || error == EPERM) ? 1 : 3;
  constexpr std::uint8_t kIcmpV6 = 58;
  const std::size_t payload = kIcmpHeader + kV6Header + kQuotedTcp;
  std::vector<std::byte> d(kV6Header + payload);
  ipv6_header(d, 0, payload, kIcmpV6, destination, client);
  d[kV6Header] = std::byte{1};
  d[kV6Header + 1] = std::byte{code};
  ipv6_header(d, kV6Header + kIcmpHeader, 40, kTcp, client, destination);  // the SYN: 40 bytes
  quoted_tcp(d, kV6Header + kIcmpHeader + kV6Header, t, seq);
  const auto icmp = wire::Bytes(d).subspan(kV6Header);
  wire::store_be16(wire::MutableBytes(d), kV6Header + 2,
                   wire::upper_layer_checksum(destination, client, kIcmpV6, icmp));
  return d;
}

}  // namespace synack::cli::forward
