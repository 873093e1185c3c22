/// @file
/// TCP options (RFC 9293 §3.2, RFC 7323, RFC 2018, RFC 7413) as one plain value, with parse and emit.
///
/// Parsing checks each kind's length; a malformed list is a typed error, never an over-read. A window
/// scale above 14 is kept as received in `wscale` and clamped by window_shift() (RFC 7323 §2.3), so the
/// clamp is visible to the caller. Emission lays options out as Linux does (tcp_options_write), so a
/// SYN from synack looks, byte for byte, like the kernel's.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <expected>
#include <optional>
#include <span>

#include "synack/wire/bytes.hpp"
#include "synack/wire/error.hpp"
#include "synack/wire/seq.hpp"

namespace synack::wire {

/// TCP option kinds (IANA "TCP Option Kind Numbers") that synack parses or emits.
namespace option_kind {
inline constexpr std::uint8_t kEnd = 0;             ///< End of Option List (RFC 9293)
inline constexpr std::uint8_t kNop = 1;             ///< No-Operation, for alignment (RFC 9293)
inline constexpr std::uint8_t kMss = 2;             ///< Maximum Segment Size (RFC 9293 §3.7.1), SYN only
inline constexpr std::uint8_t kWindowScale = 3;     ///< Window Scale (RFC 7323 §2), SYN only
inline constexpr std::uint8_t kSackPermitted = 4;   ///< SACK-Permitted (RFC 2018), SYN only
inline constexpr std::uint8_t kSack = 5;            ///< SACK blocks (RFC 2018)
inline constexpr std::uint8_t kTimestamps = 8;      ///< Timestamps (RFC 7323 §3)
inline constexpr std::uint8_t kFastOpen = 34;       ///< TCP Fast Open cookie (RFC 7413)
inline constexpr std::uint8_t kExperimental = 254;  ///< RFC 6994; Fast Open before 34 used magic 0xF989
}  // namespace option_kind

/// The TCP option space: a 60-byte header minus the fixed 20.
inline constexpr std::size_t kMaxOptionBytes = 40;
/// The largest window-scale shift (RFC 7323 §2.3); larger received values are clamped to it.
inline constexpr std::uint8_t kMaxWindowShift = 14;  // RFC 7323 §2.3
/// The magic that marks a Fast Open cookie in experimental option 254 (pre-RFC 7413 Linux, RFC 6994).
inline constexpr std::uint16_t kFastOpenExperimentalMagic = 0xF989;

/// The Timestamps option (RFC 7323 §3): TSval and TSecr, in the sender's timestamp clock units.
struct Timestamps {
  std::uint32_t value = 0;  ///< TSval
  std::uint32_t echo = 0;   ///< TSecr
  /// Both values equal.
  friend constexpr bool operator==(const Timestamps&, const Timestamps&) noexcept = default;
};

/// One SACK block (RFC 2018 §3): the half-open range [left, right) of received sequence space.
struct SackBlock {
  SeqNum left;   ///< first sequence number of the block
  SeqNum right;  ///< sequence number just past the block
  /// Both edges equal.
  friend constexpr bool operator==(const SackBlock&, const SackBlock&) noexcept = default;
};

/// Up to four SACK blocks (the most a 40-byte option space holds).
class SackBlocks {
 public:
  /// The most blocks an option can carry (4 × 8 + 2 bytes fit in 40).
  static constexpr std::size_t kCapacity = 4;
  /// The blocks, in option order (the first is the most recent, RFC 2018 §4).
  [[nodiscard]] std::span<const SackBlock> blocks() const noexcept { return {blocks_.data(), count_}; }
  /// How many blocks.
  [[nodiscard]] std::size_t size() const noexcept { return count_; }
  /// True when there are none.
  [[nodiscard]] bool empty() const noexcept { return count_ == 0; }
  /// False (and nothing added) when full.
  bool push_back(SackBlock block) noexcept;
  /// Removes every block.
  void clear() noexcept { *this = SackBlocks{}; }
  /// Same blocks in the same order.
  friend constexpr bool operator==(const SackBlocks&, const SackBlocks&) noexcept = default;

 private:
  std::array<SackBlock, kCapacity> blocks_{};
  std::size_t count_ = 0;
};

/// TCP Fast Open cookie option (RFC 7413): an empty cookie is a cookie request.
class FastOpenCookie {
 public:
  /// The longest cookie (RFC 7413 §4.1.1).
  static constexpr std::size_t kMaxSize = 16;
  /// The shortest non-empty cookie.
  static constexpr std::size_t kMinSize = 4;
  /// Cookie of 0 (a request) or 4..16 bytes; nullopt otherwise.
  [[nodiscard]] static std::optional<FastOpenCookie> make(Bytes cookie, bool experimental = false) noexcept;
  /// The cookie bytes; empty for a request.
  [[nodiscard]] Bytes cookie() const noexcept { return Bytes(bytes_).first(size_); }
  /// True for a cookie request (an empty cookie, sent on a SYN to ask the server for one).
  [[nodiscard]] bool is_request() const noexcept { return size_ == 0; }
  /// Carried in the experimental option 254 with magic 0xF989 rather than kind 34.
  [[nodiscard]] bool experimental() const noexcept { return experimental_; }
  /// Same bytes and the same encoding.
  friend constexpr bool operator==(const FastOpenCookie&, const FastOpenCookie&) noexcept = default;

 private:
  std::array<std::byte, kMaxSize> bytes_{};
  std::uint8_t size_ = 0;
  bool experimental_ = false;
};

/// Options synack does not interpret, kept as (kind, bytes) in arrival order. Fixed capacity: the
/// option space is 40 bytes, so nothing here allocates.
class UnknownOptions {
 public:
  /// One unknown option as received.
  struct Option {
    std::uint8_t kind;  ///< the option kind
    Bytes data;         ///< the bytes after kind and length
  };
  /// The most entries kept (20 two-byte options fill 40 bytes).
  static constexpr std::size_t kMaxOptions = 20;

  /// How many options are kept.
  [[nodiscard]] std::size_t size() const noexcept { return count_; }
  /// True when there are none.
  [[nodiscard]] bool empty() const noexcept { return count_ == 0; }
  /// The i-th option in arrival order (i < size()); its data views this object's own storage.
  [[nodiscard]] Option operator[](std::size_t i) const noexcept;
  /// False (and nothing added) when there is no room.
  bool push_back(std::uint8_t kind, Bytes data) noexcept;
  /// Encoded size of all entries (kind + length + data each).
  [[nodiscard]] std::size_t encoded_size() const noexcept;
  /// Same options, bytes and order.
  /// The same options: the stored entries and bytes compare, not the unused storage past them.
  friend bool operator==(const UnknownOptions& a, const UnknownOptions& b) noexcept;

 private:
  struct Entry {
    std::uint8_t kind;
    std::uint8_t offset;
    std::uint8_t length;
    friend constexpr bool operator==(const Entry&, const Entry&) noexcept = default;
  };
  // Storage past count_ / used_ is left uninitialised: every received header holds an UnknownOptions,
  // and zeroing its 100 bytes per datagram was measurable (issue 10). Only the used part is ever read.
  // NOLINTNEXTLINE(cppcoreguidelines-pro-type-member-init)
  std::array<std::byte, kMaxOptionBytes> data_;
  // NOLINTNEXTLINE(cppcoreguidelines-pro-type-member-init)
  std::array<Entry, kMaxOptions> entries_;
  std::uint8_t count_ = 0;
  std::uint8_t used_ = 0;
};

/// Every TCP option synack understands, as one value (absent options are nullopt / false / empty). Used for
/// both directions: what a segment carried, and what to put on one.
struct TcpOptions {
  std::optional<std::uint16_t> mss;  ///< Maximum Segment Size (SYN only), in bytes
  /// The shift count as received or to be sent; may exceed 14 on receive (see window_shift()).
  std::optional<std::uint8_t> wscale;
  bool sack_permitted = false;              ///< SACK-Permitted was (or is to be) sent (SYN only)
  std::optional<Timestamps> timestamps;     ///< Timestamps (TSval, TSecr)
  SackBlocks sack;                          ///< SACK blocks
  std::optional<FastOpenCookie> fast_open;  ///< Fast Open cookie or cookie request
  UnknownOptions unknown;  ///< options synack does not interpret, kept for display and re-emission

  /// The shift in effect for this option: wscale clamped to 14 (RFC 7323 §2.3).
  [[nodiscard]] std::optional<std::uint8_t> window_shift() const noexcept {
    if (!wscale) return std::nullopt;
    return *wscale > kMaxWindowShift ? kMaxWindowShift : *wscale;
  }
  /// The peer sent a shift above 14 and window_shift() clamped it.
  [[nodiscard]] bool wscale_clamped() const noexcept { return wscale && *wscale > kMaxWindowShift; }
  /// True when no option is present at all.
  [[nodiscard]] bool empty() const noexcept {
    return !mss && !wscale && !sack_permitted && !timestamps && sack.empty() && !fast_open && unknown.empty();
  }
  /// Bytes emit() writes: a multiple of 4, at most 40 when the options fit.
  [[nodiscard]] std::size_t encoded_size() const noexcept;

  /// Every option equal.
  friend bool operator==(const TcpOptions&, const TcpOptions&) noexcept = default;
};

/// Parses the option bytes of a TCP header (between byte 20 and the data offset). Parsing stops at
/// End of Option List. A kind that appears twice keeps its last value (as Linux does).
[[nodiscard]] std::expected<TcpOptions, Error> parse_tcp_options(Bytes bytes) noexcept;

/// The same into `options`, which must be freshly constructed (empty): for a caller that holds the options
/// inside a larger value (TcpHeader::parse), so they are not copied. nullopt on success.
[[nodiscard]] std::optional<Error> parse_tcp_options_into(Bytes bytes, TcpOptions& options) noexcept;

namespace detail {
/// The general parser: parse_tcp_options() without its fast path for the common layouts. It is the
/// reference the fast path is tested against; production code calls parse_tcp_options().
[[nodiscard]] std::expected<TcpOptions, Error> parse_tcp_options_general(Bytes bytes) noexcept;
[[nodiscard]] std::optional<Error> parse_tcp_options_general_into(Bytes bytes, TcpOptions& options) noexcept;
}  // namespace detail

/// Writes `options` in Linux's layout, padded to a multiple of 4 bytes, and returns the size.
/// When that layout would pass 40 bytes the options are packed without alignment NOPs instead, so any
/// list that parse_tcp_options() accepted can be emitted again.
[[nodiscard]] std::expected<std::size_t, Error> emit_tcp_options(const TcpOptions& options,
                                                                 MutableBytes out) noexcept;

}  // namespace synack::wire
