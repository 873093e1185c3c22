// A minimal streaming JSON writer with nlohmann's dump(2) layout, for the per-connection objects of
// `--json` on large captures (building an nlohmann tree per connection costs more than the analysis).
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/compile.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace synack::analyze::detail {

class JsonWriter {
 public:
  /// Appends to `out`; `depth` is the indentation (in spaces) of the opening brace's line.
  JsonWriter(std::string& out, std::size_t depth) : out_(out), indent_(depth) {}

  void begin_object() { open('{'); }
  void end_object() { close('}'); }
  void begin_array() { open('['); }
  void end_array() { close(']'); }

  JsonWriter& key(std::string_view name) {
    // The separator, newline, indentation and `"name": ` in one append (keys are our own identifiers: no
    // escaping needed).
    std::array<char, 160> text{};
    std::size_t n = 0;
    if (depth_ != 0) {
      const std::uint64_t bit = std::uint64_t{1} << (depth_ - 1);
      if ((first_ & bit) == 0) text[n++] = ',';
      first_ &= ~bit;
    }
    if (indent_ + name.size() + 8 > text.size()) {  // never for our documents; kept correct anyway
      separate_slow(n > 0);
      n = 0;
    } else if (depth_ != 0) {
      text[n++] = '\n';
      std::fill_n(text.data() + n, indent_, ' ');
      n += indent_;
    }
    text[n++] = '"';
    std::copy(name.begin(), name.end(), text.data() + n);
    n += name.size();
    text[n++] = '"';
    text[n++] = ':';
    text[n++] = ' ';
    out_.append(text.data(), n);
    pending_key_ = true;
    return *this;
  }

  void null() { scalar("null"); }
  void boolean(bool v) { scalar(v ? "true" : "false"); }
  template <typename T>
  void optional_boolean(const std::optional<T>& v) {
    if (v) {
      boolean(*v);
    } else {
      null();
    }
  }
  void string(std::string_view v) {
    value_prefix();
    if (needs_escape(v)) {
      out_ += nlohmann::json(std::string(v)).dump();
    } else {
      out_ += '"';
      out_ += v;
      out_ += '"';
    }
  }
  template <typename T>
  void integer(T v) {
    value_prefix();
    const fmt::format_int text(v);
    out_.append(text.data(), text.size());
  }
  void number(double v) {
    value_prefix();
    if (!std::isfinite(v)) {
      out_ += "null";
      return;
    }
    // The shortest text that reads back as v (as nlohmann writes it), formatted into a stack buffer.
    std::array<char, 32> text{};
    const auto end = fmt::format_to_n(text.data(), text.size(), FMT_COMPILE("{}"), v).out;
    const std::string_view written(text.data(), static_cast<std::size_t>(end - text.data()));
    out_ += written;
    if (written.find_first_of(".eE") == std::string_view::npos) out_ += ".0";
  }
  /// A value built as a tree elsewhere (observe's objects), written in the same layout.
  void value(const nlohmann::ordered_json& v) {
    if (v.is_object()) {
      begin_object();
      for (auto it = v.begin(); it != v.end(); ++it) key(it.key()).value(it.value());
      end_object();
    } else if (v.is_array()) {
      begin_array();
      for (const auto& item : v) value(item);
      end_array();
    } else if (v.is_string()) {
      string(v.get_ref<const std::string&>());
    } else if (v.is_boolean()) {
      boolean(v.get<bool>());
    } else if (v.is_number_unsigned()) {
      integer(v.get<std::uint64_t>());
    } else if (v.is_number_integer()) {
      integer(v.get<std::int64_t>());
    } else if (v.is_number_float()) {
      number(v.get<double>());
    } else {
      null();
    }
  }
  template <typename T>
  void optional_integer(const std::optional<T>& v) {
    if (v) {
      integer(*v);
    } else {
      null();
    }
  }

 private:
  static bool needs_escape(std::string_view v) {
    for (char c : v) {
      if (c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20) return true;
    }
    return false;
  }
  void newline() {
    // One append of a newline and the indentation (documents nest far less than 32 deep).
    static constexpr std::string_view kLine =
        "\n                                                                ";
    if (indent_ < kLine.size()) {
      out_.append(kLine.substr(0, indent_ + 1));
    } else {
      out_ += '\n';
      out_.append(indent_, ' ');
    }
  }
  // Before a value: a comma and newline inside arrays, nothing after a key.
  void value_prefix() {
    if (pending_key_) {
      pending_key_ = false;
      return;
    }
    if (depth_ != 0) separate();
  }
  void separate_slow(bool comma) {
    if (comma) out_ += ',';
    newline();
  }
  void separate() {
    if (depth_ == 0) return;
    const std::uint64_t bit = std::uint64_t{1} << (depth_ - 1);
    if ((first_ & bit) == 0) out_ += ',';
    first_ &= ~bit;
    newline();
  }
  void scalar(std::string_view text) {
    value_prefix();
    out_ += text;
  }
  void open(char bracket) {
    value_prefix();
    out_ += bracket;
    first_ |= std::uint64_t{1} << depth_;  // a JSON document nests far less than 64 deep
    ++depth_;
    indent_ += 2;
  }
  void close(char bracket) {
    indent_ -= 2;
    --depth_;
    const bool empty = (first_ & (std::uint64_t{1} << depth_)) != 0;
    if (!empty) newline();
    out_ += bracket;
  }

  std::string& out_;
  std::size_t indent_;
  std::uint64_t first_ = 0;  // bit d: the open container at depth d has no member written yet
  unsigned depth_ = 0;       // open containers
  bool pending_key_ = false;
};

}  // namespace synack::analyze::detail
