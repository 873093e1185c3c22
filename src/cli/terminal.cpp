#include "terminal.hpp"

#include <unistd.h>

#include <cstdlib>
#include <string>
#include <string_view>

#include <CLI/CLI.hpp>

namespace synack::cli {

bool decide_colour(ColourMode mode, bool is_tty, const char* no_color, const char* term) noexcept {
  switch (mode) {
    case ColourMode::always:
      return true;
    case ColourMode::never:
      return false;
    case ColourMode::automatic:
      break;
  }
  if (no_color != nullptr && no_color[0] != '\0') return false;
  if (term != nullptr && std::string_view(term) == "dumb") return false;
  return is_tty;
}

bool use_colour(ColourMode mode, std::FILE* stream) noexcept {
  return decide_colour(mode, isatty(fileno(stream)) == 1, std::getenv("NO_COLOR"), std::getenv("TERM"));
}

void add_colour_option(CLI::App* cmd, ColourMode& mode) {
  // A string checked against the three names (an enum option would print its value as a raw byte).
  cmd->add_option_function<std::string>(
         "--color",
         [&mode](const std::string& name) {
           mode = name == "always"  ? ColourMode::always
                  : name == "never" ? ColourMode::never
                                    : ColourMode::automatic;
         },
         "Colour: auto (a terminal, NO_COLOR unset, TERM not dumb), always or never")
      ->check(CLI::IsMember({"auto", "always", "never"}))
      ->default_str("auto");
}

}  // namespace synack::cli
