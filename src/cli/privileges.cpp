#include "privileges.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include <fmt/core.h>

#include "exit_codes.hpp"

namespace synack::cli {

static_assert(sandbox::kViolationExitCode == kExitSandboxViolation);

std::shared_ptr<PrivilegeOptions> add_privilege_options(CLI::App* cmd) {
  auto options = std::make_shared<PrivilegeOptions>();
  auto* user = cmd->add_option("--user", options->user,
                               "The unprivileged user to become once the device and files are open (when "
                               "started as root)")
                   ->capture_default_str();
  cmd->add_flag("--no-drop", options->no_drop,
                "Keep root and every capability, without the seccomp sandbox (debugging only; warns)")
      ->excludes(user);
  return options;
}

int drop_privileges_and_sandbox(std::string_view command, const PrivilegeOptions& options,
                                const sandbox::Policy& policy) {
  if (options.no_drop) {
    fmt::print(stderr,
               "synack {}: warning: --no-drop: running as uid {} with every privilege it started with and "
               "no sandbox, while parsing untrusted bytes\n",
               command, ::geteuid());
    return kExitOk;
  }
  // stdout may hold text printed before the drop: it is written with write(), allowed, but flush anyway.
  std::fflush(stdout);
  auto dropped = sandbox::drop_privileges(sandbox::DropOptions{.user = options.user});
  if (!dropped) {
    fmt::print(stderr, "synack {}: cannot drop privileges: {}\n", command, dropped.error().message());
    return dropped.error().code == std::errc::no_such_file_or_directory ? kExitUsage : kExitUnavailable;
  }
  if (!dropped->note.empty()) fmt::print(stderr, "synack {}: {}\n", command, dropped->note);
  if (auto sandboxed = sandbox::enter_sandbox(policy); !sandboxed) {
    fmt::print(stderr, "synack {}: cannot enter the sandbox: {}\n", command, sandboxed.error().message());
    return kExitUnavailable;
  }
  return kExitOk;
}

}  // namespace synack::cli
