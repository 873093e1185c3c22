// The one per-connection tracker: offers, ISNs, retransmissions and the outcome the wire shows.
#include "synack/observe/tracker.hpp"

#include <array>
#include <cstddef>
#include <tuple>

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

TEST(ConnectionTracker, Refused_SameSynAgain_CountedAsARetryNotARetransmission) {
  ConnectionTracker t;
  (void)t.observe(at(0), kC2S, syn(kS, 100, 0, 1460), 0);
  (void)t.observe(at(1), kS2C, segment(kR | kA, 0, 101), 0);
  (void)t.observe(at(500), kC2S, syn(kS, 100, 0, 1460), 0);
  (void)t.observe(at(501), kS2C, segment(kR | kA, 0, 101), 0);
  EXPECT_EQ(t.outcome(), Outcome::refused);
  EXPECT_EQ(t.retries_after_refusal(), 1U);
  EXPECT_EQ(t.last_retry_at(), at(500));
  EXPECT_EQ(t.syn_retransmits(Role::client), 0U);
  EXPECT_EQ(t.answered_syn_at(), at(0));
  EXPECT_EQ(t.reset_by(), Role::server);
}

TEST(ConnectionTracker, SynSent_RstNotAcknowledgingTheSyn_IgnoredAndStillAwaitingAnswer) {
  ConnectionTracker t;
  (void)t.observe(at(0), kC2S, syn(kS, 100, 0, 1460), 0);
  (void)t.observe(at(1), kS2C, segment(kR | kA, 0, 555), 0);  // RFC 9293 §3.10.7.3: not acceptable
  EXPECT_EQ(t.outcome(), Outcome::pending);
  EXPECT_EQ(t.ignored_rsts(), 1U);
  EXPECT_TRUE(t.awaiting_answer());
}

TEST(ConnectionTracker, SynSent_PeerSynWithoutAck_SimultaneousOpen) {
  ConnectionTracker t;
  (void)t.observe(at(0), kC2S, syn(kS, 100, 0, 1460), 0);
  EXPECT_FALSE(t.observe(at(2), kS2C, syn(kS, 500, 0, 1400), 0));
  EXPECT_EQ(t.outcome(), Outcome::simultaneous_open);
  EXPECT_EQ(t.answered_syn_at(), at(0));
  ASSERT_TRUE(t.negotiated().agreed);
  EXPECT_EQ(t.negotiated().agreed->mss_client_to_server, 1400);
}

TEST(ConnectionTracker, SynAckReceived_ServerRst_ResetByTheServer) {
  ConnectionTracker t;
  (void)t.observe(at(0), kC2S, syn(kS, 100, 0, 1460), 0);
  (void)t.observe(at(1), kS2C, syn(kS | kA, 500, 101, 1460), 0);
  (void)t.observe(at(9), kS2C, segment(kR, 501), 0);
  EXPECT_EQ(t.outcome(), Outcome::reset);
  EXPECT_EQ(t.reset_by(), Role::server);
  EXPECT_EQ(t.ended_at(), at(9));
}

TEST(ConnectionTracker, LateStart_SynAckThenAck_IncompleteWithTheServerOfferOnly) {
  ConnectionTracker t;
  (void)t.observe(at(0), kS2C, syn(kS | kA, 500, 101, 1460), 0);
  EXPECT_TRUE(t.late_start());
  EXPECT_FALSE(t.awaiting_answer());
  (void)t.observe(at(1), kC2S, segment(kA, 101, 501), 0);
  EXPECT_EQ(t.outcome(), Outcome::incomplete);
  EXPECT_EQ(t.established_at(), at(1));
  EXPECT_FALSE(t.negotiated().client);
  EXPECT_TRUE(t.negotiated().server);
}

/// Client ISN 100 at 0 ms, server ISN 500 at 1 ms, the client's ACK at 2 ms.
ConnectionTracker established() {
  ConnectionTracker t;
  for (const auto& [ms, direction, header] :
       {std::tuple{0, kC2S, syn(kS, 100, 0, 1460)}, std::tuple{1, kS2C, syn(kS | kA, 500, 101, 1460)},
        std::tuple{2, kC2S, segment(kA, 101, 501)}}) {
    (void)t.observe(at(ms), direction, header, 0);
  }
  return t;
}

TEST(ConnectionTracker, Established_LaterRst_HandshakeOutcomeStaysEstablished) {
  ConnectionTracker t = established();
  (void)t.observe(at(3), kC2S, segment(kR, 101), 0);
  EXPECT_EQ(t.outcome(), Outcome::reset);
  EXPECT_EQ(t.handshake_outcome(), Outcome::established);
  EXPECT_EQ(t.acknowledged_syn_ack_at(), at(1));
}

TEST(ConnectionTracker, LazySegment_OptionsReadFromTheBytesOnlyOnTheSyn) {
  // MSS 1460 (kind 2, length 4), then end of options.
  const std::array<std::byte, 8> bytes{std::byte{2}, std::byte{4}, std::byte{0x05}, std::byte{0xB4},
                                       std::byte{0}, std::byte{0}, std::byte{0},    std::byte{0}};
  Segment s;
  s.flags = wire::TcpFlags(kS);
  s.seq = 100;
  s.option_bytes = wire::Bytes(bytes.data(), bytes.size());
  ConnectionTracker t;
  (void)t.observe(at(0), kC2S, s);
  ASSERT_TRUE(t.negotiated().client);
  EXPECT_EQ(t.negotiated().client->mss, 1460);
  EXPECT_FALSE(t.options_unknown(Role::client));
}

TEST(ConnectionTracker, CutOptions_OfferSeenButUnknownAndNotNegotiated) {
  Segment s;
  s.flags = wire::TcpFlags(kS | wire::TcpFlags::kEce | wire::TcpFlags::kCwr);
  s.seq = 100;
  s.options_cut = true;
  ConnectionTracker t;
  (void)t.observe(at(0), kC2S, s);
  EXPECT_TRUE(t.options_unknown(Role::client));
  ASSERT_TRUE(t.offer(Role::client));
  EXPECT_TRUE(t.offer(Role::client)->ecn);  // the flags are known even when the options are not
  EXPECT_FALSE(t.negotiated().client);
}

}  // namespace
}  // namespace synack::observe
