#include "synack/wire/tcp.hpp"

#include <bit>
#include <cstring>

namespace synack::wire {

std::string TcpFlags::to_string() const {
  static constexpr struct {
    std::uint16_t flag;
    char letter;
  } kLetters[] = {{kFin, 'F'}, {kSyn, 'S'}, {kRst, 'R'}, {kPsh, 'P'}, {kAck, 'A'},
                  {kUrg, 'U'}, {kEce, 'E'}, {kCwr, 'C'}, {kAe, 'N'}};
  std::string s;
  for (const auto& l : kLetters) {
    if (has(l.flag)) s.push_back(l.letter);
  }
  return s;
}

std::expected<TcpView, Error> TcpView::parse(Bytes segment) noexcept {
  if (segment.size() < kMinHeaderSize) return std::unexpected(Error::tcp_truncated);
  const std::size_t offset = static_cast<std::size_t>(load_u8(segment, 12) >> 4U) * 4U;
  if (offset < kMinHeaderSize) return std::unexpected(Error::tcp_bad_data_offset);
  if (offset > segment.size()) return std::unexpected(Error::tcp_data_offset_past_end);
  return TcpView(segment);
}

std::expected<TcpHeader, Error> TcpHeader::parse(const TcpView& view) noexcept {
  // Built in place and returned by name from a single return (so the copy is elided): the options (a
  // few hundred bytes) are parsed straight into the result, never copied.
  std::expected<TcpHeader, Error> result(std::in_place);
  TcpHeader& h = *result;
  if (auto error = parse_tcp_options_into(view.option_bytes(), h.options)) {
    result = std::unexpected(*error);
    return result;
  }
  h.src_port = view.src_port();
  h.dst_port = view.dst_port();
  h.seq = view.seq();
  h.ack = view.ack();
  h.flags = view.flags();
  h.window = view.window();
  h.urgent_pointer = view.urgent_pointer();
  h.checksum = view.checksum();
  return result;
}

std::expected<std::size_t, Error> TcpHeader::emit(MutableBytes out) const noexcept {
  if (out.size() < TcpView::kMinHeaderSize) {
    if (options.encoded_size() > kMaxOptionBytes) return std::unexpected(Error::options_too_long);
    return std::unexpected(Error::buffer_too_small);
  }
  // The options first: emit_tcp_options() sizes them once and refuses (writing nothing) when they are
  // too long or do not fit after the fixed header.
  std::size_t options_size = 0;
  if (!options.empty()) {
    auto written = emit_tcp_options(options, out.subspan(TcpView::kMinHeaderSize));
    if (!written) return std::unexpected(written.error());
    options_size = *written;
  }
  const std::size_t size = TcpView::kMinHeaderSize + options_size;
  store_be16(out, 0, src_port);
  store_be16(out, 2, dst_port);
  store_be32(out, 4, seq.raw());
  store_be32(out, 8, ack.raw());
  // Data offset in the top nibble; reserved bits zero (RFC 9293 §3.1); the 9 flag bits below.
  store_be16(out, 12, static_cast<std::uint16_t>(((size / 4U) << 12U) | flags.bits()));
  store_be16(out, 14, window);
  store_be16(out, 16, 0);
  store_be16(out, 18, urgent_pointer);
  return size;
}

namespace {

// Four option bytes as one big-endian word at `p` (Linux's tcp_options_write builds each word the same way).
void put_word(std::byte* p, std::uint32_t v) noexcept {
  if constexpr (std::endian::native == std::endian::little) v = std::byteswap(v);
  std::memcpy(p, &v, sizeof v);
}

constexpr std::uint32_t word(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d) noexcept {
  return (std::uint32_t{a} << 24U) | (std::uint32_t{b} << 16U) | (std::uint32_t{c} << 8U) | d;
}

}  // namespace

std::expected<std::size_t, Error> SendHeader::emit(MutableBytes out) const noexcept {
  const std::size_t options = options_size();
  if (options > kMaxOptionBytes) return std::unexpected(Error::options_too_long);
  const std::size_t size = TcpView::kMinHeaderSize + options;
  if (out.size() < size) return std::unexpected(Error::buffer_too_small);
  store_be16(out, 0, src_port);
  store_be16(out, 2, dst_port);
  store_be32(out, 4, seq.raw());
  store_be32(out, 8, ack.raw());
  // Data offset in the top nibble; reserved bits zero (RFC 9293 §3.1); the 9 flag bits below.
  store_be16(out, 12, static_cast<std::uint16_t>(((size / 4U) << 12U) | flags.bits()));
  store_be16(out, 14, window);
  store_be32(out, 16, 0);  // checksum (filled in by the packet emitter) and urgent pointer
  // Linux's layout, word by word (the same as emit_tcp_options): MSS; SACK-permitted folded into the
  // timestamps word, or NOP NOP before whichever one is present; NOP + window scale; NOP NOP + SACK.
  std::byte* p = out.data() + TcpView::kMinHeaderSize;
  if (has_mss) {
    put_word(p, word(option_kind::kMss, 4, 0, 0) | mss);
    p += 4;
  }
  if (has_timestamps) {
    put_word(p, sack_permitted ? word(option_kind::kSackPermitted, 2, option_kind::kTimestamps, 10)
                               : word(option_kind::kNop, option_kind::kNop, option_kind::kTimestamps, 10));
    put_word(p + 4, timestamps.value);
    put_word(p + 8, timestamps.echo);
    p += 12;
  } else if (sack_permitted) {
    put_word(p, word(option_kind::kNop, option_kind::kNop, option_kind::kSackPermitted, 2));
    p += 4;
  }
  if (wscale != kNoWindowScale) {
    put_word(p, word(option_kind::kNop, option_kind::kWindowScale, 3, wscale));
    p += 4;
  }
  if (sack_count != 0) {
    put_word(p, word(option_kind::kNop, option_kind::kNop, option_kind::kSack,
                     static_cast<std::uint8_t>(2U + 8U * sack_count)));
    p += 4;
    for (std::size_t i = 0; i < sack_count; ++i) {
      put_word(p, sack[i].left.raw());
      put_word(p + 4, sack[i].right.raw());
      p += 8;
    }
  }
  if (fast_open != nullptr) [[unlikely]] {
    // RFC 7413 §4.1.1 (or the experimental kind 254 with magic 0xF989), NOPs in front to fill the word.
    const Bytes cookie = fast_open->cookie();
    const std::size_t raw = (fast_open->experimental() ? 4U : 2U) + cookie.size();
    for (std::size_t i = raw; i < fast_open_size(); ++i) *p++ = std::byte{option_kind::kNop};
    *p++ = std::byte{fast_open->experimental() ? option_kind::kExperimental : option_kind::kFastOpen};
    *p++ = static_cast<std::byte>(raw);
    if (fast_open->experimental()) {
      *p++ = std::byte{kFastOpenExperimentalMagic >> 8U};
      *p++ = std::byte{kFastOpenExperimentalMagic & 0xFFU};
    }
    for (const std::byte b : cookie) *p++ = b;
  }
  return size;
}

TcpHeader SendHeader::to_header() const noexcept {
  TcpHeader h;
  h.src_port = src_port;
  h.dst_port = dst_port;
  h.seq = seq;
  h.ack = ack;
  h.flags = flags;
  h.window = window;
  if (has_mss) h.options.mss = mss;
  if (wscale != kNoWindowScale) h.options.wscale = wscale;
  h.options.sack_permitted = sack_permitted;
  if (has_timestamps) h.options.timestamps = timestamps;
  for (std::size_t i = 0; i < sack_count && i < sack.size(); ++i) (void)h.options.sack.push_back(sack[i]);
  if (fast_open != nullptr) h.options.fast_open = *fast_open;
  return h;
}

}  // namespace synack::wire
