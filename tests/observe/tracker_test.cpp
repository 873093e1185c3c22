// The one per-connection tracker: offers, ISNs, retransmissions and the outcome the wire shows.
#include "synack/observe/tracker.hpp"

#include <gtest/gtest.h>

namespace synack::observe {
namespace {

constexpr auto kS = wire::TcpFlags::kSyn;
constexpr auto kA = wire::TcpFlags::kAck;
constexpr auto kF = wire::TcpFlags::kFin;
constexpr auto kR = wire::TcpFlags::kRst;

Instant at(int ms) {
  return Instant::from_nanoseconds(static_cast<std::int64_t>(ms) * 1'000'000);
}

wire::TcpHeader segment(std::uint16_t flags, std::uint32_t seq, std::uint32_t ack = 0) {
  wire::TcpHeader h;
  h.flags = wire::TcpFlags(flags);
  h.seq = wire::SeqNum(seq);
  h.ack = wire::SeqNum(ack);
  return h;
}

wire::TcpHeader syn(std::uint16_t flags, std::uint32_t seq, std::uint32_t ack, std::uint16_t mss) {
  wire::TcpHeader h = segment(flags, seq, ack);
  h.options.mss = mss;
  h.options.sack_permitted = true;
  return h;
}

constexpr Direction kC2S = Direction::to_server;
constexpr Direction kS2C = Direction::to_client;

TEST(ConnectionTracker, Handshake_OffersAgreedAndEstablishedAtTheFinalAck) {
  ConnectionTracker t(wire::IpVersion::v4);
  EXPECT_FALSE(t.observe(at(0), kC2S, syn(kS, 100, 0, 1460), 0));
  EXPECT_FALSE(t.observe(at(10), kS2C, syn(kS | kA, 500, 101, 1360), 0));
  EXPECT_EQ(t.outcome(), Outcome::pending);
  EXPECT_FALSE(t.observe(at(20), kC2S, segment(kA, 101, 501), 0));
  EXPECT_EQ(t.outcome(), Outcome::established);
  EXPECT_EQ(t.established_at(), at(20));
  EXPECT_EQ(t.isn(Role::client), 100U);
  EXPECT_EQ(t.isn(Role::server), 500U);
  ASSERT_TRUE(t.negotiated().agreed);
  EXPECT_EQ(t.negotiated().agreed->mss_client_to_server, 1360);
  EXPECT_EQ(t.negotiated().agreed->mss_server_to_client, 1360);
  EXPECT_TRUE(t.negotiated().agreed->sack);
}

TEST(ConnectionTracker, SynSentTwice_OneSynRetransmissionAndTheFirstOfferKept) {
  ConnectionTracker t;
  EXPECT_FALSE(t.observe(at(0), kC2S, syn(kS, 100, 0, 1460), 0));
  EXPECT_TRUE(t.observe(at(1000), kC2S, syn(kS, 100, 0, 1200), 0));
  EXPECT_EQ(t.syns(Role::client), 2U);
  EXPECT_EQ(t.syn_retransmits(Role::client), 1U);
  EXPECT_EQ(t.negotiated().client->mss, 1460);
}

TEST(ConnectionTracker, RstBeforeAnySynAck_Refused) {
  ConnectionTracker t;
  (void)t.observe(at(0), kC2S, syn(kS, 100, 0, 1460), 0);
  (void)t.observe(at(5), kS2C, segment(kR | kA, 0, 101), 0);
  EXPECT_EQ(t.outcome(), Outcome::refused);
  EXPECT_EQ(t.ended_at(), at(5));
}

TEST(ConnectionTracker, Established_RstAfterBothFins_StaysEstablished) {
  ConnectionTracker t;
  (void)t.observe(at(0), kC2S, syn(kS, 100, 0, 1460), 0);
  (void)t.observe(at(1), kS2C, syn(kS | kA, 500, 101, 1460), 0);
  (void)t.observe(at(2), kC2S, segment(kA, 101, 501), 0);
  (void)t.observe(at(3), kC2S, segment(kF | kA, 101, 501), 0);
  (void)t.observe(at(4), kS2C, segment(kF | kA, 501, 102), 0);
  (void)t.observe(at(5), kS2C, segment(kR, 502), 0);
  EXPECT_EQ(t.outcome(), Outcome::established);
  EXPECT_TRUE(t.fin(Role::client));
  EXPECT_TRUE(t.fin(Role::server));
}

TEST(ConnectionTracker, Established_RstBeforeTheFins_Reset) {
  ConnectionTracker t;
  (void)t.observe(at(0), kC2S, syn(kS, 100, 0, 1460), 0);
  (void)t.observe(at(1), kS2C, syn(kS | kA, 500, 101, 1460), 0);
  (void)t.observe(at(2), kC2S, segment(kA, 101, 501), 0);
  (void)t.observe(at(3), kS2C, segment(kR, 501), 0);
  EXPECT_EQ(t.outcome(), Outcome::reset);
}

TEST(ConnectionTracker, DataSentAgain_CountedAsADataRetransmission) {
  ConnectionTracker t;
  (void)t.observe(at(0), kC2S, syn(kS, 100, 0, 1460), 0);
  (void)t.observe(at(1), kS2C, syn(kS | kA, 500, 101, 1460), 0);
  (void)t.observe(at(2), kC2S, segment(kA, 101, 501), 100);
  EXPECT_TRUE(t.observe(at(300), kC2S, segment(kA, 101, 501), 100));
  EXPECT_EQ(t.data_retransmits(Role::client), 1U);
  EXPECT_EQ(t.syn_retransmits(Role::client), 0U);
}

TEST(ConnectionTracker, TimedOut_OnlyWhilePending) {
  ConnectionTracker t;
  (void)t.observe(at(0), kC2S, syn(kS, 100, 0, 1460), 0);
  t.timed_out(at(127'000));
  EXPECT_EQ(t.outcome(), Outcome::timed_out);
  t.timed_out(at(128'000));
  EXPECT_EQ(t.ended_at(), at(127'000));
}

}  // namespace
}  // namespace synack::observe
