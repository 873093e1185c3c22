// The analyzer's number formatting shortcuts against the general formatters they stand in for: the
// milliseconds `--json` writes (JsonCursor::milliseconds vs number(round_ms(x))) and the reason's 3 decimals
// (append_fixed3_ms vs fmt's "{:.3f}").
#include "json_writer.hpp"

#include <chrono>
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "format.hpp"
#include "synack/analyze/report.hpp"

namespace synack::analyze {
namespace {

std::string via_milliseconds(double ms) {
  std::string buffer(64, ' ');
  detail::JsonCursor w(buffer.data());
  w.milliseconds(ms);
  return {buffer.data(), w.position()};
}

std::string via_number(double ms) {
  std::string buffer(64, ' ');
  detail::JsonCursor w(buffer.data());
  w.number(round_ms(ms));
  return {buffer.data(), w.position()};
}

std::vector<std::int64_t> nanosecond_cases() {
  std::vector<std::int64_t> ns = {0,
                                  1,
                                  499,
                                  500,
                                  501,
                                  999,
                                  1000,
                                  1499,
                                  1500,
                                  1501,
                                  2500,
                                  40000,
                                  50000,
                                  123456789,
                                  999999500,
                                  1000000000,
                                  3000000500,
                                  86400000000000,
                                  999999999999999,
                                  -1,
                                  -500,
                                  -1500,
                                  -123456789};
  std::mt19937_64 random(18);
  for (int i = 0; i < 200000; ++i) {
    const int digits = static_cast<int>(random() % 16U);
    auto v = static_cast<std::int64_t>(random() % 1000000000000000ULL);
    for (int d = digits; d < 15; ++d) v /= 10;
    ns.push_back(v);
    ns.push_back(v - v % 1000 + 500);  // a tie at the third decimal
  }
  return ns;
}

TEST(JsonNumbers, Milliseconds_SameTextAsTheShortestRoundTrip) {
  for (const auto n : nanosecond_cases()) {
    const double ms = observe::to_ms(std::chrono::nanoseconds(n));
    ASSERT_EQ(via_milliseconds(ms), via_number(ms)) << n << " ns";
  }
  for (const double ms : {-0.0, -0.0004, 1e13, 1e15, 1e300, -1e300, 0.0005, 0.0015, 2.0005}) {
    EXPECT_EQ(via_milliseconds(ms), via_number(ms)) << ms;
  }
}

TEST(JsonNumbers, Fixed3Ms_SameTextAsFmt) {
  for (const auto n : nanosecond_cases()) {
    const std::chrono::nanoseconds d(n);
    std::string text;
    detail::append_fixed3_ms(text, d);
    ASSERT_EQ(text, fmt::format("{:.3f}", observe::to_ms(d))) << n << " ns";
  }
}

}  // namespace
}  // namespace synack::analyze

namespace synack::analyze {
namespace {

std::string via_string(const std::string& s) {
  std::string buffer(detail::JsonCursor::string_room(s), ' ');
  detail::JsonCursor w(buffer.data());
  w.string(s);
  return {buffer.data(), w.position()};
}

TEST(JsonStrings, EveryAsciiByteAtEveryPlaceOfAWord_SameTextAsNlohmann) {
  // The escape check reads eight bytes at a time: each character that needs escaping (and each that does
  // not) is tried at each place of the first two words and of the tail.
  for (int c = 0; c < 0x80; ++c) {
    for (std::size_t at = 0; at < 19; ++at) {
      std::string s(19, 'a');
      s[at] = static_cast<char>(c);
      ASSERT_EQ(via_string(s), nlohmann::json(s).dump()) << "byte " << c << " at " << at;
    }
  }
  for (const char* s : {"", "\"", "\\", "SYN, SYN-ACK and ACK in 0.050 ms", "2×MSL → 240 s", "\x1f"}) {
    EXPECT_EQ(via_string(s), nlohmann::json(s).dump()) << s;
  }
}

template <typename T>
std::string via_integer(T v) {
  std::string buffer(32, ' ');
  detail::JsonCursor w(buffer.data());
  w.integer(v);
  return {buffer.data(), w.position()};
}

TEST(JsonNumbers, Integers_SameTextAsFmt) {
  for (std::int64_t v = -12; v <= 12; ++v) {
    EXPECT_EQ(via_integer(v), fmt::format("{}", v));
    EXPECT_EQ(via_integer(static_cast<int>(v)), fmt::format("{}", v));
  }
  for (std::uint64_t v : {0ULL, 9ULL, 10ULL, 255ULL, 18446744073709551615ULL}) {
    EXPECT_EQ(via_integer(v), fmt::format("{}", v));
  }
  EXPECT_EQ(via_integer(std::int64_t{-9223372036854775807 - 1}), "-9223372036854775808");
  EXPECT_EQ(via_integer(std::uint8_t{7}), "7");
}

}  // namespace
}  // namespace synack::analyze
