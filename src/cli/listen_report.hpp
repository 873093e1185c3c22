// `synack listen`'s summary (on SIGINT/SIGTERM): what the server counted, printed as text or one JSON line.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

#include "tun_session.hpp"

namespace synack::cli {

/// Connections by how they ended (and, per interval, handshakes and unprinted lines).
struct ListenCounts {
  std::uint64_t handshakes = 0;
  std::uint64_t closed = 0;
  std::uint64_t reset = 0;
  std::uint64_t timed_out = 0;
  std::uint64_t aborted = 0;
  std::uint64_t suppressed = 0;
};

/// What listen's summary reports, besides the session's own counters.
struct ListenSummary {
  int signal = 0;
  std::uint64_t accepted = 0;
  std::size_t open = 0;
  std::uint64_t bytes_in = 0;
  std::uint64_t bytes_out = 0;
  ListenCounts totals;
  std::size_t peak = 0;
  std::uint64_t suppressed = 0;
  bool json = false;
  bool document = false;  ///< --json: a "document": "listen" rather than a "summary" event
  std::vector<std::pair<std::uint16_t, stack::ListenerInfo>> listeners;  ///< by --port
};

/// The first line: "synack listening on ADDRS port PORTS (MODE) via DEVICE", or the `listening` event.
void print_listening(const tun_cli::TunSession& s, const std::vector<std::uint16_t>& ports,
                     std::string_view mode, bool json);

/// Prints the summary to stdout (text, or one JSON line: an event or, for --json, the document) and flushes.
void print_listen_summary(const tun_cli::TunSession& s, const ListenSummary& sum);

}  // namespace synack::cli
