// Send buffer, receive buffer with reassembly, RTT estimator; memory bounds of the engine's structs.
#include <vector>

#include <gtest/gtest.h>

#include "synack/tcp/connection.hpp"
#include "synack/tcp/listener.hpp"
#include "synack/tcp/recv_buffer.hpp"
#include "synack/tcp/rtt.hpp"
#include "synack/tcp/send_buffer.hpp"

namespace synack::tcp {
namespace {

using namespace std::chrono_literals;

std::vector<std::byte> seq_bytes(std::size_t n, std::size_t start = 0) {
  std::vector<std::byte> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<std::byte>((start + i) & 0xFFU);
  return v;
}

TEST(Memory, HalfOpenEntryAtMost64Bytes) {
  static_assert(sizeof(HalfOpen) <= 64);
  EXPECT_LE(sizeof(HalfOpen), 64U);
  RecordProperty("sizeof_HalfOpen", static_cast<int>(sizeof(HalfOpen)));
}

TEST(Memory, EstablishedControlBlockAtMost256Bytes) {
  static_assert(sizeof(Connection) <= 256, "the TCB must stay within 256 bytes before its buffers");
  EXPECT_LE(sizeof(Connection), 256U);
  RecordProperty("sizeof_Connection", static_cast<int>(sizeof(Connection)));
}

TEST(SendBuffer, WritePeekConsume) {
  SendBuffer b(10);
  const auto d = seq_bytes(15);
  EXPECT_EQ(b.append(d), 10U);
  EXPECT_EQ(b.free_space(), 0U);
  EXPECT_EQ(b.peek(2, 3)[0], std::byte{2});
  b.consume(4);
  EXPECT_EQ(b.append(wire::Bytes(d).subspan(10, 5)), 4U);  // compacts
  EXPECT_EQ(b.size(), 10U);
  const auto all = b.peek(0, 100);
  for (std::size_t i = 0; i < all.size(); ++i) EXPECT_EQ(all[i], static_cast<std::byte>(i + 4));
}

TEST(RecvBuffer, InOrderAndOutOfOrderReassembly) {
  RecvBuffer b(16, 4);
  const auto d = seq_bytes(16);
  EXPECT_EQ(b.insert(4, wire::Bytes(d).subspan(4, 4)), 0U);  // hole at 0..4
  EXPECT_EQ(b.out_of_order_ranges(), 1U);
  EXPECT_EQ(b.insert(10, wire::Bytes(d).subspan(10, 2)), 0U);
  EXPECT_EQ(b.out_of_order_ranges(), 2U);
  EXPECT_EQ(b.insert(0, wire::Bytes(d).first(4)), 8U);  // fills the hole, joins 4..8
  EXPECT_EQ(b.out_of_order_ranges(), 1U);
  std::vector<std::byte> out(16);
  EXPECT_EQ(b.copy_out(out), 8U);
  for (std::size_t i = 0; i < 8; ++i) EXPECT_EQ(out[i], std::byte(static_cast<unsigned char>(i)));
  // offsets are relative to the new RCV.NXT (8): bytes 8..10 fill the next hole
  EXPECT_EQ(b.insert(0, wire::Bytes(d).subspan(8, 2)), 4U);
}

TEST(RecvBuffer, ClipsToWindowAndBoundsRanges) {
  RecvBuffer b(8, 1);
  const auto d = seq_bytes(20);
  EXPECT_EQ(b.insert(0, d), 8U);  // only the window
  EXPECT_EQ(b.window(), 0U);
  EXPECT_EQ(b.insert(0, d), 0U);
  std::vector<std::byte> out(8);
  EXPECT_EQ(b.copy_out(out), 8U);
  EXPECT_EQ(b.insert(2, wire::Bytes(d).first(1)), 0U);
  EXPECT_EQ(b.insert(5, wire::Bytes(d).first(1)), 0U);  // second range refused
  EXPECT_EQ(b.out_of_order_ranges(), 1U);
}

// RFC 6298 §2.2, §2.3, §5.5.
TEST(Rtt, FirstSampleThenSmoothedAndBackoff) {
  RttEstimator r(1s);
  EXPECT_EQ(r.rto(), 1s);
  r.sample(100ms, 200ms, 120s);
  EXPECT_EQ(r.srtt(), 100ms);
  EXPECT_EQ(r.rttvar(), 50ms);
  EXPECT_EQ(r.rto(), 300ms);
  r.sample(100ms, 200ms, 120s);
  EXPECT_EQ(r.srtt(), 100ms);
  EXPECT_EQ(r.rttvar(), 37500us);
  EXPECT_EQ(r.rto(), 250ms);
  r.backoff(120s);
  EXPECT_EQ(r.rto(), 500ms);
  for (int i = 0; i < 20; ++i) r.backoff(120s);
  EXPECT_EQ(r.rto(), 120s);
}

TEST(Rtt, RtoFlooredAtMin) {
  RttEstimator r(1s);
  r.sample(1ms, 200ms, 120s);
  EXPECT_EQ(r.rto(), 200ms);
}

}  // namespace
}  // namespace synack::tcp
