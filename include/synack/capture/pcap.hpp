/// @file
/// Capture files through libpcap: PcapWriter streams raw IP datagrams (or frames of any link type) to a
/// nanosecond pcap file; PcapReader reads pcap and pcapng files frame by frame and decapsulates each one.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <expected>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>

#include <fmt/format.h>

#include "synack/wire/bytes.hpp"
#include "synack/wire/error.hpp"
#include "synack/wire/link_layer.hpp"

// libpcap's handle types, kept out of this header.
struct pcap;
struct pcap_dumper;

namespace synack::capture {

/// A capture timestamp: nanoseconds since the Unix epoch (UTC).
using Timestamp = std::chrono::nanoseconds;

/// What went wrong, with libpcap's (or the OS's) message. Never thrown. fmt prints it as its message.
/// code() is a std::error_code of the category "synack.capture"; os_error() keeps the errno behind it.
struct CaptureError {
  /// What kind of failure (0 is never used, so a zero std::error_code means success).
  enum class Kind : std::uint8_t {
    open = 1,          ///< the file could not be opened or is not a capture file
    read,              ///< the file is damaged (truncated record, garbage) after the frames already read
    write,             ///< the OS refused a write, flush or close
    invalid_argument,  ///< a value the file format cannot hold (a timestamp before 1970 or after 2106)
    filter,            ///< a BPF filter expression that does not compile (libpcap's message says why)
  };
  Kind kind = Kind::open;  ///< what kind of failure
  std::string message;     ///< one line: libpcap's or the OS's message (fmt prints a CaptureError as this)
  int os_errno = 0;        ///< the errno of the failed system call, 0 when the failure was not the OS's

  /// kind as a std::error_code ("synack.capture").
  [[nodiscard]] std::error_code code() const noexcept;
  /// os_errno as a std::error_code (generic category); a zero code when there is none.
  [[nodiscard]] std::error_code os_error() const noexcept;
};

/// The "synack.capture" error category: CaptureError::Kind values and their descriptions.
[[nodiscard]] const std::error_category& capture_category() noexcept;
/// Makes a CaptureError::Kind usable as a std::error_code (found by argument-dependent lookup).
[[nodiscard]] std::error_code make_error_code(CaptureError::Kind kind) noexcept;

/// Settings for PcapWriter::open().
struct WriterOptions {
  /// The DLT_ value of the frames written; DLT_RAW (12, stored on disk as LINKTYPE_RAW 101) by default.
  std::uint32_t linktype = wire::dlt::kRaw;
  /// Frames longer than this are cut to it (their original length is still recorded).
  std::uint32_t snaplen = 262144;
};

/// Streams frames to a pcap file with nanosecond timestamps. Nothing is buffered beyond libpcap's FILE;
/// the file is flushed and closed by close() or the destructor. Move-only.
class PcapWriter {
 public:
  /// Creates (truncates) `path` and writes the pcap file header. Open errors name the path once
  /// ("PATH: Is a directory"); later write errors do not name it.
  [[nodiscard]] static std::expected<PcapWriter, CaptureError> open(const std::filesystem::path& path,
                                                                    const WriterOptions& options = {});

  /// @{
  /// Takes over `other`'s file; `other` is left closed.
  PcapWriter(PcapWriter&& other) noexcept;
  PcapWriter& operator=(PcapWriter&& other) noexcept;
  /// @}
  PcapWriter(const PcapWriter&) = delete;
  PcapWriter& operator=(const PcapWriter&) = delete;
  /// Closes the file if still open; errors at this point are lost (call close() to see them).
  ~PcapWriter();

  /// Appends one frame (for the default link type: one IP datagram) captured at `timestamp`.
  /// Fails on a timestamp outside [1970, 2106), on a write error, or after close().
  [[nodiscard]] std::expected<void, CaptureError> write(Timestamp timestamp, wire::Bytes frame) noexcept;
  /// Pushes libpcap's buffered bytes to the OS.
  [[nodiscard]] std::expected<void, CaptureError> flush() noexcept;
  /// Flushes and closes the file, reporting any error. Further writes fail.
  [[nodiscard]] std::expected<void, CaptureError> close() noexcept;

  [[nodiscard]] bool is_open() const noexcept {
    return dumper_ != nullptr;
  }  ///< false after close() (or a move)
  [[nodiscard]] std::uint32_t linktype() const noexcept {
    return options_.linktype;
  }  ///< the DLT_ value the file was opened with
  [[nodiscard]] std::uint32_t snaplen() const noexcept {
    return options_.snaplen;
  }  ///< the snapshot length the file was opened with
  [[nodiscard]] std::uint64_t frames_written() const noexcept {
    return frames_written_;
  }  ///< frames appended so far
  /// The file descriptor written to (for a sandbox's list of fds), or -1 once closed.
  [[nodiscard]] int fd() const noexcept;

 private:
  PcapWriter(pcap* handle, pcap_dumper* dumper, WriterOptions options) noexcept;
  void release() noexcept;

  pcap* handle_ = nullptr;
  pcap_dumper* dumper_ = nullptr;
  WriterOptions options_;
  std::uint64_t frames_written_ = 0;
};

/// One record read from a capture file. `data` points into the reader's buffer and stays valid only
/// until the next call to PcapReader::next() (or the reader's destruction).
struct Frame {
  std::uint64_t index = 0;    ///< 0 for the first record of the file
  Timestamp timestamp{};      ///< when the frame was captured (nanoseconds since the Unix epoch)
  std::uint32_t caplen = 0;   ///< bytes captured (== data.size())
  std::uint32_t origlen = 0;  ///< bytes on the wire
  wire::Bytes data;           ///< the captured bytes (caplen of them)
  /// The IP datagram inside `data`, or why there is none.
  std::expected<wire::LinkPayload, wire::Error> ip = std::unexpected(wire::Error::link_unsupported);

  /// True when the capture cut the frame short (snaplen).
  [[nodiscard]] bool is_truncated() const noexcept { return caplen < origlen; }
};

/// Reads a pcap or pcapng file (any timestamp resolution; all reported in nanoseconds). Move-only.
class PcapReader {
 public:
  /// Opens `path`; a missing file, a non-capture file or an unsupported format fails with libpcap's
  /// message.
  [[nodiscard]] static std::expected<PcapReader, CaptureError> open(const std::filesystem::path& path);
  /// Reads from `file`, already open (e.g. before a privilege drop); the reader owns and closes it, also
  /// when opening fails. `name` is used in messages.
  [[nodiscard]] static std::expected<PcapReader, CaptureError> open(std::FILE* file, const std::string& name);

  /// @{
  /// Takes over `other`'s file; `other` is left closed.
  PcapReader(PcapReader&& other) noexcept;
  PcapReader& operator=(PcapReader&& other) noexcept;
  /// @}
  PcapReader(const PcapReader&) = delete;
  PcapReader& operator=(const PcapReader&) = delete;
  ~PcapReader();

  /// Reads only the frames a BPF filter expression selects (tcpdump's syntax, pcap-filter(7)), compiled
  /// for this file's link type. Compile before a privilege drop: names in an expression ("port http",
  /// "host NAME") are looked up in /etc/services and the resolver. An empty expression selects every frame.
  [[nodiscard]] std::expected<void, CaptureError> set_filter(const std::string& expression);

  /// The next frame; std::nullopt at a clean end of file; CaptureError::Kind::read when the file is
  /// damaged (every frame before the damage has been returned). End of file and errors are sticky.
  [[nodiscard]] std::expected<std::optional<Frame>, CaptureError> next() noexcept;

  /// The DLT_ value of the file's frames, as pcap_datalink() reports it (LINKTYPE_RAW reads as DLT_RAW).
  [[nodiscard]] std::uint32_t linktype() const noexcept { return linktype_; }
  /// libpcap's name for linktype(), e.g. "EN10MB", or "" when it has none.
  [[nodiscard]] std::string_view linktype_name() const noexcept;
  /// The file's snapshot length (the longest frame it may hold).
  [[nodiscard]] std::uint32_t snaplen() const noexcept { return snaplen_; }
  /// How many frames next() has returned.
  [[nodiscard]] std::uint64_t frames_read() const noexcept { return frames_read_; }

 private:
  enum class State : std::uint8_t { reading, end, failed };
  PcapReader(pcap* handle, std::string path) noexcept;
  void release() noexcept;

  pcap* handle_ = nullptr;
  std::string path_;
  std::uint32_t linktype_ = 0;
  std::uint32_t snaplen_ = 0;
  std::uint64_t frames_read_ = 0;
  State state_ = State::reading;
  std::string error_;  // the damage message, repeated by next() once state_ is failed
};

}  // namespace synack::capture

/// @cond
/// CaptureError::Kind converts to std::error_code.
template <>
struct std::is_error_code_enum<synack::capture::CaptureError::Kind> : std::true_type {};

/// Formats a CaptureError as its message, so `fmt::print("{}", error)` works. (Hidden from the API
/// reference: Doxygen cannot place a specialization in fmt's namespace; CaptureError's comment says it.)
template <>
struct fmt::formatter<synack::capture::CaptureError> : fmt::formatter<std::string_view> {
  template <typename FormatContext>
  auto format(const synack::capture::CaptureError& error, FormatContext& ctx) const {
    return fmt::formatter<std::string_view>::format(std::string_view(error.message), ctx);
  }
};
/// @endcond
