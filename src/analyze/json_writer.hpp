// Writing the per-connection objects of `--json` straight into a character buffer, in nlohmann's dump(2)
// layout: a capture has as many of them as it has connections, and building them as nlohmann trees (or
// appending key by key to a std::string) cost more than analysing the packets. The caller makes room first
// (JsonText::room()); every write then is a copy of a literal or a number's digits, no allocation.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

#include <fmt/compile.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace synack::analyze::detail {

/// A write position in a buffer the caller sized (JsonText::room()).
class JsonCursor {
 public:
  explicit JsonCursor(char* at) noexcept : p_(at) {}
  [[nodiscard]] char* position() const noexcept { return p_; }

  /// A literal: keys with their separators and indentation, punctuation.
  template <std::size_t N>
  JsonCursor& lit(const char (&text)[N]) noexcept {
    std::memcpy(p_, text, N - 1);
    p_ += N - 1;
    return *this;
  }
  JsonCursor& raw(std::string_view text) noexcept {
    std::memcpy(p_, text.data(), text.size());
    p_ += text.size();
    return *this;
  }
  JsonCursor& boolean(bool v) noexcept {
    if (v) return lit("true");
    return lit("false");
  }
  JsonCursor& null() noexcept { return lit("null"); }
  template <typename T>
  JsonCursor& integer(T v) noexcept {
    // Most counts (ECN marks, retransmissions) are 0: one character. A negative wraps past 10.
    if (static_cast<std::uint64_t>(v) < 10) {
      *p_++ = static_cast<char>('0' + static_cast<int>(v));
      return *this;
    }
    const fmt::format_int text(v);
    return raw(std::string_view(text.data(), text.size()));
  }
  template <typename T>
  JsonCursor& optional_integer(const std::optional<T>& v) noexcept {
    if (v) return integer(*v);
    return null();
  }
  template <typename T>
  JsonCursor& optional_boolean(const std::optional<T>& v) noexcept {
    if (v) return boolean(*v);
    return null();
  }
  /// A string, escaped as nlohmann escapes it (at most 6 bytes a character: room() counts that).
  JsonCursor& string(std::string_view v) {
    if (needs_escape(v)) return raw(nlohmann::json(std::string(v)).dump());
    *p_++ = '"';
    raw(v);
    *p_++ = '"';
    return *this;
  }
  /// A double as nlohmann writes it: the shortest text that reads back as v, ".0" after an integer.
  JsonCursor& number(double v) {
    if (!std::isfinite(v)) return null();
    // Straight to the pointer (room() made room; the longest double is 24 characters): format_to_n's
    // truncating iterator cost more than the shortest-digits search itself.
    char* const end = fmt::format_to(p_, FMT_COMPILE("{}"), v);
    const std::string_view written(p_, static_cast<std::size_t>(end - p_));
    p_ = end;
    if (written.find_first_of(".eE") == std::string_view::npos) lit(".0");
    return *this;
  }
  /// Milliseconds rounded to the microsecond (round_ms()), as number(round_ms(ms)) writes them.
  JsonCursor& milliseconds(double ms) {
    const double micros = std::round(ms * 1000.0);
    // k / 1000 for a whole k below 10^15 has at most 15 significant digits, so the shortest text that reads
    // back as the double nearest to it is that decimal itself: written from k's digits, without the float
    // formatter. Anything else (negative, -0, huge, not a number) goes the general way.
    if (std::signbit(micros) || std::isnan(micros) || micros >= 1e15) return number(micros / 1000.0);
    const auto k = static_cast<std::uint64_t>(micros);
    integer(k / 1000U);
    *p_++ = '.';
    const auto fraction = static_cast<unsigned>(k % 1000U);
    if (fraction == 0) {
      *p_++ = '0';
      return *this;
    }
    const char digits[3] = {static_cast<char>('0' + fraction / 100U),
                            static_cast<char>('0' + fraction / 10U % 10U),
                            static_cast<char>('0' + fraction % 10U)};
    std::size_t n = 3;
    while (n > 1 && digits[n - 1] == '0') --n;  // fraction != 0: a digit stays
    std::memcpy(p_, digits, n);
    p_ += n;
    return *this;
  }
  JsonCursor& optional_milliseconds(const std::optional<double>& ms) {
    if (ms) return milliseconds(*ms);
    return null();
  }

  /// Bytes a string may take once escaped and quoted.
  [[nodiscard]] static std::size_t string_room(std::string_view v) noexcept { return v.size() * 6 + 2; }

 private:
  static bool needs_escape(std::string_view v) noexcept {
    // Eight bytes at a time: (w - 0x01..01 * n) & ~w & 0x80..80 is non-zero exactly when some byte of w is
    // below n (n <= 0x80), and a byte equal to c is a zero byte of w ^ (0x01..01 * c).
    constexpr std::uint64_t kOnes = 0x0101010101010101ULL;
    constexpr std::uint64_t kHighs = 0x8080808080808080ULL;
    const auto below = [](std::uint64_t w, std::uint64_t n) { return (w - kOnes * n) & ~w & kHighs; };
    std::size_t i = 0;
    for (; i + 8 <= v.size(); i += 8) {
      std::uint64_t w = 0;
      std::memcpy(&w, v.data() + i, sizeof w);
      if ((below(w, 0x20) | below(w ^ (kOnes * '"'), 1) | below(w ^ (kOnes * '\\'), 1)) != 0) return true;
    }
    for (; i < v.size(); ++i) {
      const char c = v[i];
      if (c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20) return true;
    }
    return false;
  }
  char* p_;
};

/// The output buffer: pieces are written into it in place and handed to the sink a large block at a time.
class JsonText {
 public:
  static constexpr std::size_t kBlock = std::size_t{1} << 18U;

  /// A cursor with room for `bytes` more.
  JsonCursor room(std::size_t bytes) {
    if (buffer_.size() < used_ + bytes) buffer_.resize(std::max(used_ + bytes, kBlock + kBlock / 2));
    return JsonCursor(buffer_.data() + used_);
  }
  void commit(const JsonCursor& cursor) noexcept {
    used_ = static_cast<std::size_t>(cursor.position() - buffer_.data());
  }
  void append(std::string_view text) {
    auto cursor = room(text.size());
    cursor.raw(text);
    commit(cursor);
  }
  [[nodiscard]] bool full() const noexcept { return used_ >= kBlock; }
  /// The text written since the last take(); the buffer is empty afterwards.
  [[nodiscard]] std::string_view take() noexcept {
    const std::string_view text(buffer_.data(), used_);
    used_ = 0;
    return text;
  }

 private:
  std::string buffer_;
  std::size_t used_ = 0;
};

}  // namespace synack::analyze::detail
