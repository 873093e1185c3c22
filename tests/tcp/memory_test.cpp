// Connection memory that follows use: pool chunks taken on the first byte and given back when drained,
// the out-of-order list and SACK scoreboard only while needed, the idle footprint, and the pool's
// budget (memory pressure, hard limit, relief).
#include <vector>

#include <gtest/gtest.h>

#include "fixture.hpp"
#include "synack/tcp/buffer_pool.hpp"
#include "synack/tcp/recv_buffer.hpp"
#include "synack/tcp/send_buffer.hpp"

namespace synack::tcp::testing {
namespace {

constexpr std::size_t kChunk = BufferChunk::kSize;

std::vector<std::byte> stream_bytes(std::size_t n, std::size_t start) {
  std::vector<std::byte> v(n);
  for (std::size_t i = 0; i < n; ++i)
    v[i] = static_cast<std::byte>(((start + i) * 7U + (start + i) / 251U) & 0xFFU);
  return v;
}

// --- the buffers on their own ----------------------------------------------------------------------------

TEST(SendBufferChunks, AppendTakesChunksAsNeeded_ConsumeGivesThemBack) {
  BufferPool pool;
  SendBuffer b(64 * 1024, &pool);
  EXPECT_EQ(pool.chunks_in_use(), 0U);  // nothing before the first byte
  const auto d = stream_bytes(20000, 0);
  EXPECT_EQ(b.append(wire::Bytes(d).first(100)), 100U);
  EXPECT_EQ(pool.chunks_in_use(), 1U);
  EXPECT_EQ(b.append(wire::Bytes(d).subspan(100)), 19900U);
  EXPECT_EQ(pool.chunks_in_use(), 2U);
  b.consume(kChunk);  // the first chunk is drained
  EXPECT_EQ(pool.chunks_in_use(), 1U);
  b.consume(b.size());
  EXPECT_EQ(pool.chunks_in_use(), 0U);
  EXPECT_EQ(pool.free_chunks(), 2U);  // kept for reuse: no malloc for the next burst
}

TEST(SendBufferChunks, PeekAcrossChunkBoundary_OneSpanWithTheRightBytes) {
  BufferPool pool;
  SendBuffer b(64 * 1024, &pool);
  const auto d = stream_bytes(40000, 0);
  ASSERT_EQ(b.append(d), 40000U);
  const std::size_t at = kChunk - 500;
  const wire::Bytes p = b.peek(at, 1448);  // 500 bytes in the first chunk, 948 in the second
  ASSERT_EQ(p.size(), 1448U);
  for (std::size_t i = 0; i < p.size(); ++i) ASSERT_EQ(p[i], d[at + i]) << i;
  EXPECT_EQ(b.chunks_held(), 4U);           // three data chunks and the staging chunk
  const wire::Bytes q = b.peek(100, 1448);  // within a chunk: a view, no copy
  for (std::size_t i = 0; i < q.size(); ++i) ASSERT_EQ(q[i], d[100 + i]);
  b.consume(b.size());
  EXPECT_EQ(b.chunks_held(), 0U);
  EXPECT_EQ(pool.chunks_in_use(), 0U);
}

TEST(BufferPoolRelief, PressureEnds_SignalledWordGetsItsBits_OthersKept) {
  // 4 chunks: pressure above 3.5 (the 4th chunk), relief at 3 or fewer.
  BufferPool pool(BufferPool::Limits{4 * kChunk, 64, 64});
  std::uint8_t word = 0x10;
  pool.signal_relief(&word, 0x03);
  std::vector<BufferChunk*> held(4);
  for (BufferChunk*& c : held) c = pool.acquire_chunk();
  ASSERT_TRUE(pool.under_pressure());
  EXPECT_EQ(word, 0x10);  // pressure itself signals nothing
  pool.release_chunk(held.back());
  held.pop_back();
  EXPECT_FALSE(pool.under_pressure());
  EXPECT_TRUE(pool.relief_pending());
  EXPECT_EQ(word, 0x13);  // the pool's bits added, the word's own bit kept
  EXPECT_TRUE(pool.take_relief());
  for (BufferChunk* c : held) pool.release_chunk(c);
}

TEST(RecvBufferChunks, OutOfOrderAcrossChunkBoundaries_ReassembledIntact) {
  BufferPool pool;
  RecvBuffer b(64 * 1024, 8, &pool);
  const auto d = stream_bytes(50000, 0);
  // A segment straddling the first chunk boundary and one straddling the second, before the hole fills.
  EXPECT_EQ(b.insert(kChunk - 700, wire::Bytes(d).subspan(kChunk - 700, 1448)), 0U);
  EXPECT_EQ(b.insert(2 * kChunk - 100, wire::Bytes(d).subspan(2 * kChunk - 100, 1448)), 0U);
  EXPECT_EQ(b.out_of_order_ranges(), 2U);
  EXPECT_EQ(pool.chunks_in_use(), 3U);                          // chunks 0, 1 and 2; not the whole window
  EXPECT_EQ(b.insert(0, wire::Bytes(d).first(50000)), 50000U);  // fills everything in order
  EXPECT_EQ(b.out_of_order_ranges(), 0U);
  EXPECT_EQ(b.side_bytes(), 0U);  // the range list went back with the last hole
  std::vector<std::byte> out(50000);
  ASSERT_EQ(b.copy_out(out), 50000U);
  EXPECT_EQ(out, d);
  EXPECT_EQ(pool.chunks_in_use(), 0U);
}

TEST(RecvBufferChunks, StreamWrapsPastCapacityManyTimes_ChunksBoundedAndDataIntact) {
  BufferPool pool;
  const std::size_t cap = 40000;  // not a multiple of the chunk size
  RecvBuffer b(cap, 4, &pool);
  std::size_t received = 0;
  std::size_t read = 0;
  std::vector<std::byte> out(3000);
  for (int round = 0; round < 400; ++round) {
    // Two segments in reverse order (one out of order first), then a partial read.
    const auto s1 = stream_bytes(1448, received);
    const auto s2 = stream_bytes(1448, received + 1448);
    const std::size_t w = b.window();
    if (w < 2 * 1448) {
      const std::size_t n = b.copy_out(out);
      ASSERT_EQ(wire::Bytes(out).first(n).size(), n);
      const auto want = stream_bytes(n, read);
      for (std::size_t i = 0; i < n; ++i) ASSERT_EQ(out[i], want[i]) << "byte " << read + i;
      read += n;
      continue;
    }
    EXPECT_EQ(b.insert(1448, s2), 0U);
    EXPECT_EQ(b.insert(0, s1), 2896U);
    received += 2896;
    EXPECT_LE(pool.chunks_in_use(), cap / kChunk + 2);
  }
  EXPECT_GT(received, 10 * cap);
}

// --- a connection ------------------------------------------------------------------------------------------

class LazyBuffers : public EngineTest {
 protected:
  BufferPool pool{BufferPool::Limits{}};
  void SetUp() override { config.buffer_pool = &pool; }
  void TearDown() override { conn.reset(); }  // the connection gives its memory back before the pool goes
  /// Occupies pool chunks (another connection's buffers, as far as the pool can tell).
  std::vector<BufferChunk*> hog;
  void take(std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) hog.push_back(pool.acquire_chunk());
  }
  void give_back() {
    for (BufferChunk* c : hog) pool.release_chunk(c);
    hog.clear();
  }
};

class MemoryBudget : public LazyBuffers {
 protected:
  // 16 chunks: pressure above 14, relief at 12 or fewer.
  MemoryBudget() { pool_limits(16 * kChunk); }
  void pool_limits(std::size_t limit) { budget.emplace(BufferPool::Limits{limit, 64, 64}); }
  std::optional<BufferPool> budget;
  void SetUp() override { config.buffer_pool = &*budget; }
  void take(std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
      BufferChunk* c = budget->acquire_chunk();
      ASSERT_NE(c, nullptr);
      hog.push_back(c);
    }
  }
  void give_back() {
    for (BufferChunk* c : hog) budget->release_chunk(c);
    hog.clear();
  }
  void TearDown() override {
    give_back();
    conn.reset();
  }
};

TEST_F(LazyBuffers, SynSent_Created_HoldsNoBufferMemory) {
  closed_to_syn_sent();
  EXPECT_EQ(pool.chunks_in_use(), 0U);
  EXPECT_EQ(pool.blocks_in_use(), 1U);  // the control extension only
  EXPECT_EQ(conn->heap_bytes(), BufferPool::kBlockSize);
}

TEST_F(LazyBuffers, Established_Idle_FootprintAtMost512Bytes) {
  static_assert(sizeof(Connection) + BufferPool::kBlockSize <= 512);
  established();
  // Some traffic each way, then everything read and acknowledged.
  ASSERT_EQ(conn->send(bytes_of(5000)).value(), 5000U);
  (void)drain();
  peer_acks_all();
  deliver(seg(A | P, peer_next(), our_next()), bytes_of(3000));
  std::vector<std::byte> out(4000);
  ASSERT_EQ(conn->recv(out).value(), 3000U);
  (void)drain();
  EXPECT_EQ(conn->chunks_held(), 0U);
  EXPECT_EQ(pool.chunks_in_use(), 0U);
  const std::size_t footprint = sizeof(Connection) + conn->heap_bytes();
  EXPECT_LE(footprint, 512U);
  RecordProperty("idle_connection_bytes", static_cast<int>(footprint));
}

TEST_F(LazyBuffers, Established_DataArrives_AllocatesFirstChunkOnly) {
  established();
  deliver(seg(A | P, peer_next(), our_next()), bytes_of(1448));
  EXPECT_EQ(conn->readable(), 1448U);
  EXPECT_EQ(pool.chunks_in_use(), 1U);
  EXPECT_EQ(conn->chunks_held(), 1U);
  EXPECT_EQ(conn->rcv_wnd(), config.recv_buffer - 1448U);  // the window still offers the capacity
}

TEST_F(LazyBuffers, Established_UserReadsAll_ChunksReturnedToPool) {
  established();
  for (int i = 0; i < 20; ++i)
    deliver(seg(A, peer_next(), our_next()), bytes_of(1448, static_cast<unsigned>(i)));
  EXPECT_EQ(pool.chunks_in_use(), 2U);  // 28960 bytes in two 16 KiB chunks
  std::vector<std::byte> out(20 * 1448);
  ASSERT_EQ(conn->recv(out).value(), out.size());
  EXPECT_EQ(pool.chunks_in_use(), 0U);
  EXPECT_EQ(pool.free_chunks(), 2U);
}

TEST_F(LazyBuffers, Established_AllDataAcked_SendChunksReturnedToPool) {
  established(std::nullopt, 65535);
  ASSERT_EQ(conn->send(bytes_of(40000)).value(), 40000U);
  EXPECT_EQ(pool.chunks_in_use(), 3U);
  std::vector<Sent> sent;
  for (int round = 0;
       round < 10 && (round == 0 || conn->snd_una() != conn->snd_nxt() || conn->wants_transmit()); ++round) {
    for (Sent& s : drain()) sent.push_back(std::move(s));
    peer_acks_all(65535);
  }
  // Every segment but the last is a full one, chunk boundaries (every 16 KiB) notwithstanding.
  std::size_t total = 0;
  for (std::size_t i = 0; i < sent.size(); ++i) {
    total += sent[i].payload.size();
    if (i + 1 < sent.size()) {
      EXPECT_EQ(sent[i].payload.size(), sent[0].payload.size()) << i;
    }
  }
  EXPECT_EQ(total, 40000U);
  EXPECT_EQ(pool.chunks_in_use(), 0U);
}

TEST_F(LazyBuffers, Established_OutOfOrderThenFilled_RangeListOnlyWhileHeld) {
  established();
  const std::size_t idle = conn->heap_bytes();
  deliver(seg(A, peer_next() + 1448, our_next()), bytes_of(1448));
  EXPECT_GT(conn->heap_bytes(), idle + sizeof(BufferChunk));  // a chunk and the range list
  deliver(seg(A, peer_next(), our_next()), bytes_of(1448));
  EXPECT_EQ(conn->readable(), 2896U);
  std::vector<std::byte> out(2896);
  ASSERT_EQ(conn->recv(out).value(), 2896U);
  EXPECT_EQ(conn->heap_bytes(), idle);
}

TEST_F(LazyBuffers, Established_FirstSackBlock_AllocatesScoreboard_FreedWhenAcked) {
  established(std::nullopt, 65535);
  const std::size_t idle_chunks = pool.chunks_in_use();
  ASSERT_EQ(conn->send(bytes_of(4 * 1436)).value(), 4U * 1436U);
  (void)drain();
  const std::size_t before = conn->heap_bytes();
  auto h = seg(A, peer_next(), conn->snd_una() + 0U, 65535);
  h.ack = conn->snd_una();
  (void)h.options.sack.push_back({conn->snd_una() + 1436U, conn->snd_una() + 2872U});
  deliver(h);
  EXPECT_EQ(conn->heap_bytes(), before + sizeof(SackScoreboard));
  (void)drain();
  peer_acks_all(65535);
  EXPECT_EQ(conn->heap_bytes(), BufferPool::kBlockSize);  // scoreboard and send chunks gone
  EXPECT_EQ(pool.chunks_in_use(), idle_chunks);
}

// --- the budget --------------------------------------------------------------------------------------------

TEST_F(MemoryBudget, Pressure_WindowStopsGrowing_RightEdgeNeverRetracts) {
  config.recv_buffer = 60000;
  config.window_shift = 0;  // exact edges on the wire (no scale rounding)
  established();
  // A first burst and a read: the window update moves the right edge.
  for (int i = 0; i < 10; ++i) deliver(seg(A, peer_next(), our_next()), bytes_of(1448));
  auto acks = drain();
  ASSERT_FALSE(acks.empty());
  const auto edge = [](const Sent& s) { return s.h.ack + static_cast<std::uint32_t>(s.h.window); };
  SeqNum right = edge(acks.front());
  for (const Sent& a : acks) {
    if (edge(a) > right) right = edge(a);
  }  // the edge offered so far
  take(14);  // 15 chunks in use with the connection's own: pressure
  ASSERT_TRUE(budget->under_pressure());
  EXPECT_EQ(budget->stats().pressure_entered, 1U);
  std::vector<std::byte> out(64 * 1024);
  ASSERT_EQ(conn->recv(out).value(), 14480U);
  expect_none();  // no window update under pressure
  // More data: every ACK keeps the old right edge, never less, never more.
  for (int i = 0; i < 5; ++i) {
    deliver(seg(A, peer_next(), our_next()), bytes_of(1448));
    const Sent a = expect_one();
    EXPECT_EQ(edge(a), right) << "round " << i;
    ASSERT_EQ(conn->recv(out).value(), 1448U);
  }
  EXPECT_GT(budget->stats().windows_clamped, 0U);
  // Pressure ends: the window opens again.
  give_back();
  ASSERT_FALSE(budget->under_pressure());
  ASSERT_TRUE(budget->take_relief());
  conn->on_memory_relief();
  const Sent update = expect_one();
  EXPECT_GE(edge(update) - right, 1448);
}

TEST_F(MemoryBudget, Pressure_SendHeldBack_WritableWhenPressureEnds) {
  established(std::nullopt, 65535);
  ASSERT_EQ(conn->send(bytes_of(1000)).value(), 1000U);  // one chunk held
  take(14);
  ASSERT_TRUE(budget->under_pressure());
  // Only the room left in the chunk already held is taken; then nothing (would block).
  EXPECT_EQ(conn->send(bytes_of(40000)).value(), kChunk - 1000U);
  EXPECT_EQ(conn->send(bytes_of(100)).value(), 0U);
  EXPECT_EQ(budget->stats().sends_held_back, 2U);
  EXPECT_EQ(conn->take_events() & event::kWritable, 0);
  give_back();
  ASSERT_TRUE(budget->take_relief());
  conn->on_memory_relief();
  EXPECT_NE(conn->take_events() & event::kWritable, 0);
  EXPECT_EQ(conn->send(bytes_of(40000)).value(), 40000U);
}

TEST_F(MemoryBudget, HardLimit_DataNeedingNewChunk_DroppedAndCounted) {
  established();
  take(16);  // every chunk of the budget is taken
  deliver(seg(A, peer_next(), our_next()), bytes_of(1448));
  EXPECT_EQ(conn->readable(), 0U);
  EXPECT_EQ(budget->stats().memory_drops, 1U);
  const Sent ack = expect_one();  // the peer hears RCV.NXT unchanged and retransmits later
  EXPECT_EQ(ack.h.ack, conn->rcv_nxt());
  give_back();
  deliver(seg(A, peer_next(), our_next()), bytes_of(1448));
  EXPECT_EQ(conn->readable(), 1448U);
}

}  // namespace
}  // namespace synack::tcp::testing
