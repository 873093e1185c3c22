// RFC 5681 / RFC 6582 / RFC 6928 congestion window arithmetic (see congestion.hpp).
#include "synack/tcp/congestion.hpp"

#include <algorithm>

namespace synack::tcp {

namespace {
std::uint32_t saturating_add(std::uint32_t a, std::uint32_t b) noexcept {
  return a > Congestion::kInfinite - b ? Congestion::kInfinite : a + b;
}
std::uint32_t half_flight_floor(std::uint32_t flight, std::uint32_t smss) noexcept {
  // RFC 5681 §3.1 eq. 4: ssthresh = max (FlightSize / 2, 2*SMSS).
  return std::max(flight / 2, saturating_add(smss, smss));
}
}  // namespace

std::uint32_t Congestion::initial_window(std::uint32_t smss, std::uint32_t segments) noexcept {
  const std::uint64_t n = std::max<std::uint32_t>(segments, 1);
  const std::uint64_t upper = n * smss;
  const std::uint64_t floor = std::max<std::uint64_t>(2ULL * smss, n * 1460ULL);
  const std::uint64_t iw = std::min(upper, floor);
  return iw > kInfinite ? kInfinite : static_cast<std::uint32_t>(iw);
}

void Congestion::start(std::uint32_t initial) noexcept {
  cwnd_ = initial;
  ssthresh_ = kInfinite;
  acked_in_ca_ = 0;
}

void Congestion::on_ack(std::uint32_t acked, std::uint32_t smss, std::uint32_t flight_before) noexcept {
  if (cwnd_ < ssthresh_) {
    // Slow start with byte counting (RFC 3465): cwnd grows by the bytes acknowledged, up to ssthresh;
    // the rest goes to congestion avoidance. RFC 5681 §3.1 eq. 2 recommends min(N, SMSS) per ACK, which
    // a receiver that acknowledges a batch of segments at once (stretch ACKs: GRO, or our own stack
    // answering a burst with one ACK) slows to a crawl; Linux (tcp_slow_start) counts all of N too.
    // Only while the window was at least half used (RFC 7661 §4.1; Linux tcp_is_cwnd_limited).
    if (static_cast<std::uint64_t>(flight_before) * 2 < cwnd_) return;
    const std::uint32_t room = ssthresh_ - cwnd_;
    if (acked <= room) {
      cwnd_ = saturating_add(cwnd_, acked);
      return;
    }
    cwnd_ = ssthresh_;
    acked -= room;
  }
  // Congestion avoidance (RFC 5681 §3.1, byte counting): one SMSS per cwnd of acknowledged bytes — while
  // the window was (nearly) full.
  if (saturating_add(flight_before, smss) < cwnd_) return;
  acked_in_ca_ = saturating_add(acked_in_ca_, acked);
  if (acked_in_ca_ >= cwnd_) {
    acked_in_ca_ -= cwnd_;
    cwnd_ = saturating_add(cwnd_, smss);
  }
}

void Congestion::on_fast_retransmit(std::uint32_t flight, std::uint32_t smss) noexcept {
  ssthresh_ = half_flight_floor(flight, smss);
  cwnd_ = saturating_add(ssthresh_, 3 * smss);
  acked_in_ca_ = 0;
}

void Congestion::on_ecn_echo(std::uint32_t flight, std::uint32_t smss) noexcept {
  ssthresh_ = half_flight_floor(flight, smss);
  cwnd_ = ssthresh_;
  acked_in_ca_ = 0;
}

void Congestion::on_sack_recovery(std::uint32_t flight, std::uint32_t smss) noexcept {
  ssthresh_ = half_flight_floor(flight, smss);
  cwnd_ = ssthresh_;
  acked_in_ca_ = 0;
}

void Congestion::on_dupack_in_recovery(std::uint32_t smss) noexcept {
  cwnd_ = saturating_add(cwnd_, smss);
}

void Congestion::on_partial_ack(std::uint32_t acked, std::uint32_t smss) noexcept {
  cwnd_ -= std::min(acked, cwnd_);
  if (acked >= smss) cwnd_ = saturating_add(cwnd_, smss);
  cwnd_ = std::max(cwnd_, smss);
}

void Congestion::on_full_ack(std::uint32_t flight, std::uint32_t smss) noexcept {
  cwnd_ = std::min(ssthresh_, saturating_add(std::max(flight, smss), smss));
  acked_in_ca_ = 0;
}

void Congestion::on_timeout(std::uint32_t flight, std::uint32_t smss, bool first_timeout) noexcept {
  if (first_timeout) ssthresh_ = half_flight_floor(flight, smss);
  cwnd_ = smss;  // the loss window, LW = 1 SMSS
  acked_in_ca_ = 0;
}

void Congestion::on_idle_restart(std::uint32_t initial) noexcept {
  cwnd_ = std::min(cwnd_, initial);
}

}  // namespace synack::tcp
