// The Linux kernel's own loopback handshake rate, the baseline `synack bench` prints beside synack's: N
// non-blocking connect()s in flight to a listening socket on 127.0.0.1, epoll, accept on the server side,
// each connection closed once established (RST through SO_LINGER {1, 0}, or FIN). Runs in a forked child
// that first moves into a private network namespace (unshare(CLONE_NEWNET), `lo` brought up with
// SIOCSIFFLAGS), so its TIME-WAIT sockets and ephemeral ports are discarded on exit; where unshare is not
// permitted it falls back to the existing loopback and says so. Bounded by wall time and by count.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace synack::cli {

struct KernelBaselineConfig {
  std::uint32_t inflight = 1;
  bool rst = true;                    ///< false: plain close (FIN), the client closes first
  std::uint64_t max_handshakes = 0;   ///< stop after this many (0 = no count bound)
  std::chrono::nanoseconds budget{};  ///< stop after this much wall time
};

struct KernelBaselineResult {
  bool ran = false;
  std::string where;           ///< "private network namespace" / "host loopback (unshare not permitted: ...)"
  std::string error;           ///< why it did not run, when !ran
  std::uint32_t inflight = 0;  ///< in flight, after the open-files limit
  std::uint64_t handshakes = 0;  ///< connect()s that completed (SO_ERROR 0)
  std::uint64_t accepted = 0;
  std::uint64_t connect_errors = 0;  ///< e.g. EADDRNOTAVAIL when ephemeral ports run out
  double wall_seconds = 0;
  double cpu_seconds = 0;  ///< user + system time of the child
};

[[nodiscard]] KernelBaselineResult run_kernel_baseline(const KernelBaselineConfig& config);

}  // namespace synack::cli
