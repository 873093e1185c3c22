// `synack forward`: a transparent TCP forwarder from a TUN device to kernel sockets (docs/forward.md).
#pragma once

#include <CLI/CLI.hpp>

namespace synack::cli {

void register_forward_command(CLI::App& app, int& exit_code);

}  // namespace synack::cli
