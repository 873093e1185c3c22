// The observation vocabulary: outcome names, offers from a SYN, and the one agreement rule.
#include "synack/observe/handshake.hpp"

#include <algorithm>
#include <string>

#include <fmt/format.h>

#include "synack/tcp/accecn.hpp"

namespace synack::observe {

std::string_view to_string(Outcome outcome) noexcept {
  switch (outcome) {
    case Outcome::established:
      return "established";
    case Outcome::refused:
      return "refused";
    case Outcome::timed_out:
      return "timed_out";
    case Outcome::reset:
      return "reset";
    case Outcome::simultaneous_open:
      return "simultaneous_open";
    case Outcome::incomplete:
      return "incomplete";
    case Outcome::pending:
      return "pending";
  }
  return "pending";
}

std::optional<Outcome> outcome_from_string(std::string_view name) noexcept {
  for (const Outcome o : kAllOutcomes) {
    if (to_string(o) == name) return o;
  }
  return std::nullopt;
}

std::string_view to_string(Direction direction) noexcept {
  return direction == Direction::to_server ? "c>s" : "s>c";
}

bool RetransmissionRule::observe(Direction direction, wire::SeqNum seq, wire::TcpFlags flags,
                                 std::uint32_t payload_length) noexcept {
  Side& side = sides_[static_cast<std::size_t>(direction)];
  // RFC 9293 §3.4: SYN and FIN occupy one sequence number each, like a byte of data.
  const std::uint32_t length = payload_length + (flags.syn() ? 1U : 0U) + (flags.fin() ? 1U : 0U);
  if (length == 0) return false;
  const wire::SeqNum end = seq + length;
  if (flags.syn() && side.isn != seq) {
    // A new ISN: a new attempt at a connection on the same tuple, not a retransmission.
    side = Side{.isn = seq, .end = end, .sent_syn_ack = flags.ack()};
    return false;
  }
  const bool first_syn_ack = flags.syn() && flags.ack() && !side.sent_syn_ack;
  if (flags.syn() && flags.ack()) side.sent_syn_ack = true;
  const bool again = side.end.has_value() && seq < *side.end && !first_syn_ack;
  if (!side.end || *side.end < end) side.end = end;
  return again;
}

Offer Offer::from(const wire::TcpHeader& syn) noexcept {
  return from(Segment::from(syn, 0));
}

Offer Offer::from(const Segment& syn) noexcept {
  const wire::TcpOptions& o = syn.options();
  Offer offer;
  offer.mss = o.mss;
  offer.wscale = o.wscale;
  offer.sack_permitted = o.sack_permitted;
  offer.timestamps = o.timestamps.has_value();
  offer.fast_open = o.fast_open.has_value();
  offer.ecn = tcp::ecn_setup(syn.flags);  // RFC 3168 §6.1.1, the engine's own rule
  // RFC 9768 §3.1.1: the AccECN request (111) and the SYN-ACK codepoints that agree to it.
  offer.accecn = syn.flags.ack()
                     ? tcp::accecn::syn_ack_feedback(syn.flags, true) == tcp::accecn::Feedback::accecn
                     : tcp::accecn::ace(syn.flags) == 0b111;
  return offer;
}

Offer Offer::from(const tcp::SynOptions& syn) noexcept {
  Offer offer;
  offer.mss = syn.mss;
  offer.wscale = syn.wscale;
  offer.sack_permitted = syn.sack_permitted;
  offer.timestamps = syn.timestamps.has_value();
  offer.ecn = syn.ecn;
  offer.accecn = syn.accecn;
  return offer;
}

Agreed agree(const Offer& client, const Offer& server, wire::IpVersion version) noexcept {
  Agreed a;
  const std::uint16_t fallback = tcp::default_peer_mss(version);
  // A sender is bound by the peer's MSS option (or the default) and by its own link, which the MSS it
  // announced reflects: the smaller of the two (RFC 9293 §3.7.1, RFC 6691). MSS 0 counts as absent.
  const auto announced = [fallback](const Offer& o) { return o.mss && *o.mss != 0 ? *o.mss : fallback; };
  const auto own_limit = [](const Offer& o) -> std::uint16_t {
    return o.mss && *o.mss != 0 ? *o.mss : std::uint16_t{0xFFFF};
  };
  a.mss_client_to_server = std::min(announced(server), own_limit(client));
  a.mss_server_to_client = std::min(announced(client), own_limit(server));
  if (client.wscale && server.wscale) {
    a.wscale_client = std::min(*client.wscale, wire::kMaxWindowShift);
    a.wscale_server = std::min(*server.wscale, wire::kMaxWindowShift);
  }
  a.sack = client.sack_permitted && server.sack_permitted;
  a.timestamps = client.timestamps && server.timestamps;
  a.accecn = client.accecn && server.accecn;
  a.ecn = a.accecn || (client.ecn && server.ecn);
  return a;
}

Negotiated Negotiated::from_offers(const Offer& client, const Offer& server,
                                   wire::IpVersion version) noexcept {
  return Negotiated{.client = client, .server = server, .agreed = agree(client, server, version)};
}

Negotiated Negotiated::from_engine(Role role, const tcp::SynOptions& ours, const tcp::SynOptions& peer,
                                   wire::IpVersion version) noexcept {
  const Offer us = Offer::from(ours);
  const Offer them = Offer::from(peer);
  return role == Role::client ? from_offers(us, them, version) : from_offers(them, us, version);
}

std::string to_string(const Offer& offer) {
  std::string s;
  const auto add = [&s](std::string_view part) {
    if (!s.empty()) s += ", ";
    s += part;
  };
  if (offer.mss) add(fmt::format("mss {}", *offer.mss));
  if (offer.wscale) add(fmt::format("wscale {}", *offer.wscale));
  if (offer.sack_permitted) add("sackOK");
  if (offer.timestamps) add("TS");
  if (offer.fast_open) add("TFO");
  if (offer.accecn) {
    add("AccECN");
  } else if (offer.ecn) {
    add("ECN");
  }
  return s.empty() ? "no options" : s;
}

std::string to_string(const Agreed& a) {
  std::string ws = "window scale off";
  if (a.wscale_client && a.wscale_server) {
    ws = fmt::format("window scale client {} / server {}", *a.wscale_client, *a.wscale_server);
  }
  return fmt::format("MSS {} c>s / {} s>c, {}, SACK {}, timestamps {}{}", a.mss_client_to_server,
                     a.mss_server_to_client, ws, a.sack ? "on" : "off", a.timestamps ? "on" : "off",
                     a.accecn ? ", AccECN on" : (a.ecn ? ", ECN on" : ""));
}

std::string to_short_string(const Agreed& a) {
  std::string out = fmt::format("mss {}/{}", a.mss_client_to_server, a.mss_server_to_client);
  if (a.wscale_client && a.wscale_server) out += fmt::format(" ws {}/{}", *a.wscale_client, *a.wscale_server);
  if (a.sack) out += " sack";
  if (a.timestamps) out += " ts";
  if (a.ecn) out += a.accecn ? " accecn" : " ecn";
  return out;
}

}  // namespace synack::observe
