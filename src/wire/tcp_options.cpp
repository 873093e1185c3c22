#include "synack/wire/tcp_options.hpp"

#include <algorithm>

namespace synack::wire {

bool SackBlocks::push_back(SackBlock block) noexcept {
  if (count_ == kCapacity) return false;
  blocks_[count_++] = block;
  return true;
}

std::optional<FastOpenCookie> FastOpenCookie::make(Bytes cookie, bool experimental) noexcept {
  // RFC 7413 §4.1.1: a cookie is 4 to 16 bytes; an empty one requests a cookie.
  if (!cookie.empty() && (cookie.size() < kMinSize || cookie.size() > kMaxSize)) return std::nullopt;
  FastOpenCookie c;
  std::copy(cookie.begin(), cookie.end(), c.bytes_.begin());
  c.size_ = static_cast<std::uint8_t>(cookie.size());
  c.experimental_ = experimental;
  return c;
}

UnknownOptions::Option UnknownOptions::operator[](std::size_t i) const noexcept {
  const Entry& e = entries_[i];
  return {e.kind, Bytes(data_).subspan(e.offset, e.length)};
}

bool UnknownOptions::push_back(std::uint8_t kind, Bytes data) noexcept {
  if (count_ == kMaxOptions || used_ + data.size() > data_.size()) return false;
  entries_[count_] = {kind, used_, static_cast<std::uint8_t>(data.size())};
  std::copy(data.begin(), data.end(), data_.begin() + used_);
  used_ = static_cast<std::uint8_t>(used_ + data.size());
  ++count_;
  return true;
}

std::size_t UnknownOptions::encoded_size() const noexcept {
  std::size_t n = 0;
  for (std::size_t i = 0; i < count_; ++i) n += 2U + entries_[i].length;
  return n;
}

std::expected<TcpOptions, Error> parse_tcp_options(Bytes bytes) noexcept {
  TcpOptions options;
  std::size_t i = 0;
  while (i < bytes.size()) {
    const std::uint8_t kind = load_u8(bytes, i);
    if (kind == option_kind::kEnd) break;  // RFC 9293 §3.2: the rest is padding
    if (kind == option_kind::kNop) {
      ++i;
      continue;
    }
    if (i + 1 >= bytes.size()) return std::unexpected(Error::option_truncated);
    const std::size_t length = load_u8(bytes, i + 1);
    // RFC 9293 §3.2 (MUST-68 / RFC 1122 4.2.2.5): a length that cannot be right ends parsing.
    if (length < 2 || i + length > bytes.size()) return std::unexpected(Error::option_bad_length);
    const Bytes body = bytes.subspan(i + 2, length - 2);
    switch (kind) {
      case option_kind::kMss:
        if (length != 4) return std::unexpected(Error::option_wrong_length);
        options.mss = load_be16(body, 0);
        break;
      case option_kind::kWindowScale:
        if (length != 3) return std::unexpected(Error::option_wrong_length);
        options.wscale = load_u8(body, 0);  // kept as sent; window_shift() clamps (RFC 7323 §2.3)
        break;
      case option_kind::kSackPermitted:
        if (length != 2) return std::unexpected(Error::option_wrong_length);
        options.sack_permitted = true;
        break;
      case option_kind::kSack: {
        // RFC 2018 §3: 8n + 2 bytes, n blocks of (left, right).
        const std::size_t n = (length - 2) / 8;
        if ((length - 2) % 8 != 0 || n == 0 || n > SackBlocks::kCapacity) {
          return std::unexpected(Error::option_wrong_length);
        }
        options.sack.clear();
        for (std::size_t b = 0; b < n; ++b) {
          options.sack.push_back({SeqNum(load_be32(body, b * 8)), SeqNum(load_be32(body, b * 8 + 4))});
        }
        break;
      }
      case option_kind::kTimestamps:
        if (length != 10) return std::unexpected(Error::option_wrong_length);
        options.timestamps = Timestamps{load_be32(body, 0), load_be32(body, 4)};
        break;
      case option_kind::kFastOpen: {
        auto cookie = FastOpenCookie::make(body);
        if (!cookie) return std::unexpected(Error::option_wrong_length);
        options.fast_open = *cookie;
        break;
      }
      case option_kind::kExperimental:
        if (body.size() >= 2 && load_be16(body, 0) == kFastOpenExperimentalMagic) {
          auto cookie = FastOpenCookie::make(body.subspan(2), true);
          if (!cookie) return std::unexpected(Error::option_wrong_length);
          options.fast_open = *cookie;
          break;
        }
        [[fallthrough]];
      default:
        if (!options.unknown.push_back(kind, body)) return std::unexpected(Error::option_bad_length);
        break;
    }
    i += length;
  }
  return options;
}

namespace {

// Writes into a fixed 64-byte scratch area, so a layout that overflows 40 bytes can be measured first.
class OptionWriter {
 public:
  void u8(std::uint8_t v) noexcept { buf_[n_++] = static_cast<std::byte>(v); }
  void be16(std::uint16_t v) noexcept {
    u8(static_cast<std::uint8_t>(v >> 8U));
    u8(static_cast<std::uint8_t>(v & 0xFFU));
  }
  void be32(std::uint32_t v) noexcept {
    be16(static_cast<std::uint16_t>(v >> 16U));
    be16(static_cast<std::uint16_t>(v & 0xFFFFU));
  }
  void bytes(Bytes b) noexcept {
    for (std::byte x : b) buf_[n_++] = x;
  }
  void pad_to_word(std::uint8_t filler) noexcept {
    while (n_ % 4 != 0) u8(filler);
  }
  [[nodiscard]] std::size_t size() const noexcept { return n_; }
  [[nodiscard]] Bytes data() const noexcept { return Bytes(buf_).first(n_); }

 private:
  // Largest layout: 4 + 12 + 4 + 4 + 36 + 20 + 40 (bounded by UnknownOptions' 40 data bytes + headers).
  std::array<std::byte, 160> buf_{};
  std::size_t n_ = 0;
};

void write_fast_open(OptionWriter& w, const FastOpenCookie& foc) noexcept {
  const Bytes cookie = foc.cookie();
  if (foc.experimental()) {
    w.u8(option_kind::kExperimental);
    w.u8(static_cast<std::uint8_t>(4 + cookie.size()));
    w.be16(kFastOpenExperimentalMagic);
  } else {
    w.u8(option_kind::kFastOpen);
    w.u8(static_cast<std::uint8_t>(2 + cookie.size()));
  }
  w.bytes(cookie);
}

void write_unknown(OptionWriter& w, const UnknownOptions& unknown) noexcept {
  for (std::size_t i = 0; i < unknown.size(); ++i) {
    const auto opt = unknown[i];
    w.u8(opt.kind);
    w.u8(static_cast<std::uint8_t>(2 + opt.data.size()));
    w.bytes(opt.data);
  }
}

// Linux's tcp_options_write(): MSS; SACK-permitted folded into the timestamps word, or NOP NOP before
// whichever one is present; NOP + window scale; NOP NOP + SACK blocks; Fast Open padded with NOPs.
void write_linux_layout(OptionWriter& w, const TcpOptions& o) noexcept {
  if (o.mss) {
    w.u8(option_kind::kMss);
    w.u8(4);
    w.be16(*o.mss);
  }
  bool sack_perm_pending = o.sack_permitted;
  if (o.timestamps) {
    if (sack_perm_pending) {
      w.u8(option_kind::kSackPermitted);
      w.u8(2);
      sack_perm_pending = false;
    } else {
      w.u8(option_kind::kNop);
      w.u8(option_kind::kNop);
    }
    w.u8(option_kind::kTimestamps);
    w.u8(10);
    w.be32(o.timestamps->value);
    w.be32(o.timestamps->echo);
  }
  if (sack_perm_pending) {
    w.u8(option_kind::kNop);
    w.u8(option_kind::kNop);
    w.u8(option_kind::kSackPermitted);
    w.u8(2);
  }
  if (o.wscale) {
    w.u8(option_kind::kNop);
    w.u8(option_kind::kWindowScale);
    w.u8(3);
    w.u8(*o.wscale);
  }
  if (!o.sack.empty()) {
    w.u8(option_kind::kNop);
    w.u8(option_kind::kNop);
    w.u8(option_kind::kSack);
    w.u8(static_cast<std::uint8_t>(2 + 8 * o.sack.size()));
    for (const SackBlock& b : o.sack.blocks()) {
      w.be32(b.left.raw());
      w.be32(b.right.raw());
    }
  }
  if (o.fast_open) {
    write_fast_open(w, *o.fast_open);
    w.pad_to_word(option_kind::kNop);
  }
  write_unknown(w, o.unknown);
  w.pad_to_word(option_kind::kEnd);
}

// Every option back to back, EOL padding at the end only: the smallest encoding.
void write_packed_layout(OptionWriter& w, const TcpOptions& o) noexcept {
  if (o.mss) {
    w.u8(option_kind::kMss);
    w.u8(4);
    w.be16(*o.mss);
  }
  if (o.sack_permitted) {
    w.u8(option_kind::kSackPermitted);
    w.u8(2);
  }
  if (o.timestamps) {
    w.u8(option_kind::kTimestamps);
    w.u8(10);
    w.be32(o.timestamps->value);
    w.be32(o.timestamps->echo);
  }
  if (o.wscale) {
    w.u8(option_kind::kWindowScale);
    w.u8(3);
    w.u8(*o.wscale);
  }
  if (!o.sack.empty()) {
    w.u8(option_kind::kSack);
    w.u8(static_cast<std::uint8_t>(2 + 8 * o.sack.size()));
    for (const SackBlock& b : o.sack.blocks()) {
      w.be32(b.left.raw());
      w.be32(b.right.raw());
    }
  }
  if (o.fast_open) write_fast_open(w, *o.fast_open);
  write_unknown(w, o.unknown);
  w.pad_to_word(option_kind::kEnd);
}

OptionWriter layout(const TcpOptions& options) noexcept {
  OptionWriter w;
  write_linux_layout(w, options);
  if (w.size() <= kMaxOptionBytes) return w;
  OptionWriter packed;
  write_packed_layout(packed, options);
  return packed;
}

}  // namespace

std::size_t TcpOptions::encoded_size() const noexcept {
  // Arithmetic mirror of layout(): emit() and this agree (a unit test holds them to it).
  if (empty()) return 0;
  const auto round_up = [](std::size_t n) { return (n + 3U) & ~std::size_t{3}; };
  const std::size_t fast_open_size =
      fast_open ? (fast_open->experimental() ? 4U : 2U) + fast_open->cookie().size() : 0U;
  const std::size_t sack_size = sack.empty() ? 0U : 2U + 8U * sack.size();
  std::size_t linux_size = (mss ? 4U : 0U) + (timestamps ? 12U : (sack_permitted ? 4U : 0U)) +
                           (wscale ? 4U : 0U) + (sack.empty() ? 0U : 2U + sack_size) +
                           round_up(fast_open_size) + unknown.encoded_size();
  linux_size = round_up(linux_size);
  if (linux_size <= kMaxOptionBytes) return linux_size;
  return round_up((mss ? 4U : 0U) + (sack_permitted ? 2U : 0U) + (timestamps ? 10U : 0U) +
                  (wscale ? 3U : 0U) + sack_size + fast_open_size + unknown.encoded_size());
}

std::expected<std::size_t, Error> emit_tcp_options(const TcpOptions& options, MutableBytes out) noexcept {
  if (options.empty()) return 0;
  const OptionWriter w = layout(options);
  if (w.size() > kMaxOptionBytes) return std::unexpected(Error::options_too_long);
  if (w.size() > out.size()) return std::unexpected(Error::buffer_too_small);
  std::copy(w.data().begin(), w.data().end(), out.begin());
  return w.size();
}

}  // namespace synack::wire
