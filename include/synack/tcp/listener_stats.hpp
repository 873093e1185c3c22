/// @file
/// What a listener counted (plain values; Stack::listener_info returns them without the engine's types).
#pragma once

#include <cstdint>

namespace synack::tcp {

/// One listener's counters since listen(), all monotonic. A SYN counts once in syns_received and at most
/// once in one of the drop counters.
struct ListenerStats {
  std::uint64_t syns_received = 0;         ///< SYNs that reached this listener (retransmitted ones included)
  std::uint64_t syn_queue_full_drops = 0;  ///< SYNs dropped because the SYN queue was full
  std::uint64_t accept_queue_full_drops = 0;  ///< SYNs and final ACKs dropped for a full accept queue
  std::uint64_t synack_retransmits = 0;       ///< SYN-ACKs sent again for a half-open entry
  std::uint64_t half_open_timeouts =
      0;                          ///< half-open entries that expired (SYN-ACK retransmissions exhausted)
  std::uint64_t resets_sent = 0;  ///< RSTs the listener sent (to an unacceptable ACK or a failed cookie)
  std::uint64_t established = 0;  ///< handshakes completed (from the SYN queue or a cookie)
  // Named after Linux's nstat counters.
  std::uint64_t syncookies_sent = 0;    ///< SyncookiesSent: SYN-ACKs with a cookie
  std::uint64_t syncookies_recv = 0;    ///< SyncookiesRecv: final ACKs with a valid cookie
  std::uint64_t syncookies_failed = 0;  ///< SyncookiesFailed: ACKs checked as a cookie and refused
  std::uint64_t syn_queue_pruned = 0;   ///< entries dropped to make room for a new SYN (oldest retransmitted)
};

}  // namespace synack::tcp
