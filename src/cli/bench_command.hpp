// `synack bench [options]`: handshakes per second through two real synack Stacks on one core (virtual
// time, in-memory link), beside the Linux kernel's loopback rate measured in the same run, and memory
// per idle established connection, per half-open entry and per TIME-WAIT entry (RSS growth). Exit codes:
// 0 the run completed, 1 the synack run could not complete its handshakes, 2 bad command line.
// docs/cli.md documents the flags, the method and the JSON fields.
#pragma once

#include <CLI/CLI.hpp>

namespace synack::cli {

void register_bench_command(CLI::App& app, int& exit_code);

}  // namespace synack::cli
