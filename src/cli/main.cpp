// The synack command: one subcommand per task (docs/cli.md). This is the only layer that prints.
#include <algorithm>
#include <cstdio>
#include <exception>
#include <string>
#include <string_view>

#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include "commands.hpp"
#include "exit_codes.hpp"
#include "usage.hpp"

#ifndef SYNACK_VERSION
#define SYNACK_VERSION "0.0.0"
#endif

namespace {

int run(int argc, char** argv) {
  CLI::App app{"synack: a userspace TCP/IP stack built around the three-way handshake, and tools to see it"};
  app.name("synack");
  app.set_version_flag("--version", std::string("synack ") + SYNACK_VERSION);
  app.require_subcommand(1);
  app.footer(
      "Run 'synack COMMAND --help' for a command's options; each command has its manual page, "
      "synack-COMMAND(1). Exit codes: 0 success; 1 the command could not do its job; 2 bad command line; "
      "3 analyze: the capture is damaged (partial report); 4 connect: refused; 5 connect: timed out; "
      "6 connect: reset after the connection was established; 7 the environment lacks something the "
      "command needs (privileges, /dev/net/tun); 8 sandbox violation (a bug: please report it). "
      "Manual: synack(1).");

  int exit_code = synack::cli::kExitOk;
  synack::cli::register_commands(app, exit_code);

  const auto subcommands = app.get_subcommands([](const CLI::App*) { return true; });
  const auto known = [&](std::string_view name) {
    return std::ranges::any_of(subcommands, [&](const CLI::App* sub) { return sub->get_name() == name; });
  };
  if (argc > 1 && argv[1][0] != '-' && !known(argv[1])) {
    std::string names;
    for (const CLI::App* sub : subcommands) names += (names.empty() ? "" : ", ") + sub->get_name();
    fmt::print(stderr, "synack: unknown command '{}' (commands: {}); run 'synack --help' for usage\n",
               argv[1], names);
    return synack::cli::kExitUsage;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // One line, then where to look (the subcommand's help): a bad command line never prints a wall of help.
    return synack::cli::report_usage_error(app, e);
  }
  return exit_code;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    // Commands report their own errors; anything reaching here is a bug, said in one line.
    (void)std::fputs("synack: internal error: ", stderr);
    (void)std::fputs(e.what(), stderr);
    (void)std::fputs("\n", stderr);
  } catch (...) {
    (void)std::fputs("synack: internal error\n", stderr);
  }
  return synack::cli::kExitFailure;
}
