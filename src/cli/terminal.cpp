#include "terminal.hpp"

#include <unistd.h>

#include <cstdlib>

namespace synack::cli {

bool use_colour(std::FILE* stream) noexcept {
  const char* no_colour = std::getenv("NO_COLOR");
  if (no_colour != nullptr && no_colour[0] != '\0') return false;
  return isatty(fileno(stream)) == 1;
}

}  // namespace synack::cli
