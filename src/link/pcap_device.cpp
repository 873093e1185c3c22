// Capture as a device decorator (include/synack/link/pcap_device.hpp).
#include "synack/link/pcap_device.hpp"

#include <utility>

namespace synack::link {

std::expected<PcapRecorder, capture::CaptureError> PcapRecorder::open(const std::filesystem::path& path,
                                                                      Duration offset) {
  auto writer = capture::PcapWriter::open(path);  // libpcap writes "-" to standard output
  if (!writer) return std::unexpected(writer.error());
  return PcapRecorder(std::move(*writer), offset);
}

bool PcapRecorder::record(Instant at, wire::Bytes datagram) noexcept {
  if (error_) return false;
  const capture::Timestamp ts = offset_ + at.since_origin();
  if (auto r = writer_.write(ts, datagram); !r) {
    error_ = r.error();
    return false;
  }
  return true;
}

std::expected<void, capture::CaptureError> PcapRecorder::close() noexcept {
  if (error_) {
    (void)writer_.close();
    return std::unexpected(*error_);
  }
  return writer_.close();
}

std::expected<std::size_t, std::error_code> PcapDevice::receive(Instant now, wire::MutableBytes buffer) {
  auto n = inner_->receive(now, buffer);
  if (n && *n > 0 && !recorder_->record(now, wire::Bytes(buffer).first(*n))) ++errors_;
  return n;
}

std::expected<std::size_t, std::error_code> PcapDevice::transmit(Instant now, wire::Bytes datagram) {
  if (!recorder_->record(now, datagram)) ++errors_;
  return inner_->transmit(now, datagram);
}

}  // namespace synack::link
