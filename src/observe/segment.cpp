// A TCP segment with its options decoded on demand (synack/observe/segment.hpp).
#include "synack/observe/segment.hpp"

#include <cstddef>

namespace synack::observe {

Segment Segment::from(const wire::TcpHeader& header, std::uint32_t payload_length) noexcept {
  Segment s;
  s.seq = header.seq.raw();
  s.ack = header.ack.raw();
  s.flags = header.flags;
  s.window = header.window;
  s.payload_length = payload_length;
  s.parsed_from_ = &header.options;
  return s;
}

void Segment::parse_options() const noexcept {
  parsed_.emplace();
  if (options_cut) return;
  if (wire::parse_tcp_options_into(option_bytes, *parsed_)) {
    parsed_.emplace();  // malformed: nothing is known (a partial parse is not kept)
    malformed_ = true;
  }
}

bool Segment::timestamps_or_unknown() const noexcept {
  if (parsed_from_ != nullptr || parsed_ || options_cut) {
    return options_unknown() || options().timestamps.has_value();
  }
  // Walk the kinds to the first Timestamps option (RFC 7323 §3: kind 8, length 10): most segments after a
  // handshake carry one early. Whatever follows it, the answer is then true (a malformed option after it
  // makes the options unknown, also true). Anything else takes the full parse.
  const wire::Bytes b = option_bytes;
  std::size_t i = 0;
  while (i < b.size()) {
    const auto kind = static_cast<std::uint8_t>(b[i]);
    if (kind == wire::option_kind::kEnd) break;
    if (kind == wire::option_kind::kNop) {
      ++i;
      continue;
    }
    if (i + 1 >= b.size()) break;
    const auto length = static_cast<std::size_t>(b[i + 1]);
    if (length < 2 || i + length > b.size()) break;
    if (kind == wire::option_kind::kTimestamps && length == 10) return true;
    i += length;
  }
  return options_unknown() || options().timestamps.has_value();
}

}  // namespace synack::observe
