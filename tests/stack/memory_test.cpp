// The Stack's buffer memory budget (StackConfig::buffer_memory_limit): pressure holds senders back and
// wakes them with `writable` when it ends; a tight budget slows a transfer but never corrupts it.
#include <vector>

#include "pair.hpp"

namespace synack::stack::testing {
namespace {

constexpr std::size_t kChunk = tcp::BufferChunk::kSize;

std::byte pattern(std::uint64_t i) {
  return static_cast<std::byte>((i * 131U + i / 977U) & 0xFFU);
}

TEST(MemoryPressure, Established_SenderHeldBack_WritableWhenPressureEnds) {
  StackConfig ca = config_for(addr_a());
  ca.buffer_memory_limit = 3 * kChunk;  // pressure above 42 KiB, relief at 36 KiB or less
  Stack a{ca, key(1), 1};
  Stack b{config_for(addr_b()), key(2), 2};
  Pair pair{a, b};
  const auto l = b.listen({addr_b(), 80});
  const auto c = a.connect(pair.now(), {addr_a(), 0}, {addr_b(), 80});
  ASSERT_TRUE(l && c);
  std::optional<ConnectionId> s;
  ASSERT_TRUE(pair.run_until([&] {
    if (!s) {
      if (auto acc = b.accept(*l)) s = *acc;
    }
    return s.has_value() && has_event(events_of(a), EventKind::established);
  }));
  EXPECT_EQ(a.buffer_pool().chunks_in_use(), 0U);  // handshake done, nothing buffered

  std::vector<std::byte> data(100000);
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = pattern(i);
  const auto first = a.send(*c, data);
  ASSERT_TRUE(first);
  EXPECT_EQ(*first, 3 * kChunk);  // the third chunk took the stack into pressure; no fourth
  EXPECT_TRUE(a.buffer_pool().under_pressure());
  EXPECT_EQ(a.send(*c, wire::Bytes(data).subspan(*first)).value(), 0U);  // would block
  EXPECT_EQ(a.stats().memory.pressure_entered, 1U);
  EXPECT_EQ(a.stats().memory.sends_held_back, 2U);

  std::vector<std::byte> got;
  std::array<std::byte, 8192> buf{};
  bool writable = false;
  ASSERT_TRUE(pair.run_until([&] {
    while (auto r = b.recv(*s, buf)) {
      if (*r == 0) break;
      got.insert(got.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(*r));
    }
    for (const Event& e : events_of(a))
      writable = writable || (e.kind == EventKind::writable && e.connection == *c);
    return writable;
  }));
  EXPECT_FALSE(a.buffer_pool().under_pressure());
  EXPECT_GT(a.send(*c, wire::Bytes(data).subspan(*first)).value(), 0U);
  ASSERT_TRUE(pair.run_until([&] {
    while (auto r = b.recv(*s, buf)) {
      if (*r == 0) break;
      got.insert(got.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(*r));
    }
    return got.size() >= 3 * kChunk;
  }));
  for (std::size_t i = 0; i < got.size(); ++i) ASSERT_EQ(got[i], data[i]) << "byte " << i;
}

TEST(MemoryPressure, TightBudgetBothSides_TransferIntact) {
  // Each stack may hold 4 chunks (64 KiB) for all its buffers although each buffer's capacity is 256 KiB:
  // the receiver drops what needs a fifth chunk and the sender retransmits it.
  StackConfig ca = config_for(addr_a());
  StackConfig cb = config_for(addr_b());
  ca.buffer_memory_limit = cb.buffer_memory_limit = 4 * kChunk;
  Stack a{ca, key(1), 1};
  Stack b{cb, key(2), 2};
  Pair pair{a, b};
  const auto l = b.listen({addr_b(), 80});
  const auto c = a.connect(pair.now(), {addr_a(), 0}, {addr_b(), 80});
  ASSERT_TRUE(l && c);
  std::optional<ConnectionId> s;
  constexpr std::size_t kBytes = 1024 * 1024;
  std::size_t sent = 0;
  std::size_t received = 0;
  std::array<std::byte, 4096> buf{};
  std::size_t read_turn = 0;
  bool done = false;
  // run_until returns when the wire goes idle with the reader behind: call it again (bounded).
  for (int round = 0; round < 10000 && !done; ++round) {
    done = pair.run_until(
        [&] {
          (void)events_of(a);
          (void)events_of(b);
          if (!s) {
            if (auto acc = b.accept(*l)) s = *acc;
          }
          while (sent < kBytes) {
            std::array<std::byte, 4096> chunk{};
            const std::size_t n = std::min(chunk.size(), kBytes - sent);
            for (std::size_t i = 0; i < n; ++i) chunk[i] = pattern(sent + i);
            const auto r = a.send(*c, wire::Bytes(chunk.data(), n));
            if (!r || *r == 0) break;
            sent += *r;
          }
          // A slow reader: one read in three turns, so data piles up at the receiver.
          if (s && ++read_turn % 3 == 0) {
            if (auto r = b.recv(*s, buf); r && *r > 0) {
              for (std::size_t i = 0; i < *r; ++i) {
                EXPECT_EQ(buf[i], pattern(received + i)) << "at byte " << received + i;
              }
              received += *r;
            }
          }
          pair.flush();
          return received == kBytes;
        },
        100000s);
  }
  ASSERT_TRUE(done) << "received " << received << " sent " << sent;
  EXPECT_LE(a.buffer_pool().bytes_in_use(), 4 * kChunk);
  EXPECT_GT(a.stats().memory.pressure_entered + b.stats().memory.pressure_entered, 0U);
  EXPECT_GT(b.stats().memory.memory_drops, 0U);  // the receiver ran into its limit
  EXPECT_GT(a.stats().memory.sends_held_back, 0U);
}

}  // namespace
}  // namespace synack::stack::testing
