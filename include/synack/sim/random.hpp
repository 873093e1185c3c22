/// @file
/// The simulator's names for the project's one generator (synack/random.hpp).
#pragma once

#include "synack/random.hpp"

namespace synack::sim {

using synack::Rng;         // NOLINT(misc-unused-using-decls): part of this header's interface
using synack::splitmix64;  // NOLINT(misc-unused-using-decls): part of this header's interface

}  // namespace synack::sim
