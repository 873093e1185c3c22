// `synack listen`: a synack server on a TUN device. The TUN toolbox it shares with `connect`, `demo` and
// `forward` is in tun_session.hpp.
#pragma once

#include <CLI/CLI.hpp>

#include "tun_session.hpp"

namespace synack::cli {

void register_listen_command(CLI::App& app, int& exit_code);

}  // namespace synack::cli
