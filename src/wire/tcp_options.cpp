#include "synack/wire/tcp_options.hpp"

#include <algorithm>
#include <bit>
#include <cstring>

#include "tcp_options_common.hpp"

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

bool operator==(const UnknownOptions& a, const UnknownOptions& b) noexcept {
  return a.count_ == b.count_ && a.used_ == b.used_ &&
         std::equal(a.entries_.begin(), a.entries_.begin() + a.count_, b.entries_.begin()) &&
         std::equal(a.data_.begin(), a.data_.begin() + a.used_, b.data_.begin());
}

std::size_t UnknownOptions::encoded_size() const noexcept {
  std::size_t n = 0;
  for (std::size_t i = 0; i < count_; ++i) n += 2U + entries_[i].length;
  return n;
}

namespace detail {

std::expected<TcpOptions, Error> parse_tcp_options_general(Bytes bytes) noexcept {
  TcpOptions options;
  if (auto error = parse_tcp_options_general_into(bytes, options)) return std::unexpected(*error);
  return options;
}

std::optional<Error> parse_tcp_options_general_into(Bytes bytes, TcpOptions& options) noexcept {
  std::size_t i = 0;
  while (i < bytes.size()) {
    const std::uint8_t kind = load_u8(bytes, i);
    if (kind == option_kind::kEnd) break;  // RFC 9293 §3.2: the rest is padding
    if (kind == option_kind::kNop) {
      ++i;
      continue;
    }
    if (i + 1 >= bytes.size()) return Error::option_truncated;
    const std::size_t length = load_u8(bytes, i + 1);
    // RFC 9293 §3.2 (MUST-68 / RFC 1122 4.2.2.5): a length that cannot be right ends parsing.
    if (length < 2 || i + length > bytes.size()) return Error::option_bad_length;
    const Bytes body = bytes.subspan(i + 2, length - 2);
    switch (kind) {
      case option_kind::kMss:
        if (length != 4) return Error::option_wrong_length;
        options.mss = load_be16(body, 0);
        break;
      case option_kind::kWindowScale:
        if (length != 3) return Error::option_wrong_length;
        options.wscale = load_u8(body, 0);  // kept as sent; window_shift() clamps (RFC 7323 §2.3)
        break;
      case option_kind::kSackPermitted:
        if (length != 2) return Error::option_wrong_length;
        options.sack_permitted = true;
        break;
      case option_kind::kSack: {
        // RFC 2018 §3: 8n + 2 bytes, n blocks of (left, right).
        const std::size_t n = (length - 2) / 8;
        if ((length - 2) % 8 != 0 || n == 0 || n > SackBlocks::kCapacity) {
          return Error::option_wrong_length;
        }
        options.sack.clear();
        for (std::size_t b = 0; b < n; ++b) {
          options.sack.push_back({SeqNum(load_be32(body, b * 8)), SeqNum(load_be32(body, b * 8 + 4))});
        }
        break;
      }
      case option_kind::kTimestamps:
        if (length != 10) return Error::option_wrong_length;
        options.timestamps = Timestamps{load_be32(body, 0), load_be32(body, 4)};
        break;
      case option_kind::kFastOpen: {
        auto cookie = FastOpenCookie::make(body);
        if (!cookie) return Error::option_wrong_length;
        options.fast_open = *cookie;
        break;
      }
      case option_kind::kExperimental:
        if (body.size() >= 2 && load_be16(body, 0) == kFastOpenExperimentalMagic) {
          auto cookie = FastOpenCookie::make(body.subspan(2), true);
          if (!cookie) return Error::option_wrong_length;
          options.fast_open = *cookie;
          break;
        }
        [[fallthrough]];
      default:
        if (!options.unknown.push_back(kind, body)) return Error::option_bad_length;
        break;
    }
    i += length;
  }
  return std::nullopt;
}

}  // namespace detail

std::optional<Error> parse_tcp_options_into(Bytes bytes, TcpOptions& options) noexcept {
  if (detail::parse_common_layout(bytes, options)) return std::nullopt;
  return detail::parse_tcp_options_general_into(bytes, options);
}

std::expected<TcpOptions, Error> parse_tcp_options(Bytes bytes) noexcept {
  std::expected<TcpOptions, Error> result(std::in_place);
  if (auto error = parse_tcp_options_into(bytes, *result)) result = std::unexpected(*error);
  return result;  // the only return: the copy is elided
}

namespace {

// Writes straight into the caller's buffer; emit_tcp_options() has checked that the layout's size (known
// beforehand from layout_sizes()) fits.
class OptionWriter {
 public:
  explicit OptionWriter(std::byte* out) noexcept : p_(out) {}
  void u8(std::uint8_t v) noexcept { p_[n_++] = static_cast<std::byte>(v); }
  void be16(std::uint16_t v) noexcept {
    if constexpr (std::endian::native == std::endian::little) v = std::byteswap(v);
    std::memcpy(p_ + n_, &v, sizeof v);
    n_ += sizeof v;
  }
  void be32(std::uint32_t v) noexcept {
    if constexpr (std::endian::native == std::endian::little) v = std::byteswap(v);
    std::memcpy(p_ + n_, &v, sizeof v);
    n_ += sizeof v;
  }
  void bytes(Bytes b) noexcept {
    if (!b.empty()) std::memcpy(p_ + n_, b.data(), b.size());
    n_ += b.size();
  }
  void pad_to_word(std::uint8_t filler) noexcept {
    while (n_ % 4 != 0) u8(filler);
  }
  [[nodiscard]] std::size_t size() const noexcept { return n_; }

 private:
  std::byte* p_;
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

struct LayoutSizes {
  std::size_t linux_size;   // write_linux_layout()
  std::size_t packed_size;  // write_packed_layout()
};

// Arithmetic mirror of the two writers (a unit test holds them to it on every combination).
LayoutSizes layout_sizes(const TcpOptions& o) noexcept {
  const auto round_up = [](std::size_t n) { return (n + 3U) & ~std::size_t{3}; };
  const std::size_t fast_open_size =
      o.fast_open ? (o.fast_open->experimental() ? 4U : 2U) + o.fast_open->cookie().size() : 0U;
  const std::size_t sack_size = o.sack.empty() ? 0U : 2U + 8U * o.sack.size();
  const std::size_t unknown_size = o.unknown.empty() ? 0U : o.unknown.encoded_size();
  const std::size_t linux_size = round_up(
      (o.mss ? 4U : 0U) + (o.timestamps ? 12U : (o.sack_permitted ? 4U : 0U)) + (o.wscale ? 4U : 0U) +
      (o.sack.empty() ? 0U : 2U + sack_size) + round_up(fast_open_size) + unknown_size);
  const std::size_t packed_size =
      round_up((o.mss ? 4U : 0U) + (o.sack_permitted ? 2U : 0U) + (o.timestamps ? 10U : 0U) +
               (o.wscale ? 3U : 0U) + sack_size + fast_open_size + unknown_size);
  return {linux_size, packed_size};
}

}  // namespace

std::size_t TcpOptions::encoded_size() const noexcept {
  if (empty()) return 0;
  const LayoutSizes sizes = layout_sizes(*this);
  return sizes.linux_size <= kMaxOptionBytes ? sizes.linux_size : sizes.packed_size;
}

std::expected<std::size_t, Error> emit_tcp_options(const TcpOptions& options, MutableBytes out) noexcept {
  if (options.empty()) return 0;
  const LayoutSizes sizes = layout_sizes(options);
  const bool linux_layout = sizes.linux_size <= kMaxOptionBytes;
  const std::size_t size = linux_layout ? sizes.linux_size : sizes.packed_size;
  if (size > kMaxOptionBytes) return std::unexpected(Error::options_too_long);
  if (size > out.size()) return std::unexpected(Error::buffer_too_small);
  OptionWriter w(out.data());
  if (linux_layout) {
    write_linux_layout(w, options);
  } else {
    write_packed_layout(w, options);
  }
  return w.size();
}

}  // namespace synack::wire
