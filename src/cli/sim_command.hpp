// `synack sim [SCENARIO] [options]`: the deterministic simulator (docs/sim.md). Prints each connection
// as a ladder diagram and the outcome, or a summary for many connections, or JSON (docs/json.md);
// optionally writes a pcap with virtual timestamps. Exit codes: 0 the run completed (whatever the
// outcomes), 1 the pcap could not be written, 2 bad command line (unknown scenario, bad value).
#pragma once

#include <CLI/CLI.hpp>

namespace synack::cli {

void register_sim_command(CLI::App& app, int& exit_code);

}  // namespace synack::cli
