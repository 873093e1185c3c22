// Nearest-rank percentiles, the one implementation behind sim's summary and analyze's distributions.
#include "synack/observe/stats.hpp"

#include <algorithm>
#include <cmath>

namespace synack::observe {

std::optional<Percentiles> percentiles(std::span<double> values) {
  if (values.empty()) return std::nullopt;
  std::ranges::sort(values);
  const auto n = static_cast<double>(values.size());
  const auto rank = [&](double p) {
    const auto index = static_cast<std::size_t>(std::ceil(p / 100.0 * n));
    return values[std::clamp<std::size_t>(index, 1, values.size()) - 1];
  };
  return Percentiles{
      .count = values.size(), .p50 = rank(50), .p90 = rank(90), .p99 = rank(99), .max = values.back()};
}

}  // namespace synack::observe
