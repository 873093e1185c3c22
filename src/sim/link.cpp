#include "synack/sim/link.hpp"

#include <algorithm>
#include <utility>

#include "synack/wire/checksum.hpp"
#include "synack/wire/packet.hpp"

namespace synack::sim {

std::string_view to_string(Fate fate) noexcept {
  switch (fate) {
    case Fate::delivered:
      return "delivered";
    case Fate::dropped:
      return "dropped";
    case Fate::duplicated:
      return "duplicated";
    case Fate::corrupted:
      return "corrupted";
    case Fate::marked:
      return "marked";
  }
  return "delivered";
}

namespace {

std::size_t ip_header_length(wire::Bytes d) noexcept {
  if (d.empty()) return 0;
  const unsigned version = static_cast<unsigned>(d[0]) >> 4U;
  if (version == 4)
    return std::min<std::size_t>(d.size(),
                                 static_cast<std::size_t>(static_cast<unsigned>(d[0]) & 0x0FU) * 4U);
  return std::min<std::size_t>(d.size(), 40);  // IPv6 without extension headers (what synack emits)
}

std::uint64_t flow_key(const wire::TcpPacketView& p) noexcept {
  const auto low32 = [](const wire::IpAddress& a) {
    const wire::Bytes b = a.bytes();
    return wire::load_be32(b, b.size() - 4);
  };
  const std::uint64_t src = low32(p.ip().src) ^ (static_cast<std::uint64_t>(low32(p.ip().dst)) << 7U);
  return (src << 32U) ^ (static_cast<std::uint64_t>(p.tcp().src_port()) << 16U) ^ p.tcp().dst_port();
}

// Whether a segment carries a Fast Open option (a cookie or a cookie request, RFC 7413 §4.1.1).
bool tfo_option(const wire::TcpView& tcp) noexcept {
  const auto options = tcp.options();
  return options && options->fast_open.has_value();
}

}  // namespace

std::uint8_t ecn_field(wire::Bytes d) noexcept {
  if (d.size() < 2) return 0;
  const auto b1 = static_cast<unsigned>(d[1]);
  return static_cast<std::uint8_t>((static_cast<unsigned>(d[0]) >> 4U) == 4 ? (b1 & 0x03U)
                                                                            : ((b1 >> 4U) & 0x03U));
}

void mark_ce(std::span<std::byte> d) noexcept {
  if (d.size() < 2) return;
  if ((static_cast<unsigned>(d[0]) >> 4U) != 4) {
    d[1] |= std::byte{0x30};
    return;
  }
  if (d.size() < 20) return;
  const auto word = [&d](std::size_t i) {
    return static_cast<std::uint16_t>((static_cast<unsigned>(d[i]) << 8U) | static_cast<unsigned>(d[i + 1]));
  };
  const std::uint16_t before = word(0);
  d[1] |= std::byte{0x03};
  const std::uint16_t sum = wire::checksum_update(word(10), before, word(0));
  d[10] = static_cast<std::byte>(sum >> 8U);
  d[11] = static_cast<std::byte>(sum & 0xFFU);
}

void corrupt_tcp_byte(std::vector<std::byte>& datagram, Rng& rng) {
  const std::size_t start = ip_header_length(datagram);
  if (start >= datagram.size()) return;
  const std::size_t at = start + static_cast<std::size_t>(rng.below(datagram.size() - start));
  const auto mask = static_cast<std::byte>(1U + rng.below(255));  // never zero: the byte changes
  datagram[at] ^= mask;
}

Link::Link(Impairments impairments, std::uint64_t seed, std::uint64_t stream)
    : impairments_(std::move(impairments)), rng_(seed, stream) {}

std::optional<Fate> Link::scripted_fate(wire::Bytes datagram) {
  if (impairments_.script.empty()) return std::nullopt;
  const auto parsed = wire::TcpPacketView::parse(datagram, wire::ChecksumPolicy::ignore);
  if (!parsed) return std::nullopt;
  FlowCounters& c = flows_[flow_key(*parsed)];
  const wire::TcpFlags f = parsed->tcp().flags();
  const bool syn = f.syn() && !f.ack();
  const bool syn_ack = f.syn() && f.ack();
  const bool pure_ack = f.bits() == wire::TcpFlags::kAck && parsed->tcp().payload().empty();
  ++c.segments;
  if (syn) ++c.syns;
  if (syn_ack) ++c.syn_acks;
  const bool final_ack = pure_ack && c.sent_syn && !c.final_ack_seen;
  if (f.syn()) c.sent_syn = true;
  if (final_ack) c.final_ack_seen = true;
  for (const ScriptRule& r : impairments_.script) {
    bool hit = false;
    switch (r.match) {
      case ScriptRule::Match::nth_syn:
        hit = syn && c.syns == r.n;
        break;
      case ScriptRule::Match::every_syn:
        hit = syn;
        break;
      case ScriptRule::Match::nth_syn_ack:
        hit = syn_ack && c.syn_acks == r.n;
        break;
      case ScriptRule::Match::every_syn_ack:
        hit = syn_ack;
        break;
      case ScriptRule::Match::final_ack:
        hit = final_ack;
        break;
      case ScriptRule::Match::nth_segment:
        hit = c.segments == r.n;
        break;
      case ScriptRule::Match::tfo_syn:
        hit = syn && (!parsed->tcp().payload().empty() || tfo_option(parsed->tcp()));
        break;
    }
    if (hit) return r.fate;
  }
  return std::nullopt;
}

void Link::schedule(Instant at, std::vector<std::byte> bytes) {
  queue_.push_back(Pending{at, order_++, std::move(bytes)});
  std::push_heap(queue_.begin(), queue_.end(), Later{});
}

SendOutcome Link::send(Instant now, wire::Bytes datagram) {
  ++stats_.sent;
  stats_.bytes += datagram.size();
  const std::optional<Fate> scripted = scripted_fate(datagram);
  // The AQM looks at the backlog this datagram finds: a Not-ECT one over the threshold never enters.
  const bool congested = impairments_.aqm_threshold > Duration::zero() && impairments_.bandwidth_bps != 0 &&
                         busy_until_ > now && busy_until_ - now > impairments_.aqm_threshold;
  const bool ect = ecn_field(datagram) == 0b10 || ecn_field(datagram) == 0b01;
  const bool aqm_drop = congested && !ect && !scripted;
  // Serialisation: the link sends one datagram at a time at bandwidth_bps.
  Instant departure = now;
  if (impairments_.bandwidth_bps != 0 && !aqm_drop) {
    const auto ns = static_cast<std::int64_t>(
        (static_cast<std::uint64_t>(datagram.size()) * 8U * 1'000'000'000ULL) / impairments_.bandwidth_bps);
    departure = std::max(now, busy_until_) + Duration(ns);
    busy_until_ = departure;
  }
  // Fixed draw order (loss, duplicate, corrupt, reorder, jitter) so each segment consumes the same
  // number of random values whatever happens to it.
  const bool lost = rng_.chance(impairments_.loss);
  const bool dup = rng_.chance(impairments_.duplicate);
  const bool bad = rng_.chance(impairments_.corrupt);
  const bool late = rng_.chance(impairments_.reorder);
  const std::int64_t jitter_ns = impairments_.jitter.count();
  const Duration jitter(
      jitter_ns > 0 ? static_cast<std::int64_t>(rng_.below(static_cast<std::uint64_t>(jitter_ns) + 1U)) : 0);
  SendOutcome out;
  if (scripted) {
    out.fate = *scripted;
    out.scripted = true;
  } else if (aqm_drop) {
    out.fate = Fate::dropped;
    ++stats_.aqm_dropped;
  } else if (lost) {
    out.fate = Fate::dropped;
  } else if (congested && ect) {
    out.fate = Fate::marked;  // RFC 3168 §5: CE instead of a drop
  } else if (bad) {
    out.fate = Fate::corrupted;
  } else if (dup) {
    out.fate = Fate::duplicated;
  }
  if (out.fate == Fate::dropped) {
    ++stats_.dropped;
    return out;
  }
  Instant arrival = departure + impairments_.delay + jitter;
  if (late && !out.scripted) {
    out.reordered = true;
    ++stats_.reordered;
    arrival += impairments_.delay + 1ms;
  }
  out.arrival = arrival;
  std::vector<std::byte> bytes(datagram.begin(), datagram.end());
  if (out.fate == Fate::corrupted) {
    ++stats_.corrupted;
    corrupt_tcp_byte(bytes, rng_);
  }
  if (out.fate == Fate::marked) {
    ++stats_.marked;
    mark_ce(bytes);
  }
  if (out.fate == Fate::duplicated) {
    ++stats_.duplicated;
    schedule(arrival, bytes);
  }
  schedule(arrival, std::move(bytes));
  return out;
}

Instant Link::next_delivery() const noexcept {
  return queue_.empty() ? Instant::max() : queue_.front().at;
}

std::optional<std::vector<std::byte>> Link::pop_due(Instant now) {
  if (queue_.empty() || queue_.front().at > now) return std::nullopt;
  std::pop_heap(queue_.begin(), queue_.end(), Later{});
  std::vector<std::byte> bytes = std::move(queue_.back().bytes);
  queue_.pop_back();
  ++stats_.delivered;
  return bytes;
}

}  // namespace synack::sim
