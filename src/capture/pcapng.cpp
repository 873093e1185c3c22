// pcapng blocks for CaptureReader (the pcapng specification, draft-ietf-opsawg-pcapng): Section Header
// Blocks in either byte order (a file may hold several sections), Interface Description Blocks with
// if_tsresol and if_tsoffset, Enhanced, Simple and (obsolete) Packet Blocks; every other block is
// skipped by its length. A length or field that does not fit its block is damage: an error, never a read
// past the block.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>

#include <fmt/format.h>

#include "reader_state.hpp"

namespace synack::capture {
namespace {

constexpr std::uint32_t kInterfaceDescription = 1;
constexpr std::uint32_t kObsoletePacket = 2;
constexpr std::uint32_t kSimplePacket = 3;
constexpr std::uint32_t kEnhancedPacket = 6;
constexpr std::uint32_t kByteOrderMagic = 0x1A2B3C4D;
constexpr std::uint16_t kOptEnd = 0;
constexpr std::uint16_t kOptTsresol = 9;
constexpr std::uint16_t kOptTsoffset = 14;
constexpr std::uint32_t kBlockOverhead = 12;  // type, length, trailing length

/// What one block gave.
enum class Step : std::uint8_t { record, skipped, packet_ahead, end, error };

std::uint64_t power_of_ten(unsigned k) noexcept {
  std::uint64_t v = 1;
  for (unsigned i = 0; i < k; ++i) v *= 10;
  return v;
}

/// if_tsresol's byte as a TimeScale (offset kept); nothing for resolutions finer than 64-bit units allow.
std::optional<TimeScale> scale_of(std::uint8_t resolution, const TimeScale& base) {
  TimeScale scale = base;
  const unsigned k = resolution & 0x7FU;
  if ((resolution & 0x80U) != 0) {
    if (k > 63) return std::nullopt;
    scale.binary_shift = static_cast<int>(k);
    scale.multiply = 1;
    scale.divide = 1;
  } else {
    if (k > 19) return std::nullopt;
    scale.binary_shift = -1;
    scale.multiply = k <= 9 ? power_of_ten(9 - k) : 1;
    scale.divide = k <= 9 ? 1 : power_of_ten(k - 9);
  }
  return scale;
}

/// The IDB's options: if_tsresol and if_tsoffset; the others are skipped. An error message when an option
/// runs past the block or has the wrong length.
std::optional<std::string> read_interface_options(const CaptureReader::State& s, const std::byte* p,
                                                  std::size_t size, TimeScale& scale) {
  while (size >= 4) {
    const std::uint16_t code = s.u16(p);
    const std::uint16_t length = s.u16(p + 2);
    if (code == kOptEnd) break;
    const std::size_t padded = (static_cast<std::size_t>(length) + 3U) & ~std::size_t{3};
    if (padded > size - 4)
      return fmt::format("interface option {} ({} bytes) runs past its block", code, length);
    const std::byte* value = p + 4;
    if (code == kOptTsresol) {
      if (length != 1) return fmt::format("if_tsresol of {} bytes (1 expected)", length);
      auto resolved = scale_of(static_cast<std::uint8_t>(*value), scale);
      if (!resolved)
        return fmt::format("if_tsresol {:#04x} is finer than 64-bit timestamps allow",
                           static_cast<unsigned>(*value));
      scale = *resolved;
    } else if (code == kOptTsoffset) {
      if (length != 8) return fmt::format("if_tsoffset of {} bytes (8 expected)", length);
      const auto seconds = static_cast<std::int64_t>(s.u64(value));
      std::int64_t ns = 0;
      if (__builtin_mul_overflow(seconds, std::int64_t{1'000'000'000}, &ns)) {
        return fmt::format("if_tsoffset {} s out of range", seconds);
      }
      scale.offset_ns = ns;
    }
    p += 4 + padded;
    size -= 4 + padded;
  }
  return std::nullopt;
}

/// A Section Header Block at s.pos: sets the byte order, starts a section. Its length is checked here
/// (it can only be read once the byte order is known).
std::optional<std::string> read_section_header(CaptureReader::State& s, std::uint32_t& length) {
  if (!s.ensure(12)) return std::string("truncated section header");
  std::uint32_t magic = 0;
  std::memcpy(&magic, s.pos + 8, sizeof magic);
  if (magic == kByteOrderMagic) {
    s.swapped = false;
  } else if (magic == std::byteswap(kByteOrderMagic)) {
    s.swapped = true;
  } else {
    return fmt::format("section header with byte-order magic {:#010x}", magic);
  }
  length = s.u32(s.pos + 4);
  if (length < 28 || length % 4 != 0 || length > kMaxRecordBytes) {
    return fmt::format("section header of {} bytes", length);
  }
  if (!s.ensure(length)) return fmt::format("truncated section header ({} bytes)", length);
  const std::uint16_t major = s.u16(s.pos + 12);
  if (major != 1) return fmt::format("pcapng version {}.{} (1.x is read)", major, s.u16(s.pos + 14));
  s.section_first = s.interfaces.size();
  ++s.section;
  return std::nullopt;
}

std::optional<std::string> read_interface(CaptureReader::State& s, const std::byte* body, std::size_t size) {
  if (size < 8) return fmt::format("interface description of {} bytes", size + kBlockOverhead);
  Interface interface;
  interface.info.linktype = dlt_of_linktype(s.u16(body));
  interface.info.snaplen = s.u32(body + 4);
  interface.info.section = s.section - 1;
  if (auto bad = read_interface_options(s, body + 8, size - 8, interface.scale)) return bad;
  s.add_interface(interface);
  return std::nullopt;
}

/// The interface a packet block names, or nullptr when its section has no such interface.
const Interface* interface_of(const CaptureReader::State& s, std::uint32_t id) noexcept {
  const std::size_t count = s.interfaces.size() - s.section_first;
  return id < count ? &s.interfaces[s.section_first + id] : nullptr;
}

/// A packet block with a timestamp (Enhanced: 32-bit interface; obsolete Packet Block: 16-bit). `Step::
/// skipped` with a counter raised when the packet cannot be placed.
Step read_timed_packet(const CaptureReader::State& s, ReaderCounters& counters, const std::byte* body,
                       std::size_t size, bool obsolete, Record& out, std::string& why) {
  if (size < 20) {
    why = fmt::format("packet block of {} bytes", size + kBlockOverhead);
    return Step::error;
  }
  const std::uint32_t id = obsolete ? s.u16(body) : s.u32(body);
  const std::uint64_t units = (static_cast<std::uint64_t>(s.u32(body + 4)) << 32U) | s.u32(body + 8);
  const std::uint32_t caplen = s.u32(body + 12);
  if (caplen > size - 20) {
    why = fmt::format("packet of {} bytes in a block with room for {}", caplen, size - 20);
    return Step::error;
  }
  const Interface* interface = interface_of(s, id);
  if (interface == nullptr) {
    ++counters.unknown_interface;
    return Step::skipped;
  }
  const auto ns = interface->scale.to_ns(units);
  if (!ns) {
    ++counters.timestamp_overflow;
    return Step::skipped;
  }
  out.timestamp = Timestamp(*ns);
  out.caplen = caplen;
  out.origlen = s.u32(body + 16);
  out.linktype = interface->info.linktype;
  out.interface = static_cast<std::uint32_t>(interface - s.interfaces.data());
  out.data = wire::Bytes(body + 20, caplen);
  return Step::record;
}

/// A Simple Packet Block: interface 0 of the section, no timestamp (0, as libpcap reports it), the
/// captured length the smallest of the original length, the snaplen and the block's room.
Step read_simple_packet(const CaptureReader::State& s, ReaderCounters& counters, const std::byte* body,
                        std::size_t size, Record& out, std::string& why) {
  if (size < 4) {
    why = fmt::format("simple packet block of {} bytes", size + kBlockOverhead);
    return Step::error;
  }
  const Interface* interface = interface_of(s, 0);
  if (interface == nullptr) {
    ++counters.unknown_interface;
    return Step::skipped;
  }
  const std::uint32_t origlen = s.u32(body);
  std::size_t caplen = std::min<std::size_t>(origlen, size - 4);
  if (interface->info.snaplen != 0) caplen = std::min<std::size_t>(caplen, interface->info.snaplen);
  out.timestamp = Timestamp(0);
  out.caplen = static_cast<std::uint32_t>(caplen);
  out.origlen = origlen;
  out.linktype = interface->info.linktype;
  out.interface = static_cast<std::uint32_t>(interface - s.interfaces.data());
  out.data = wire::Bytes(body + 4, caplen);
  return Step::record;
}

bool is_packet_block(std::uint32_t type) noexcept {
  return type == kEnhancedPacket || type == kSimplePacket || type == kObsoletePacket;
}

/// One block at s.pos: consumed (record or skipped), or not (packet_ahead with stop_at_packet, end,
/// error with `why`).
Step pcapng_step(CaptureReader::State& s, ReaderCounters& counters, Record& out, bool stop_at_packet,
                 std::string& why) {
  if (!s.ensure(8)) {
    if (s.available() == 0 && s.read_errno == 0) return Step::end;
    why = s.read_errno != 0 ? fmt::format("read error: {}", std::strerror(s.read_errno))
                            : fmt::format("{} bytes after the last block", s.available());
    return Step::error;
  }
  const std::uint32_t type = s.u32(s.pos);
  std::uint32_t length = 0;
  if (type == kPcapngSectionHeader) {
    if (auto bad = read_section_header(s, length)) {
      why = *bad;
      return Step::error;
    }
    ++counters.sections;
    s.pos += length;
    return Step::skipped;
  }
  length = s.u32(s.pos + 4);
  if (length < kBlockOverhead || length % 4 != 0 || length > kMaxRecordBytes) {
    why = fmt::format("block of type {:#x} with length {}", type, length);
    return Step::error;
  }
  if (stop_at_packet && is_packet_block(type)) return Step::packet_ahead;
  if (!s.ensure(length)) {
    why = fmt::format("truncated block of type {:#x} ({} bytes, {} left)", type, length, s.available());
    return Step::error;
  }
  if (const std::uint32_t trailer = s.u32(s.pos + length - 4); trailer != length) {
    why = fmt::format("block of type {:#x}: length {} but trailing length {}", type, length, trailer);
    return Step::error;
  }
  const std::byte* body = s.pos + 8;
  const std::size_t size = length - kBlockOverhead;
  Step step = Step::skipped;
  if (type == kEnhancedPacket || type == kObsoletePacket) {
    step = read_timed_packet(s, counters, body, size, type == kObsoletePacket, out, why);
  } else if (type == kSimplePacket) {
    step = read_simple_packet(s, counters, body, size, out, why);
  } else if (type == kInterfaceDescription) {
    if (auto bad = read_interface(s, body, size)) {
      why = *bad;
      step = Step::error;
    }
  } else {
    ++counters.blocks_skipped;
  }
  if (step != Step::error) s.pos += length;
  return step;
}

// 128-bit products: a 64-bit count of units times 10^9 (a GCC and clang extension).
__extension__ typedef unsigned __int128 U128;  // NOLINT(modernize-use-using)

}  // namespace

std::optional<std::int64_t> TimeScale::to_ns(std::uint64_t units) const noexcept {
  U128 ns = 0;
  if (binary_shift >= 0) {
    const auto shift = static_cast<unsigned>(binary_shift);
    const std::uint64_t whole = shift == 0 ? units : units >> shift;
    const std::uint64_t fraction = shift == 0 ? 0 : units & ((std::uint64_t{1} << shift) - 1);
    ns =
        static_cast<U128>(whole) * 1'000'000'000U + ((static_cast<U128>(fraction) * 1'000'000'000U) >> shift);
  } else {
    ns = static_cast<U128>(units) * multiply / divide;
  }
  const auto limit = static_cast<U128>(INT64_MAX);
  if (ns > limit) return std::nullopt;
  std::int64_t result = 0;
  if (__builtin_add_overflow(static_cast<std::int64_t>(ns), offset_ns, &result)) return std::nullopt;
  return result;
}

std::optional<std::string> open_pcapng(CaptureReader::State& s, ReaderCounters& counters) {
  Record none;
  std::string why;
  if (!s.ensure(12)) return std::string("truncated section header");
  // The first block is the Section Header; then interfaces (and anything else) up to the first packet.
  for (;;) {
    switch (pcapng_step(s, counters, none, true, why)) {
      case Step::packet_ahead:
      case Step::end:
        return std::nullopt;
      case Step::error:
        return why;
      case Step::record:
      case Step::skipped:
        break;
    }
    if (s.section == 0) return std::string("no section header");
  }
}

CaptureReader::Next CaptureReader::next_pcapng(Record& out) noexcept {
  std::string why;
  for (;;) {
    switch (pcapng_step(*state_, counters_, out, false, why)) {
      case Step::record:
        if (!selected(out)) continue;
        out.index = records_++;
        return Next::record;
      case Step::skipped:
      case Step::packet_ahead:
        continue;
      case Step::end:
        done_ = true;
        return Next::end;
      case Step::error:
        return fail(std::move(why));
    }
  }
}

}  // namespace synack::capture
