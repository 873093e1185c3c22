// RFC 6298 §2: SRTT, RTTVAR and RTO.
#include "synack/tcp/rtt.hpp"

#include <algorithm>

namespace synack::tcp {

namespace {
constexpr Duration kTimerGranularity = std::chrono::milliseconds(1);  // G in RFC 6298 §2
}

void RttEstimator::sample(Duration rtt, Duration min_rto, Duration max_rto) noexcept {
  if (rtt < Duration::zero()) return;
  if (!has_sample_) {
    // §2.2: SRTT <- R, RTTVAR <- R/2.
    srtt_ = rtt;
    rttvar_ = rtt / 2;
    has_sample_ = true;
  } else {
    // §2.3: RTTVAR <- 3/4 RTTVAR + 1/4 |SRTT - R'|; SRTT <- 7/8 SRTT + 1/8 R'.
    const Duration delta = srtt_ > rtt ? srtt_ - rtt : rtt - srtt_;
    rttvar_ = (3 * rttvar_ + delta) / 4;
    srtt_ = (7 * srtt_ + rtt) / 8;
  }
  // RTO <- SRTT + max(G, K*RTTVAR), K = 4; §2.4 floor and §2.5 ceiling.
  rto_ = std::clamp(srtt_ + std::max(kTimerGranularity, 4 * rttvar_), min_rto, max_rto);
}

void RttEstimator::backoff(Duration max_rto) noexcept {
  rto_ = rto_ >= max_rto / 2 ? max_rto : rto_ * 2;
}

}  // namespace synack::tcp
