// The capture and impairment flags every command that drives a link shares (docs/cli.md "Link flags"):
// --pcap FILE, --seed N, --loss, --delay, --jitter, --dup, --reorder, --corrupt, defined once here for
// `listen`, `connect`, `forward` (over the TUN device, through link::PcapDevice and sim::ImpairedDevice)
// and `sim` (over the simulated link). Numbers are strict (numbers.hpp): a bad value is one line naming the
// flag, exit 2.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <CLI/CLI.hpp>

#include "synack/sim/link.hpp"

namespace synack::cli {

/// What the flags hold. An impairment is "V" (both directions) or "A,B" (first direction, second one);
/// empty when not given.
struct LinkFlags {
  std::string pcap;  ///< "" none, "-" standard output
  std::uint64_t seed = 1;
  std::string loss, delay_ms, jitter_ms, dup, reorder, corrupt;

  /// True when any impairment was given.
  [[nodiscard]] bool impaired() const noexcept {
    return !loss.empty() || !delay_ms.empty() || !jitter_ms.empty() || !dup.empty() || !reorder.empty() ||
           !corrupt.empty();
  }
};

/// The link the flags apply to: a device (directions OUT,IN: what the stack writes, what it reads) or the
/// simulated network (C2S,S2C: client to server, server to client; a pcap in virtual time).
enum class LinkKind : std::uint8_t { device, simulated };

/// Adds the flags to `cmd`, storing into `flags` (which must outlive the parse).
void add_link_flags(CLI::App* cmd, LinkFlags& flags, LinkKind kind);

/// One value per direction.
struct PerDirection {
  double first = 0;
  double second = 0;
};
/// "V" (both directions) or "A,B", each a finite number in [lo, hi].
[[nodiscard]] std::optional<PerDirection> parse_per_direction(std::string_view text, double lo, double hi);
/// A validator for parse_per_direction(); `names` is how the two directions are written ("C2S,S2C").
[[nodiscard]] CLI::Validator per_direction(double lo, double hi, std::string_view names);

/// Applies the given impairments (already validated) to the two directions.
void apply_impairments(const LinkFlags& flags, sim::Impairments& first, sim::Impairments& second);

/// Milliseconds as a Duration (rounded to the nanosecond).
[[nodiscard]] Duration from_ms(double ms);

}  // namespace synack::cli
