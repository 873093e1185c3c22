#include "synack/wire/tcp.hpp"

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

}  // namespace synack::wire
