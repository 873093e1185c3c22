// TCP options (RFC 9293 §3.2, RFC 7323, RFC 2018, RFC 7413) as one plain value, with parse and emit.
//
// Parsing checks each kind's length; a malformed list is a typed error, never an over-read. A window
// scale above 14 is kept as received in `wscale` and clamped by window_shift() (RFC 7323 §2.3), so the
// clamp is visible to the caller. Emission lays options out as Linux does (tcp_options_write), so a
// SYN from synack looks, byte for byte, like the kernel's.
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

namespace option_kind {
inline constexpr std::uint8_t kEnd = 0;
inline constexpr std::uint8_t kNop = 1;
inline constexpr std::uint8_t kMss = 2;
inline constexpr std::uint8_t kWindowScale = 3;
inline constexpr std::uint8_t kSackPermitted = 4;
inline constexpr std::uint8_t kSack = 5;
inline constexpr std::uint8_t kTimestamps = 8;
inline constexpr std::uint8_t kFastOpen = 34;
inline constexpr std::uint8_t kExperimental = 254;  ///< RFC 6994; Fast Open before 34 used magic 0xF989
}  // namespace option_kind

inline constexpr std::size_t kMaxOptionBytes = 40;
inline constexpr std::uint8_t kMaxWindowShift = 14;  // RFC 7323 §2.3
inline constexpr std::uint16_t kFastOpenExperimentalMagic = 0xF989;

struct Timestamps {
  std::uint32_t value = 0;  ///< TSval
  std::uint32_t echo = 0;   ///< TSecr
  friend constexpr bool operator==(const Timestamps&, const Timestamps&) noexcept = default;
};

struct SackBlock {
  SeqNum left;   ///< first sequence number of the block
  SeqNum right;  ///< sequence number just past the block
  friend constexpr bool operator==(const SackBlock&, const SackBlock&) noexcept = default;
};

/// Up to four SACK blocks (the most a 40-byte option space holds).
class SackBlocks {
 public:
  static constexpr std::size_t kCapacity = 4;
  [[nodiscard]] std::span<const SackBlock> blocks() const noexcept { return {blocks_.data(), count_}; }
  [[nodiscard]] std::size_t size() const noexcept { return count_; }
  [[nodiscard]] bool empty() const noexcept { return count_ == 0; }
  /// False (and nothing added) when full.
  bool push_back(SackBlock block) noexcept;
  void clear() noexcept { *this = SackBlocks{}; }
  friend constexpr bool operator==(const SackBlocks&, const SackBlocks&) noexcept = default;

 private:
  std::array<SackBlock, kCapacity> blocks_{};
  std::size_t count_ = 0;
};

/// TCP Fast Open cookie option (RFC 7413): an empty cookie is a cookie request.
class FastOpenCookie {
 public:
  static constexpr std::size_t kMaxSize = 16;
  static constexpr std::size_t kMinSize = 4;
  /// Cookie of 0 (a request) or 4..16 bytes; nullopt otherwise.
  [[nodiscard]] static std::optional<FastOpenCookie> make(Bytes cookie, bool experimental = false) noexcept;
  [[nodiscard]] Bytes cookie() const noexcept { return Bytes(bytes_).first(size_); }
  [[nodiscard]] bool is_request() const noexcept { return size_ == 0; }
  /// Carried in the experimental option 254 with magic 0xF989 rather than kind 34.
  [[nodiscard]] bool experimental() const noexcept { return experimental_; }
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
  struct Option {
    std::uint8_t kind;
    Bytes data;  ///< the bytes after kind and length
  };
  static constexpr std::size_t kMaxOptions = 20;

  [[nodiscard]] std::size_t size() const noexcept { return count_; }
  [[nodiscard]] bool empty() const noexcept { return count_ == 0; }
  [[nodiscard]] Option operator[](std::size_t i) const noexcept;
  /// False (and nothing added) when there is no room.
  bool push_back(std::uint8_t kind, Bytes data) noexcept;
  /// Encoded size of all entries (kind + length + data each).
  [[nodiscard]] std::size_t encoded_size() const noexcept;
  friend constexpr bool operator==(const UnknownOptions&, const UnknownOptions&) noexcept = default;

 private:
  struct Entry {
    std::uint8_t kind = 0;
    std::uint8_t offset = 0;
    std::uint8_t length = 0;
    friend constexpr bool operator==(const Entry&, const Entry&) noexcept = default;
  };
  std::array<std::byte, kMaxOptionBytes> data_{};
  std::array<Entry, kMaxOptions> entries_{};
  std::uint8_t count_ = 0;
  std::uint8_t used_ = 0;
};

struct TcpOptions {
  std::optional<std::uint16_t> mss;
  /// The shift count as received or to be sent; may exceed 14 on receive (see window_shift()).
  std::optional<std::uint8_t> wscale;
  bool sack_permitted = false;
  std::optional<Timestamps> timestamps;
  SackBlocks sack;
  std::optional<FastOpenCookie> fast_open;
  UnknownOptions unknown;

  /// The shift in effect for this option: wscale clamped to 14 (RFC 7323 §2.3).
  [[nodiscard]] std::optional<std::uint8_t> window_shift() const noexcept {
    if (!wscale) return std::nullopt;
    return *wscale > kMaxWindowShift ? kMaxWindowShift : *wscale;
  }
  /// The peer sent a shift above 14 and window_shift() clamped it.
  [[nodiscard]] bool wscale_clamped() const noexcept { return wscale && *wscale > kMaxWindowShift; }
  [[nodiscard]] bool empty() const noexcept {
    return !mss && !wscale && !sack_permitted && !timestamps && sack.empty() && !fast_open && unknown.empty();
  }
  /// Bytes emit() writes: a multiple of 4, at most 40 when the options fit.
  [[nodiscard]] std::size_t encoded_size() const noexcept;

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
