// A stand-alone `synack sim` for the simulator's tests (the synack executable registers the same
// command): sim_cli ARGS... behaves as `synack sim ARGS...`.
#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include "exit_codes.hpp"
#include "sim_command.hpp"
#include "usage.hpp"

int main(int argc, char** argv) {
  CLI::App app{"synack sim (test driver)"};
  app.name("synack");
  int exit_code = synack::cli::kExitOk;
  synack::cli::register_sim_command(app, exit_code);
  app.require_subcommand(1);
  std::vector<std::string> args;
  args.emplace_back("sim");
  for (int i = 1; i < argc; ++i) args.emplace_back(argv[i]);
  std::reverse(args.begin(), args.end());
  try {
    app.parse(args);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    return synack::cli::report_usage_error(app, e);
  }
  return exit_code;
}
