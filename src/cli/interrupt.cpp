#include "interrupt.hpp"

#include <csignal>
#include <cstdlib>

namespace synack::cli {
namespace {

volatile std::sig_atomic_t g_raised = 0;

extern "C" void on_interrupt(int signal) {
  if (g_raised != 0) {
    // The second signal: end now (the first asked for a report that has not come). _Exit is one
    // exit_group, which the seccomp sandbox allows; re-raising would need calls it does not.
    std::_Exit(128 + signal);
  }
  g_raised = 1;
}

}  // namespace

void catch_interrupts() noexcept {
  g_raised = 0;
  struct sigaction action{};
  action.sa_handler = on_interrupt;
  sigemptyset(&action.sa_mask);
  // SA_RESTART: a write to a full pipe or a read from an empty one goes on after the handler (stdio would
  // otherwise report EINTR as an I/O error); the command sees the flag at its next step, or at the end
  // of input (`tcpdump -w - | synack analyze -`: Ctrl-C ends both, analyze reads EOF and reports).
  action.sa_flags = SA_RESTART;
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

bool interrupted() noexcept {
  return g_raised != 0;
}

}  // namespace synack::cli
