// A stand-alone `analyze` command (the same code as `synack analyze`) for benchmarks and scripts run
// before the synack executable links the analyzer.
#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include "analyze_command.hpp"
#include "exit_codes.hpp"

int main(int argc, char** argv) {
  CLI::App app{"synack analyze, stand-alone"};
  app.require_subcommand(1);
  int exit_code = synack::cli::kExitOk;
  synack::cli::register_analyze_command(app, exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    fmt::print(stderr, "synack: {}\n", e.what());
    return synack::cli::kExitUsage;
  }
  return exit_code;
}
