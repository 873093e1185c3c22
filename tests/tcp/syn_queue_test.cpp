// The listener's SYN-queue storage: packed 42-byte entries in fixed chunks, IPv6 addresses in side
// records, FIFO links and flags in one word. What goes in comes back out, across chunks and slot reuse.
#include <array>
#include <cstdint>
#include <vector>

#include "fixture.hpp"
#include "synack/tcp/listener.hpp"

namespace synack::tcp::testing {
namespace {

IsnGenerator::Key key() {
  IsnGenerator::Key k{};
  k[5] = std::byte{7};
  return k;
}

wire::FourTuple v4_tuple(std::uint32_t i) {
  return {{wire::IpAddress::v4(0xC6336401U), 443},
          {wire::IpAddress::v4(0xCB007100U + (i >> 14U)), static_cast<std::uint16_t>(1024U + (i & 0x3FFFU))}};
}

wire::FourTuple v6_tuple(std::uint32_t i) {
  std::array<std::byte, 16> local{};
  std::array<std::byte, 16> remote{};
  local[0] = remote[0] = std::byte{0x20};
  local[1] = remote[1] = std::byte{0x01};
  local[2] = remote[2] = std::byte{0x0d};
  local[3] = remote[3] = std::byte{0xb8};
  local[15] = std::byte{1};
  remote[14] = static_cast<std::byte>(i >> 8U);
  remote[15] = static_cast<std::byte>(i & 0xFFU);
  return {{wire::IpAddress::v6(local), 443},
          {wire::IpAddress::v6(remote), static_cast<std::uint16_t>(2000U + i)}};
}

SynOptions options_for(std::uint32_t i) {
  SynOptions o;
  o.mss = static_cast<std::uint16_t>(536U + i % 1000U);
  if (i % 3 != 0) o.wscale = static_cast<std::uint8_t>(i % 15U);
  o.sack_permitted = i % 2 == 0;
  if (i % 5 != 0) o.timestamps = wire::Timestamps{1000U + i, 0};
  return o;
}

class SynQueue : public EngineTest {
 protected:
  IsnGenerator isn_gen{key()};

  /// Checks that `slot` holds what add_half_open(tuple, irs, options_for(i)) stored.
  void expect_entry(const Listener& l, std::uint32_t slot, const wire::FourTuple& t, std::uint32_t i) const {
    const HalfOpen e = l.entry(slot);
    const SynOptions o = options_for(i);
    EXPECT_TRUE(e.in_use());
    EXPECT_EQ(e.tuple(), t);
    EXPECT_TRUE(l.entry_matches(slot, t));
    EXPECT_EQ(e.irs, 5000U + i);
    EXPECT_EQ(SeqNum(e.iss), isn_gen.isn(now, t));
    EXPECT_EQ(e.ts_offset, isn_gen.timestamp_offset(t));
    EXPECT_EQ(e.peer_options().mss, o.mss);
    EXPECT_EQ(e.peer_options().wscale, o.wscale);
    EXPECT_EQ(e.peer_options().sack_permitted, o.sack_permitted);
    EXPECT_EQ(e.peer_options().timestamps.has_value(), o.timestamps.has_value());
    if (o.timestamps) {
      EXPECT_EQ(e.ts_recent, o.timestamps->value);
    }
    EXPECT_EQ(e.retransmits, 0);
    EXPECT_EQ(l.syn_received_at(e), now);
  }
};

TEST_F(SynQueue, ManyEntriesAcrossChunks_EachKeepsWhatItWasGiven) {
  config.syn_queue_capacity = 3 * Listener::kChunk;
  Listener l(config, {wire::IpAddress::v4(0xC6336401U), 443}, 4);
  const std::uint32_t n = 2 * Listener::kChunk + 5;
  std::vector<std::uint32_t> slots;
  slots.reserve(n);
  for (std::uint32_t i = 0; i < n; ++i) {
    const auto slot = l.add_half_open(now, v4_tuple(i), SeqNum(5000U + i), options_for(i), isn_gen);
    ASSERT_TRUE(slot);
    slots.push_back(*slot);
  }
  EXPECT_EQ(l.syn_queue_size(), n);
  EXPECT_EQ(l.syn_queue_slots(), n);
  for (std::uint32_t i = 0; i < n; ++i) {
    expect_entry(l, slots[i], v4_tuple(i), i);
    EXPECT_FALSE(l.entry_matches(slots[i], v4_tuple(i + 1)));
  }
  // Three chunks of whole pages, nothing more, however many entries they hold.
  EXPECT_EQ(l.syn_queue_memory_bytes(), 3U * Listener::kChunk * 42U);
}

TEST_F(SynQueue, FreedSlots_AreReusedWithoutGrowing_AndStaleGenerationsFail) {
  config.syn_queue_capacity = 2 * Listener::kChunk;
  Listener l(config, {wire::IpAddress::v4(0xC6336401U), 443}, 4);
  std::vector<std::uint32_t> slots;
  slots.reserve(100);
  for (std::uint32_t i = 0; i < 100; ++i) {
    slots.push_back(*l.add_half_open(now, v4_tuple(i), SeqNum(5000U + i), options_for(i), isn_gen));
  }
  const std::uint8_t old_generation = l.entry_generation(slots[10]);
  EXPECT_TRUE(l.entry_live(slots[10], old_generation));
  for (std::uint32_t i = 0; i < 100; i += 2) l.free_half_open(slots[i]);
  EXPECT_FALSE(l.entry_live(slots[10], old_generation));
  EXPECT_FALSE(l.entry_matches(slots[10], v4_tuple(10)));
  EXPECT_EQ(l.syn_queue_size(), 50U);
  for (std::uint32_t i = 100; i < 150; ++i) {
    const auto slot = l.add_half_open(now, v4_tuple(i), SeqNum(5000U + i), options_for(i), isn_gen);
    ASSERT_TRUE(slot);
    EXPECT_LT(*slot, 100U);  // a freed slot, not a new one
    expect_entry(l, *slot, v4_tuple(i), i);
  }
  EXPECT_EQ(l.syn_queue_slots(), 100U);
  for (std::uint32_t i = 1; i < 100; i += 2) expect_entry(l, slots[i], v4_tuple(i), i);  // untouched
}

TEST_F(SynQueue, Ipv6Entries_RoundTripAndReuseTheirSideRecords) {
  config.syn_queue_capacity = 64;
  Listener l(config, v6_tuple(0).local, 4);
  std::vector<std::uint32_t> v6_slots;
  std::vector<std::uint32_t> v4_slots;
  v6_slots.reserve(20);
  v4_slots.reserve(20);
  for (std::uint32_t i = 0; i < 20; ++i) {
    v6_slots.push_back(*l.add_half_open(now, v6_tuple(i), SeqNum(5000U + i), options_for(i), isn_gen));
    v4_slots.push_back(*l.add_half_open(now, v4_tuple(i), SeqNum(5000U + i), options_for(i), isn_gen));
  }
  for (std::uint32_t i = 0; i < 20; ++i) {
    expect_entry(l, v6_slots[i], v6_tuple(i), i);
    expect_entry(l, v4_slots[i], v4_tuple(i), i);
    EXPECT_FALSE(l.entry_matches(v6_slots[i], v6_tuple(i + 1)));
  }
  const std::size_t bytes = l.syn_queue_memory_bytes();
  for (const std::uint32_t slot : v6_slots) l.free_half_open(slot);
  for (std::uint32_t i = 20; i < 40; ++i) {
    const auto slot = l.add_half_open(now, v6_tuple(i), SeqNum(5000U + i), options_for(i), isn_gen);
    ASSERT_TRUE(slot);
    expect_entry(l, *slot, v6_tuple(i), i);
  }
  EXPECT_EQ(l.syn_queue_memory_bytes(), bytes);  // the freed side records were taken again
}

TEST_F(SynQueue, PeerWindowScaleAbove14_IsKeptAs14) {
  Listener l(config, {wire::IpAddress::v4(0xC6336401U), 443}, 4);
  SynOptions o;
  o.wscale = 200;  // as a SYN could carry it unclamped (RFC 7323 §2.3: use 14)
  const auto slot = l.add_half_open(now, v4_tuple(1), SeqNum(1), o, isn_gen);
  ASSERT_TRUE(slot);
  EXPECT_EQ(l.entry(*slot).peer_wscale, 14);
  EXPECT_FALSE(l.entry(*slot).peer_options().mss);
  EXPECT_FALSE(l.entry(*slot).peer_options().sack_permitted);
  EXPECT_FALSE(l.entry(*slot).peer_options().timestamps);
}

}  // namespace
}  // namespace synack::tcp::testing
