// `synack connect`: an active open from the userspace stack over a TUN device to a (kernel) server.
#pragma once

#include <CLI/CLI.hpp>

namespace synack::cli {

void register_connect_command(CLI::App& app, int& exit_code);

}  // namespace synack::cli
