/// @file
/// Whole IP packets carrying TCP: parse one received datagram (IPv4 or IPv6) to its TCP segment, and emit
/// a datagram with both checksums filled in. This is the entry point the stack, the simulator, the TUN
/// driver and the analyzer share.
#pragma once

#include <cstddef>
#include <cstdint>
#include <expected>
#include <optional>

#include "synack/wire/bytes.hpp"
#include "synack/wire/error.hpp"
#include "synack/wire/ip_address.hpp"
#include "synack/wire/tcp.hpp"

namespace synack::wire {

/// The network-layer facts a TCP endpoint needs about a received segment.
struct IpInfo {
  IpAddress src;         ///< source address, as received
  IpAddress dst;         ///< destination address (ours, for a segment we receive)
  std::uint8_t ttl = 0;  ///< TTL or hop limit
  std::uint8_t ecn = 0;  ///< the ECN field (RFC 3168)
};

/// Whether parsing checks the IPv4 header checksum and the TCP checksum (`verify`) or skips both
/// (`ignore`: the simulator's own datagrams, and the analyzer, which must see segments from captures
/// taken with checksum offload, where outgoing checksums are not yet filled in).
enum class ChecksumPolicy : std::uint8_t { verify, ignore };

/// A received TCP/IP packet: IP facts plus a checked TCP view.
class TcpPacketView {
 public:
  /// Parses an IPv4 or IPv6 datagram (chosen by the version nibble). With ChecksumPolicy::verify a bad
  /// IPv4 header checksum or TCP checksum is an error.
  [[nodiscard]] static std::expected<TcpPacketView, Error> parse(
      Bytes datagram, ChecksumPolicy policy = ChecksumPolicy::verify) noexcept;

  /// The IP-layer facts: addresses, TTL/hop limit, ECN.
  [[nodiscard]] const IpInfo& ip() const noexcept { return ip_; }
  /// The TCP segment: header fields, options and payload.
  [[nodiscard]] const TcpView& tcp() const noexcept { return tcp_; }
  /// IPv4 or IPv6.
  [[nodiscard]] IpVersion version() const noexcept { return ip_.src.version(); }
  /// The 4-tuple seen by the receiver: local = destination, remote = source.
  [[nodiscard]] FourTuple tuple_at_receiver() const noexcept {
    return {{ip_.dst, tcp_.dst_port()}, {ip_.src, tcp_.src_port()}};
  }

  /// Opens the constructor below to parse() alone (its own constructor is private).
  class Key {
    friend class TcpPacketView;
    Key() = default;
  };
  /// parse()'s view of an IPv4 datagram with a 20-byte header: the facts read straight from
  /// `ipv4_header` into the std::expected parse() returns (a value built first was copied twice).
  TcpPacketView(Key /*unused*/, const std::byte* ipv4_header, TcpView tcp) noexcept;

 private:
  TcpPacketView(IpInfo ip, TcpView tcp) noexcept : ip_(ip), tcp_(tcp) {}
  // parse() for everything but an IPv4 datagram with a 20-byte header (which parse() reads in line).
  static std::expected<TcpPacketView, Error> parse_other(Bytes datagram, ChecksumPolicy policy) noexcept;
  IpInfo ip_;
  TcpView tcp_;
};

/// The 4-tuple a TCP datagram carries, read from the fixed header fields alone (no checksum, length or
/// option checks; IPv6 only without extension headers); nullopt when those fields are not there. A hint,
/// not a parse: Stack::on_packets hashes it to start loading flow-table lines for a burst before it
/// processes the burst's first datagram. For a datagram TcpPacketView::parse accepts, it is the parsed
/// view's tuple_at_receiver().
[[nodiscard]] std::optional<FourTuple> peek_tuple_at_receiver(Bytes datagram) noexcept;

/// True when the TCP checksum over `segment` with the pseudo-header for src/dst verifies.
[[nodiscard]] bool tcp_checksum_ok(const IpAddress& src, const IpAddress& dst, Bytes segment) noexcept;

/// Fields of the IP header synack sets when it emits.
struct IpParams {
  std::uint8_t ttl = 64;             ///< TTL or hop limit
  std::uint8_t ecn = 0;              ///< the ECN field (RFC 3168), 0 = not ECN-capable
  std::uint8_t dscp = 0;             ///< Differentiated Services code point (RFC 2474), 6 bits
  std::uint16_t identification = 0;  ///< IPv4 only
  std::uint32_t flow_label = 0;      ///< IPv6 only
};

/// The size of the datagram emit_tcp_packet() would write.
[[nodiscard]] std::size_t tcp_packet_size(IpVersion version, const TcpHeader& header,
                                          std::size_t payload_size) noexcept;

/// Emits an IPv4 or IPv6 datagram (by the addresses' family, which must match) carrying `header` and
/// `payload`, with the IPv4 header checksum and the TCP checksum computed. Returns the bytes written.
[[nodiscard]] std::expected<std::size_t, Error> emit_tcp_packet(const IpAddress& src, const IpAddress& dst,
                                                                const TcpHeader& header, Bytes payload,
                                                                MutableBytes out,
                                                                const IpParams& params = {}) noexcept;

/// The same for a SendHeader (the engine's own segments): the header is written straight into `out`.
[[nodiscard]] std::expected<std::size_t, Error> emit_tcp_packet(const IpAddress& src, const IpAddress& dst,
                                                                const SendHeader& header, Bytes payload,
                                                                MutableBytes out,
                                                                const IpParams& params = {}) noexcept;

}  // namespace synack::wire
