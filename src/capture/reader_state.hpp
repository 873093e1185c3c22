// CaptureReader's parser state, shared by reader.cpp (the byte source, classic pcap, the filter) and
// pcapng.cpp (pcapng blocks). Internal to synack_capture.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include <pcap/pcap.h>

#include "synack/capture/reader.hpp"

namespace synack::capture {

/// No pcap record or pcapng block may be longer than this (a length beyond it is damage, not a reason to
/// allocate): 64 MiB, far above any snaplen.
inline constexpr std::uint32_t kMaxRecordBytes = 64U << 20U;

/// The pcapng Section Header Block's type, which is also a pcapng file's first four bytes.
inline constexpr std::uint32_t kPcapngSectionHeader = 0x0A0D0D0A;

/// How an interface's timestamp units become nanoseconds: units * multiply / divide (10^-k resolutions),
/// or whole seconds and a binary fraction (2^-k resolutions), plus the interface's offset.
struct TimeScale {
  std::uint64_t multiply = 1000;  // default: microseconds
  std::uint64_t divide = 1;
  int binary_shift = -1;  // k of a 2^-k resolution; -1 for decimal ones
  std::int64_t offset_ns = 0;

  /// Nanoseconds since the epoch, or nothing when the value does not fit 64 bits.
  [[nodiscard]] std::optional<std::int64_t> to_ns(std::uint64_t units) const noexcept;
};

/// One interface (classic pcap: the file's; pcapng: one IDB).
struct Interface {
  CaptureInterface info;
  TimeScale scale;
  int filter = -1;  // index into State::filters; -1: the filter did not compile for this link type
};

/// A BPF program compiled for one link type.
struct CompiledFilter {
  std::uint32_t linktype = 0;
  bpf_program program{};
  bool compiled = false;
};

struct CaptureReader::State {
  State() = default;
  State(const State&) = delete;
  State& operator=(const State&) = delete;
  ~State();

  std::string name;
  // The bytes: [pos, end) is what is available now. A mapped file or a caller's buffer holds everything
  // (eof is true from the start); a pipe is read into `buffer`, refilled by ensure().
  int fd = -1;
  void* map = nullptr;
  std::size_t map_size = 0;
  std::vector<std::byte> buffer;
  const std::byte* pos = nullptr;
  const std::byte* end = nullptr;
  bool eof = false;
  int read_errno = 0;

  bool swapped = false;  // the file's (section's) byte order is not the host's
  bool nanosecond_pcap = false;
  std::vector<Interface> interfaces;  // file-wide; a pcapng section's interface i is section_first + i
  std::size_t section_first = 0;
  std::uint32_t section = 0;
  bool filtering = false;
  std::vector<CompiledFilter> filters;

  [[nodiscard]] std::size_t available() const noexcept { return static_cast<std::size_t>(end - pos); }
  /// At least `n` bytes available from pos (reading a pipe as needed); false at the end of the input or
  /// on a read error (read_errno).
  [[nodiscard]] bool ensure(std::size_t n) noexcept { return available() >= n || refill(n); }
  [[nodiscard]] bool refill(std::size_t n) noexcept;

  [[nodiscard]] std::uint16_t u16(const std::byte* p) const noexcept {
    std::uint16_t v = 0;
    std::memcpy(&v, p, sizeof v);
    return swapped ? std::byteswap(v) : v;
  }
  [[nodiscard]] std::uint32_t u32(const std::byte* p) const noexcept {
    std::uint32_t v = 0;
    std::memcpy(&v, p, sizeof v);
    return swapped ? std::byteswap(v) : v;
  }
  [[nodiscard]] std::uint64_t u64(const std::byte* p) const noexcept {
    std::uint64_t v = 0;
    std::memcpy(&v, p, sizeof v);
    return swapped ? std::byteswap(v) : v;
  }

  /// Adds an interface; its filter is looked up among the compiled ones.
  void add_interface(const Interface& interface);
  /// The filter index for `linktype` (-1: none compiled for it).
  [[nodiscard]] int filter_for(std::uint32_t linktype) const noexcept;
};

/// The DLT_ value of an on-disk LINKTYPE_ value (LINKTYPE_RAW 101 is DLT_RAW; the others synack reads
/// are equal).
[[nodiscard]] std::uint32_t dlt_of_linktype(std::uint32_t linktype) noexcept;

/// Parses a pcapng file's first Section Header Block and the blocks before its first packet. An error
/// message on failure.
[[nodiscard]] std::optional<std::string> open_pcapng(CaptureReader::State& state, ReaderCounters& counters);

}  // namespace synack::capture
