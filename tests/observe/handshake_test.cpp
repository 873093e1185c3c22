// The observation vocabulary: outcome names, offers from a SYN, and the one agreement rule.
#include "synack/observe/handshake.hpp"

#include <gtest/gtest.h>

namespace synack::observe {
namespace {

Offer full(std::uint16_t mss, std::uint8_t wscale) {
  return Offer{.mss = mss, .wscale = wscale, .sack_permitted = true, .timestamps = true};
}

TEST(Observe, Outcome_ToString_RoundTripsEveryName) {
  for (const Outcome o : kAllOutcomes) EXPECT_EQ(outcome_from_string(to_string(o)), o) << to_string(o);
  EXPECT_EQ(to_string(Outcome::timed_out), "timed_out");
  EXPECT_EQ(to_string(Outcome::simultaneous_open), "simultaneous_open");
  EXPECT_EQ(outcome_from_string("timeout"), std::nullopt);
}

TEST(Observe, Outcome_IsFailure_RefusedTimedOutReset) {
  EXPECT_TRUE(is_failure(Outcome::refused));
  EXPECT_TRUE(is_failure(Outcome::timed_out));
  EXPECT_TRUE(is_failure(Outcome::reset));
  EXPECT_FALSE(is_failure(Outcome::established));
  EXPECT_FALSE(is_failure(Outcome::pending));
}

TEST(Observe, Agree_BothOfferEverything_EachDirectionTakesTheSmallerMss) {
  const Agreed a = agree(full(1460, 7), full(1360, 9), wire::IpVersion::v4);
  EXPECT_EQ(a.mss_client_to_server, 1360);
  EXPECT_EQ(a.mss_server_to_client, 1360);  // the server's own announced MSS bounds it too
  EXPECT_EQ(a.wscale_client, 7);
  EXPECT_EQ(a.wscale_server, 9);
  EXPECT_TRUE(a.window_scaling());
  EXPECT_TRUE(a.sack);
  EXPECT_TRUE(a.timestamps);
  EXPECT_EQ(a.send_mss(Role::client), 1360);
  EXPECT_EQ(a.wscale(Role::server), 9);
}

TEST(Observe, Agree_OneSidedWindowScale_NeitherScales) {
  Offer server = full(1460, 7);
  server.wscale.reset();
  const Agreed a = agree(full(1460, 7), server, wire::IpVersion::v4);
  EXPECT_FALSE(a.window_scaling());
  EXPECT_EQ(a.wscale_client, std::nullopt);
  EXPECT_EQ(a.wscale_server, std::nullopt);
}

TEST(Observe, Agree_MissingMss_DefaultPerIpVersion) {
  const Offer none{};
  EXPECT_EQ(agree(none, none, wire::IpVersion::v4).mss_client_to_server, 536);
  EXPECT_EQ(agree(none, none, wire::IpVersion::v6).mss_server_to_client, 1220);
  EXPECT_EQ(agree(full(1460, 0), none, wire::IpVersion::v4).mss_client_to_server, 536);
  EXPECT_EQ(agree(full(1460, 0), none, wire::IpVersion::v4).mss_server_to_client, 1460);
}

TEST(Observe, Agree_ShiftAbove14_ClampedTo14) {
  EXPECT_EQ(agree(full(1460, 15), full(1460, 3), wire::IpVersion::v4).wscale_client, 14);
}

TEST(Observe, Offer_FromSynHeader_ReadsOptionsAndEcnSetup) {
  wire::TcpHeader syn;
  syn.flags = wire::TcpFlags(wire::TcpFlags::kSyn | wire::TcpFlags::kEce | wire::TcpFlags::kCwr);
  syn.options.mss = 1460;
  syn.options.wscale = 7;
  syn.options.sack_permitted = true;
  syn.options.timestamps = wire::Timestamps{.value = 1, .echo = 0};
  const Offer o = Offer::from(syn);
  EXPECT_EQ(o, (Offer{.mss = 1460, .wscale = 7, .sack_permitted = true, .timestamps = true, .ecn = true}));
  syn.flags = wire::TcpFlags(wire::TcpFlags::kSyn | wire::TcpFlags::kAck | wire::TcpFlags::kEce |
                             wire::TcpFlags::kCwr);
  EXPECT_FALSE(Offer::from(syn).ecn);  // a SYN-ACK with CWR is not an ECN-setup SYN-ACK
}

// The engine's own negotiation and the observation's agree, from each side's point of view.
TEST(Observe, Negotiated_FromEngine_MatchesTheEnginesView) {
  tcp::Offer client_offer{.mss = 1460, .wscale = 7, .sack_permitted = true, .timestamps = true};
  tcp::Offer server_offer{.mss = 1360, .wscale = 9, .sack_permitted = true, .timestamps = true};
  const wire::Timestamps ts{.value = 5, .echo = 0};
  const auto client_syn = tcp::SynOptions::from(tcp::syn_options(client_offer, ts));
  const auto server_syn =
      tcp::SynOptions::from(tcp::syn_options(tcp::answer_offer(server_offer, client_syn), ts));
  const tcp::Negotiated at_client = tcp::negotiate(client_offer, server_syn, wire::IpVersion::v4);
  const tcp::Negotiated at_server =
      tcp::negotiate(tcp::answer_offer(server_offer, client_syn), client_syn, wire::IpVersion::v4);

  const Negotiated seen_by_client =
      Negotiated::from_engine(Role::client, client_syn, server_syn, wire::IpVersion::v4);
  const Negotiated seen_by_server =
      Negotiated::from_engine(Role::server, server_syn, client_syn, wire::IpVersion::v4);
  EXPECT_EQ(seen_by_client, seen_by_server);
  ASSERT_TRUE(seen_by_client.agreed);
  const Agreed& a = *seen_by_client.agreed;
  EXPECT_EQ(a.send_mss(Role::client), at_client.send_mss);
  EXPECT_EQ(a.send_mss(Role::server), at_server.send_mss);
  EXPECT_EQ(a.wscale(Role::client), at_client.rcv_shift);
  EXPECT_EQ(a.wscale(Role::server), at_client.snd_shift);
  EXPECT_EQ(a.wscale(Role::server), at_server.rcv_shift);
  EXPECT_EQ(a.sack, at_client.sack);
  EXPECT_EQ(a.timestamps, at_server.timestamps);
}

TEST(Observe, Offer_ToString_TcpdumpWords) {
  EXPECT_EQ(to_string(full(1460, 7)), "mss 1460, wscale 7, sackOK, TS");
  EXPECT_EQ(to_string(Offer{}), "no options");
}

TEST(Observe, Agreed_ToString_EachDirection) {
  EXPECT_EQ(to_string(agree(full(1460, 7), full(1360, 9), wire::IpVersion::v4)),
            "MSS 1360 c>s / 1360 s>c, window scale client 7 / server 9, SACK on, timestamps on");
  EXPECT_EQ(to_string(agree(Offer{}, Offer{}, wire::IpVersion::v4)),
            "MSS 536 c>s / 536 s>c, window scale off, SACK off, timestamps off");
}

}  // namespace
}  // namespace synack::observe
