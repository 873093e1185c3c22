/// @file
/// Time as a value. Nothing in the protocol core reads a clock: drivers pass `now` in as an Instant, and
/// the engine answers with deadlines as Instants. Under the simulator an Instant is virtual time; on TUN
/// it is CLOCK_MONOTONIC. The origin is whatever the driver chooses.
#pragma once

#include <chrono>
#include <compare>
#include <cstdint>

namespace synack {

/// A length of time, in nanoseconds (signed, so deadlines may be compared by subtraction).
using Duration = std::chrono::nanoseconds;

/// A point in time, as nanoseconds since an origin the driver chooses (virtual time under the simulator,
/// CLOCK_MONOTONIC on TUN). A value type: cheap to copy, totally ordered, never read from a clock here.
class Instant {
 public:
  /// The origin itself (0 ns).
  constexpr Instant() noexcept = default;
  /// The instant `ns` nanoseconds after the origin (negative: before it).
  [[nodiscard]] static constexpr Instant from_nanoseconds(std::int64_t ns) noexcept {
    return Instant(Duration(ns));
  }
  /// The instant `since_origin` after the origin.
  [[nodiscard]] static constexpr Instant from_duration(Duration since_origin) noexcept {
    return Instant(since_origin);
  }
  /// The latest representable instant: "no deadline".
  [[nodiscard]] static constexpr Instant max() noexcept { return Instant(Duration::max()); }

  /// The time since the origin, as a Duration.
  [[nodiscard]] constexpr Duration since_origin() const noexcept { return since_origin_; }
  /// The time since the origin, in nanoseconds.
  [[nodiscard]] constexpr std::int64_t nanoseconds() const noexcept { return since_origin_.count(); }
  /// The time since the origin, in (fractional) seconds: for display and statistics, not for arithmetic.
  [[nodiscard]] constexpr double seconds() const noexcept {
    return std::chrono::duration<double>(since_origin_).count();
  }

  /// Moves this instant `d` later (earlier for a negative `d`).
  constexpr Instant& operator+=(Duration d) noexcept {
    since_origin_ += d;
    return *this;
  }
  /// @{
  /// The instant `d` after (`+`) or before (`-`) `t`.
  [[nodiscard]] friend constexpr Instant operator+(Instant t, Duration d) noexcept {
    return Instant(t.since_origin_ + d);
  }
  [[nodiscard]] friend constexpr Instant operator-(Instant t, Duration d) noexcept {
    return Instant(t.since_origin_ - d);
  }
  /// @}
  /// The (signed) time from `b` to `a`: positive when `a` is later.
  [[nodiscard]] friend constexpr Duration operator-(Instant a, Instant b) noexcept {
    return a.since_origin_ - b.since_origin_;
  }
  /// Instants are totally ordered: earlier compares less.
  friend constexpr auto operator<=>(Instant, Instant) noexcept = default;

 private:
  constexpr explicit Instant(Duration d) noexcept : since_origin_(d) {}
  Duration since_origin_{0};
};

}  // namespace synack
