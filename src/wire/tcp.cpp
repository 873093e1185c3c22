#include "synack/wire/tcp.hpp"

#include "send_header_write.hpp"
#include "tcp_options_common.hpp"

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
  // The fixed fields first: their default stores are then dead on every path and dropped.
  h.src_port = view.src_port();
  h.dst_port = view.dst_port();
  h.seq = view.seq();
  h.ack = view.ack();
  h.flags = view.flags();
  h.window = view.window();
  h.urgent_pointer = view.urgent_pointer();
  h.checksum = view.checksum();
  // parse_tcp_options_into() with its fast path in line (a call for every received segment otherwise).
  if (const Bytes options = view.option_bytes(); !detail::parse_common_layout(options, h.options))
      [[unlikely]] {
    if (auto error = detail::parse_tcp_options_general_into(options, h.options))
      result = std::unexpected(*error);
  }
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

namespace detail {

void write_fast_open(const FastOpenCookie& cookie, std::size_t padded_size, std::byte* p) noexcept {
  // RFC 7413 §4.1.1 (or the experimental kind 254 with magic 0xF989), NOPs in front to fill the word.
  const Bytes bytes = cookie.cookie();
  const std::size_t raw = (cookie.experimental() ? 4U : 2U) + bytes.size();
  for (std::size_t i = raw; i < padded_size; ++i) *p++ = std::byte{option_kind::kNop};
  *p++ = std::byte{cookie.experimental() ? option_kind::kExperimental : option_kind::kFastOpen};
  *p++ = static_cast<std::byte>(raw);
  if (cookie.experimental()) {
    *p++ = std::byte{kFastOpenExperimentalMagic >> 8U};
    *p++ = std::byte{kFastOpenExperimentalMagic & 0xFFU};
  }
  for (const std::byte b : bytes) *p++ = b;
}

}  // namespace detail

std::expected<std::size_t, Error> SendHeader::emit(MutableBytes out) const noexcept {
  const std::size_t options = options_size();
  if (options > kMaxOptionBytes) return std::unexpected(Error::options_too_long);
  const std::size_t size = TcpView::kMinHeaderSize + options;
  if (out.size() < size) return std::unexpected(Error::buffer_too_small);
  detail::write_send_header(*this, size, out.data());
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
  if (has_wscale) h.options.wscale = wscale;
  h.options.sack_permitted = sack_permitted;
  if (has_timestamps) h.options.timestamps = timestamps;
  for (std::size_t i = 0; i < sack_count && i < sack.size(); ++i) (void)h.options.sack.push_back(sack[i]);
  if (fast_open != nullptr) h.options.fast_open = *fast_open;
  return h;
}

}  // namespace synack::wire
