/// @file
/// Live capture through libpcap (`synack analyze -i IFACE`): a packet socket opened as tcpdump opens it
/// (snaplen, promiscuous mode off unless asked for, a BPF filter, nanosecond timestamps, delivery within
/// 10 ms), read without copies from libpcap's ring, each frame optionally saved to a pcap file as well.
#pragma once

#include <cstdint>
#include <expected>
#include <filesystem>
#include <string>
#include <string_view>

#include "synack/capture/pcap.hpp"
#include "synack/wire/bytes.hpp"

namespace synack::capture {

/// Settings for LiveCapture::open().
struct LiveOptions {
  std::uint32_t snaplen = 262144;  ///< bytes kept of each frame (tcpdump's -s)
  bool promiscuous = false;        ///< put the interface in promiscuous mode (off: this host's traffic only)
  /// The kernel's capture buffer in bytes (tcpdump's -B, in KiB there); 0 keeps libpcap's default (2 MiB).
  std::uint32_t buffer_bytes = 16U << 20U;
  /// The longest a frame waits in a partly filled ring block before it is handed over, in milliseconds.
  int block_timeout_ms = 10;
};

/// One frame as the ring holds it: `data` is valid only during the callback it is passed to.
struct LiveFrame {
  Timestamp timestamp{};      ///< when the kernel captured it (nanoseconds since the Unix epoch)
  std::uint32_t origlen = 0;  ///< bytes on the wire
  wire::Bytes data;           ///< the captured bytes (at most the snaplen)
};

/// What the kernel says it delivered and dropped (pcap_stats()).
struct LiveStats {
  std::uint64_t received = 0;  ///< frames the filter passed
  std::uint64_t dropped = 0;   ///< frames dropped because the buffer was full
};

/// A live capture on one interface. Open it (as root, or with CAP_NET_RAW) before a privilege drop;
/// reading needs only poll() and the ring's memory. Move-only.
class LiveCapture {
 public:
  /// Opens and activates `interface`; fails with libpcap's message (no such device, permission denied…).
  [[nodiscard]] static std::expected<LiveCapture, CaptureError> open(const std::string& interface,
                                                                     const LiveOptions& options = {});
  /// @{
  /// Takes over `other`'s handle; `other` is left closed.
  LiveCapture(LiveCapture&& other) noexcept;
  LiveCapture& operator=(LiveCapture&& other) noexcept;
  /// @}
  LiveCapture(const LiveCapture&) = delete;
  LiveCapture& operator=(const LiveCapture&) = delete;
  /// Closes the save file (flushing it) and, unless leave_open() was called, the capture handle.
  ~LiveCapture();

  /// Captures only what a BPF expression selects (pcap-filter(7)), compiled for this interface and run by
  /// the kernel. Compile before a privilege drop (names are looked up).
  [[nodiscard]] std::expected<void, CaptureError> set_filter(const std::string& expression);
  /// Also writes every frame captured to `path` (a nanosecond pcap file, as `tcpdump -w`); "-" is stdout.
  [[nodiscard]] std::expected<void, CaptureError> save_to(const std::filesystem::path& path);

  /// Hands every frame waiting in the ring to `on_frame` (and to the save file), without blocking.
  /// Returns the number of frames, or an error (the interface went down).
  template <typename F>
  [[nodiscard]] std::expected<std::uint64_t, CaptureError> dispatch(F&& on_frame) {
    return dispatch_raw(
        [](void* context, const LiveFrame& frame) {
          (*static_cast<std::remove_reference_t<F>*>(context))(frame);
        },
        &on_frame);
  }
  /// Flushes the save file to the OS.
  [[nodiscard]] std::expected<void, CaptureError> flush();
  /// What the kernel delivered and dropped so far (needs getsockopt: read before a sandbox that forbids it).
  [[nodiscard]] std::expected<LiveStats, CaptureError> stats() const;

  /// The descriptor to poll() for readability.
  [[nodiscard]] int selectable_fd() const noexcept;
  /// The save file's descriptor, or -1 (for a sandbox's list of writable fds).
  [[nodiscard]] int save_fd() const noexcept;
  /// The DLT_ value of the interface's frames.
  [[nodiscard]] std::uint32_t linktype() const noexcept { return linktype_; }
  /// libpcap's name for linktype(), e.g. "EN10MB".
  [[nodiscard]] std::string_view linktype_name() const noexcept;
  /// Frames dispatched so far.
  [[nodiscard]] std::uint64_t frames() const noexcept { return frames_; }
  /// Keeps the capture handle open at destruction (the process exits right after, and the kernel frees the
  /// ring): libpcap's close tears the ring down with setsockopt(), which the analyzer's sandbox forbids.
  void leave_open() noexcept { leave_open_ = true; }

 private:
  using RawCallback = void (*)(void* context, const LiveFrame& frame);
  explicit LiveCapture(pcap* handle) noexcept;
  std::expected<std::uint64_t, CaptureError> dispatch_raw(RawCallback callback, void* context);
  void release() noexcept;

  pcap* handle_ = nullptr;
  pcap_dumper* dumper_ = nullptr;
  std::uint32_t linktype_ = 0;
  std::uint64_t frames_ = 0;
  bool leave_open_ = false;
};

}  // namespace synack::capture
