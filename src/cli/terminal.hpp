// Terminal facts the CLI needs: whether to use colour (a TTY and NO_COLOR unset, https://no-color.org).
#pragma once

#include <cstdio>

namespace synack::cli {

[[nodiscard]] bool use_colour(std::FILE* stream) noexcept;

}  // namespace synack::cli
