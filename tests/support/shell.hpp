// Test helper: runs a shell command line and collects its standard output and exit code (the CLI tests
// drive the synack executable this way).
#pragma once

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

namespace synack::test {

struct ShellResult {
  int code = -1;  ///< the exit code; -1 when the command could not run or died of a signal
  std::string out;
};

/// `/bin/sh -c command`; stderr goes wherever the command line sends it.
inline ShellResult run_shell(const std::string& command) {
  ShellResult r;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return r;
  std::array<char, 4096> buf{};
  std::size_t n = 0;
  while ((n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0) r.out.append(buf.data(), n);
  const int status = ::pclose(pipe);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

}  // namespace synack::test
