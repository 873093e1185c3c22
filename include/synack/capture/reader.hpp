/// @file
/// CaptureReader: synack's own reader of pcap and pcapng files, parsing records in place. A regular file
/// is mapped into memory whole (records point into the mapping, no per-record copy or allocation); a pipe
/// is read through one reusable buffer. pcapng files may hold several sections (either byte order) and
/// several interfaces, each with its own link type, timestamp resolution (if_tsresol) and offset
/// (if_tsoffset) — the captures libpcap refuses (`dumpcap -i a -i b`, mergecap of different link types).
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "synack/capture/pcap.hpp"
#include "synack/wire/bytes.hpp"

namespace synack::capture {

/// The two file formats CaptureReader reads.
enum class CaptureFormat : std::uint8_t {
  pcap,    ///< classic pcap (micro- or nanosecond timestamps, either byte order)
  pcapng,  ///< pcapng (any number of sections and interfaces)
};

/// One packet record, parsed in place. `data` points into the reader's mapping (a regular file: valid as
/// long as the reader lives) or its buffer (a pipe: valid until the next call to next()).
struct Record {
  std::uint64_t index = 0;      ///< 0 for the first packet record returned
  Timestamp timestamp{};        ///< nanoseconds since the Unix epoch (if_tsoffset added)
  std::uint32_t caplen = 0;     ///< bytes captured (== data.size())
  std::uint32_t origlen = 0;    ///< bytes on the wire
  std::uint32_t linktype = 0;   ///< the DLT_ value of the record's interface (LINKTYPE_RAW reads as DLT_RAW)
  std::uint32_t interface = 0;  ///< the interface's number in the file: every IDB of every section, from 0
  wire::Bytes data;             ///< the captured bytes

  /// True when the capture cut the frame short (snaplen).
  [[nodiscard]] bool is_truncated() const noexcept { return caplen < origlen; }
};

/// One interface of the file (classic pcap: the one of its header; pcapng: one per IDB).
struct CaptureInterface {
  std::uint32_t linktype = 0;  ///< DLT_ value
  std::uint32_t snaplen = 0;   ///< the interface's snapshot length (0: none given)
  std::uint32_t section = 0;   ///< the pcapng section it belongs to (0 for classic pcap)
};

/// What the reader skipped without failing.
struct ReaderCounters {
  std::uint64_t sections = 0;            ///< pcapng Section Header Blocks read
  std::uint64_t blocks_skipped = 0;      ///< pcapng blocks of other types (statistics, names, custom, …)
  std::uint64_t unknown_interface = 0;   ///< packet blocks naming an interface their section lacks: dropped
  std::uint64_t timestamp_overflow = 0;  ///< packets whose time is out of range (after 2262): dropped
  std::uint64_t filtered_out = 0;        ///< packets the BPF filter did not select
  [[nodiscard]] std::uint64_t dropped() const noexcept {
    return unknown_interface + timestamp_overflow;
  }  ///< packet blocks read but not returned, other than filtered out
};

/// Reads a pcap or pcapng file record by record. Move-only. Bad input never crashes it: a malformed
/// header fails open(), a malformed block later makes next() return error (every record before it has
/// been returned), and a packet that cannot be placed (unknown interface, time out of range) is counted
/// in counters() and skipped.
class CaptureReader {
 public:
  /// What next() produced.
  enum class Next : std::uint8_t {
    record,  ///< `out` holds the next record
    end,     ///< a clean end of the file (sticky)
    error,   ///< the file is damaged here (sticky); error() says how
  };

  /// Opens `path`: a missing file or one that is neither pcap nor pcapng fails with a message naming it.
  [[nodiscard]] static std::expected<CaptureReader, CaptureError> open(const std::filesystem::path& path);
  /// Reads from `fd`, already open (e.g. before a privilege drop; standard input); the reader owns and
  /// closes it, also when opening fails. A regular file is mapped; anything else is read in chunks.
  [[nodiscard]] static std::expected<CaptureReader, CaptureError> open(int fd, const std::string& name);
  /// Reads `bytes`, which the caller keeps alive as long as the reader (tests, the fuzzer).
  [[nodiscard]] static std::expected<CaptureReader, CaptureError> from_bytes(wire::Bytes bytes,
                                                                             const std::string& name);

  /// @{
  /// Takes over `other`'s file; `other` is left at its end.
  CaptureReader(CaptureReader&& other) noexcept;
  CaptureReader& operator=(CaptureReader&& other) noexcept;
  /// @}
  CaptureReader(const CaptureReader&) = delete;
  CaptureReader& operator=(const CaptureReader&) = delete;
  ~CaptureReader();

  /// Returns only the records a BPF expression selects (tcpdump's syntax), compiled by libpcap for each
  /// link type synack decodes, so interfaces of different link types are filtered alike. Call before a
  /// privilege drop (names are looked up here). Fails when it does not compile for the file's first
  /// interface; an interface whose link type it does not compile for has none of its records selected.
  [[nodiscard]] std::expected<void, CaptureError> set_filter(const std::string& expression);

  /// The next record into `out`.
  [[nodiscard]] Next next(Record& out) noexcept;
  /// Why next() returned error: "NAME: damaged after N frames: why".
  [[nodiscard]] const CaptureError& error() const noexcept { return error_; }

  [[nodiscard]] CaptureFormat format() const noexcept { return format_; }  ///< pcap or pcapng
  /// The DLT_ value of the first interface (0 when a pcapng file declared none before its first packet).
  [[nodiscard]] std::uint32_t linktype() const noexcept;
  /// The interfaces declared so far (all of them once next() has returned end).
  [[nodiscard]] std::vector<CaptureInterface> interfaces() const;
  /// Records next() has returned.
  [[nodiscard]] std::uint64_t records_read() const noexcept { return records_; }
  /// What was skipped.
  [[nodiscard]] const ReaderCounters& counters() const noexcept { return counters_; }
  /// True when the file is mapped into memory (a regular file), false when it is read in chunks.
  [[nodiscard]] bool is_mapped() const noexcept;
  /// The share of a mapped file's bytes read so far (0 to 1); 0 when the input is not mapped.
  [[nodiscard]] double share_read() const noexcept;

  struct State;  ///< the parser's state (reader.cpp, pcapng.cpp)

 private:
  explicit CaptureReader(std::unique_ptr<State> state) noexcept;
  Next fail(std::string why) noexcept;
  Next next_pcap(Record& out) noexcept;
  Next next_pcapng(Record& out) noexcept;
  [[nodiscard]] bool selected(const Record& record) noexcept;

  std::unique_ptr<State> state_;
  CaptureFormat format_ = CaptureFormat::pcap;
  std::uint64_t records_ = 0;
  ReaderCounters counters_;
  CaptureError error_;
  bool done_ = false;
};

/// libpcap's name for a DLT_ value ("EN10MB"), or "" when it has none.
[[nodiscard]] std::string_view linktype_name(std::uint32_t linktype) noexcept;

}  // namespace synack::capture
