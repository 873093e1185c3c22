// CaptureReader (see reader.hpp): the byte source (a mapped regular file, a pipe read in chunks, or a
// caller's buffer), classic pcap records, and the BPF filter run through libpcap's pcap_offline_filter().
// pcapng blocks are in pcapng.cpp.
#include "synack/capture/reader.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <utility>

#include <fmt/format.h>

#include "reader_state.hpp"
#include "synack/wire/link_layer.hpp"

namespace synack::capture {
namespace {

constexpr std::uint32_t kPcapMicro = 0xA1B2C3D4;
constexpr std::uint32_t kPcapNano = 0xA1B23C4D;
constexpr std::size_t kPcapHeader = 24;
constexpr std::size_t kRecordHeader = 16;
constexpr std::size_t kChunk = std::size_t{1} << 20U;  // a pipe is read 1 MiB at a time
constexpr std::uint32_t kLinktypeMask = 0x03FFFFFF;    // the pcap header's FCS bits above it are not the type

/// The link types a filter is compiled for up front: every one synack decodes.
constexpr std::array kDecodedLinktypes = {wire::dlt::kNull,   wire::dlt::kEn10Mb, wire::dlt::kRaw,
                                          wire::dlt::kRawAlt, wire::dlt::kLoop,   wire::dlt::kLinuxSll,
                                          wire::dlt::kIpv4,   wire::dlt::kIpv6,   wire::dlt::kLinuxSll2};

CaptureError open_error(const std::string& name, const std::string& why, int os_errno = 0) {
  return CaptureError{CaptureError::Kind::open, fmt::format("{}: {}", name, why), os_errno};
}

/// The file's magic: its format and byte order, or why it is neither pcap nor pcapng.
std::optional<std::string> read_magic(CaptureReader::State& s, CaptureFormat& format) {
  if (!s.ensure(4)) return std::string(s.available() == 0 ? "empty file" : "file too short to be a capture");
  std::uint32_t magic = 0;
  std::memcpy(&magic, s.pos, sizeof magic);
  if (magic == kPcapngSectionHeader) {
    format = CaptureFormat::pcapng;
    return std::nullopt;
  }
  format = CaptureFormat::pcap;
  for (const bool swapped : {false, true}) {
    const std::uint32_t value = swapped ? std::byteswap(magic) : magic;
    if (value == kPcapMicro || value == kPcapNano) {
      s.swapped = swapped;
      s.nanosecond_pcap = value == kPcapNano;
      return std::nullopt;
    }
  }
  return std::string("unknown file format (neither pcap nor pcapng)");
}

/// The classic pcap file header: version, snaplen and link type (its one interface).
std::optional<std::string> read_pcap_header(CaptureReader::State& s) {
  if (!s.ensure(kPcapHeader)) return std::string("truncated pcap file header");
  const std::uint16_t major = s.u16(s.pos + 4);
  if (major != 2) return fmt::format("pcap version {}.{} (2.x is read)", major, s.u16(s.pos + 6));
  Interface interface;
  interface.info.snaplen = s.u32(s.pos + 16);
  interface.info.linktype = dlt_of_linktype(s.u32(s.pos + 20) & kLinktypeMask);
  s.add_interface(interface);
  s.pos += kPcapHeader;
  return std::nullopt;
}

}  // namespace

std::uint32_t dlt_of_linktype(std::uint32_t linktype) noexcept {
  return linktype == wire::dlt::kLinktypeRaw ? wire::dlt::kRaw : linktype;
}

std::string_view linktype_name(std::uint32_t linktype) noexcept {
  const char* name = pcap_datalink_val_to_name(static_cast<int>(linktype));
  return name == nullptr ? std::string_view{} : std::string_view{name};
}

CaptureReader::State::~State() {
  for (auto& f : filters) {
    if (f.compiled) pcap_freecode(&f.program);
  }
  if (map != nullptr) ::munmap(map, map_size);
  if (fd >= 0) ::close(fd);
}

bool CaptureReader::State::refill(std::size_t n) noexcept {
  if (eof || read_errno != 0 || n > kMaxRecordBytes) return false;
  // Keep what is left at the front of the buffer, then read until n bytes are there or the input ends.
  const std::size_t left = available();
  if (left > 0 && pos != buffer.data()) std::memmove(buffer.data(), pos, left);
  if (buffer.size() < std::max(n, kChunk)) buffer.resize(std::max(n, kChunk));
  std::size_t filled = left;
  while (filled < n) {
    const ssize_t got = ::read(fd, buffer.data() + filled, buffer.size() - filled);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) read_errno = errno;
    if (got <= 0) {
      eof = got == 0;
      break;
    }
    filled += static_cast<std::size_t>(got);
  }
  pos = buffer.data();
  end = buffer.data() + filled;
  return filled >= n;
}

int CaptureReader::State::filter_for(std::uint32_t linktype) const noexcept {
  for (std::size_t i = 0; i < filters.size(); ++i) {
    if (filters[i].linktype == linktype) return filters[i].compiled ? static_cast<int>(i) : -1;
  }
  return -1;
}

void CaptureReader::State::add_interface(const Interface& interface) {
  interfaces.push_back(interface);
  interfaces.back().filter = filter_for(interface.info.linktype);
}

CaptureReader::CaptureReader(std::unique_ptr<State> state) noexcept : state_(std::move(state)) {}
CaptureReader::CaptureReader(CaptureReader&& other) noexcept = default;
CaptureReader& CaptureReader::operator=(CaptureReader&& other) noexcept = default;
CaptureReader::~CaptureReader() = default;

namespace {

/// Reads the file header (and, for pcapng, everything before the first packet) of an opened source.
std::expected<CaptureReader::State*, CaptureError> read_headers(CaptureReader::State& s,
                                                                CaptureFormat& format,
                                                                ReaderCounters& counters) {
  if (auto bad = read_magic(s, format)) return std::unexpected(open_error(s.name, *bad, s.read_errno));
  auto bad = format == CaptureFormat::pcap ? read_pcap_header(s) : open_pcapng(s, counters);
  if (bad) return std::unexpected(open_error(s.name, *bad, s.read_errno));
  return &s;
}

}  // namespace

std::expected<CaptureReader, CaptureError> CaptureReader::open(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int error = errno;
    return std::unexpected(open_error(path.string(), std::strerror(error), error));
  }
  return open(fd, path.string());
}

std::expected<CaptureReader, CaptureError> CaptureReader::open(int fd, const std::string& name) {
  auto state = std::make_unique<State>();
  state->name = name;
  state->fd = fd;
  struct stat st{};
  if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
    const auto size = static_cast<std::size_t>(st.st_size);
    // A file of up to 256 MiB has its page table filled in by mmap() (MAP_POPULATE: the pages the page cache
    // holds, read ahead for the rest) instead of one page fault per 16 pages as it is read: ~3 % of a
    // million-packet analysis. A larger file is faulted in as read, so that it need not fit in memory.
    constexpr std::size_t kPopulateBytes = std::size_t{256} << 20U;
    const int populate = size <= kPopulateBytes ? MAP_POPULATE : 0;
    void* map = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE | populate, fd, 0);
    if (map != MAP_FAILED) {
      // Advice values are not bit flags: one call each.
      (void)::madvise(map, size, MADV_SEQUENTIAL);
      (void)::madvise(map, size, MADV_WILLNEED);
      state->map = map;
      state->map_size = size;
      state->pos = static_cast<const std::byte*>(map);
      state->end = state->pos + size;
      state->eof = true;
    }
  } else if (S_ISREG(st.st_mode)) {
    state->eof = true;  // an empty regular file
  }
  CaptureReader reader(std::move(state));
  if (auto headers = read_headers(*reader.state_, reader.format_, reader.counters_); !headers) {
    return std::unexpected(headers.error());
  }
  return reader;
}

std::expected<CaptureReader, CaptureError> CaptureReader::from_bytes(wire::Bytes bytes,
                                                                     const std::string& name) {
  auto state = std::make_unique<State>();
  state->name = name;
  state->pos = bytes.data();
  state->end = bytes.data() + bytes.size();
  state->eof = true;
  CaptureReader reader(std::move(state));
  if (auto headers = read_headers(*reader.state_, reader.format_, reader.counters_); !headers) {
    return std::unexpected(headers.error());
  }
  return reader;
}

std::expected<void, CaptureError> CaptureReader::set_filter(const std::string& expression) {
  State& s = *state_;
  for (auto& f : s.filters) {
    if (f.compiled) pcap_freecode(&f.program);
  }
  s.filters.clear();
  s.filtering = !expression.empty();
  if (!s.filtering) return {};
  std::vector<std::uint32_t> linktypes = {linktype()};
  linktypes.insert(linktypes.end(), kDecodedLinktypes.begin(), kDecodedLinktypes.end());
  for (const auto& interface : s.interfaces) linktypes.push_back(interface.info.linktype);
  for (const std::uint32_t dlt : linktypes) {
    if (std::ranges::any_of(s.filters, [dlt](const CompiledFilter& f) { return f.linktype == dlt; }))
      continue;
    CompiledFilter filter;
    filter.linktype = dlt;
    pcap_t* dead = pcap_open_dead(static_cast<int>(dlt), 262144);
    if (dead == nullptr)
      return std::unexpected(CaptureError{CaptureError::Kind::filter, "pcap_open_dead failed"});
    filter.compiled = pcap_compile(dead, &filter.program, expression.c_str(), 1, PCAP_NETMASK_UNKNOWN) == 0;
    if (!filter.compiled && dlt == linktype()) {
      CaptureError error{CaptureError::Kind::filter, pcap_geterr(dead)};
      pcap_close(dead);
      s.filters.clear();
      s.filtering = false;
      return std::unexpected(std::move(error));
    }
    pcap_close(dead);
    s.filters.push_back(filter);
  }
  for (auto& interface : s.interfaces) interface.filter = s.filter_for(interface.info.linktype);
  return {};
}

bool CaptureReader::selected(const Record& record) noexcept {
  const State& s = *state_;
  if (!s.filtering) return true;
  const int filter = s.interfaces[record.interface].filter;
  pcap_pkthdr header{};
  header.caplen = record.caplen;
  header.len = record.origlen;
  if (filter >= 0 && pcap_offline_filter(&s.filters[static_cast<std::size_t>(filter)].program, &header,
                                         reinterpret_cast<const u_char*>(record.data.data())) != 0) {
    return true;
  }
  ++counters_.filtered_out;
  return false;
}

CaptureReader::Next CaptureReader::fail(std::string why) noexcept {
  done_ = true;
  error_ = CaptureError{
      CaptureError::Kind::read,
      fmt::format("{}: damaged after {} frame{}: {}", state_->name, records_, records_ == 1 ? "" : "s", why),
      state_->read_errno};
  return Next::error;
}

CaptureReader::Next CaptureReader::next(Record& out) noexcept {
  if (done_ || state_ == nullptr) return error_.message.empty() ? Next::end : Next::error;
  return format_ == CaptureFormat::pcap ? next_pcap(out) : next_pcapng(out);
}

CaptureReader::Next CaptureReader::next_pcap(Record& out) noexcept {
  State& s = *state_;
  for (;;) {
    if (!s.ensure(kRecordHeader)) {
      if (s.available() == 0 && s.read_errno == 0) {
        done_ = true;
        return Next::end;
      }
      return fail(s.read_errno != 0 ? fmt::format("read error: {}", std::strerror(s.read_errno))
                                    : fmt::format("truncated record header ({} of 16 bytes)", s.available()));
    }
    const std::uint32_t caplen = s.u32(s.pos + 8);
    if (caplen > kMaxRecordBytes) return fail(fmt::format("record of {} bytes", caplen));
    if (!s.ensure(kRecordHeader + caplen)) {
      return fail(fmt::format("truncated record ({} of {} bytes)", s.available(), kRecordHeader + caplen));
    }
    const std::int64_t fraction = s.u32(s.pos + 4);
    out.timestamp = Timestamp(static_cast<std::int64_t>(s.u32(s.pos)) * 1'000'000'000 +
                              (s.nanosecond_pcap ? fraction : fraction * 1000));
    out.caplen = caplen;
    out.origlen = s.u32(s.pos + 12);
    out.linktype = s.interfaces.front().info.linktype;
    out.interface = 0;
    out.data = wire::Bytes(s.pos + kRecordHeader, caplen);
    s.pos += kRecordHeader + caplen;
    if (!selected(out)) continue;
    out.index = records_++;
    return Next::record;
  }
}

std::uint32_t CaptureReader::linktype() const noexcept {
  return state_ == nullptr || state_->interfaces.empty() ? 0 : state_->interfaces.front().info.linktype;
}

std::vector<CaptureInterface> CaptureReader::interfaces() const {
  std::vector<CaptureInterface> out;
  if (state_ == nullptr) return out;
  for (const auto& interface : state_->interfaces) out.push_back(interface.info);
  return out;
}

bool CaptureReader::is_mapped() const noexcept {
  return state_ != nullptr && state_->map != nullptr;
}

double CaptureReader::share_read() const noexcept {
  if (!is_mapped()) return 0.0;
  const auto done = static_cast<std::size_t>(state_->pos - static_cast<const std::byte*>(state_->map));
  return static_cast<double>(done) / static_cast<double>(state_->map_size);
}

}  // namespace synack::capture
