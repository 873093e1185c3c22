// Registration of every subcommand. Each command sets `exit_code` from its callback.
#pragma once

#include <CLI/CLI.hpp>

namespace synack::cli {

void register_commands(CLI::App& app, int& exit_code);
void register_demo_command(CLI::App& app, int& exit_code);

}  // namespace synack::cli
