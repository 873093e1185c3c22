#include "synack/wire/tcp.hpp"

#include <array>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "support/hex.hpp"

namespace synack::wire {
namespace {

using test::from_hex;
using test::to_hex;

// The TCP part of a scapy-built SYN: 40000 → 80, seq 0x1a2b3c4d, Linux option layout.
constexpr const char* kSynSegment =
    "9c4000501a2b3c4d00000000a002faf0d21a0000020405b40402080a000003e80000000001030307";

TEST(TcpFlags, LettersInScapyOrder) {
  EXPECT_EQ(TcpFlags(TcpFlags::kSyn).to_string(), "S");
  EXPECT_EQ(TcpFlags(TcpFlags::kSyn | TcpFlags::kAck).to_string(), "SA");
  EXPECT_EQ(TcpFlags(TcpFlags::kPsh | TcpFlags::kAck).to_string(), "PA");
  EXPECT_EQ(TcpFlags(TcpFlags::kFin | TcpFlags::kAck).to_string(), "FA");
  EXPECT_EQ(TcpFlags(TcpFlags::kRst | TcpFlags::kAck).to_string(), "RA");
  EXPECT_EQ(TcpFlags(TcpFlags::kSyn | TcpFlags::kEce | TcpFlags::kCwr).to_string(), "SEC");
  EXPECT_EQ(TcpFlags().to_string(), "");
}

TEST(TcpFlags, SetAndClear) {
  TcpFlags f;
  f.set(TcpFlags::kSyn).set(TcpFlags::kAck);
  EXPECT_TRUE(f.syn() && f.ack());
  f.set(TcpFlags::kSyn, false);
  EXPECT_FALSE(f.syn());
  EXPECT_EQ(TcpFlags(0xFFFF).bits(), TcpFlags::kMask);
}

TEST(TcpView, ParsesAKnownSegment) {
  const auto b = from_hex(kSynSegment);
  auto v = TcpView::parse(b);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->src_port(), 40000);
  EXPECT_EQ(v->dst_port(), 80);
  EXPECT_EQ(v->seq(), SeqNum(0x1a2b3c4d));
  EXPECT_EQ(v->header_length(), 40U);
  EXPECT_EQ(v->flags().to_string(), "S");
  EXPECT_EQ(v->window(), 64240);
  EXPECT_EQ(v->checksum(), 0xd21a);
  EXPECT_EQ(v->sequence_length(), 1U);  // SYN occupies one sequence number
  EXPECT_TRUE(v->payload().empty());
  auto o = v->options();
  ASSERT_TRUE(o);
  EXPECT_EQ(o->mss, 1460);
  EXPECT_EQ(o->wscale, 7);
}

TEST(TcpView, SequenceLengthCountsSynFinAndData) {
  auto b = from_hex("9c4000501a2b3c4d0000000050030000000000006869");  // SYN+FIN with 2 bytes
  auto v = TcpView::parse(b);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->sequence_length(), 4U);
}

TEST(TcpView, RejectsMalformedHeaders) {
  struct Case {
    std::string name;
    std::vector<std::byte> bytes;
    Error error;
  };
  std::vector<Case> cases;
  cases.reserve(32);
  const auto good = from_hex(kSynSegment);
  for (std::size_t n = 0; n < 20; ++n) {
    cases.push_back({"truncated_" + std::to_string(n),
                     {good.begin(), good.begin() + static_cast<long>(n)},
                     Error::tcp_truncated});
  }
  for (std::uint8_t offset = 0; offset < 5; ++offset) {
    auto b = good;
    b[12] = static_cast<std::byte>(offset << 4);
    cases.push_back({"data_offset_" + std::to_string(offset), b, Error::tcp_bad_data_offset});
  }
  auto past = good;
  past[12] = std::byte{0xB0};  // 44 bytes of header in a 40-byte segment
  cases.push_back({"data_offset_past_end", past, Error::tcp_data_offset_past_end});
  auto max = good;
  max[12] = std::byte{0xF0};
  cases.push_back({"data_offset_15_in_40_bytes", max, Error::tcp_data_offset_past_end});
  for (const auto& c : cases) {
    auto v = TcpView::parse(c.bytes);
    ASSERT_FALSE(v) << c.name;
    EXPECT_EQ(v.error(), c.error) << c.name;
  }
}

TEST(TcpView, BadOptionsSurfaceWhenAskedFor) {
  auto b = from_hex("9c4000501a2b3c4d0000000060020000000000000203 0500");  // MSS with length 3
  auto v = TcpView::parse(b);
  ASSERT_TRUE(v);  // the header is sound; the options are not
  EXPECT_EQ(v->options().error(), Error::option_wrong_length);
  EXPECT_EQ(TcpHeader::parse(*v).error(), Error::option_wrong_length);
}

TEST(TcpHeader, EmitsTheKernelLayoutByteForByte) {
  TcpHeader h;
  h.src_port = 40000;
  h.dst_port = 80;
  h.seq = SeqNum(0x1a2b3c4d);
  h.flags = TcpFlags(TcpFlags::kSyn);
  h.window = 64240;
  h.options.mss = 1460;
  h.options.sack_permitted = true;
  h.options.timestamps = Timestamps{1000, 0};
  h.options.wscale = 7;
  std::array<std::byte, 60> out{};
  ASSERT_EQ(h.emit(out).value(), 40U);
  std::string expected = kSynSegment;
  expected.replace(32, 4, "0000");  // emit() leaves the checksum to the packet layer
  EXPECT_EQ(to_hex(Bytes(out).first(40)), expected);
}

TEST(TcpHeader, RoundTripsEveryField) {
  TcpHeader h;
  h.src_port = 1;
  h.dst_port = 65535;
  h.seq = SeqNum(0xFFFFFFFF);
  h.ack = SeqNum(0x80000000);
  h.flags = TcpFlags(TcpFlags::kMask);
  h.window = 0;
  h.urgent_pointer = 0xBEEF;
  h.options.timestamps = Timestamps{1, 2};
  h.options.sack.push_back({SeqNum(5), SeqNum(9)});
  std::array<std::byte, 60> out{};
  const auto n = h.emit(out).value();
  auto v = TcpView::parse(Bytes(out).first(n));
  ASSERT_TRUE(v);
  auto back = TcpHeader::parse(*v);
  ASSERT_TRUE(back);
  h.checksum = back->checksum;
  EXPECT_EQ(*back, h);
}

TEST(TcpHeader, RefusesSmallBuffer) {
  TcpHeader h;
  h.options.mss = 1460;
  std::array<std::byte, 23> out{};
  EXPECT_EQ(h.emit(out).error(), Error::buffer_too_small);
}

}  // namespace
}  // namespace synack::wire

namespace synack::wire {
namespace {

// Every combination of the options the engine sends: SendHeader writes the bytes TcpHeader::emit writes
// for the same header (Linux's layout), and to_header() parses back from them.
TEST(SendHeader, EmitsTheBytesOfTheEquivalentTcpHeader) {
  for (unsigned combo = 0; combo < 16 * 5; ++combo) {
    SendHeader s;
    s.src_port = 40000;
    s.dst_port = 80;
    s.seq = SeqNum(0x1a2b3c4dU + combo);
    s.ack = SeqNum(0x01020304U);
    s.flags = TcpFlags(TcpFlags::kAck | (combo % 2 == 0 ? TcpFlags::kSyn : TcpFlags::kPsh));
    s.window = 64240;
    s.has_mss = (combo & 1U) != 0;
    s.mss = 1460;
    s.set_window_scale((combo & 2U) != 0 ? std::optional<std::uint8_t>(7) : std::nullopt);
    s.sack_permitted = (combo & 4U) != 0;
    s.has_timestamps = (combo & 8U) != 0;
    s.timestamps = {1000 + combo, 77};
    s.sack_count = static_cast<std::uint8_t>(combo / 16);
    for (std::size_t i = 0; i < s.sack.size(); ++i) {
      s.sack[i] = {SeqNum(100U * static_cast<std::uint32_t>(i + 1)),
                   SeqNum(100U * static_cast<std::uint32_t>(i + 1) + 50)};
    }
    const TcpHeader h = s.to_header();
    std::array<std::byte, 60> a{};
    std::array<std::byte, 60> b{};
    const auto na = s.emit(a);
    if (s.options_size() > kMaxOptionBytes) {
      // Past Linux's layout in 40 bytes (the engine never asks for that): refused, nothing packed.
      ASSERT_FALSE(na) << combo;
      EXPECT_EQ(na.error(), Error::options_too_long) << combo;
      continue;
    }
    ASSERT_TRUE(na) << combo;
    const auto nb = h.emit(b);
    ASSERT_TRUE(nb) << combo;
    ASSERT_EQ(*na, *nb) << combo;
    EXPECT_EQ(*na, s.encoded_size()) << combo;
    EXPECT_EQ(to_hex(Bytes(a).first(*na)), to_hex(Bytes(b).first(*nb))) << combo;
    const auto view = TcpView::parse(Bytes(a).first(*na));
    ASSERT_TRUE(view) << combo;
    const auto parsed = TcpHeader::parse(*view);
    ASSERT_TRUE(parsed) << combo;
    EXPECT_EQ(*parsed, h) << combo;
  }
}

// The Fast Open option (RFC 7413 §4.1.1), every cookie size, kind 34 and experimental 254, alone and
// after an MSS option: SendHeader writes it last, NOP-padded in front to a word (TcpHeader::emit pads
// after it, as Linux does), and the bytes parse back to the header's to_header().
TEST(SendHeader, FastOpenIsPaddedInFrontAndParsesBack) {
  std::array<std::byte, FastOpenCookie::kMaxSize> bytes{};
  for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<std::byte>(0xA0 + i);
  for (const bool experimental : {false, true}) {
    for (std::size_t size = 0; size <= FastOpenCookie::kMaxSize; ++size) {
      const auto cookie = FastOpenCookie::make(Bytes(bytes).first(size), experimental);
      if (!cookie) continue;  // 1 to 3 bytes: not a cookie
      for (const bool mss : {false, true}) {
        SendHeader s;
        s.src_port = 40000;
        s.dst_port = 443;
        s.seq = SeqNum(0x01020304U);
        s.flags = TcpFlags(TcpFlags::kSyn);
        s.has_mss = mss;
        s.mss = 1460;
        s.fast_open = &*cookie;
        std::array<std::byte, 60> out{};
        const auto n = s.emit(out);
        ASSERT_TRUE(n) << size << experimental << mss;
        EXPECT_EQ(*n, s.encoded_size()) << size << experimental << mss;
        const auto view = TcpView::parse(Bytes(out).first(*n));
        ASSERT_TRUE(view) << size << experimental << mss;
        const auto parsed = TcpHeader::parse(*view);
        ASSERT_TRUE(parsed) << size << experimental << mss;
        EXPECT_EQ(*parsed, s.to_header()) << size << experimental << mss;
        const std::size_t raw = (experimental ? 4U : 2U) + size;
        const std::size_t option_start = TcpView::kMinHeaderSize + (mss ? 4U : 0U);
        for (std::size_t i = option_start; i < option_start + s.fast_open_size() - raw; ++i) {
          EXPECT_EQ(out[i], std::byte{option_kind::kNop}) << size << experimental << mss;
        }
      }
    }
  }
  SendHeader s;
  const auto request = FastOpenCookie::make({});
  s.fast_open = &*request;
  std::array<std::byte, 24> out{};
  ASSERT_EQ(s.emit(out).value(), 24U);
  EXPECT_EQ(to_hex(Bytes(out).subspan(20)), "01012202");
  const auto experimental = FastOpenCookie::make(Bytes(bytes).first(4), true);
  s.fast_open = &*experimental;
  std::array<std::byte, 28> out8{};
  ASSERT_EQ(s.emit(out8).value(), 28U);
  EXPECT_EQ(to_hex(Bytes(out8).subspan(20)), "fe08f989a0a1a2a3");
}

TEST(SendHeader, RefusesABufferTooSmall) {
  SendHeader s;
  s.has_mss = true;
  s.mss = 1460;
  std::array<std::byte, 23> out{};
  const auto n = s.emit(out);
  ASSERT_FALSE(n);
  EXPECT_EQ(n.error(), Error::buffer_too_small);
}

}  // namespace
}  // namespace synack::wire
