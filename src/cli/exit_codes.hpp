// The synack command's exit codes, documented in docs/cli.md. Scripts depend on them: never renumber.
#pragma once

namespace synack::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;      ///< the command could not do its job (I/O error, bad file, ...)
inline constexpr int kExitUsage = 2;        ///< bad command line
inline constexpr int kExitPartial = 3;      ///< analyze: the file was damaged; a partial report was printed
inline constexpr int kExitRefused = 4;      ///< connect: the peer answered with RST
inline constexpr int kExitTimedOut = 5;     ///< connect: no answer within the SYN retry limit
inline constexpr int kExitReset = 6;        ///< connect: the connection was reset after it was established
inline constexpr int kExitUnavailable = 7;  ///< the environment lacks something needed (privileges, a device)
/// A system call outside the seccomp sandbox's list (docs/security.md): a bug in synack, reported on stderr
/// as "synack: sandbox violation: syscall N (name) ...".
inline constexpr int kExitSandboxViolation = 8;
/// sim, analyze: SIGINT or SIGTERM stopped the run; what it had done was reported (128 + SIGINT, as a
/// shell reports a process a Ctrl-C ended).
inline constexpr int kExitInterrupted = 130;

}  // namespace synack::cli
