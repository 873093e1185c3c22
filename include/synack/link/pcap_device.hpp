/// @file
/// Capture as a decorator: PcapRecorder writes datagrams to a raw-IP nanosecond pcap (a file, or standard
/// output for "-"), and PcapDevice records every datagram crossing any link::Device into one. The TUN
/// commands and the simulator write their captures through the same PcapRecorder.
#pragma once

#include <cstdint>
#include <expected>
#include <filesystem>
#include <optional>
#include <string>
#include <system_error>

#include "synack/capture/pcap.hpp"
#include "synack/link/device.hpp"
#include "synack/time.hpp"
#include "synack/wire/bytes.hpp"

namespace synack::link {

/// Writes every datagram it is given to a raw-IP, nanosecond pcap, stamped `offset` + the Instant given.
/// The first write error is kept (later datagrams are not written) and reported by close(). Move-only.
class PcapRecorder {
 public:
  /// Creates (truncates) `path` ("-": standard output). `offset` turns an Instant into capture time
  /// (realtime_offset() for the monotonic clock; a fixed epoch for virtual time). An error names the path
  /// once ("PATH: Is a directory").
  [[nodiscard]] static std::expected<PcapRecorder, capture::CaptureError> open(
      const std::filesystem::path& path, Duration offset);
  /// Records one datagram seen at `at`; false when it was not written (now or after an earlier error).
  bool record(Instant at, wire::Bytes datagram) noexcept;
  /// Pushes what is buffered to the OS (a reader sees every datagram so far).
  [[nodiscard]] std::expected<void, capture::CaptureError> flush() noexcept { return writer_.flush(); }
  /// Flushes and closes the file; reports the first error of any record() or of the close.
  [[nodiscard]] std::expected<void, capture::CaptureError> close() noexcept;
  /// Datagrams recorded so far.
  [[nodiscard]] std::uint64_t frames() const noexcept { return writer_.frames_written(); }
  /// The fd written to (for a sandbox's list), -1 once closed.
  [[nodiscard]] int fd() const noexcept { return writer_.fd(); }

 protected:
  /// Wraps an open writer.
  PcapRecorder(capture::PcapWriter writer, Duration offset) noexcept
      : writer_(std::move(writer)), offset_(offset) {}

 private:
  capture::PcapWriter writer_;
  Duration offset_{0};
  std::optional<capture::CaptureError> error_;
};

/// A Device that records every datagram received from or transmitted to `inner` into `recorder` (both
/// must outlive it). A datagram `inner` refuses is recorded all the same: it was sent.
class PcapDevice final : public Device {
 public:
  /// Decorates `inner`.
  PcapDevice(Device& inner, PcapRecorder& recorder) noexcept : inner_(&inner), recorder_(&recorder) {}

  [[nodiscard]] const std::string& name() const noexcept override { return inner_->name(); }
  [[nodiscard]] int fd() const noexcept override { return inner_->fd(); }
  [[nodiscard]] std::expected<std::size_t, std::error_code> receive(Instant now,
                                                                    wire::MutableBytes buffer) override;
  [[nodiscard]] std::expected<std::size_t, std::error_code> transmit(Instant now,
                                                                     wire::Bytes datagram) override;
  [[nodiscard]] Instant next_deadline() const noexcept override { return inner_->next_deadline(); }
  [[nodiscard]] std::expected<bool, std::error_code> advance(Instant now) override {
    return inner_->advance(now);
  }
  /// Datagrams the recorder failed to write.
  [[nodiscard]] std::uint64_t errors() const noexcept { return errors_; }

 private:
  Device* inner_;
  PcapRecorder* recorder_;
  std::uint64_t errors_ = 0;
};

}  // namespace synack::link
