/// @file
/// TCP sequence numbers: 32-bit values compared modulo 2^32 (RFC 9293 §3.4).
///
/// Only the arithmetic that means something is offered: a sequence number plus or minus a length is a
/// sequence number; the difference of two sequence numbers is a signed distance. Adding two sequence
/// numbers does not compile. Modular "<" is not a total order (a < b and b < a can both be false when they
/// are 2^31 apart), so there is deliberately no operator<=> and SeqNum must not key an ordered container.
#pragma once

#include <cstdint>

namespace synack::wire {

/// A TCP sequence number: 32 bits that wrap, compared modulo 2^32 (RFC 9293 §3.4). See the file comment for
/// the arithmetic it allows.
class SeqNum {
 public:
  /// Sequence number 0.
  constexpr SeqNum() noexcept = default;
  /// Wraps a raw 32-bit value (e.g. from a TCP header).
  constexpr explicit SeqNum(std::uint32_t value) noexcept : value_(value) {}

  /// The raw 32-bit value, as carried in a TCP header.
  [[nodiscard]] constexpr std::uint32_t raw() const noexcept { return value_; }

  /// @{
  /// Advances (`+=`) or moves back (`-=`) by `length` bytes, wrapping modulo 2^32.
  constexpr SeqNum& operator+=(std::uint32_t length) noexcept {
    value_ += length;
    return *this;
  }
  constexpr SeqNum& operator-=(std::uint32_t length) noexcept {
    value_ -= length;
    return *this;
  }
  /// @}
  /// @{
  /// The sequence number `length` bytes after (`+`) or before (`-`) `seq`, wrapping modulo 2^32.
  [[nodiscard]] friend constexpr SeqNum operator+(SeqNum seq, std::uint32_t length) noexcept {
    return SeqNum(seq.value_ + length);
  }
  [[nodiscard]] friend constexpr SeqNum operator-(SeqNum seq, std::uint32_t length) noexcept {
    return SeqNum(seq.value_ - length);
  }
  /// @}
  /// Signed distance a - b, in (-2^31, 2^31].
  [[nodiscard]] friend constexpr std::int32_t operator-(SeqNum a, SeqNum b) noexcept {
    return static_cast<std::int32_t>(a.value_ - b.value_);
  }
  /// Equality of the raw values.
  [[nodiscard]] friend constexpr bool operator==(SeqNum a, SeqNum b) noexcept = default;
  /// @{
  /// Modular order (RFC 9293 §3.4): `a < b` when a - b is negative. Not a total order: numbers 2^31 apart
  /// compare neither less nor greater.
  [[nodiscard]] friend constexpr bool operator<(SeqNum a, SeqNum b) noexcept { return (a - b) < 0; }
  [[nodiscard]] friend constexpr bool operator>(SeqNum a, SeqNum b) noexcept { return (a - b) > 0; }
  [[nodiscard]] friend constexpr bool operator<=(SeqNum a, SeqNum b) noexcept { return (a - b) <= 0; }
  [[nodiscard]] friend constexpr bool operator>=(SeqNum a, SeqNum b) noexcept { return (a - b) >= 0; }

  /// @}
 private:
  std::uint32_t value_ = 0;
};

/// lo <= x < hi, modulo 2^32 (an empty range when lo == hi).
[[nodiscard]] constexpr bool seq_in_range(SeqNum x, SeqNum lo, SeqNum hi) noexcept {
  return (x.raw() - lo.raw()) < (hi.raw() - lo.raw());
}
/// The later of `a` and `b` in modular order.
[[nodiscard]] constexpr SeqNum seq_max(SeqNum a, SeqNum b) noexcept {
  return a < b ? b : a;
}
/// The earlier of `a` and `b` in modular order.
[[nodiscard]] constexpr SeqNum seq_min(SeqNum a, SeqNum b) noexcept {
  return a < b ? a : b;
}

}  // namespace synack::wire
