// The one palette and the arrow every ladder draws (synack/observe/ladder.hpp).
#include "synack/observe/ladder.hpp"

#include <fmt/format.h>

namespace synack::observe {

Paint paint_of(wire::TcpFlags flags, bool retransmission) noexcept {
  if (retransmission && !flags.rst()) return Paint::retransmission;
  if (flags.rst()) return Paint::rst;
  if (flags.syn()) return flags.ack() ? Paint::syn_ack : Paint::syn;
  if (flags.fin()) return Paint::fin;
  return Paint::plain;
}

Paint paint_of(Outcome outcome) noexcept {
  if (outcome == Outcome::established || outcome == Outcome::simultaneous_open) return Paint::good;
  if (outcome == Outcome::pending || outcome == Outcome::incomplete) return Paint::pending;
  return Paint::bad;
}

std::string_view ansi(Paint paint) noexcept {
  switch (paint) {
    case Paint::plain:
      return "";
    case Paint::syn:
    case Paint::good:
      return "\x1b[32m";
    case Paint::syn_ack:
    case Paint::accent:
      return "\x1b[36m";
    case Paint::fin:
      return "\x1b[34m";
    case Paint::rst:
    case Paint::lost:
    case Paint::bad:
      return "\x1b[31m";
    case Paint::retransmission:
    case Paint::pending:
      return "\x1b[33m";
    case Paint::altered:
      return "\x1b[35m";
  }
  return "";
}

std::string_view svg_colour(Paint paint) noexcept {
  switch (paint) {
    case Paint::plain:
      return "#333333";
    case Paint::syn:
    case Paint::good:
      return "#1e8449";
    case Paint::syn_ack:
    case Paint::accent:
      return "#1f618d";
    case Paint::fin:
      return "#2e4053";
    case Paint::rst:
    case Paint::lost:
    case Paint::bad:
      return "#c0392b";
    case Paint::retransmission:
    case Paint::pending:
      return "#b9770e";
    case Paint::altered:
      return "#7d3c98";
  }
  return "#333333";
}

std::string painted(std::string_view text, Paint paint, bool colour) {
  const std::string_view on = colour ? ansi(paint) : std::string_view{};
  if (on.empty() || text.empty()) return std::string(text);
  return fmt::format("{}{}{}", on, text, kAnsiReset);
}

std::string ladder_arrow(wire::TcpFlags flags, Direction direction, std::size_t width, bool lost) {
  const std::string name = flags.to_string();
  const std::string label = fmt::format(" {} ", name.empty() ? "." : name);
  const std::size_t body = width > label.size() + 1 ? width - label.size() - 1 : 0;
  const std::size_t left = body / 2;
  const std::size_t right = body - left;
  constexpr std::size_t kShort = 4;  // how far short of the far bar a lost segment stops
  if (direction == Direction::to_server) {
    if (lost)
      return "|" + std::string(left, '-') + label + std::string(right > kShort ? right - kShort : 0, '-') +
             "X    |";
    return "|" + std::string(left, '-') + label + std::string(right, '-') + ">|";
  }
  if (lost)
    return "|    X" + std::string(left > kShort ? left - kShort : 0, '-') + label + std::string(right, '-') +
           "|";
  return "|<" + std::string(left, '-') + label + std::string(right, '-') + "|";
}

std::string ladder_heading(std::size_t width) {
  return fmt::format("{:>12}  {:<{}}{:>{}}\n", "time", "client", width / 2 + 1, "server", width / 2 + 1);
}

std::string ladder_cut_note(std::size_t shown, std::optional<std::size_t> more) {
  const std::string seen = !more        ? std::string("more were seen")
                           : *more == 1 ? std::string("1 more was seen")
                                        : fmt::format("{} more were seen", *more);
  return fmt::format("… the ladder stops at {} segment{}; {} (--ladder-limit to raise)", shown,
                     shown == 1 ? "" : "s", seen);
}

}  // namespace synack::observe
