/// @file
/// Named scenarios that replay the handshake cases of the seed article (docs/sim.md describes each).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "synack/sim/simulation.hpp"

namespace synack::sim {

/// A named scenario as `synack sim --list` shows it.
struct ScenarioInfo {
  std::string_view name;         ///< the name `synack sim --scenario` takes
  std::string_view description;  ///< one line saying what it shows
};

/// Every named scenario, in the order `synack sim --list` prints them.
[[nodiscard]] const std::vector<ScenarioInfo>& scenarios();

/// The configuration of scenario `name` with `seed`; nullopt for an unknown name.
[[nodiscard]] std::optional<SimConfig> scenario_config(std::string_view name, std::uint64_t seed = 1);

}  // namespace synack::sim
