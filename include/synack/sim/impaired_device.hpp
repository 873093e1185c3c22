/// @file
/// Impairments as a device decorator: the simulator's Link (loss, delay, jitter, reordering, duplication,
/// corruption, bandwidth; seeded) put over any link::Device, one Link per direction. `synack listen` and
/// `connect` run over a lossy TUN device with it, and a given seed makes the same choices for the same
/// sequence of datagrams. Delayed datagrams are held (copied) here, so a driver wakes by next_deadline().
#pragma once

#include <cstddef>
#include <cstdint>
#include <expected>
#include <string>
#include <system_error>
#include <vector>

#include "synack/link/device.hpp"
#include "synack/sim/link.hpp"
#include "synack/time.hpp"
#include "synack/wire/bytes.hpp"

namespace synack::sim {

/// A Device whose datagrams cross a simulated Link each way before (receive) or after (transmit) `inner`
/// (which must outlive it). Rng streams: 0 for transmitted datagrams, 1 for received ones.
class ImpairedDevice final : public link::Device {
 public:
  /// Decorates `inner`: `transmitted` applies to what is written to it, `received` to what is read from it.
  ImpairedDevice(link::Device& inner, Impairments transmitted, Impairments received, std::uint64_t seed);

  [[nodiscard]] const std::string& name() const noexcept override { return inner_->name(); }
  [[nodiscard]] int fd() const noexcept override { return inner_->fd(); }
  [[nodiscard]] std::expected<std::size_t, std::error_code> receive(Instant now,
                                                                    wire::MutableBytes buffer) override;
  [[nodiscard]] std::expected<std::size_t, std::error_code> transmit(Instant now,
                                                                     wire::Bytes datagram) override;
  [[nodiscard]] Instant next_deadline() const noexcept override;
  [[nodiscard]] std::expected<bool, std::error_code> advance(Instant now) override;

  /// What the transmit direction's Link counted (dropped, duplicated …).
  [[nodiscard]] const LinkStats& transmitted() const noexcept { return out_.stats(); }
  /// What the receive direction's Link counted.
  [[nodiscard]] const LinkStats& received() const noexcept { return in_.stats(); }
  /// Due datagrams `inner` refused (full) when their time came: lost, as on a congested link.
  [[nodiscard]] std::uint64_t write_drops() const noexcept { return write_drops_; }

 private:
  /// Writes the transmitted datagrams due at `now` to `inner`.
  [[nodiscard]] std::expected<void, std::error_code> write_due(Instant now);
  /// Reads what `inner` holds (bounded) into the receive Link.
  [[nodiscard]] std::expected<void, std::error_code> pull(Instant now);

  /// Datagrams pulled from `inner` per receive() at most (the rest wait in its queue).
  static constexpr std::size_t kMaxPull = 256;

  link::Device* inner_;
  Link out_;
  Link in_;
  std::vector<std::byte> scratch_;
  std::uint64_t write_drops_ = 0;
};

}  // namespace synack::sim
