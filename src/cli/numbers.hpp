// Strict numbers on the command line (docs/cli.md): a whole number is decimal digits only, a real number is
// finite, and each lies in its documented range. CLI11's own conversion takes "-1" for an unsigned option
// as 2^64-1 and an overflowing value as the largest one; these validators run first and refuse both, so a
// bad value ends in one line naming the flag ("--seed: '-1' is not a whole number from 0 to ...") and
// exit code 2.
#pragma once

#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

#include <CLI/CLI.hpp>
#include <fmt/core.h>

namespace synack::cli {

/// Whole numbers in [lo, hi]: no sign, no spaces, no hex or exponent, no overflow.
inline CLI::Validator whole(std::uint64_t lo, std::uint64_t hi = std::numeric_limits<std::uint64_t>::max()) {
  return {[lo, hi](std::string& text) -> std::string {
            std::uint64_t v = 0;
            const char* end = text.data() + text.size();
            const auto [ptr, ec] = std::from_chars(text.data(), end, v);
            const bool digits = !text.empty() && text.front() >= '0' && text.front() <= '9';
            if (digits && ec == std::errc() && ptr == end && v >= lo && v <= hi) return {};
            return fmt::format("'{}' is not a whole number from {} to {}", text, lo, hi);
          },
          fmt::format("INT in [{} - {}]", lo, hi)};
}

/// Finite real numbers in [lo, hi] (no nan, no inf).
inline CLI::Validator real(double lo, double hi) {
  return {[lo, hi](std::string& text) -> std::string {
            double v = 0;
            const char* end = text.data() + text.size();
            const auto [ptr, ec] = std::from_chars(text.data(), end, v);
            if (!text.empty() && ec == std::errc() && ptr == end && std::isfinite(v) && v >= lo && v <= hi)
              return {};
            return fmt::format("'{}' is not a number from {} to {}", text, lo, hi);
          },
          fmt::format("NUMBER in [{} - {}]", lo, hi)};
}

}  // namespace synack::cli
