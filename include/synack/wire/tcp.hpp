/// @file
/// TCP header (RFC 9293 §3.1): flags, a checked view over received bytes, and a header value.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <expected>
#include <optional>
#include <string>

#include "synack/wire/bytes.hpp"
#include "synack/wire/error.hpp"
#include "synack/wire/seq.hpp"
#include "synack/wire/tcp_options.hpp"

namespace synack::wire {

/// The TCP flag bits (RFC 9293 §3.1, RFC 3168 ECE/CWR, AE), as the low 9 bits of header bytes 12-13.
class TcpFlags {
 public:
  static constexpr std::uint16_t kFin = 0x001;   ///< FIN: no more data from the sender
  static constexpr std::uint16_t kSyn = 0x002;   ///< SYN: synchronise sequence numbers
  static constexpr std::uint16_t kRst = 0x004;   ///< RST: reset the connection
  static constexpr std::uint16_t kPsh = 0x008;   ///< PSH: push
  static constexpr std::uint16_t kAck = 0x010;   ///< ACK: the acknowledgment field is significant
  static constexpr std::uint16_t kUrg = 0x020;   ///< URG: the urgent pointer is significant
  static constexpr std::uint16_t kEce = 0x040;   ///< ECE: ECN-Echo (RFC 3168)
  static constexpr std::uint16_t kCwr = 0x080;   ///< CWR: congestion window reduced (RFC 3168)
  static constexpr std::uint16_t kAe = 0x100;    ///< Accurate ECN (formerly NS, RFC 3540)
  static constexpr std::uint16_t kMask = 0x1FF;  ///< all nine flag bits

  /// No flags set.
  constexpr TcpFlags() noexcept = default;
  /// The flags in `bits` (bits outside kMask are dropped).
  constexpr explicit TcpFlags(std::uint16_t bits) noexcept : bits_(bits & kMask) {}
  /// The flag bits (a combination of the k* constants).
  [[nodiscard]] constexpr std::uint16_t bits() const noexcept { return bits_; }
  /// True when every bit of `flag` (one constant or an OR of several) is set.
  [[nodiscard]] constexpr bool has(std::uint16_t flag) const noexcept { return (bits_ & flag) == flag; }
  /// @{
  /// Whether that one flag is set.
  [[nodiscard]] constexpr bool fin() const noexcept { return has(kFin); }
  [[nodiscard]] constexpr bool syn() const noexcept { return has(kSyn); }
  [[nodiscard]] constexpr bool rst() const noexcept { return has(kRst); }
  [[nodiscard]] constexpr bool psh() const noexcept { return has(kPsh); }
  [[nodiscard]] constexpr bool ack() const noexcept { return has(kAck); }
  [[nodiscard]] constexpr bool urg() const noexcept { return has(kUrg); }
  [[nodiscard]] constexpr bool ece() const noexcept { return has(kEce); }
  [[nodiscard]] constexpr bool cwr() const noexcept { return has(kCwr); }
  /// @}
  /// Sets (`on`) or clears one or more flags; returns *this for chaining.
  constexpr TcpFlags& set(std::uint16_t flag, bool on = true) noexcept {
    bits_ = static_cast<std::uint16_t>(on ? (bits_ | flag) : (bits_ & ~flag)) & kMask;
    return *this;
  }
  /// Scapy's letters in its order F S R P A U E C N: "S", "SA", "PA", "FA", "RA", "" for none.
  [[nodiscard]] std::string to_string() const;
  /// Same bits.
  friend constexpr bool operator==(TcpFlags, TcpFlags) noexcept = default;

 private:
  std::uint16_t bits_ = 0;
};

/// A view over a TCP segment (header + payload). parse() checks: at least 20 bytes, data offset >= 5,
/// and the header (data offset * 4) inside the segment. Options are parsed on request.
class TcpView {
 public:
  /// The smallest TCP header: 20 bytes, data offset 5, no options.
  static constexpr std::size_t kMinHeaderSize = 20;

  /// Checks `segment` as described above. Errors: tcp_truncated, tcp_bad_data_offset,
  /// tcp_data_offset_past_end. Does not verify the checksum (that needs the pseudo-header:
  /// tcp_checksum_ok()).
  [[nodiscard]] static std::expected<TcpView, Error> parse(Bytes segment) noexcept;

  [[nodiscard]] std::uint16_t src_port() const noexcept { return load_be16(bytes_, 0); }  ///< source port
  [[nodiscard]] std::uint16_t dst_port() const noexcept {
    return load_be16(bytes_, 2);
  }  ///< destination port
  [[nodiscard]] SeqNum seq() const noexcept { return SeqNum(load_be32(bytes_, 4)); }  ///< SEG.SEQ
  [[nodiscard]] SeqNum ack() const noexcept {
    return SeqNum(load_be32(bytes_, 8));
  }  ///< SEG.ACK (meaningful when the ACK flag is set)
  /// The header length in bytes (data offset × 4): 20 to 60.
  [[nodiscard]] std::size_t header_length() const noexcept {
    return static_cast<std::size_t>(load_u8(bytes_, 12) >> 4U) * 4U;
  }
  /// The nine flag bits.
  [[nodiscard]] TcpFlags flags() const noexcept { return TcpFlags(load_be16(bytes_, 12) & TcpFlags::kMask); }
  /// The 3 reserved bits (RFC 9293 §3.1: must be zero when sent, ignored when received).
  [[nodiscard]] std::uint8_t reserved() const noexcept { return (load_u8(bytes_, 12) >> 1U) & 0x07U; }
  [[nodiscard]] std::uint16_t window() const noexcept {
    return load_be16(bytes_, 14);
  }  ///< SEG.WND as sent: not yet scaled by the window-scale shift
  [[nodiscard]] std::uint16_t checksum() const noexcept {
    return load_be16(bytes_, 16);
  }  ///< the checksum field as received
  [[nodiscard]] std::uint16_t urgent_pointer() const noexcept {
    return load_be16(bytes_, 18);
  }  ///< the urgent pointer field
  [[nodiscard]] Bytes option_bytes() const noexcept {
    return bytes_.subspan(20, header_length() - 20);
  }  ///< the raw option bytes (between byte 20 and the data offset)
  /// The options, parsed on each call (parse_tcp_options()); an error for a malformed list.
  [[nodiscard]] std::expected<TcpOptions, Error> options() const noexcept {
    return parse_tcp_options(option_bytes());
  }
  [[nodiscard]] Bytes payload() const noexcept {
    return bytes_.subspan(header_length());
  }  ///< the data after the header
  /// SEG.LEN: payload length plus one for SYN and one for FIN (RFC 9293 §3.4).
  [[nodiscard]] std::uint32_t sequence_length() const noexcept {
    return static_cast<std::uint32_t>(payload().size()) + (flags().syn() ? 1U : 0U) +
           (flags().fin() ? 1U : 0U);
  }
  /// The whole segment (header and payload).
  [[nodiscard]] Bytes bytes() const noexcept { return bytes_; }

 private:
  explicit TcpView(Bytes bytes) noexcept : bytes_(bytes) {}
  Bytes bytes_;
};

/// A TCP header as a value. parse(emit(h)) == h for every h whose options fit (checksum aside: emit
/// computes it from the pseudo-header, see packet.hpp).
struct TcpHeader {
  std::uint16_t src_port = 0;        ///< source port
  std::uint16_t dst_port = 0;        ///< destination port
  SeqNum seq;                        ///< SEG.SEQ
  SeqNum ack;                        ///< SEG.ACK
  TcpFlags flags;                    ///< flag bits
  std::uint16_t window = 0;          ///< SEG.WND, unscaled (as it goes in the 16-bit field)
  std::uint16_t urgent_pointer = 0;  ///< the urgent pointer field
  std::uint16_t checksum = 0;        ///< as received; ignored by emit
  TcpOptions options;                ///< options, encoded by emit() in Linux's layout

  /// The fields' defaults above. User-provided so that value-initialisation (`TcpHeader()`, as
  /// `std::expected`'s in-place construction does for every received segment) does not zero the whole
  /// object before running them.
  // NOLINTNEXTLINE(modernize-use-equals-default): `= default` would bring the zeroing back
  TcpHeader() noexcept {}

  /// The header value of a checked view, options parsed; an error for malformed options.
  [[nodiscard]] static std::expected<TcpHeader, Error> parse(const TcpView& view) noexcept;
  /// 20 + the options' encoded size.
  [[nodiscard]] std::size_t encoded_size() const noexcept {
    return TcpView::kMinHeaderSize + options.encoded_size();
  }
  /// Writes the header with a zero checksum field; returns the header length.
  [[nodiscard]] std::expected<std::size_t, Error> emit(MutableBytes out) const noexcept;

  /// Field-by-field equality (the checksum field included).
  friend bool operator==(const TcpHeader&, const TcpHeader&) noexcept = default;
};

/// The header of a segment synack sends: the fixed fields and the options it puts on its own segments
/// (MSS, window scale, SACK-permitted, timestamps, up to four SACK blocks). A fraction of TcpHeader's
/// size (no Fast Open, no unknown options), so the engine builds it cheaply and emit() writes it straight
/// into the output buffer, in the same Linux layout emit_tcp_options() uses.
///
/// Every field's default is zero (no option flagged), so that a fresh one — one per segment sent — is
/// one block of zeroes rather than field-by-field stores.
struct SendHeader {
  std::uint16_t src_port = 0;   ///< source port
  std::uint16_t dst_port = 0;   ///< destination port
  SeqNum seq;                   ///< SEG.SEQ
  SeqNum ack;                   ///< SEG.ACK
  TcpFlags flags;               ///< flag bits
  std::uint16_t window = 0;     ///< SEG.WND, unscaled (as it goes in the 16-bit field)
  std::uint16_t mss = 0;        ///< the MSS option's value, when has_mss
  std::uint8_t wscale = 0;      ///< the Window Scale option's shift, when has_wscale
  bool has_wscale = false;      ///< send a Window Scale option (`wscale`)
  bool has_mss = false;         ///< send an MSS option (`mss`)
  bool sack_permitted = false;  ///< send SACK-Permitted
  bool has_timestamps = false;  ///< send Timestamps (`timestamps`)
  std::uint8_t sack_count = 0;  ///< SACK blocks in `sack` (at most SackBlocks::kCapacity)
  Timestamps timestamps;        ///< TSval and TSecr, when has_timestamps
  std::array<SackBlock, SackBlocks::kCapacity> sack{};  ///< the first sack_count are sent
  /// A Fast Open option (RFC 7413) to send last, NOP-padded to a word; not owned, must outlive emit().
  const FastOpenCookie* fast_open = nullptr;

  /// A Window Scale option with `shift`, or none for nullopt (has_wscale and wscale together).
  void set_window_scale(std::optional<std::uint8_t> shift) noexcept {
    has_wscale = shift.has_value();
    wscale = shift.value_or(0);
  }
  /// The options' encoded size (Linux layout, a multiple of 4).
  [[nodiscard]] std::size_t options_size() const noexcept {
    return (has_mss ? 4U : 0U) + (has_timestamps ? 12U : (sack_permitted ? 4U : 0U)) +
           (has_wscale ? 4U : 0U) + (sack_count != 0 ? 4U + 8U * sack_count : 0U) +
           (fast_open != nullptr ? fast_open_size() : 0U);
  }
  /// The Fast Open option's encoded size with its NOP padding (0 without one).
  [[nodiscard]] std::size_t fast_open_size() const noexcept {
    if (fast_open == nullptr) return 0;
    const std::size_t raw = (fast_open->experimental() ? 4U : 2U) + fast_open->cookie().size();
    return (raw + 3U) & ~std::size_t{3};
  }
  /// 20 + the options' encoded size.
  [[nodiscard]] std::size_t encoded_size() const noexcept { return TcpView::kMinHeaderSize + options_size(); }
  /// Writes the header and its options with a zero checksum field; returns the header length. Errors:
  /// options_too_long (more than 40 bytes of options), buffer_too_small.
  [[nodiscard]] std::expected<std::size_t, Error> emit(MutableBytes out) const noexcept;
  /// The same header as a TcpHeader value (for observers and tests); TcpHeader::emit of it writes the
  /// same bytes.
  [[nodiscard]] TcpHeader to_header() const noexcept;
};

}  // namespace synack::wire
