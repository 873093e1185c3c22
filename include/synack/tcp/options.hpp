/// @file
/// Options negotiation on the handshake as pure functions (RFC 9293 §3.7.1, RFC 7323, RFC 2018, RFC 6691):
/// what we offer in a SYN, what we answer in a SYN-ACK, and what is in effect once both SYNs are seen.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "synack/tcp/config.hpp"
#include "synack/wire/ip_address.hpp"
#include "synack/wire/tcp.hpp"
#include "synack/wire/tcp_options.hpp"

namespace synack::tcp {

/// The handshake options of one SYN, reduced to what negotiation needs.
struct SynOptions {
  std::optional<std::uint16_t> mss;    ///< absent when not sent or sent as 0 (MSS 0 is ignored)
  std::optional<std::uint8_t> wscale;  ///< clamped to 14 (RFC 7323 §2.3)
  bool sack_permitted = false;         ///< SACK-Permitted was present (RFC 2018)
  std::optional<wire::Timestamps>
      timestamps;  ///< the SYN's TSval and TSecr, when it carried Timestamps (RFC 7323)
  /// ECN setup (RFC 3168 §6.1.1): a SYN with ECE and CWR, or a SYN-ACK with ECE and not CWR (ecn_setup()).
  bool ecn = false;
  /// AccECN (RFC 9768 §3.1.1): a SYN requesting it (implies `ecn`), or a SYN-ACK agreeing to it.
  bool accecn = false;
  /// The IP-ECN field the SYN arrived with (fed back in an AccECN SYN-ACK, RFC 9768 Table 2).
  std::uint8_t ip_ecn = 0;

  /// The negotiation-relevant part of a SYN's parsed options (MSS 0 dropped, window scale clamped).
  [[nodiscard]] static SynOptions from(const wire::TcpOptions& options) noexcept;
  /// Every field equal.
  friend constexpr bool operator==(const SynOptions&, const SynOptions&) noexcept = default;
};

/// Per-connection overrides of what we offer (nullopt = the Config's choice).
struct OfferOverrides {
  std::optional<std::uint16_t> mss;    ///< the MSS to announce instead of the one derived from Config::mtu
  std::optional<bool> window_scaling;  ///< offer window scaling (Config::window_scaling)
  std::optional<std::uint8_t> window_shift;  ///< the shift to offer, 0-14 (Config::window_shift)
  std::optional<bool> sack_permitted;        ///< offer SACK-permitted (Config::sack_permitted)
  std::optional<bool> timestamps;            ///< offer timestamps (Config::timestamps)
  std::optional<bool> ecn;                   ///< ask for ECN in the SYN (Config::ecn == EcnMode::on)
  /// ask for AccECN in the SYN (Config::ecn == EcnMode::accecn); true implies ecn, ecn = false wins
  std::optional<bool> accecn;
};

/// What we put in our SYN (active open) or what we are prepared to agree to (passive open).
struct Offer {
  std::uint16_t mss = 536;             ///< the MSS we announce
  std::optional<std::uint8_t> wscale;  ///< the shift we offer; nullopt = no Window Scale option
  bool sack_permitted = false;         ///< we send SACK-permitted
  bool timestamps = false;             ///< we send Timestamps
  bool ecn = false;                    ///< ECN setup flags on our SYN (ECE+CWR) or SYN-ACK (ECE)
  bool accecn = false;                 ///< AccECN: AE+CWR+ECE on our SYN, or agreed to (RFC 9768)
  /// Every field equal.
  friend constexpr bool operator==(const Offer&, const Offer&) noexcept = default;
};

/// What is in effect after the handshake.
struct Negotiated {
  std::uint16_t send_mss = 536;  ///< largest payload we send: min(peer's MSS or default, our MSS)
  std::uint16_t recv_mss = 536;  ///< the MSS we announced
  /// Shift we apply to the peer's window field (its wscale); nullopt when scaling is off.
  std::optional<std::uint8_t> snd_shift;
  /// Shift we apply to the windows we advertise (our wscale); nullopt when scaling is off.
  std::optional<std::uint8_t> rcv_shift;
  bool sack = false;        ///< both sides sent SACK-permitted: SACK blocks may be sent and are honoured
  bool timestamps = false;  ///< both sides sent Timestamps: every segment carries them (RFC 7323 §3.2)
  bool ecn = false;  ///< ECN in use (RFC 3168 §6.1.1): ECT(0) on new data, CE echoed with ECE until CWR
  /// AccECN feedback (RFC 9768): the ACE field counts CE marks instead of ECE/CWR (then `ecn` says
  /// whether we send ECT; an AccECN server whose first ACK had ACE 0 sends none, §3.2.2.3).
  bool accecn = false;
  /// Every field equal.
  friend constexpr bool operator==(const Negotiated&, const Negotiated&) noexcept = default;
};

/// RFC 9293 §3.7.1 / RFC 6691: the MSS assumed when the peer sent none — 536 for IPv4, 1220 for IPv6.
[[nodiscard]] constexpr std::uint16_t default_peer_mss(wire::IpVersion v) noexcept {
  return v == wire::IpVersion::v4 ? 536 : 1220;
}

/// Our offer from the configuration and per-connection overrides.
[[nodiscard]] Offer make_offer(const Config& config, wire::IpVersion version,
                               const OfferOverrides& overrides = {}) noexcept;

/// "off", "passive", "on" or "accecn" (the CLI's --ecn values).
[[nodiscard]] std::string_view to_string(EcnMode mode) noexcept;
/// The inverse of to_string(EcnMode); nullopt for any other text.
[[nodiscard]] std::optional<EcnMode> parse_ecn_mode(std::string_view text) noexcept;

/// Whether a SYN's flags ask for ECN (ECE and CWR, RFC 3168 §6.1.1), or a SYN-ACK's agree to it (ECE
/// without CWR: a SYN-ACK with both is a reflected ECN-setup SYN and agrees to nothing).
[[nodiscard]] constexpr bool ecn_setup(wire::TcpFlags flags) noexcept {
  return flags.ack() ? (flags.ece() && !flags.cwr()) : (flags.ece() && flags.cwr());
}

/// What a passive opener is prepared to agree to: make_offer(), with ECN agreed to unless it is off.
[[nodiscard]] Offer passive_offer(const Config& config, wire::IpVersion version) noexcept;

/// The offer a passive opener answers with: MSS always; window scale, SACK-permitted, timestamps and ECN
/// only when the peer's SYN carried them (RFC 7323 §1.3, §2.2; RFC 2018 §2; RFC 3168 §6.1.1).
[[nodiscard]] Offer answer_offer(const Offer& ours, const SynOptions& peer) noexcept;

/// A peer's SYN options as the plain values a half-open entry keeps: `mss` 0 and `wscale` 0xFF mean the
/// option was absent.
struct PeerSyn {
  std::uint16_t mss = 0;        ///< MSS option value; 0 when absent.
  std::uint8_t wscale = 0xFF;   ///< Window-scale shift; 0xFF when absent.
  bool sack_permitted = false;  ///< SACK-permitted was present.
  bool timestamps = false;      ///< A timestamps option was present.
  bool ecn = false;             ///< The SYN's flags set up classic ECN (ECE+CWR, RFC 3168 §6.1.1).
  bool accecn = false;          ///< The SYN's flags set up AccECN (AE+CWR+ECE).
};

/// What is in effect given our offer and the peer's SYN options: each option only when both sent it;
/// send MSS = min(peer's MSS (536/1220 when absent), our MSS), floored at `min_send_mss`.
[[nodiscard]] Negotiated negotiate(const Offer& ours, const PeerSyn& peer, wire::IpVersion version,
                                   std::uint16_t min_send_mss = 48) noexcept;
/// The same for the options of a parsed SYN.
[[nodiscard]] Negotiated negotiate(const Offer& ours, const SynOptions& peer, wire::IpVersion version,
                                   std::uint16_t min_send_mss = 48) noexcept;

/// The option list of a SYN or SYN-ACK carrying `offer` (timestamps as given when offered).
[[nodiscard]] wire::TcpOptions syn_options(const Offer& offer, wire::Timestamps ts) noexcept;

}  // namespace synack::tcp
