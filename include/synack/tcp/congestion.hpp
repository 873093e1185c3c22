/// @file
/// Congestion control, counted in bytes: RFC 5681 slow start and congestion avoidance, RFC 6582 NewReno
/// fast recovery, the RFC 6928 initial window and RFC 5681 §4.1 restart after idle. A value type the
/// connection drives; it decides nothing about sequence numbers, only how much may be in flight.
#pragma once

#include <cstdint>
#include <limits>

namespace synack::tcp {

/// One connection's congestion state: cwnd and ssthresh in bytes, with the RFC 5681 / RFC 6582 / RFC 6675
/// transitions as methods. Starts with cwnd 0 until start().
class Congestion {
 public:
  /// ssthresh before the first loss: "arbitrarily high" (RFC 5681 §3.1).
  static constexpr std::uint32_t kInfinite = std::numeric_limits<std::uint32_t>::max();

  /// The initial window for `segments` (Config::initial_window): min(n*SMSS, max(2*SMSS, n*1460)),
  /// which for n = 10 is RFC 6928 §2's min(10*MSS, max(2*MSS, 14600)).
  [[nodiscard]] static std::uint32_t initial_window(std::uint32_t smss, std::uint32_t segments) noexcept;

  /// Starts a connection's window: cwnd = `initial`, ssthresh infinite.
  void start(std::uint32_t initial) noexcept;

  /// RFC 5681 §3.1: an ACK of `acked` new bytes outside recovery. Slow start adds min(acked, SMSS);
  /// congestion avoidance adds one SMSS per cwnd of acknowledged bytes (byte counting). Only a flow
  /// that used its window grows it (RFC 7661 §4.1; Linux tcp_is_cwnd_limited): `flight_before` is what
  /// was in flight when the ACK arrived.
  void on_ack(std::uint32_t acked, std::uint32_t smss, std::uint32_t flight_before) noexcept;

  /// RFC 6582 §3.2 step 2 (RFC 5681 §3.2 steps 2-3): the third duplicate ACK.
  /// ssthresh = max(FlightSize / 2, 2*SMSS); cwnd = ssthresh + 3*SMSS.
  void on_fast_retransmit(std::uint32_t flight, std::uint32_t smss) noexcept;
  /// RFC 6675 §5 step 4.2: SACK-based recovery starts with ssthresh = cwnd = max(FlightSize / 2, 2*SMSS);
  /// what may be sent is then cwnd - pipe.
  void on_sack_recovery(std::uint32_t flight, std::uint32_t smss) noexcept;
  /// RFC 3168 §6.1.2: an ACK with ECE (a router marked instead of dropping) — the response to a loss
  /// without the loss: ssthresh = cwnd = max(FlightSize / 2, 2*SMSS); the connection calls it at most
  /// once per window of data.
  void on_ecn_echo(std::uint32_t flight, std::uint32_t smss) noexcept;
  /// RFC 6582 §3.2 step 3: each further duplicate ACK in recovery inflates cwnd by SMSS.
  void on_dupack_in_recovery(std::uint32_t smss) noexcept;
  /// RFC 6582 §3.2 step 5, partial ACK: deflate by the bytes acknowledged, add SMSS back when at least
  /// SMSS was acknowledged.
  void on_partial_ack(std::uint32_t acked, std::uint32_t smss) noexcept;
  /// RFC 6582 §3.2 step 5, full ACK: cwnd = min(ssthresh, max(FlightSize, SMSS) + SMSS).
  void on_full_ack(std::uint32_t flight, std::uint32_t smss) noexcept;
  /// RFC 5681 §3.1 eq. 4 and the loss window: on the first timeout of a segment ssthresh =
  /// max(FlightSize / 2, 2*SMSS); on later timeouts of the same segment ssthresh stays. cwnd = 1 SMSS.
  void on_timeout(std::uint32_t flight, std::uint32_t smss, bool first_timeout) noexcept;
  /// RFC 5681 §4.1: after an idle period longer than the RTO, cwnd = min(cwnd, IW).
  void on_idle_restart(std::uint32_t initial) noexcept;

  [[nodiscard]] std::uint32_t cwnd() const noexcept { return cwnd_; }  ///< the congestion window, in bytes
  [[nodiscard]] std::uint32_t ssthresh() const noexcept {
    return ssthresh_;
  }  ///< the slow-start threshold, in bytes (kInfinite before the first loss)
  [[nodiscard]] bool in_slow_start() const noexcept {
    return cwnd_ < ssthresh_;
  }  ///< cwnd < ssthresh (RFC 5681 §3.1)

 private:
  std::uint32_t cwnd_ = 0;
  std::uint32_t ssthresh_ = kInfinite;
  std::uint32_t acked_in_ca_ = 0;  ///< bytes acknowledged toward the next congestion-avoidance step
};

}  // namespace synack::tcp
