// Terminal facts the CLI needs: whether to use colour. Every command that colours decides it here, from its
// --color option (docs/cli.md): always, never, or auto = the stream is a TTY, NO_COLOR is unset or empty
// (https://no-color.org) and TERM is not "dumb".
#pragma once

#include <cstdint>
#include <cstdio>

namespace CLI {
class App;
}  // namespace CLI

namespace synack::cli {

enum class ColourMode : std::uint8_t { automatic, always, never };

/// The rule itself, on plain facts (`no_color` and `term` as getenv returns them: null when unset).
[[nodiscard]] bool decide_colour(ColourMode mode, bool is_tty, const char* no_color,
                                 const char* term) noexcept;

/// decide_colour() for `stream` and this process's environment.
[[nodiscard]] bool use_colour(ColourMode mode, std::FILE* stream) noexcept;

/// Adds `--color=auto|always|never` (default auto) to `cmd`, parsed into `mode`.
void add_colour_option(CLI::App* cmd, ColourMode& mode);

}  // namespace synack::cli
