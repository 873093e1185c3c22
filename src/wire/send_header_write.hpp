// Internal to wire/: SendHeader's writer without its checks, shared by SendHeader::emit (tcp.cpp) and
// emit_tcp_packet (packet.cpp). The packet emitter has sized and checked everything before it writes
// the header, so it calls this in line instead of SendHeader::emit: the options' size is computed once,
// not twice, and no call (with the emitter's registers saved around it) stands in the middle of every
// segment synack sends.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "synack/wire/bytes.hpp"
#include "synack/wire/tcp.hpp"

namespace synack::wire::detail {

/// Four option bytes as one big-endian word at `p` (Linux's tcp_options_write builds each word the same way).
inline void put_word(std::byte* p, std::uint32_t v) noexcept {
  if constexpr (std::endian::native == std::endian::little) v = std::byteswap(v);
  std::memcpy(p, &v, sizeof v);
}

/// The option word of four bytes `a b c d`.
constexpr std::uint32_t word(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d) noexcept {
  return (std::uint32_t{a} << 24U) | (std::uint32_t{b} << 16U) | (std::uint32_t{c} << 8U) | d;
}

/// Writes the Fast Open option (NOP-padded in front to `padded_size` bytes) at `p` (in tcp.cpp: rare).
void write_fast_open(const FastOpenCookie& cookie, std::size_t padded_size, std::byte* p) noexcept;

/// Writes `h` (`size` = h.encoded_size(), at most 60) at `out`, which has room for it; the checksum
/// field is zero.
[[gnu::always_inline]] inline void write_send_header(const SendHeader& h, std::size_t size,
                                                     std::byte* out) noexcept {
  const MutableBytes fixed(out, TcpView::kMinHeaderSize);
  store_be16(fixed, 0, h.src_port);
  store_be16(fixed, 2, h.dst_port);
  store_be32(fixed, 4, h.seq.raw());
  store_be32(fixed, 8, h.ack.raw());
  // Data offset in the top nibble; reserved bits zero (RFC 9293 §3.1); the 9 flag bits below.
  store_be16(fixed, 12, static_cast<std::uint16_t>(((size / 4U) << 12U) | h.flags.bits()));
  store_be16(fixed, 14, h.window);
  store_be32(fixed, 16, 0);  // checksum (filled in by the packet emitter) and urgent pointer
  // Linux's layout, word by word (the same as emit_tcp_options): MSS; SACK-permitted folded into the
  // timestamps word, or NOP NOP before whichever one is present; NOP + window scale; NOP NOP + SACK.
  std::byte* p = out + TcpView::kMinHeaderSize;
  if (h.has_mss) {
    put_word(p, word(option_kind::kMss, 4, 0, 0) | h.mss);
    p += 4;
  }
  if (h.has_timestamps) {
    put_word(p, h.sack_permitted ? word(option_kind::kSackPermitted, 2, option_kind::kTimestamps, 10)
                                 : word(option_kind::kNop, option_kind::kNop, option_kind::kTimestamps, 10));
    put_word(p + 4, h.timestamps.value);
    put_word(p + 8, h.timestamps.echo);
    p += 12;
  } else if (h.sack_permitted) {
    put_word(p, word(option_kind::kNop, option_kind::kNop, option_kind::kSackPermitted, 2));
    p += 4;
  }
  if (h.has_wscale) {
    put_word(p, word(option_kind::kNop, option_kind::kWindowScale, 3, h.wscale));
    p += 4;
  }
  if (const std::size_t blocks = h.sack_count; blocks != 0) {
    put_word(p, word(option_kind::kNop, option_kind::kNop, option_kind::kSack,
                     static_cast<std::uint8_t>(2U + 8U * blocks)));
    p += 4;
    for (std::size_t i = 0; i < blocks; ++i) {
      put_word(p, h.sack[i].left.raw());
      put_word(p + 4, h.sack[i].right.raw());
      p += 8;
    }
  }
  if (h.fast_open != nullptr) [[unlikely]]
    write_fast_open(*h.fast_open, h.fast_open_size(), p);
}

}  // namespace synack::wire::detail
