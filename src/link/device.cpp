// The devices' clock (include/synack/link/device.hpp).
#include "synack/link/device.hpp"

#include <cstdint>
#include <ctime>

namespace synack::link {
namespace {

std::int64_t clock_ns(clockid_t clock) noexcept {
  timespec ts{};
  ::clock_gettime(clock, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000LL + static_cast<std::int64_t>(ts.tv_nsec);
}

}  // namespace

Instant monotonic_now() noexcept {
  return Instant::from_nanoseconds(clock_ns(CLOCK_MONOTONIC));
}

Duration realtime_offset() noexcept {
  const std::int64_t mono = clock_ns(CLOCK_MONOTONIC);
  const std::int64_t real = clock_ns(CLOCK_REALTIME);
  return Duration(real - mono);
}

}  // namespace synack::link
