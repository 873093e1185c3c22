// Time as a value. Nothing in the protocol core reads a clock: drivers pass `now` in as an Instant, and
// the engine answers with deadlines as Instants. Under the simulator an Instant is virtual time; on TUN
// it is CLOCK_MONOTONIC. The origin is whatever the driver chooses.
#pragma once

#include <chrono>
#include <compare>
#include <cstdint>

namespace synack {

using Duration = std::chrono::nanoseconds;

class Instant {
 public:
  constexpr Instant() noexcept = default;
  [[nodiscard]] static constexpr Instant from_nanoseconds(std::int64_t ns) noexcept {
    return Instant(Duration(ns));
  }
  [[nodiscard]] static constexpr Instant from_duration(Duration since_origin) noexcept {
    return Instant(since_origin);
  }
  /// The latest representable instant: "no deadline".
  [[nodiscard]] static constexpr Instant max() noexcept { return Instant(Duration::max()); }

  [[nodiscard]] constexpr Duration since_origin() const noexcept { return since_origin_; }
  [[nodiscard]] constexpr std::int64_t nanoseconds() const noexcept { return since_origin_.count(); }
  [[nodiscard]] constexpr double seconds() const noexcept {
    return std::chrono::duration<double>(since_origin_).count();
  }

  constexpr Instant& operator+=(Duration d) noexcept {
    since_origin_ += d;
    return *this;
  }
  [[nodiscard]] friend constexpr Instant operator+(Instant t, Duration d) noexcept {
    return Instant(t.since_origin_ + d);
  }
  [[nodiscard]] friend constexpr Instant operator-(Instant t, Duration d) noexcept {
    return Instant(t.since_origin_ - d);
  }
  [[nodiscard]] friend constexpr Duration operator-(Instant a, Instant b) noexcept {
    return a.since_origin_ - b.since_origin_;
  }
  friend constexpr auto operator<=>(Instant, Instant) noexcept = default;

 private:
  constexpr explicit Instant(Duration d) noexcept : since_origin_(d) {}
  Duration since_origin_{0};
};

}  // namespace synack
