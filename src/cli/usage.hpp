// What a bad command line gets (docs/cli.md): one line naming the problem, then the help to read — the
// subcommand's (`synack sim --help`) once one was named, else synack's. Never a wall of help; exit code 2.
#pragma once

#include <cstdio>
#include <string>

#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include "exit_codes.hpp"

namespace synack::cli {

/// "synack sim" for `synack sim --seed -1` (the deepest subcommand parsed so far), "synack" before one.
inline std::string command_path(const CLI::App& app) {
  std::string path = "synack";
  const CLI::App* at = &app;
  while (!at->get_subcommands().empty()) {
    at = at->get_subcommands().front();
    path += " " + at->get_name();
  }
  return path;
}

/// Prints the one-line usage error for `error` on stderr and returns kExitUsage.
inline int report_usage_error(const CLI::App& app, const CLI::ParseError& error) {
  fmt::print(stderr, "synack: {}; run '{} --help' for usage\n", error.what(), command_path(app));
  return kExitUsage;
}

}  // namespace synack::cli
