// -v / --verbose, shared by every command that runs a Stack (listen, connect, forward, demo, sim): the
// library's log (stack::Stack::set_log_hook — each connection's state transitions with their cause, each
// drop with the counter that counted it) printed on standard error, one line per event (docs/cli.md
// "Verbose output").
#pragma once

#include <cstddef>
#include <cstdio>
#include <functional>
#include <string>
#include <string_view>

#include <CLI/CLI.hpp>

#include "synack/observe/handshake.hpp"
#include "synack/stack/stack.hpp"
#include "synack/time.hpp"

namespace synack::cli {

/// What -v asked for.
struct LogFlags {
  std::size_t verbose = 0;  ///< how many times -v was given (0: no log)
};

/// Adds -v/--verbose to `cmd` (repeatable; one level today: transitions and drops).
void add_log_flags(CLI::App* cmd, LogFlags& flags);

/// One line, without newline: "[server] +0.012345 s 192.0.2.2:80 < 192.0.2.1:40000 ESTABLISHED -> CLOSE-WAIT
/// (rcv FIN,ACK)" or "[server] +0.2 s drop TcpInCsumErrors 192.0.2.2:80 < 192.0.2.1:40000". Times from
/// `origin`; the label is left out when empty.
[[nodiscard]] std::string format_log(const stack::LogRecord& record, std::string_view label, Instant origin);

/// Installs a hook on `stack` that prints every record to `out` when flags.verbose > 0 (times from the first
/// record's); otherwise leaves the stack without one.
void attach_log(stack::Stack& stack, const LogFlags& flags, std::string label, std::FILE* out = stderr);

/// The same printer for the simulator's two stacks (sim::SimObserver::on_log), labelled client and server;
/// empty when flags.verbose is 0.
[[nodiscard]] std::function<void(observe::Role, const stack::LogRecord&)> log_printer(
    const LogFlags& flags, std::FILE* out = stderr);

}  // namespace synack::cli
