#include "synack/tcp/options.hpp"

#include <algorithm>

namespace synack::tcp {

SynOptions SynOptions::from(const wire::TcpOptions& options) noexcept {
  SynOptions s;
  // RFC 9293 §3.7.1 leaves MSS 0 undefined; Linux ignores it, so do we (the default MSS applies).
  if (options.mss && *options.mss != 0) s.mss = options.mss;
  s.wscale = options.window_shift();  // clamped to 14 (RFC 7323 §2.3)
  s.sack_permitted = options.sack_permitted;
  s.timestamps = options.timestamps;
  return s;
}

Offer make_offer(const Config& config, wire::IpVersion version, const OfferOverrides& overrides) noexcept {
  Offer o;
  o.mss = overrides.mss.value_or(config.our_mss(version));
  if (overrides.window_scaling.value_or(config.window_scaling)) {
    o.wscale =
        std::min<std::uint8_t>(overrides.window_shift.value_or(config.window_shift), wire::kMaxWindowShift);
  }
  o.sack_permitted = overrides.sack_permitted.value_or(config.sack_permitted);
  o.timestamps = overrides.timestamps.value_or(config.timestamps);
  o.accecn = overrides.accecn.value_or(config.ecn == EcnMode::accecn);
  o.ecn = overrides.ecn.value_or(o.accecn || config.ecn == EcnMode::on);
  o.accecn = o.accecn && o.ecn;  // ecn = false wins
  return o;
}

std::string_view to_string(EcnMode mode) noexcept {
  switch (mode) {
    case EcnMode::off:
      return "off";
    case EcnMode::passive:
      return "passive";
    case EcnMode::on:
      return "on";
    case EcnMode::accecn:
      return "accecn";
  }
  return "?";
}

std::optional<EcnMode> parse_ecn_mode(std::string_view text) noexcept {
  if (text == "off") return EcnMode::off;
  if (text == "passive") return EcnMode::passive;
  if (text == "on") return EcnMode::on;
  if (text == "accecn") return EcnMode::accecn;
  return std::nullopt;
}

Offer passive_offer(const Config& config, wire::IpVersion version) noexcept {
  Offer o = make_offer(config, version);
  o.ecn = config.ecn != EcnMode::off;
  o.accecn = config.ecn == EcnMode::accecn;
  return o;
}

Offer answer_offer(const Offer& ours, const SynOptions& peer) noexcept {
  Offer o;
  o.mss = ours.mss;
  if (ours.wscale && peer.wscale) o.wscale = ours.wscale;         // RFC 7323 §2.2
  o.sack_permitted = ours.sack_permitted && peer.sack_permitted;  // RFC 2018 §2
  o.timestamps = ours.timestamps && peer.timestamps.has_value();  // RFC 7323 §3.2
  o.ecn = ours.ecn && peer.ecn;                                   // RFC 3168 §6.1.1
  o.accecn = o.ecn && ours.accecn && peer.accecn;                 // RFC 9768 §3.1.1
  return o;
}

Negotiated negotiate(const Offer& ours, const PeerSyn& peer, wire::IpVersion version,
                     std::uint16_t min_send_mss) noexcept {
  Negotiated n;
  const std::uint16_t peer_mss = peer.mss != 0 ? peer.mss : default_peer_mss(version);
  n.send_mss = std::max(std::min(peer_mss, ours.mss), min_send_mss);
  n.recv_mss = ours.mss;
  // RFC 7323 §2.2: scaling is in effect only when both SYNs carried the option.
  if (ours.wscale && peer.wscale != 0xFF) {
    n.snd_shift = peer.wscale;
    n.rcv_shift = ours.wscale;
  }
  n.sack = ours.sack_permitted && peer.sack_permitted;  // RFC 2018 §2
  n.timestamps = ours.timestamps && peer.timestamps;    // RFC 7323 §3.2
  // RFC 3168 §6.1.1: ECN is in use once an ECN-setup SYN was answered by an ECN-setup SYN-ACK.
  n.ecn = ours.ecn && peer.ecn;
  // RFC 9768 §3.1.1: AccECN feedback when both asked (the SYN) or agreed (the SYN-ACK) to it.
  n.accecn = n.ecn && ours.accecn && peer.accecn;
  return n;
}

Negotiated negotiate(const Offer& ours, const SynOptions& peer, wire::IpVersion version,
                     std::uint16_t min_send_mss) noexcept {
  return negotiate(ours,
                   PeerSyn{peer.mss.value_or(0), peer.wscale.value_or(0xFF), peer.sack_permitted,
                           peer.timestamps.has_value(), peer.ecn, peer.accecn},
                   version, min_send_mss);
}

wire::TcpOptions syn_options(const Offer& offer, wire::Timestamps ts) noexcept {
  wire::TcpOptions o;
  o.mss = offer.mss;
  o.wscale = offer.wscale;
  o.sack_permitted = offer.sack_permitted;
  if (offer.timestamps) o.timestamps = ts;
  return o;
}

}  // namespace synack::tcp
