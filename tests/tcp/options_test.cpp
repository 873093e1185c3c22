// Options negotiation (RFC 9293 §3.7.1, RFC 6691, RFC 7323, RFC 2018) as pure functions.
#include "synack/tcp/options.hpp"

#include <gtest/gtest.h>

namespace synack::tcp {
namespace {

using wire::IpVersion;

SynOptions peer(std::optional<std::uint16_t> mss, std::optional<std::uint8_t> ws, bool sack, bool ts) {
  wire::TcpOptions o;
  o.mss = mss;
  o.wscale = ws;
  o.sack_permitted = sack;
  if (ts) o.timestamps = wire::Timestamps{1, 0};
  return SynOptions::from(o);
}

TEST(Options, Offer_FromMtu_Ipv4AndIpv6) {
  Config c;
  EXPECT_EQ(make_offer(c, IpVersion::v4).mss, 1460);
  EXPECT_EQ(make_offer(c, IpVersion::v6).mss, 1440);
  c.mtu = 9000;
  EXPECT_EQ(make_offer(c, IpVersion::v4).mss, 8960);
  const Offer o = make_offer(Config{}, IpVersion::v4);
  EXPECT_EQ(o.wscale, std::optional<std::uint8_t>(7));
  EXPECT_TRUE(o.sack_permitted);
  EXPECT_TRUE(o.timestamps);
}

TEST(Options, Offer_OverridesApply) {
  OfferOverrides ov;
  ov.window_scaling = false;
  ov.timestamps = false;
  ov.mss = 1000;
  const Offer o = make_offer(Config{}, IpVersion::v4, ov);
  EXPECT_FALSE(o.wscale);
  EXPECT_FALSE(o.timestamps);
  EXPECT_EQ(o.mss, 1000);
}

// RFC 9293 §3.7.1: send MSS = min(peer's MSS, ours).
TEST(Options, SendMss_IsMinOfPeerAndOurs) {
  const Offer ours = make_offer(Config{}, IpVersion::v4);
  EXPECT_EQ(negotiate(ours, peer(1200, {}, false, false), IpVersion::v4).send_mss, 1200);
  EXPECT_EQ(negotiate(ours, peer(9000, {}, false, false), IpVersion::v4).send_mss, 1460);
  EXPECT_EQ(negotiate(ours, peer(9000, {}, false, false), IpVersion::v4).recv_mss, 1460);
}

// RFC 9293 §3.7.1 / RFC 6691: no MSS option -> 536 (IPv4) or 1220 (IPv6).
TEST(Options, PeerMssAbsent_Defaults536V4And1220V6) {
  const Offer ours4 = make_offer(Config{}, IpVersion::v4);
  const Offer ours6 = make_offer(Config{}, IpVersion::v6);
  EXPECT_EQ(negotiate(ours4, peer({}, {}, false, false), IpVersion::v4).send_mss, 536);
  EXPECT_EQ(negotiate(ours6, peer({}, {}, false, false), IpVersion::v6).send_mss, 1220);
}

TEST(Options, PeerMssZero_IsIgnored) {
  const Offer ours = make_offer(Config{}, IpVersion::v4);
  EXPECT_FALSE(peer(0, {}, false, false).mss);
  EXPECT_EQ(negotiate(ours, peer(0, {}, false, false), IpVersion::v4).send_mss, 536);
}

TEST(Options, TinyPeerMss_FlooredAtMinSendMss) {
  const Offer ours = make_offer(Config{}, IpVersion::v4);
  EXPECT_EQ(negotiate(ours, peer(1, {}, false, false), IpVersion::v4, 48).send_mss, 48);
}

// RFC 7323 §2.2: window scaling only when both SYNs carried the option.
TEST(Options, WindowScale_OnlyWhenBothSent) {
  const Offer ours = make_offer(Config{}, IpVersion::v4);
  const Negotiated both = negotiate(ours, peer(1460, 3, false, false), IpVersion::v4);
  EXPECT_EQ(both.snd_shift, std::optional<std::uint8_t>(3));
  EXPECT_EQ(both.rcv_shift, std::optional<std::uint8_t>(7));
  const Negotiated peer_only =
      negotiate(Offer{1460, {}, false, false}, peer(1460, 3, false, false), IpVersion::v4);
  EXPECT_FALSE(peer_only.snd_shift);
  EXPECT_FALSE(peer_only.rcv_shift);
  const Negotiated ours_only = negotiate(ours, peer(1460, {}, false, false), IpVersion::v4);
  EXPECT_FALSE(ours_only.snd_shift);
  EXPECT_FALSE(ours_only.rcv_shift);
}

// RFC 7323 §2.3: a shift above 14 is used as 14.
TEST(Options, WindowScale_ClampedTo14) {
  const Negotiated n =
      negotiate(make_offer(Config{}, IpVersion::v4), peer(1460, 15, false, false), IpVersion::v4);
  EXPECT_EQ(n.snd_shift, std::optional<std::uint8_t>(14));
}

// RFC 2018 §2: SACK only when both sent SACK-permitted.
TEST(Options, Sack_OnlyWhenBothSent) {
  const Offer ours = make_offer(Config{}, IpVersion::v4);
  EXPECT_TRUE(negotiate(ours, peer(1460, {}, true, false), IpVersion::v4).sack);
  EXPECT_FALSE(negotiate(ours, peer(1460, {}, false, false), IpVersion::v4).sack);
  EXPECT_FALSE(negotiate(Offer{1460, {}, false, false}, peer(1460, {}, true, false), IpVersion::v4).sack);
}

// RFC 7323 §3.2: timestamps only when both sent them.
TEST(Options, Timestamps_OnlyWhenBothSent) {
  const Offer ours = make_offer(Config{}, IpVersion::v4);
  EXPECT_TRUE(negotiate(ours, peer(1460, {}, false, true), IpVersion::v4).timestamps);
  EXPECT_FALSE(negotiate(ours, peer(1460, {}, false, false), IpVersion::v4).timestamps);
  EXPECT_FALSE(
      negotiate(Offer{1460, {}, false, false}, peer(1460, {}, false, true), IpVersion::v4).timestamps);
}

// A SYN-ACK carries window scale, SACK-permitted and timestamps only when the SYN did.
TEST(Options, AnswerOffer_EchoesOnlyWhatPeerSent) {
  const Offer ours = make_offer(Config{}, IpVersion::v4);
  const Offer none = answer_offer(ours, peer({}, {}, false, false));
  EXPECT_EQ(none.mss, 1460);
  EXPECT_FALSE(none.wscale);
  EXPECT_FALSE(none.sack_permitted);
  EXPECT_FALSE(none.timestamps);
  const Offer all = answer_offer(ours, peer(1460, 2, true, true));
  EXPECT_EQ(all.wscale, ours.wscale);
  EXPECT_TRUE(all.sack_permitted);
  EXPECT_TRUE(all.timestamps);
}

TEST(Options, SynOptions_ListsTheOffer) {
  const wire::TcpOptions o = syn_options(make_offer(Config{}, IpVersion::v4), wire::Timestamps{5, 0});
  EXPECT_EQ(o.mss, std::optional<std::uint16_t>(1460));
  EXPECT_EQ(o.wscale, std::optional<std::uint8_t>(7));
  EXPECT_TRUE(o.sack_permitted);
  ASSERT_TRUE(o.timestamps);
  EXPECT_EQ(o.timestamps->value, 5U);
}

}  // namespace
}  // namespace synack::tcp
