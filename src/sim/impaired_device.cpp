// Impairments as a device decorator (include/synack/sim/impaired_device.hpp).
#include "synack/sim/impaired_device.hpp"

#include <algorithm>
#include <cstring>
#include <utility>

namespace synack::sim {

ImpairedDevice::ImpairedDevice(link::Device& inner, Impairments transmitted, Impairments received,
                               std::uint64_t seed)
    : inner_(&inner),
      out_(std::move(transmitted), seed, 0),
      in_(std::move(received), seed, 1),
      scratch_(std::size_t{65536}) {}

std::expected<void, std::error_code> ImpairedDevice::write_due(Instant now) {
  while (auto datagram = out_.pop_due(now)) {
    auto written = inner_->transmit(now, *datagram);
    if (written && *written > 0) continue;
    if (written || written.error() == std::errc::no_buffer_space) {
      ++write_drops_;  // full: lost on the way, TCP recovers
      continue;
    }
    return std::unexpected(written.error());
  }
  return {};
}

std::expected<void, std::error_code> ImpairedDevice::pull(Instant now) {
  for (std::size_t i = 0; i < kMaxPull; ++i) {
    auto n = inner_->receive(now, scratch_);
    if (!n) return std::unexpected(n.error());
    if (*n == 0) break;
    (void)in_.send(now, wire::Bytes(scratch_).first(*n));
  }
  return {};
}

std::expected<std::size_t, std::error_code> ImpairedDevice::receive(Instant now, wire::MutableBytes buffer) {
  if (auto pulled = pull(now); !pulled) return std::unexpected(pulled.error());
  auto datagram = in_.pop_due(now);
  if (!datagram) return 0;
  const std::size_t size = std::min(datagram->size(), buffer.size());
  std::memcpy(buffer.data(), datagram->data(), size);
  return size;
}

std::expected<std::size_t, std::error_code> ImpairedDevice::transmit(Instant now, wire::Bytes datagram) {
  (void)out_.send(now, datagram);
  if (auto written = write_due(now); !written) return std::unexpected(written.error());
  return datagram.size();
}

Instant ImpairedDevice::next_deadline() const noexcept {
  return std::min({out_.next_delivery(), in_.next_delivery(), inner_->next_deadline()});
}

std::expected<bool, std::error_code> ImpairedDevice::advance(Instant now) {
  auto inner_due = inner_->advance(now);
  if (!inner_due) return inner_due;
  if (auto written = write_due(now); !written) return std::unexpected(written.error());
  return *inner_due || in_.next_delivery() <= now;
}

}  // namespace synack::sim
