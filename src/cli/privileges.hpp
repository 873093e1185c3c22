// --user / --no-drop for the commands that read untrusted bytes (listen, connect, demo, analyze; a later
// `forward` calls the same two functions after opening its upstream sockets), and the drop + sandbox
// step with its messages and exit codes (docs/security.md).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <CLI/CLI.hpp>

#include "synack/sandbox/sandbox.hpp"

namespace synack::cli {

struct PrivilegeOptions {
  std::string user = "nobody";
  bool no_drop = false;
};

/// Adds --user NAME and --no-drop to `cmd`; the options live as long as the returned pointer.
[[nodiscard]] std::shared_ptr<PrivilegeOptions> add_privilege_options(CLI::App* cmd);

/// Drops root for options.user and enters the seccomp sandbox with `policy` (or, with --no-drop, warns in
/// one line and does neither). Call it once everything privileged is open, from a single thread.
/// Returns kExitOk, or the exit code after printing "synack COMMAND: ..." (unknown user: kExitUsage; any
/// other failure: kExitUnavailable — the command never runs with privileges it meant to drop).
[[nodiscard]] int drop_privileges_and_sandbox(std::string_view command, const PrivilegeOptions& options,
                                              const sandbox::Policy& policy);

}  // namespace synack::cli
