/// @file
/// The RFC 6298 retransmission-timeout estimator. Karn's algorithm (§3) is the caller's duty: never feed
/// a sample taken from a retransmitted segment.
#pragma once

#include "synack/time.hpp"

namespace synack::tcp {

/// One connection's RFC 6298 state: SRTT, RTTVAR and the current RTO (backed off after timeouts).
class RttEstimator {
 public:
  /// Starts with no sample and RTO = `initial_rto` (RFC 6298 §2.1: 1 s).
  explicit RttEstimator(Duration initial_rto = std::chrono::seconds(1)) noexcept : rto_(initial_rto) {}

  /// RFC 6298 §2.2 (first sample) and §2.3 (later ones); RTO clamped to [min_rto, max_rto].
  void sample(Duration rtt, Duration min_rto, Duration max_rto) noexcept;
  /// RFC 6298 §5.5: double the RTO, capped at max_rto.
  void backoff(Duration max_rto) noexcept;
  /// Sets the RTO (RFC 6298 §5.7: 3 s after a retransmitted SYN when no sample exists).
  void set_rto(Duration rto) noexcept { rto_ = rto; }

  [[nodiscard]] Duration rto() const noexcept { return rto_; }  ///< the current retransmission timeout
  [[nodiscard]] bool has_sample() const noexcept {
    return has_sample_;
  }  ///< whether sample() was ever called (srtt and rttvar are 0 until then)
  [[nodiscard]] Duration srtt() const noexcept { return srtt_; }  ///< the smoothed round-trip time (SRTT)
  [[nodiscard]] Duration rttvar() const noexcept {
    return rttvar_;
  }  ///< the round-trip time variation (RTTVAR)

 private:
  Duration srtt_{0};
  Duration rttvar_{0};
  Duration rto_;
  bool has_sample_ = false;
};

}  // namespace synack::tcp
