// SIGINT and SIGTERM for commands that run long in the foreground (sim, analyze): the first signal asks the
// command to stop at its next step and print what it has so far (its summary, or a last JSON line), then
// exit kExitInterrupted; a second one ends the process at once.
#pragma once

namespace synack::cli {

/// Installs the handlers for the rest of the process (the command exits after its report; analyze's
/// seccomp sandbox would not let it restore them) and clears the flag. Call before a privilege drop.
void catch_interrupts() noexcept;

/// True once SIGINT or SIGTERM arrived after catch_interrupts() (set by the handler; cheap to read).
[[nodiscard]] bool interrupted() noexcept;

}  // namespace synack::cli
