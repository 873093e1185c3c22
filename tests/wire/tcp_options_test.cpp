#include "synack/wire/tcp_options.hpp"

#include <array>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "support/hex.hpp"

namespace synack::wire {
namespace {

using test::from_hex;
using test::to_hex;

std::string emit_hex(const TcpOptions& o) {
  std::array<std::byte, kMaxOptionBytes> out{};
  auto n = emit_tcp_options(o, out);
  EXPECT_TRUE(n) << to_string(n.error());
  EXPECT_EQ(*n, o.encoded_size());
  return to_hex(Bytes(out).first(*n));
}

TcpOptions round_trip(const TcpOptions& o) {
  std::array<std::byte, kMaxOptionBytes> out{};
  auto n = emit_tcp_options(o, out);
  EXPECT_TRUE(n);
  auto parsed = parse_tcp_options(Bytes(out).first(*n));
  EXPECT_TRUE(parsed) << to_string(parsed.error());
  return *parsed;
}

TcpOptions linux_syn() {
  TcpOptions o;
  o.mss = 1460;
  o.sack_permitted = true;
  o.timestamps = Timestamps{1000, 0};
  o.wscale = 7;
  return o;
}

// --- Emission: the layout of Linux's tcp_options_write() ---

TEST(TcpOptionsEmit, LinuxSynLayout) {
  // MSS; SACK-permitted folded into the timestamps word; NOP + window scale: 20 bytes.
  EXPECT_EQ(emit_hex(linux_syn()), "020405b40402080a000003e80000000001030307");
}

TEST(TcpOptionsEmit, TimestampsWithoutSackGetTwoNops) {
  auto o = linux_syn();
  o.sack_permitted = false;
  EXPECT_EQ(emit_hex(o), "020405b40101080a000003e80000000001030307");
}

TEST(TcpOptionsEmit, SackWithoutTimestampsGetsTwoNops) {
  auto o = linux_syn();
  o.timestamps.reset();
  EXPECT_EQ(emit_hex(o), "020405b40101040201030307");
}

TEST(TcpOptionsEmit, MssOnly) {
  TcpOptions o;
  o.mss = 536;
  EXPECT_EQ(emit_hex(o), "02040218");
}

TEST(TcpOptionsEmit, NoOptionsIsEmpty) {
  EXPECT_EQ(emit_hex(TcpOptions{}), "");
}

TEST(TcpOptionsEmit, SackBlocksFollowTwoNops) {
  TcpOptions o;
  o.timestamps = Timestamps{5, 6};
  o.sack.push_back({SeqNum(100), SeqNum(200)});
  EXPECT_EQ(emit_hex(o), "0101080a00000005000000060101050a00000064000000c8");
}

TEST(TcpOptionsEmit, FastOpenIsPaddedWithNops) {
  TcpOptions o;
  o.mss = 1460;
  o.fast_open = FastOpenCookie::make(from_hex("0102030405060708"));
  EXPECT_EQ(emit_hex(o), "020405b4220a01020304050607080101");
  o.fast_open = FastOpenCookie::make({});  // a cookie request
  EXPECT_EQ(emit_hex(o), "020405b422020101");
}

TEST(TcpOptionsEmit, ExperimentalFastOpenUsesMagic) {
  TcpOptions o;
  o.fast_open = FastOpenCookie::make(from_hex("01020304"), true);
  EXPECT_EQ(emit_hex(o), "fe08f98901020304");
}

TEST(TcpOptionsEmit, UnknownOptionsArePaddedWithEol) {
  TcpOptions o;
  o.unknown.push_back(19, from_hex("aabbcc"));  // an odd-length body
  EXPECT_EQ(emit_hex(o), "1305aabbcc000000");
}

TEST(TcpOptionsEmit, FallsBackToPackedLayoutWhenPaddingWouldOverflow) {
  // Timestamps (NOP NOP + 10), NOP + window scale, NOP NOP + three SACK blocks: 44 bytes in Linux's
  // layout, 39 packed (10 + 3 + 26), padded to 40.
  TcpOptions o;
  o.timestamps = Timestamps{1, 2};
  o.wscale = 7;
  for (std::uint32_t i = 0; i < 3; ++i) o.sack.push_back({SeqNum(i * 10), SeqNum(i * 10 + 5)});
  EXPECT_EQ(o.encoded_size(), 40U);
  EXPECT_EQ(emit_hex(o).substr(0, 4), "080a");  // no alignment NOPs
  EXPECT_EQ(round_trip(o), o);
}

TEST(TcpOptionsEmit, RefusesSmallBuffer) {
  std::array<std::byte, 8> small{};
  EXPECT_EQ(emit_tcp_options(linux_syn(), small).error(), Error::buffer_too_small);
}

// --- Parse: every kind, and round trips ---

TEST(TcpOptionsParse, EveryKnownKind) {
  auto o =
      parse_tcp_options(from_hex("020405b4 0402 080a000003e800000007 010303 0e 22060a0b0c0d 1e0401ff 00"));
  ASSERT_TRUE(o) << to_string(o.error());
  EXPECT_EQ(o->mss, 1460);
  EXPECT_TRUE(o->sack_permitted);
  EXPECT_EQ(o->timestamps, (Timestamps{1000, 7}));
  EXPECT_EQ(o->wscale, 14);
  ASSERT_TRUE(o->fast_open);
  EXPECT_EQ(to_hex(o->fast_open->cookie()), "0a0b0c0d");
  ASSERT_EQ(o->unknown.size(), 1U);  // MPTCP (30) kept as (kind, bytes)
  EXPECT_EQ(o->unknown[0].kind, 30);
  EXPECT_EQ(to_hex(o->unknown[0].data), "01ff");
}

TEST(TcpOptionsParse, WindowScaleAbove14IsClampedVisibly) {
  // RFC 7323 §2.3: a shift above 14 is treated as 14 — and the caller can see that it was.
  auto o = parse_tcp_options(from_hex("01030309"));
  ASSERT_TRUE(o);
  EXPECT_EQ(o->window_shift(), 9);
  EXPECT_FALSE(o->wscale_clamped());
  o = parse_tcp_options(from_hex("010303ff"));
  ASSERT_TRUE(o);
  EXPECT_EQ(o->wscale, 255);
  EXPECT_EQ(o->window_shift(), 14);
  EXPECT_TRUE(o->wscale_clamped());
}

TEST(TcpOptionsParse, EndOfListStopsParsing) {
  auto o = parse_tcp_options(from_hex("020405b4 00 ffff"));  // garbage after EOL is padding
  ASSERT_TRUE(o);
  EXPECT_EQ(o->mss, 1460);
  EXPECT_TRUE(o->unknown.empty());
}

TEST(TcpOptionsParse, SackBlocks) {
  auto o = parse_tcp_options(from_hex("0101 0512 00000001 00000002 00000003 00000004"));
  ASSERT_TRUE(o);
  ASSERT_EQ(o->sack.size(), 2U);
  EXPECT_EQ(o->sack.blocks()[1], (SackBlock{SeqNum(3), SeqNum(4)}));
}

TEST(TcpOptionsParse, ExperimentalKindWithoutMagicIsUnknown) {
  auto o = parse_tcp_options(from_hex("fe0612340000"));
  ASSERT_TRUE(o);
  EXPECT_FALSE(o->fast_open);
  ASSERT_EQ(o->unknown.size(), 1U);
  EXPECT_EQ(o->unknown[0].kind, 254);
}

TEST(TcpOptionsParse, RoundTripOfEveryCombination) {
  for (int mask = 0; mask < 64; ++mask) {
    TcpOptions o;
    if ((mask & 1) != 0) o.mss = 1220;
    if ((mask & 2) != 0) o.wscale = 14;
    if ((mask & 4) != 0) o.sack_permitted = true;
    if ((mask & 8) != 0) o.timestamps = Timestamps{0xFFFFFFFF, 1};
    if ((mask & 16) != 0) o.sack.push_back({SeqNum(10), SeqNum(20)});
    if ((mask & 32) != 0) o.fast_open = FastOpenCookie::make(from_hex("00112233"));
    EXPECT_EQ(round_trip(o), o) << "mask " << mask;
    EXPECT_LE(o.encoded_size(), kMaxOptionBytes);
    EXPECT_EQ(o.encoded_size() % 4, 0U);
  }
}

struct Malformed {
  const char* name;
  const char* hex;
  Error error;
};

TEST(TcpOptionsParse, RejectsMalformedLists) {
  const Malformed cases[] = {
      {"kind_without_length", "02", Error::option_truncated},
      {"nop_then_kind_without_length", "0101 08", Error::option_truncated},
      {"length_0", "0200", Error::option_bad_length},
      {"length_1", "0201", Error::option_bad_length},
      {"unknown_length_0", "1e00", Error::option_bad_length},
      {"length_past_end", "020405", Error::option_bad_length},
      {"timestamps_past_end", "080a00000001", Error::option_bad_length},
      {"mss_length_3", "020305 00", Error::option_wrong_length},
      {"mss_length_5", "02050000 00", Error::option_wrong_length},
      {"wscale_length_2", "0302", Error::option_wrong_length},
      {"wscale_length_4", "03040000", Error::option_wrong_length},
      {"sack_permitted_length_3", "040300", Error::option_wrong_length},
      {"timestamps_length_8", "0808000000000000", Error::option_wrong_length},
      {"sack_length_2", "0502", Error::option_wrong_length},
      {"sack_length_9", "050900000000000000 00", Error::option_wrong_length},
      {"fast_open_cookie_3", "2205010203", Error::option_wrong_length},
      {"fast_open_cookie_17", "2213 0000000000000000000000000000000000", Error::option_wrong_length},
  };
  for (const auto& c : cases) {
    auto o = parse_tcp_options(from_hex(c.hex));
    ASSERT_FALSE(o) << c.name;
    EXPECT_EQ(o.error(), c.error) << c.name << ": " << to_string(o.error());
  }
}

TEST(TcpOptionsParse, NeverReadsPastTheEnd) {
  // Every prefix of every byte value: parse must return (value or error) without touching more bytes.
  std::mt19937 rng(3);
  for (int round = 0; round < 2000; ++round) {
    std::vector<std::byte> data(rng() % 41);
    for (auto& b : data) b = static_cast<std::byte>(rng() % 12 == 0 ? rng() : rng() % 10);
    auto o = parse_tcp_options(data);
    if (o) {
      EXPECT_EQ(round_trip(*o), *o);
    }
  }
}

TEST(SackBlocks, HoldsAtMostFour) {
  SackBlocks s;
  for (std::uint32_t i = 0; i < 4; ++i) EXPECT_TRUE(s.push_back({SeqNum(i), SeqNum(i + 1)}));
  EXPECT_FALSE(s.push_back({SeqNum(9), SeqNum(10)}));
  EXPECT_EQ(s.size(), 4U);
}

TEST(UnknownOptions, RefusesWhenFull) {
  UnknownOptions u;
  const auto body = from_hex("00112233445566778899aabbccddeeff0011");  // 18 bytes
  EXPECT_TRUE(u.push_back(30, body));
  EXPECT_TRUE(u.push_back(31, body));
  EXPECT_FALSE(u.push_back(32, body));
  EXPECT_EQ(u.size(), 2U);
}

// --- The fast path for common layouts against the general parser (the reference) ---

void expect_same_as_general(Bytes bytes, const std::string& what) {
  const auto fast = parse_tcp_options(bytes);
  const auto general = detail::parse_tcp_options_general(bytes);
  ASSERT_EQ(fast.has_value(), general.has_value()) << what << " " << to_hex(bytes);
  if (fast) {
    ASSERT_EQ(*fast, *general) << what << " " << to_hex(bytes);
  } else {
    ASSERT_EQ(fast.error(), general.error()) << what << " " << to_hex(bytes);
  }
}

TEST(TcpOptionsParse, FastPathMatchesGeneralParserOnCommonLayouts) {
  // The recognised layouts with every value, then each with one to three bytes changed to any value.
  std::mt19937 rng(17);
  const char* layouts[] = {"", "020405b4", "0101080a 00000001 00000002",
                           "020405b4 0402080a 00000001 00000000 01030307",
                           "020405b4 0101080a 00000001 00000000 01030307"};
  for (const char* hex : layouts) {
    const auto base = from_hex(hex);
    for (int round = 0; round < 3000; ++round) {
      auto data = base;
      // Random values in the value fields keep the layout; all 0xFF and all 0x00 are carries' extremes.
      const int fill = round % 3;
      for (std::size_t i = 0; i < data.size(); ++i) {
        const bool kind_or_length =
            (i < 2) || (base.size() == 12 && i < 4) ||
            (base.size() == 20 && (i < 2 || (i >= 4 && i < 8) || (i >= 16 && i < 19)));
        if (kind_or_length) continue;
        data[i] = fill == 0 ? static_cast<std::byte>(rng()) : (fill == 1 ? std::byte{0xFF} : std::byte{0x00});
      }
      const int mutations = round % 4;
      for (int m = 0; m < mutations && !data.empty(); ++m) {
        data[rng() % data.size()] = static_cast<std::byte>(rng() % 3 == 0 ? rng() % 11 : rng());
      }
      expect_same_as_general(data, hex);
      // The same bytes one shorter and one longer: never the fast path's lengths.
      if (!data.empty()) expect_same_as_general(Bytes(data).first(data.size() - 1), "short");
      auto longer = data;
      longer.push_back(static_cast<std::byte>(rng()));
      expect_same_as_general(longer, "long");
    }
  }
}

TEST(TcpOptionsParse, FastPathMatchesGeneralParserOnRandomBytes) {
  std::mt19937 rng(29);
  for (int round = 0; round < 20000; ++round) {
    std::vector<std::byte> data(rng() % 41);
    for (auto& b : data) {
      // Mostly small values, so kinds and lengths line up often enough to parse.
      b = static_cast<std::byte>(round % 5 == 0 ? 0xFF : (rng() % 4 == 0 ? rng() : rng() % 11));
    }
    expect_same_as_general(data, "random");
  }
}

TEST(TcpOptionsEmit, RandomOptionsFillExactlyTheirEncodedSize) {
  // emit writes straight into the caller's buffer, sized by encoded_size(): a buffer of exactly that size
  // must take it (ASan builds check no byte lands past it) and parse back to the same value.
  std::mt19937 rng(41);
  for (int round = 0; round < 5000; ++round) {
    TcpOptions o;
    if (rng() % 2 != 0) o.mss = static_cast<std::uint16_t>(rng());
    if (rng() % 2 != 0) o.wscale = static_cast<std::uint8_t>(rng() % 16);
    o.sack_permitted = rng() % 2 != 0;
    if (rng() % 2 != 0)
      o.timestamps = Timestamps{static_cast<std::uint32_t>(rng()), static_cast<std::uint32_t>(rng())};
    for (auto b = rng() % 5; b > 0; --b) {
      o.sack.push_back(
          {SeqNum(static_cast<std::uint32_t>(rng())), SeqNum(static_cast<std::uint32_t>(rng()))});
    }
    if (rng() % 4 == 0) {
      std::vector<std::byte> cookie(rng() % 3 == 0 ? 0 : 4 + rng() % 13);
      for (auto& c : cookie) c = static_cast<std::byte>(rng());
      o.fast_open = FastOpenCookie::make(cookie, rng() % 2 != 0);
    }
    for (auto u = rng() % 3; u > 0; --u) {
      std::vector<std::byte> body(rng() % 8);
      for (auto& c : body) c = static_cast<std::byte>(rng());
      (void)o.unknown.push_back(static_cast<std::uint8_t>(100 + rng() % 100), body);
    }
    const std::size_t size = o.encoded_size();
    std::vector<std::byte> out(size);
    auto n = emit_tcp_options(o, out);
    if (size > kMaxOptionBytes) {
      ASSERT_FALSE(n);
      EXPECT_EQ(n.error(), Error::options_too_long);
      continue;
    }
    ASSERT_TRUE(n) << "round " << round;
    ASSERT_EQ(*n, size);
    auto parsed = parse_tcp_options(out);
    ASSERT_TRUE(parsed);
    EXPECT_EQ(*parsed, o) << "round " << round;
    if (size > 0) {
      std::vector<std::byte> small(size - 1);
      auto refused = emit_tcp_options(o, small);
      ASSERT_FALSE(refused);
      EXPECT_EQ(refused.error(), Error::buffer_too_small);
    }
  }
}

}  // namespace
}  // namespace synack::wire
