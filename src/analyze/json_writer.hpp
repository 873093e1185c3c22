// A minimal streaming JSON writer with nlohmann's dump(2) layout, for the per-connection objects of
// `--json` on large captures (building an nlohmann tree per connection costs more than the analysis).
#pragma once

#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

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
    separate();
    out_ += '"';
    out_ += name;  // keys are our own identifiers: no escaping needed
    out_ += "\": ";
    pending_key_ = true;
    return *this;
  }

  void null() { scalar("null"); }
  void boolean(bool v) { scalar(v ? "true" : "false"); }
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
    fmt::format_to(std::back_inserter(out_), "{}", v);
  }
  void number(double v) {
    value_prefix();
    if (!std::isfinite(v)) {
      out_ += "null";
      return;
    }
    const auto start = out_.size();
    fmt::format_to(std::back_inserter(out_), "{}", v);
    if (out_.find_first_of(".eE", start) == std::string::npos) out_ += ".0";
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
    out_ += '\n';
    out_.append(indent_, ' ');
  }
  // Before a value: a comma and newline inside arrays, nothing after a key.
  void value_prefix() {
    if (pending_key_) {
      pending_key_ = false;
      return;
    }
    if (!first_.empty()) separate();
  }
  void separate() {
    if (first_.empty()) return;
    if (!first_.back()) out_ += ',';
    first_.back() = false;
    newline();
  }
  void scalar(std::string_view text) {
    value_prefix();
    out_ += text;
  }
  void open(char bracket) {
    value_prefix();
    out_ += bracket;
    first_.push_back(true);
    indent_ += 2;
  }
  void close(char bracket) {
    indent_ -= 2;
    const bool empty = first_.back();
    first_.pop_back();
    if (!empty) newline();
    out_ += bracket;
  }

  std::string& out_;
  std::size_t indent_;
  std::vector<bool> first_;  // per open container: no member written yet
  bool pending_key_ = false;
};

}  // namespace synack::analyze::detail
