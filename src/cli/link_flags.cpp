// The shared capture and impairment flags (link_flags.hpp).
#include "link_flags.hpp"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <string>
#include <system_error>

#include <fmt/core.h>

#include "numbers.hpp"

namespace synack::cli {
namespace {

std::optional<double> parse_number(std::string_view text) {
  double v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || !std::isfinite(v))
    return std::nullopt;
  return v;
}

/// Applies `text` (already validated) to both directions through `set`.
template <typename Set>
void apply(const std::string& text, sim::Impairments& first, sim::Impairments& second, Set set) {
  if (text.empty()) return;
  const auto v = parse_per_direction(text, -1e300, 1e300);
  if (!v) return;
  set(first, v->first);
  set(second, v->second);
}

}  // namespace

Duration from_ms(double ms) {
  return Duration(static_cast<std::int64_t>(std::llround(ms * 1e6)));
}

std::optional<PerDirection> parse_per_direction(std::string_view text, double lo, double hi) {
  const auto comma = text.find(',');
  const auto a = parse_number(text.substr(0, comma));
  const auto b = comma == std::string_view::npos ? a : parse_number(text.substr(comma + 1));
  if (!a || !b || *a < lo || *a > hi || *b < lo || *b > hi) return std::nullopt;
  return PerDirection{*a, *b};
}

CLI::Validator per_direction(double lo, double hi, std::string_view names) {
  return {[lo, hi, names = std::string(names)](std::string& text) -> std::string {
            if (parse_per_direction(text, lo, hi)) return {};
            return fmt::format("'{}' is not a number from {} to {}, or two of them as {}", text, lo, hi,
                               names);
          },
          fmt::format("V|{}", names)};
}

void apply_impairments(const LinkFlags& f, sim::Impairments& first, sim::Impairments& second) {
  apply(f.loss, first, second, [](sim::Impairments& d, double v) { d.loss = v; });
  apply(f.dup, first, second, [](sim::Impairments& d, double v) { d.duplicate = v; });
  apply(f.reorder, first, second, [](sim::Impairments& d, double v) { d.reorder = v; });
  apply(f.corrupt, first, second, [](sim::Impairments& d, double v) { d.corrupt = v; });
  apply(f.delay_ms, first, second, [](sim::Impairments& d, double v) { d.delay = from_ms(v); });
  apply(f.jitter_ms, first, second, [](sim::Impairments& d, double v) { d.jitter = from_ms(v); });
}

void add_link_flags(CLI::App* cmd, LinkFlags& f, LinkKind kind) {
  const bool simulated = kind == LinkKind::simulated;
  const std::string_view dirs = simulated ? "C2S,S2C" : "OUT,IN";
  cmd->add_option("--pcap", f.pcap,
                  simulated
                      ? "Write every segment to a pcap file with virtual timestamps ('-': standard "
                        "output; the report then goes to stderr)"
                      : "Write every datagram crossing the device to a pcap file ('-': standard output; "
                        "what the command prints there goes to stderr)");
  cmd->add_option("--seed", f.seed,
                  simulated ? "Seed of every random choice: same seed, same bytes out"
                            : "Seed of the impairments' random choices (--loss, --dup, ...)")
      ->check(whole(0))
      ->capture_default_str();
  const auto each = [&](std::string_view what) {
    return fmt::format("{} (V, or {} for each direction)", what, dirs);
  };
  cmd->add_option("--loss", f.loss, each("Loss probability"))->check(per_direction(0.0, 1.0, dirs));
  cmd->add_option("--delay", f.delay_ms,
                  each(simulated ? "One-way delay in ms, default 10" : "Delay added to each datagram, ms"))
      ->check(per_direction(0.0, 3.6e6, dirs));
  cmd->add_option("--jitter", f.jitter_ms, each("Extra delay, uniform in [0, MS]"))
      ->check(per_direction(0.0, 3.6e6, dirs));
  cmd->add_option("--dup", f.dup, each("Duplication probability"))->check(per_direction(0.0, 1.0, dirs));
  cmd->add_option("--reorder", f.reorder, each("Probability a segment is held back so later ones pass it"))
      ->check(per_direction(0.0, 1.0, dirs));
  cmd->add_option("--corrupt", f.corrupt, each("Probability one byte is flipped (the checksum catches it)"))
      ->check(per_direction(0.0, 1.0, dirs));
}

}  // namespace synack::cli
