// What both sides' SYN options add up to, and the anomalies visible in them (docs/analyze.md).
#include <algorithm>
#include <array>

#include <fmt/format.h>

#include "handshake.hpp"

namespace synack::analyze::detail {
namespace {

constexpr std::uint16_t kDefaultMssV4 = 536;   // RFC 9293 §3.7.1
constexpr std::uint16_t kDefaultMssV6 = 1220;  // RFC 8200 §5 minimum MTU 1280 - 60

// Linux's SYN cookie MSS tables (net/ipv4/syncookies.c, net/ipv6/syncookies.c).
constexpr std::array<std::uint16_t, 4> kCookieMssV4 = {536, 1300, 1440, 1460};
constexpr std::array<std::uint16_t, 4> kCookieMssV6 = {1220, 1420, 1440, 8940};

// Linux's cookie timestamp layout (tcp_cookie_timestamp): TSval's low 6 bits carry the SYN's options.
constexpr std::uint32_t kTsOptWscaleMask = 0x0F;
constexpr std::uint32_t kTsOptSack = 1U << 4U;
constexpr std::uint32_t kTsOptEcn = 1U << 5U;
constexpr std::uint32_t kTsMask = 0x3F;

const char* side_name(bool client) {
  return client ? "client" : "server";
}

void syn_cookie_check(ConnectionReport& r, bool v6) {
  const auto& c = r.client_offered;
  const auto& s = r.server_offered;
  if (!s.mss) return;
  const auto& table = v6 ? kCookieMssV6 : kCookieMssV4;
  const bool mss_in_table = std::find(table.begin(), table.end(), *s.mss) != table.end();
  if (!mss_in_table) return;
  // Without timestamps a Linux cookie cannot remember window scale or SACK: the SYN-ACK drops them.
  if (!c.timestamps || !s.timestamps) {
    const bool client_asked = c.wscale.has_value() || c.sack_permitted;
    if (client_asked && !s.wscale && !s.sack_permitted && !s.timestamps) {
      r.anomalies.push_back(fmt::format(
          "SYN cookie likely: the SYN-ACK dropped the {} the client offered and its MSS {} is in Linux's "
          "cookie "
          "table (cookies without timestamps cannot keep them)",
          c.wscale && c.sack_permitted ? "window scale and SACK" : (c.wscale ? "window scale" : "SACK"),
          *s.mss));
    }
    return;
  }
  // With timestamps: TSval's low bits encode the client's wscale / SACK / ECN.
  std::uint32_t expected =
      c.wscale ? (std::min<std::uint32_t>(*c.wscale, 14U) & kTsOptWscaleMask) : kTsOptWscaleMask;
  if (c.sack_permitted) expected |= kTsOptSack;
  if (c.ecn) expected |= kTsOptEcn;
  if ((s.tsval & kTsMask) == expected) {
    r.anomalies.push_back(fmt::format(
        "SYN cookie likely: the SYN-ACK's TSval low 6 bits (0x{:02x}) encode the client's options as Linux "
        "cookies do, and its MSS {} is in the cookie table (heuristic: 1 in 64 by chance)",
        s.tsval & kTsMask, *s.mss));
  }
}

}  // namespace

void conclude_options(ConnectionReport& r) {
  const auto& c = r.client_offered;
  const auto& s = r.server_offered;
  const bool v6 = r.client.address.is_v6();
  for (bool client : {true, false}) {
    const auto& o = client ? c : s;
    if (!o.seen || o.unknown) continue;
    if (o.wscale && *o.wscale > wire::kMaxWindowShift) {
      r.anomalies.push_back(fmt::format("the {} offered window scale {} > 14 (clamped to 14, RFC 7323 §2.3)",
                                        side_name(client), *o.wscale));
    }
    if (!o.mss) {
      r.anomalies.push_back(fmt::format("missing MSS: the {}'s {} has no MSS option (the peer assumes {})",
                                        side_name(client), client ? "SYN" : "SYN-ACK",
                                        v6 ? kDefaultMssV6 : kDefaultMssV4));
    }
  }
  if (!c.seen || !s.seen || c.unknown || s.unknown) return;
  if (c.wscale.has_value() != s.wscale.has_value()) {
    r.anomalies.push_back(
        fmt::format("window scale from one side only: the {} offered shift {}, the {} none, so "
                    "neither side scales",
                    side_name(c.wscale.has_value()), c.wscale ? *c.wscale : s.wscale.value_or(0),
                    side_name(!c.wscale.has_value())));
  }
  auto& n = r.negotiated;
  n.known = true;
  const std::uint16_t fallback = v6 ? kDefaultMssV6 : kDefaultMssV4;
  // A sender is bound by the peer's MSS option (or the default) and by its own link, which its own
  // announced MSS reflects: the effective MSS is the smaller of the two (RFC 9293 §3.7.1, RFC 6691).
  constexpr std::uint16_t kNoLimit = 0xFFFF;
  n.mss_client_to_server = std::min(s.mss.value_or(fallback), c.mss.value_or(kNoLimit));
  n.mss_server_to_client = std::min(c.mss.value_or(fallback), s.mss.value_or(kNoLimit));
  if (c.wscale && s.wscale) {
    n.wscale_client = std::min(*c.wscale, wire::kMaxWindowShift);
    n.wscale_server = std::min(*s.wscale, wire::kMaxWindowShift);
  }
  n.sack = c.sack_permitted && s.sack_permitted;
  n.timestamps = c.timestamps && s.timestamps;
  n.ecn = c.ecn && s.ecn;
  if (r.verdict != Verdict::simultaneous) syn_cookie_check(r, v6);
}

}  // namespace synack::analyze::detail
