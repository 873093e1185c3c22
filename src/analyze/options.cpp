// What both sides' SYN options add up to, and the anomalies visible in them (docs/analyze.md).
#include <algorithm>
#include <array>
#include <optional>
#include <string>
#include <string_view>

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

// synack's cookie layout (tcp/syn_cookie.hpp): its MSS tables (8 entries, 3 bits) and where the state
// goes. Without timestamps the ISN's low 8 bits are MSS index (7-5), window scale (4-1, 15 = none) and
// SACK (0); with timestamps the ISN's low 3 bits are the MSS index and the TSval's low 6 bits carry the
// window scale and SACK in Linux's layout (ECN always 0). The MAC above them needs the key; these bits do
// not.
constexpr std::array<std::uint16_t, 8> kSynackMssV4 = {536, 1200, 1360, 1400, 1440, 1452, 1460, 8960};
constexpr std::array<std::uint16_t, 8> kSynackMssV6 = {1220, 1280, 1340, 1380, 1420, 1432, 1440, 8940};
constexpr std::uint32_t kSynackWscaleNone = 15;

/// The index synack's cookie gives the client's MSS (the largest entry not above it; the default MSS
/// when the SYN had none); nullopt below the table, where synack sends no cookie.
std::optional<std::uint32_t> synack_mss_index(const OfferedOptions& c, bool v6) {
  const auto& table = v6 ? kSynackMssV6 : kSynackMssV4;
  const std::uint16_t mss = c.mss.value_or(v6 ? kDefaultMssV6 : kDefaultMssV4);
  std::optional<std::uint32_t> index;
  for (std::uint32_t i = 0; i < table.size(); ++i) {
    if (table[i] <= mss) index = i;
  }
  return index;
}

/// The client's window scale and SACK as both layouts put them in TSval's low bits (Linux adds ECN).
std::uint32_t ts_option_bits(const OfferedOptions& c, bool with_ecn) {
  std::uint32_t bits =
      c.wscale ? (std::min<std::uint32_t>(*c.wscale, 14U) & kTsOptWscaleMask) : kTsOptWscaleMask;
  if (c.sack_permitted) bits |= kTsOptSack;
  if (with_ecn && c.ecn) bits |= kTsOptEcn;
  return bits;
}

std::string_view describe_client_options(const OfferedOptions& c) {
  if (c.wscale && c.sack_permitted) return "window scale and SACK";
  if (c.wscale) return "window scale";
  if (c.sack_permitted) return "SACK";
  return "options";
}

void syn_cookie_check(ConnectionReport& r, bool v6) {
  const auto& c = r.client_offered;
  const auto& s = r.server_offered;
  const bool timestamps = c.timestamps && s.timestamps;
  // synack: the bits sit at fixed places and are checked first (Linux's checks below would take a
  // synack cookie with timestamps for a Linux one).
  if (const auto index = synack_mss_index(c, v6); index && r.server_isn) {
    const std::uint32_t isn = *r.server_isn;
    const auto& table = v6 ? kSynackMssV6 : kSynackMssV4;
    if (timestamps) {
      const std::uint32_t bits = ts_option_bits(c, false);
      if ((isn & 7U) == *index && (s.tsval & kTsMask) == bits) {
        r.anomalies.push_back(fmt::format(
            "SYN cookie likely (synack, timestamps): the SYN-ACK's TSval low 6 bits (0x{:02x}) encode the "
            "client's {} and its ISN's low 3 bits ({}) the client's MSS as {} in synack's cookie table "
            "(heuristic: 1 in 512 by chance; a Linux cookie with timestamps matches it 1 in 8)",
            bits, describe_client_options(c), *index, table[*index]));
        return;
      }
    } else {
      const std::uint32_t ws = c.wscale ? std::min<std::uint32_t>(*c.wscale, 14U) : kSynackWscaleNone;
      const std::uint32_t state = (*index << 5U) | (ws << 1U) | (c.sack_permitted ? 1U : 0U);
      if ((isn & 0xFFU) == state) {
        r.anomalies.push_back(fmt::format(
            "SYN cookie likely (synack, no timestamps): the SYN-ACK's ISN low 8 bits (0x{:02x}) encode the "
            "client's MSS as {}, window scale {} and SACK {} as synack's cookies do, which keep them "
            "(heuristic: 1 in 256 by chance)",
            state, table[*index], ws == kSynackWscaleNone ? std::string("none") : fmt::format("{}", ws),
            c.sack_permitted ? "on" : "off"));
        return;
      }
    }
  }
  if (!s.mss) return;
  const auto& table = v6 ? kCookieMssV6 : kCookieMssV4;
  const bool mss_in_table = std::find(table.begin(), table.end(), *s.mss) != table.end();
  if (!mss_in_table) return;
  // Without timestamps a Linux cookie cannot remember window scale or SACK: the SYN-ACK drops them.
  if (!timestamps) {
    const bool client_asked = c.wscale.has_value() || c.sack_permitted;
    if (client_asked && !s.wscale && !s.sack_permitted && !s.timestamps) {
      r.anomalies.push_back(fmt::format(
          "SYN cookie likely (Linux, no timestamps): the SYN-ACK dropped the {} the client offered and its "
          "MSS {} is in Linux's cookie table (cookies without timestamps cannot keep them)",
          describe_client_options(c), *s.mss));
    }
    return;
  }
  // With timestamps: TSval's low bits encode the client's wscale / SACK / ECN. Linux adds a secret
  // per-connection offset to its TSvals unless the server runs tcp_timestamps=2, and the offset hides
  // these bits: this recognises only servers without it.
  const std::uint32_t expected = ts_option_bits(c, true);
  if ((s.tsval & kTsMask) == expected) {
    r.anomalies.push_back(fmt::format(
        "SYN cookie likely (Linux, timestamps): the SYN-ACK's TSval low 6 bits (0x{:02x}) encode the "
        "client's options as Linux cookies do, and its MSS {} is in the cookie table (heuristic: 1 in 64 "
        "by chance)",
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
  if (r.outcome != observe::Outcome::simultaneous_open) syn_cookie_check(r, v6);
}

}  // namespace synack::analyze::detail
