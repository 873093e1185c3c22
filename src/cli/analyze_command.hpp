// `synack analyze FILE [--json] [--ladder N] [--svg FILE --conn N] [--top N]`: explains every handshake
// in a pcap / pcapng capture (docs/analyze.md). Exit codes: 0 ok, 1 the file could not be opened / has an
// unsupported link type / the connection asked for does not exist / the SVG could not be written, 2 bad
// command line, 3 the file is damaged (a partial report was printed).
#pragma once

#include <CLI/CLI.hpp>

namespace synack::cli {

void register_analyze_command(CLI::App& app, int& exit_code);

}  // namespace synack::cli
