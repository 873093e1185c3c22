// Nearest-rank percentiles, the one implementation behind sim's summary and analyze's distributions.
#include "synack/observe/stats.hpp"

#include <algorithm>
#include <cmath>

namespace synack::observe {

std::optional<Percentiles> percentiles(std::span<double> values) {
  if (values.empty()) return std::nullopt;
  const auto n = static_cast<double>(values.size());
  // Selection, not a sort (a capture has as many values as connections): each rank is put in place in the
  // part above the one before it.
  auto from = values.begin();
  const auto rank = [&](double p) {
    const auto index =
        std::clamp<std::size_t>(static_cast<std::size_t>(std::ceil(p / 100.0 * n)), 1, values.size()) - 1;
    const auto at = values.begin() + static_cast<std::ptrdiff_t>(index);
    if (at >= from) {
      std::nth_element(from, at, values.end());
      from = at;
    }
    return *at;
  };
  const double p50 = rank(50);
  const double p90 = rank(90);
  const double p99 = rank(99);
  return Percentiles{.count = values.size(),
                     .p50 = p50,
                     .p90 = p90,
                     .p99 = p99,
                     .max = *std::max_element(from, values.end())};
}

}  // namespace synack::observe
