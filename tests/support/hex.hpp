// Test helpers: hex strings to bytes and back.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace synack::test {

/// "45 00 0a" or "45000a" → bytes. Whitespace is ignored; anything else that is not hex is a test bug.
inline std::vector<std::byte> from_hex(std::string_view hex) {
  std::vector<std::byte> out;
  int nibble = -1;
  for (char c : hex) {
    int v = -1;
    if (c >= '0' && c <= '9') v = c - '0';
    if (c >= 'a' && c <= 'f') v = c - 'a' + 10;
    if (c >= 'A' && c <= 'F') v = c - 'A' + 10;
    if (v < 0) continue;
    if (nibble < 0) {
      nibble = v;
    } else {
      out.push_back(static_cast<std::byte>((nibble << 4) | v));
      nibble = -1;
    }
  }
  return out;
}

inline std::string to_hex(std::span<const std::byte> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s;
  for (std::byte b : bytes) {
    s.push_back(kDigits[static_cast<unsigned>(b) >> 4U]);
    s.push_back(kDigits[static_cast<unsigned>(b) & 0xFU]);
  }
  return s;
}

}  // namespace synack::test
