/// @file
/// The device interface every link below a Stack implements: a source and sink of whole IP datagrams with
/// an fd to poll. TunDevice is one; the decorators (PcapDevice here, sim::ImpairedDevice) wrap any other,
/// so a driver loop (driver::Driver) runs over a TUN device, a captured one, a lossy one, or all three.
///
/// Also the clock every device and driver uses: CLOCK_MONOTONIC as an Instant.
#pragma once

#include <cstddef>
#include <expected>
#include <string>
#include <system_error>

#include "synack/time.hpp"
#include "synack/wire/bytes.hpp"

namespace synack::link {

/// CLOCK_MONOTONIC as an Instant (the time origin of devices and drivers).
[[nodiscard]] Instant monotonic_now() noexcept;
/// CLOCK_REALTIME minus CLOCK_MONOTONIC, sampled now: adds to a monotonic Instant to give capture time.
[[nodiscard]] Duration realtime_offset() noexcept;

/// A link that carries whole IP datagrams (see the file comment). Single-threaded. Errors are
/// std::error_codes: an errno (generic category) from the OS, or a link::Errc (link_category()).
class Device {
 public:
  virtual ~Device() = default;

  /// The device's name for messages ("synack0").
  [[nodiscard]] virtual const std::string& name() const noexcept = 0;
  /// The fd to poll for POLLIN: readable when datagrams may be waiting (-1 when there is none).
  [[nodiscard]] virtual int fd() const noexcept = 0;
  /// Reads one datagram at `now` into `buffer` (size it to the MTU or more). Returns its size, or 0 when
  /// none is waiting (a real failure is an error).
  [[nodiscard]] virtual std::expected<std::size_t, std::error_code> receive(Instant now,
                                                                            wire::MutableBytes buffer) = 0;
  /// Writes one whole datagram at `now`. Returns the bytes accepted, or 0 when the device refused it for
  /// now (full: the datagram is lost, as on a congested link).
  [[nodiscard]] virtual std::expected<std::size_t, std::error_code> transmit(Instant now,
                                                                             wire::Bytes datagram) = 0;
  /// When the device next has work of its own (a delayed datagram falling due); Instant::max() when
  /// never. A driver wakes by then and calls advance().
  [[nodiscard]] virtual Instant next_deadline() const noexcept { return Instant::max(); }
  /// Does the work due at `now` (writes delayed datagrams onward). Returns true when datagrams became
  /// ready to receive() without the fd saying so.
  [[nodiscard]] virtual std::expected<bool, std::error_code> advance(Instant /*now*/) { return false; }

 protected:
  /// @{
  /// Only a derived device copies or moves its base (no slicing through a Device&).
  Device() = default;
  Device(const Device&) = default;
  Device& operator=(const Device&) = default;
  Device(Device&&) = default;
  Device& operator=(Device&&) = default;
  /// @}
};

}  // namespace synack::link
