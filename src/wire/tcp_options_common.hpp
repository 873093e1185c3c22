// Internal to wire/: the fast path of the TCP option parser, in line for its two callers
// (parse_tcp_options_into in tcp_options.cpp, and TcpHeader::parse in tcp.cpp, which runs for every
// received segment and paid a call for it).
#pragma once

#include <cstdint>

#include "synack/wire/bytes.hpp"
#include "synack/wire/tcp_options.hpp"

namespace synack::wire::detail {

/// The layouts nearly every segment carries, recognised by their fixed bytes (the kinds, lengths and
/// NOPs, compared a 32-bit word at a time) and read without the general loop; false for anything else,
/// including any variation of these, which goes to the general parser (the reference: tests compare
/// the two on random and mutated inputs). `options` must be freshly constructed (empty).
///   12 bytes  NOP NOP TS(10)                         every segment once timestamps are on
///   20 bytes  MSS(4) SACK-perm(2) TS(10) NOP WS(3)   Linux's SYN and SYN-ACK (and ours)
///   20 bytes  MSS(4) NOP NOP TS(10) NOP WS(3)        the same without SACK
///    4 bytes  MSS(4)                                 a plain SYN
[[nodiscard, gnu::always_inline]] inline bool parse_common_layout(Bytes bytes, TcpOptions& options) noexcept {
  constexpr std::uint32_t kMssKindLength = 0x0204U;  // MSS, length 4 (the top half of its word)
  constexpr std::uint32_t kNopNopTimestamps = 0x0101080AU;
  constexpr std::uint32_t kSackPermittedTimestamps = 0x0402080AU;
  constexpr std::uint32_t kNopWindowScale = 0x010303U;  // NOP, window scale, length 3 (the top 3 bytes)
  switch (bytes.size()) {
    case 0:
      return true;
    case 4: {
      const std::uint32_t mss = load_be32(bytes, 0);
      if ((mss >> 16U) != kMssKindLength) return false;
      options.mss = static_cast<std::uint16_t>(mss);
      return true;
    }
    case 12:
      if (load_be32(bytes, 0) != kNopNopTimestamps) return false;
      options.timestamps = Timestamps{load_be32(bytes, 4), load_be32(bytes, 8)};
      return true;
    case 20: {
      const std::uint32_t mss = load_be32(bytes, 0);
      const std::uint32_t word1 = load_be32(bytes, 4);
      const std::uint32_t wscale = load_be32(bytes, 16);
      if ((mss >> 16U) != kMssKindLength ||
          (word1 != kSackPermittedTimestamps && word1 != kNopNopTimestamps) ||
          (wscale >> 8U) != kNopWindowScale) {
        return false;
      }
      options.mss = static_cast<std::uint16_t>(mss);
      options.sack_permitted = word1 == kSackPermittedTimestamps;
      options.timestamps = Timestamps{load_be32(bytes, 8), load_be32(bytes, 12)};
      options.wscale = static_cast<std::uint8_t>(wscale);
      return true;
    }
    default:
      return false;
  }
}

}  // namespace synack::wire::detail
