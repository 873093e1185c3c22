// Numbers every presenter computes the same way: nearest-rank percentiles and milliseconds.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <span>

namespace synack::observe {

/// Percentiles of a set of values (in the values' unit) and its size.
struct Percentiles {
  std::size_t count = 0;  ///< how many values
  /// @{
  /// The 50th, 90th and 99th nearest-rank percentiles and the largest value.
  double p50 = 0, p90 = 0, p99 = 0, max = 0;
  /// @}
  /// Field by field.
  friend constexpr bool operator==(const Percentiles&, const Percentiles&) noexcept = default;
};

/// Nearest rank: each percentile is the smallest value with at least p % of the values at or below it.
/// Reorders `values` (a selection, not a full sort); nullopt when it is empty.
[[nodiscard]] std::optional<Percentiles> percentiles(std::span<double> values);

/// A duration (or a difference of capture timestamps) in milliseconds, to the nanosecond.
[[nodiscard]] constexpr double to_ms(std::chrono::nanoseconds d) noexcept {
  return static_cast<double>(d.count()) / 1e6;
}

}  // namespace synack::observe
