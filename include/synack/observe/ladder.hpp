/// @file
/// The one ladder vocabulary of every presenter (sim, analyze, demo): a single palette shared by the
/// terminal ladders and the SVG drawings, the arrow a segment is drawn as, and the mark that says a ladder
/// was cut. Renderers lay out their own columns; what a segment looks like is decided here, once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "synack/observe/handshake.hpp"
#include "synack/wire/tcp.hpp"

namespace synack::observe {

/// What a ladder colours a segment or an outcome for; the palette maps each to a terminal colour and an
/// SVG colour.
enum class Paint : std::uint8_t {
  plain,           ///< no colour: ACKs and data in order
  syn,             ///< a SYN (green)
  syn_ack,         ///< a SYN-ACK (cyan)
  fin,             ///< a FIN (blue)
  rst,             ///< an RST (red)
  retransmission,  ///< sequence space sent again (yellow), RST excepted
  lost,            ///< the link dropped it (red; the arrow stops short at "X")
  altered,         ///< the link corrupted or duplicated it (magenta)
  good,            ///< an established outcome (green)
  pending,         ///< no outcome yet (yellow)
  bad,             ///< refused, timed out, reset (red)
  accent,          ///< histogram bars and other highlights (cyan)
};

/// The paint of a segment: retransmission first (unless it is an RST), then RST, SYN-ACK, SYN, FIN.
[[nodiscard]] Paint paint_of(wire::TcpFlags flags, bool retransmission) noexcept;
/// The paint of a handshake's outcome: good, pending or bad.
[[nodiscard]] Paint paint_of(Outcome outcome) noexcept;
/// The terminal escape sequence of a paint ("" for plain).
[[nodiscard]] std::string_view ansi(Paint paint) noexcept;
/// The escape sequence that ends a painted run.
inline constexpr std::string_view kAnsiReset = "\x1b[0m";
/// The SVG colour of a paint, "#rrggbb" (dark enough on white).
[[nodiscard]] std::string_view svg_colour(Paint paint) noexcept;
/// `text` wrapped in the paint's escape and a reset when `colour` is on and the paint is not plain.
[[nodiscard]] std::string painted(std::string_view text, Paint paint, bool colour);

/// The arrow of one segment (`width` + 2 characters with its bars): "|----- SA ---->|" to the server,
/// "|<---- SA -----|" to the client; a `lost` one stops short at "X" before the far bar.
[[nodiscard]] std::string ladder_arrow(wire::TcpFlags flags, Direction direction, std::size_t width,
                                       bool lost = false);
/// The column heading above the arrows: "time", then "client" and "server" over the two bars.
[[nodiscard]] std::string ladder_heading(std::size_t width);
/// The note that says a ladder was cut after `shown` segments: "… the ladder stops at 5 segments; 12 more
/// were seen (--ladder-limit to raise)", or "more were seen" when how many is not known.
[[nodiscard]] std::string ladder_cut_note(std::size_t shown, std::optional<std::size_t> more);

}  // namespace synack::observe
