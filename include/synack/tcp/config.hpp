/// @file
/// Every knob of the TCP engine with its default. Where a default differs from RFC 9293 or from Linux,
/// docs/engine.md says so and why.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>

#include "synack/time.hpp"
#include "synack/wire/ip_address.hpp"

namespace synack::tcp {

class TransitionSink;

class BufferPool;

using namespace std::chrono_literals;

/// The largest Config::syn_queue_capacity (the flow table names a half-open slot in 20 bits).
inline constexpr std::uint32_t kMaxSynQueue = 1U << 20U;

/// When a listener answers a SYN with a SYN cookie instead of a SYN-queue entry (tcp/syn_cookie.hpp).
enum class SynCookieMode : std::uint8_t {
  never,      ///< never: past the SYN-queue bound SYNs are dropped (Linux tcp_syncookies = 0)
  when_full,  ///< only while the SYN queue is full (Linux tcp_syncookies = 1, the default)
  always,     ///< every SYN, no half-open entry at all (Linux tcp_syncookies = 2)
};

/// Explicit Congestion Notification (RFC 3168 §6.1.1): whether a connection asks for it in its SYN and
/// whether a listener agrees when a SYN asks; Accurate ECN (RFC 9768) with `accecn`. Linux's
/// net.ipv4.tcp_ecn 0, 2 (its default), 1 and 3.
enum class EcnMode : std::uint8_t {
  off,      ///< never: no ECN-setup SYN, and a SYN that asks gets a SYN-ACK without ECE
  passive,  ///< agree (RFC 3168) when the peer's SYN asks, never ask (Linux tcp_ecn = 2, the default)
  on,       ///< ask (RFC 3168) in every SYN, and agree when asked (Linux tcp_ecn = 1)
  /// ask for AccECN in every SYN (AE, CWR, ECE), and agree to AccECN or RFC 3168 ECN as the SYN asks
  /// (Linux tcp_ecn = 3); see docs/engine.md "Accurate ECN" for the subset supported
  accecn,
};

/// Every knob of the TCP engine, with Linux-like defaults (a plain aggregate: set what you need, keep the
/// rest). A Stack hands one Config to each listener and connection it creates (StackConfig::tcp).
struct Config {
  // --- handshake ---------------------------------------------------------------------------------
  /// SYN retransmissions before connect() fails with timed_out. 6 = SYNs at 0,1,3,7,15,31,63 s and
  /// ETIMEDOUT at 127 s (Linux tcp_syn_retries). RFC 9293 MUST-23 asks for >= 3 minutes: see docs.
  std::uint32_t syn_retries = 6;
  /// SYN-ACK retransmissions before a half-open entry is dropped (Linux tcp_synack_retries).
  std::uint32_t synack_retries = 5;
  /// Data/FIN retransmissions before the connection fails with timed_out (Linux tcp_retries2).
  std::uint32_t data_retries = 15;

  // --- retransmission timer (RFC 6298) -----------------------------------------------------------
  Duration initial_rto = 1s;               ///< RFC 6298 §2.1
  Duration min_rto = 200ms;                ///< Linux TCP_RTO_MIN (RFC 6298 §2.4 says 1 s)
  Duration max_rto = 120s;                 ///< Linux TCP_RTO_MAX (RFC 6298 §2.5 allows >= 60 s)
  Duration rto_after_syn_retransmit = 3s;  ///< RFC 6298 §5.7

  // --- congestion control (RFC 5681, RFC 6582 NewReno, RFC 6928) ---------------------------------
  /// Initial window in segments: IW = min(n*SMSS, max(2*SMSS, n*1460)); 10 is RFC 6928 (Linux
  /// TCP_INIT_CWND). After a SYN or SYN-ACK retransmitted more than once it is 1 segment (see docs).
  std::uint32_t initial_window = 10;
  /// RFC 5681 §4.1: after sending nothing for an RTO, cwnd falls back to min(cwnd, IW) (Linux
  /// tcp_slow_start_after_idle = 1).
  bool slow_start_after_idle = true;
  /// RFC 3042 limited transmit: the first two duplicate ACKs each let one new segment out.
  bool limited_transmit = true;

  // --- closing -------------------------------------------------------------------------------------
  Duration msl = 30s;  ///< maximum segment lifetime
  /// TIME-WAIT length; unset = 2 x MSL = 60 s (Linux TCP_TIMEWAIT_LEN).
  std::optional<Duration> time_wait;
  Duration fin_wait_2_timeout = 60s;  ///< orphaned FIN-WAIT-2 lifetime (Linux tcp_fin_timeout)

  // --- options we offer --------------------------------------------------------------------------
  std::uint32_t mtu = 1500;         ///< link MTU; our MSS = MTU - 40 (IPv4) or - 60 (IPv6)
  bool window_scaling = true;       ///< offer RFC 7323 window scale
  std::uint8_t window_shift = 7;    ///< the shift we offer (Linux's default for large buffers), <= 14
  bool sack_permitted = true;       ///< offer SACK-permitted (RFC 2018); SACK recovery comes later
  bool timestamps = true;           ///< offer RFC 7323 timestamps
  EcnMode ecn = EcnMode::passive;   ///< ECN: ask in our SYNs (on, accecn), or only agree (passive)
  std::uint16_t min_send_mss = 48;  ///< floor on the MSS we send with (Linux TCP_MIN_SND_MSS)

  // --- buffers -------------------------------------------------------------------------------------
  std::uint32_t send_buffer = 256 * 1024;  ///< bytes the send buffer holds (written, not yet acknowledged)
  std::uint32_t recv_buffer = 256 * 1024;  ///< bytes the receive buffer holds; bounds the window we advertise
  std::uint32_t max_out_of_order_ranges = 64;  ///< holes the reassembly queue keeps track of
  /// Where buffer memory comes from (chunks taken as bytes arrive, see buffer_pool.hpp). The Stack sets
  /// its own pool here; null = plain new/delete with no memory budget (unit tests, tools). Not owned.
  BufferPool* buffer_pool = nullptr;
  /// Told every state transition of every connection using this Config (old state, new state, why; see
  /// transition.hpp). The Stack sets its own while a log hook is installed; null = not reported. Not owned.
  TransitionSink* transition_sink = nullptr;

  // --- RFC 5961 ------------------------------------------------------------------------------------
  /// Challenge ACKs (and replies to unacceptable segments without data) per connection per interval:
  /// one per 500 ms, Linux's tcp_invalid_ratelimit per socket. Why not more: docs/engine.md "Counters".
  std::uint32_t challenge_ack_limit = 1;
  Duration challenge_ack_interval = 500ms;  ///< the interval challenge_ack_limit counts over

  // --- listener --------------------------------------------------------------------------------------
  /// Accept-queue length when listen() gets 0 (Linux's somaxconn default since 5.4).
  std::uint32_t default_backlog = 4096;
  /// Half-open entries per listener (tcp_max_syn_backlog). Storage grows with use: 64 bytes per entry
  /// at the peak, 4 MiB if all 65,536 are ever in use at once.
  std::uint32_t syn_queue_capacity = 65536;
  /// SYN cookies (docs/engine.md "SYN cookies"); they take effect once the owner gives the listener a
  /// cookie generator (Listener::set_syn_cookies; the Stack does).
  SynCookieMode syn_cookies = SynCookieMode::when_full;

  /// The TIME-WAIT length in effect: `time_wait` when set, else 2 × `msl`.
  [[nodiscard]] constexpr Duration time_wait_length() const noexcept { return time_wait.value_or(2 * msl); }

  /// The window field of a SYN-ACK from a listener: the receive buffer, never scaled (RFC 7323 §2.2).
  [[nodiscard]] constexpr std::uint16_t syn_window() const noexcept {
    return static_cast<std::uint16_t>(recv_buffer < 65535U ? recv_buffer : 65535U);
  }

  /// Our MSS for the link MTU: MTU minus the IP and TCP headers.
  [[nodiscard]] constexpr std::uint16_t our_mss(wire::IpVersion v) const noexcept {
    const std::uint32_t overhead = v == wire::IpVersion::v4 ? 40U : 60U;
    const std::uint32_t mss = mtu > overhead + 64U ? mtu - overhead : 64U;
    return static_cast<std::uint16_t>(mss > 65535U ? 65535U : mss);
  }
};

}  // namespace synack::tcp
