/// @file
/// SYN cookies (RFC 4987 §3.6): the listener answers a SYN without keeping any state, encoding what it
/// must remember in the ISN of its SYN-ACK (and, when the SYN offered timestamps, in the low bits of its
/// TSval, as Linux's cookie_init_timestamp does). The final ACK returns both (SEG.ACK - 1 = our ISN,
/// TSecr = our TSval) and the listener rebuilds the half-open entry from them.
///
/// The cookie is a keyed MAC: SipHash-2-4 (libsodium crypto_shorthash) under a 128-bit secret over the
/// 4-tuple, the peer's ISN, a coarse time counter (64-second ticks) and the encoded options. The secret is
/// injected, like the ISN key (stack/entropy.hpp reads the OS CSPRNG; tests pass fixed keys), and time is
/// passed in, so a test pins exact cookies with the code that runs in production.
///
/// Layouts (bit 31 = most significant; "MAC" = that many low bits of the SipHash output):
///
///   Without timestamps — the ISN carries everything (Linux loses window scale and SACK here):
///     ISN:   | 31 ........ 8 | 7 6 5 | 4 3 2 1 | 0    |
///            |  MAC (24 bits) |  MSS  | wscale  | SACK |
///   With timestamps — options move to our TSval, the ISN keeps 5 more MAC bits:
///     ISN:   | 31 ........ 3 | 2 1 0 |
///            |  MAC (29 bits) |  MSS  |
///     TSval: | 31 ........ 6 | 5    | 4    | 3 2 1 0 |
///            |  our TS clock  | ECN  | SACK | wscale  |      (the clock rounded down to 64 ms)
///
///   MSS: index into a per-family table of 8 values (the SYN's MSS rounds down to the table); wscale: the
///   SYN's shift 0-14, or 15 = the SYN carried no window scale; ECN: the SYN asked for ECN and the
///   listener agreed (where Linux keeps it; without timestamps there is no room, so a cookie SYN-ACK then
///   agrees to no ECN). The MAC covers the TSval bits too, so a peer cannot alter the options it gets back.
///
/// Validity: a cookie made in tick c is accepted during ticks c and c + 1, i.e. 64 to 128 s (Linux: about
/// two minutes). Secret rotation: every `rotation_ticks` ticks (default 4, about 4 minutes) the secret is
/// replaced by a one-way function of itself (a leaked secret does not reveal the earlier ones), and
/// rekey() replaces it with fresh bytes on demand; the previous secret stays accepted for cookies made
/// before the rotation, as long as their tick is still valid.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "synack/tcp/config.hpp"
#include "synack/tcp/options.hpp"
#include "synack/time.hpp"
#include "synack/wire/ip_address.hpp"
#include "synack/wire/seq.hpp"
#include "synack/wire/tcp.hpp"

namespace synack::tcp {

/// "never", "when-full" or "always" (the --syn-cookies spelling).
[[nodiscard]] std::string_view to_string(SynCookieMode mode) noexcept;
/// "never", "when-full" or "always"; nullopt otherwise.
[[nodiscard]] std::optional<SynCookieMode> parse_syn_cookie_mode(std::string_view text) noexcept;

/// A listener's SYN cookie generator and checker (see the file comment for the layout, validity and
/// rotation).
class SynCookies {
 public:
  /// A 128-bit SipHash secret.
  using Key = std::array<std::byte, 16>;

  /// One tick of the time counter; a cookie stays valid for kValidTicks of them (current and previous).
  static constexpr Duration kTick = std::chrono::seconds(64);
  /// How many ticks a cookie is accepted for: the one it was made in and the next.
  static constexpr std::uint32_t kValidTicks = 2;
  /// The default rotation period, in ticks (about 4 minutes).
  static constexpr std::uint32_t kDefaultRotationTicks = 4;

  /// The MSS a cookie can carry (3 bits). IPv4: Linux's msstab comment cites S. Alcock and R. Nelson's
  /// measurements of MSS on real links ("An Analysis of TCP Maximum Segment Sizes", 2011): 1440-1460
  /// carry most sessions (1460 Ethernet, 1452 PPPoE/DSL with its 8-byte header, 1440 common VPN and
  /// tunnel clamps), 1300-1400 the rest of the tunnels (1400, 1360 IPsec/GRE clamps; 1200 the QUIC-era
  /// safe size), 536 the RFC 9293 default (a SYN without MSS) and 8960 jumbo frames (9000 - 40). IPv6:
  /// the same links minus the 20 extra header bytes, with 1220 (RFC 8200's 1280 minimum - 60) as the
  /// floor and default. Linux uses 4 values per family; 8 halve the worst rounding loss in the common
  /// 1200-1460 range.
  static constexpr std::array<std::uint16_t, 8> kMssV4{536, 1200, 1360, 1400, 1440, 1452, 1460, 8960};
  /// The IPv6 table (see kMssV4).
  static constexpr std::array<std::uint16_t, 8> kMssV6{1220, 1280, 1340, 1380, 1420, 1432, 1440, 8940};

  /// `key`: 128 secret bits (random in production, fixed in tests). `rotation_ticks` 0 = no scheduled
  /// rotation (rekey() only).
  explicit SynCookies(std::span<const std::byte, 16> key,
                      std::uint32_t rotation_ticks = kDefaultRotationTicks) noexcept;

  /// A cookie secret derived from the stack's ISN key by SipHash with a label of its own (one-way and
  /// domain-separated: neither key reveals the other), so one CSPRNG read serves both.
  [[nodiscard]] static Key derive_key(std::span<const std::byte, 16> isn_key) noexcept;

  /// What a cookie SYN-ACK carries.
  struct Cookie {
    wire::SeqNum isn;                     ///< our ISN: MAC and encoded options
    std::optional<std::uint32_t> ts_val;  ///< our TSval when the SYN offered timestamps
    SynOptions peer;  ///< the SYN's options as the final ACK will decode them (MSS rounded down)
  };
  /// The cookie for a SYN from `tuple` (local = our side) with `peer_isn` and options `syn`. `ts_clock`
  /// is our TSval clock for this tuple at `now` (milliseconds + the tuple's timestamp offset). nullopt
  /// when the SYN cannot be encoded: an MSS below the table's smallest entry (rounding it down would
  /// make us send segments larger than the peer accepts).
  [[nodiscard]] std::optional<Cookie> make(Instant now, const wire::FourTuple& tuple, wire::SeqNum peer_isn,
                                           const SynOptions& syn, std::uint32_t ts_clock) noexcept;

  /// Checks a final ACK (no SYN, no RST) at `now`: SEG.ACK - 1 must be a cookie made for `tuple`, for
  /// peer ISN SEG.SEQ - 1, in the current or previous tick, under the current or the previous secret.
  /// Returns the SYN's options (timestamps: the ACK's TSval as TS.Recent) or nullopt.
  [[nodiscard]] std::optional<SynOptions> check(Instant now, const wire::FourTuple& tuple,
                                                const wire::TcpHeader& ack) noexcept;

  /// Replaces the secret now with fresh bytes; the previous one stays accepted for its cookies.
  void rekey(Instant now, std::span<const std::byte, 16> key) noexcept;
  /// Secrets replaced so far (scheduled and rekey()).
  [[nodiscard]] std::uint64_t rotations() const noexcept { return rotations_; }

  /// The 64-second tick counter at `now` (now / kTick, truncated to 32 bits).
  [[nodiscard]] static std::uint32_t counter(Instant now) noexcept;
  /// The MSS table for `v` (kMssV4 or kMssV6).
  [[nodiscard]] static const std::array<std::uint16_t, 8>& mss_table(wire::IpVersion v) noexcept {
    return v == wire::IpVersion::v4 ? kMssV4 : kMssV6;
  }

 private:
  /// The MAC over the tuple, peer ISN, tick and encoded state; `layout` 0 = no timestamps, 1 = with.
  [[nodiscard]] static std::uint64_t mac(const Key& key, const wire::FourTuple& tuple, std::uint32_t peer_isn,
                                         std::uint32_t tick, std::uint8_t layout,
                                         std::uint16_t state) noexcept;
  /// Applies the scheduled rotations due at tick `now_tick`.
  void advance(std::uint32_t now_tick) noexcept;
  [[nodiscard]] static Key ratchet(const Key& key) noexcept;

  Key current_{};
  Key previous_{};
  bool has_previous_ = false;
  std::uint32_t epoch_start_ = 0;     ///< tick at which current_ took over
  std::uint32_t previous_start_ = 0;  ///< tick at which previous_ took over
  std::uint32_t rotation_ticks_;
  std::uint64_t rotations_ = 0;
};

}  // namespace synack::tcp
