// TCP header (RFC 9293 §3.1): flags, a checked view over received bytes, and a header value.
#pragma once

#include <cstddef>
#include <cstdint>
#include <expected>
#include <string>

#include "synack/wire/bytes.hpp"
#include "synack/wire/error.hpp"
#include "synack/wire/seq.hpp"
#include "synack/wire/tcp_options.hpp"

namespace synack::wire {

class TcpFlags {
 public:
  static constexpr std::uint16_t kFin = 0x001;
  static constexpr std::uint16_t kSyn = 0x002;
  static constexpr std::uint16_t kRst = 0x004;
  static constexpr std::uint16_t kPsh = 0x008;
  static constexpr std::uint16_t kAck = 0x010;
  static constexpr std::uint16_t kUrg = 0x020;
  static constexpr std::uint16_t kEce = 0x040;
  static constexpr std::uint16_t kCwr = 0x080;
  static constexpr std::uint16_t kAe = 0x100;  ///< Accurate ECN (formerly NS, RFC 3540)
  static constexpr std::uint16_t kMask = 0x1FF;

  constexpr TcpFlags() noexcept = default;
  constexpr explicit TcpFlags(std::uint16_t bits) noexcept : bits_(bits & kMask) {}
  [[nodiscard]] constexpr std::uint16_t bits() const noexcept { return bits_; }
  [[nodiscard]] constexpr bool has(std::uint16_t flag) const noexcept { return (bits_ & flag) == flag; }
  [[nodiscard]] constexpr bool fin() const noexcept { return has(kFin); }
  [[nodiscard]] constexpr bool syn() const noexcept { return has(kSyn); }
  [[nodiscard]] constexpr bool rst() const noexcept { return has(kRst); }
  [[nodiscard]] constexpr bool psh() const noexcept { return has(kPsh); }
  [[nodiscard]] constexpr bool ack() const noexcept { return has(kAck); }
  [[nodiscard]] constexpr bool urg() const noexcept { return has(kUrg); }
  [[nodiscard]] constexpr bool ece() const noexcept { return has(kEce); }
  [[nodiscard]] constexpr bool cwr() const noexcept { return has(kCwr); }
  constexpr TcpFlags& set(std::uint16_t flag, bool on = true) noexcept {
    bits_ = static_cast<std::uint16_t>(on ? (bits_ | flag) : (bits_ & ~flag)) & kMask;
    return *this;
  }
  /// Scapy's letters in its order F S R P A U E C N: "S", "SA", "PA", "FA", "RA", "" for none.
  [[nodiscard]] std::string to_string() const;
  friend constexpr bool operator==(TcpFlags, TcpFlags) noexcept = default;

 private:
  std::uint16_t bits_ = 0;
};

/// A view over a TCP segment (header + payload). parse() checks: at least 20 bytes, data offset >= 5,
/// and the header (data offset * 4) inside the segment. Options are parsed on request.
class TcpView {
 public:
  static constexpr std::size_t kMinHeaderSize = 20;

  [[nodiscard]] static std::expected<TcpView, Error> parse(Bytes segment) noexcept;

  [[nodiscard]] std::uint16_t src_port() const noexcept { return load_be16(bytes_, 0); }
  [[nodiscard]] std::uint16_t dst_port() const noexcept { return load_be16(bytes_, 2); }
  [[nodiscard]] SeqNum seq() const noexcept { return SeqNum(load_be32(bytes_, 4)); }
  [[nodiscard]] SeqNum ack() const noexcept { return SeqNum(load_be32(bytes_, 8)); }
  [[nodiscard]] std::size_t header_length() const noexcept {
    return static_cast<std::size_t>(load_u8(bytes_, 12) >> 4U) * 4U;
  }
  [[nodiscard]] TcpFlags flags() const noexcept { return TcpFlags(load_be16(bytes_, 12) & TcpFlags::kMask); }
  /// The 3 reserved bits (RFC 9293 §3.1: must be zero when sent, ignored when received).
  [[nodiscard]] std::uint8_t reserved() const noexcept { return (load_u8(bytes_, 12) >> 1U) & 0x07U; }
  [[nodiscard]] std::uint16_t window() const noexcept { return load_be16(bytes_, 14); }
  [[nodiscard]] std::uint16_t checksum() const noexcept { return load_be16(bytes_, 16); }
  [[nodiscard]] std::uint16_t urgent_pointer() const noexcept { return load_be16(bytes_, 18); }
  [[nodiscard]] Bytes option_bytes() const noexcept { return bytes_.subspan(20, header_length() - 20); }
  [[nodiscard]] std::expected<TcpOptions, Error> options() const noexcept {
    return parse_tcp_options(option_bytes());
  }
  [[nodiscard]] Bytes payload() const noexcept { return bytes_.subspan(header_length()); }
  /// SEG.LEN: payload length plus one for SYN and one for FIN (RFC 9293 §3.4).
  [[nodiscard]] std::uint32_t sequence_length() const noexcept {
    return static_cast<std::uint32_t>(payload().size()) + (flags().syn() ? 1U : 0U) +
           (flags().fin() ? 1U : 0U);
  }
  [[nodiscard]] Bytes bytes() const noexcept { return bytes_; }

 private:
  explicit TcpView(Bytes bytes) noexcept : bytes_(bytes) {}
  Bytes bytes_;
};

/// A TCP header as a value. parse(emit(h)) == h for every h whose options fit (checksum aside: emit
/// computes it from the pseudo-header, see packet.hpp).
struct TcpHeader {
  std::uint16_t src_port = 0;
  std::uint16_t dst_port = 0;
  SeqNum seq;
  SeqNum ack;
  TcpFlags flags;
  std::uint16_t window = 0;
  std::uint16_t urgent_pointer = 0;
  std::uint16_t checksum = 0;  ///< as received; ignored by emit
  TcpOptions options;

  [[nodiscard]] static std::expected<TcpHeader, Error> parse(const TcpView& view) noexcept;
  /// 20 + the options' encoded size.
  [[nodiscard]] std::size_t encoded_size() const noexcept {
    return TcpView::kMinHeaderSize + options.encoded_size();
  }
  /// Writes the header with a zero checksum field; returns the header length.
  [[nodiscard]] std::expected<std::size_t, Error> emit(MutableBytes out) const noexcept;

  friend bool operator==(const TcpHeader&, const TcpHeader&) noexcept = default;
};

}  // namespace synack::wire
