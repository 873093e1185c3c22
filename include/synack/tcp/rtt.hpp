// The RFC 6298 retransmission-timeout estimator. Karn's algorithm (§3) is the caller's duty: never feed
// a sample taken from a retransmitted segment.
#pragma once

#include "synack/time.hpp"

namespace synack::tcp {

class RttEstimator {
 public:
  explicit RttEstimator(Duration initial_rto = std::chrono::seconds(1)) noexcept : rto_(initial_rto) {}

  /// RFC 6298 §2.2 (first sample) and §2.3 (later ones); RTO clamped to [min_rto, max_rto].
  void sample(Duration rtt, Duration min_rto, Duration max_rto) noexcept;
  /// RFC 6298 §5.5: double the RTO, capped at max_rto.
  void backoff(Duration max_rto) noexcept;
  /// Sets the RTO (RFC 6298 §5.7: 3 s after a retransmitted SYN when no sample exists).
  void set_rto(Duration rto) noexcept { rto_ = rto; }

  [[nodiscard]] Duration rto() const noexcept { return rto_; }
  [[nodiscard]] bool has_sample() const noexcept { return has_sample_; }
  [[nodiscard]] Duration srtt() const noexcept { return srtt_; }
  [[nodiscard]] Duration rttvar() const noexcept { return rttvar_; }

 private:
  Duration srtt_{0};
  Duration rttvar_{0};
  Duration rto_;
  bool has_sample_ = false;
};

}  // namespace synack::tcp
