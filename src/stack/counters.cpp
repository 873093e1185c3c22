// Stack counters: event names, the nstat-named counter table, martian classification by reason, and
// what listeners and connections counted, added to the stack's totals.
#include <string_view>
#include <vector>

#include "stack_core.hpp"
#include "synack/wire/martian.hpp"

namespace synack::stack {

std::string_view to_string(EventKind kind) noexcept {
  switch (kind) {
    case EventKind::established:
      return "established";
    case EventKind::acceptable:
      return "acceptable";
    case EventKind::readable:
      return "readable";
    case EventKind::writable:
      return "writable";
    case EventKind::peer_closed:
      return "peer_closed";
    case EventKind::closed:
      return "closed";
    case EventKind::reset:
      return "reset";
    case EventKind::timed_out:
      return "timed_out";
    case EventKind::refused:
      return "refused";
    case EventKind::aborted:
      return "aborted";
    case EventKind::syn_offer:
      return "syn_offer";
    case EventKind::offer_expired:
      return "offer_expired";
    case EventKind::half_open_expired:
      return "half_open_expired";
  }
  return "?";
}

std::vector<NamedCounter> named_counters(const StackStats& s) {
  const MartianStats& m = s.martian;
  return {
      {"TcpInSegs", s.packets_in},
      {"TcpOutSegs", s.packets_out},
      {"TcpInCsumErrors", s.bad_checksum},
      {"SynackMalformedHeader", s.malformed_header},
      {"SynackMalformedOption", s.malformed_option},
      {"SynackNotLocal", s.not_local},
      {"SynackNoListener", s.no_listener},
      {"TcpOutRsts", s.out_rsts},
      {"SynackListenSyns", s.listen_syns},
      {"SynackSynAcksSent", s.syn_acks_sent},
      {"TcpExtListenOverflows", s.accept_queue_full_drops},
      {"TcpExtListenDrops", s.listen_drops},
      {"TcpExtTCPReqQFullDrop", s.syn_queue_full_drops},
      {"TcpExtSyncookiesSent", s.syncookies_sent},
      {"TcpExtSyncookiesRecv", s.syncookies_recv},
      {"TcpExtSyncookiesFailed", s.syncookies_failed},
      {"SynackSynQueuePruned", s.syn_queue_pruned},
      {"SynackPoolFullDrops", s.pool_full_drops},
      {"SynackControlQueueDrops", s.control_queue_drops},
      {"SynackHalfOpenTimeouts", s.half_open_timeouts},
      {"TcpExtTCPChallengeACK", s.challenge_acks},
      {"TcpExtTCPACKSkippedChallenge", s.challenge_acks_suppressed},
      {"SynackOutOfWindow", s.out_of_window},
      {"TcpExtPAWSEstab", s.paws_rejected},
      {"SynackTimeWaitReuses", s.time_wait_reuses},
      {"TcpExtTCPTimeWaitOverflow", s.time_wait_overflows},
      {"SynackMartianZeroNet", m.zero_net},
      {"SynackMartianLoopback", m.loopback},
      {"SynackMartianMulticast", m.multicast},
      {"SynackMartianBroadcastReserved", m.broadcast_reserved},
      {"SynackMartianOwnAddress", m.own_address},
      {"SynackMartianV6Unspecified", m.v6_unspecified},
      {"SynackMartianV6Loopback", m.v6_loopback},
      {"SynackMartianV6Multicast", m.v6_multicast},
      {"SynackMartianV4Mapped", m.v4_mapped},
      {"SynackMartianDestination", m.destination},
      {"SynackOffers", s.offers},
      {"SynackOffersOverflow", s.offers_overflow},
      {"SynackOffersExpired", s.offers_expired},
      {"SynackOffersCookie", s.offers_cookie},
      {"SynackOffersCookieOverflow", s.offers_cookie_overflow},
  };
}

// --- counters --------------------------------------------------------------------------------------

std::uint64_t* StackCore::martian_counter(const wire::FourTuple& tuple) noexcept {
  // Nearly every datagram: IPv4 unicast from an ordinary address that is not ours.
  if (tuple.remote.address.is_v4() && wire::ordinary_v4_octet(tuple.remote.address.first_octet()) &&
      wire::ordinary_v4_octet(tuple.local.address.first_octet()) &&
      tuple.remote.address != tuple.local.address && !owns(tuple.remote.address)) {
    return nullptr;
  }
  MartianStats& m = stats_.martian;
  if (const auto reason = wire::martian_source(tuple.remote.address)) {
    switch (*reason) {
      case wire::MartianReason::zero_net:
        return &m.zero_net;
      case wire::MartianReason::loopback:
        return &m.loopback;
      case wire::MartianReason::multicast:
        return &m.multicast;
      case wire::MartianReason::broadcast_reserved:
        return &m.broadcast_reserved;
      case wire::MartianReason::v6_unspecified:
        return &m.v6_unspecified;
      case wire::MartianReason::v6_loopback:
        return &m.v6_loopback;
      case wire::MartianReason::v6_multicast:
        return &m.v6_multicast;
      case wire::MartianReason::v4_mapped:
        return &m.v4_mapped;
    }
  }
  // TCP is unicast (RFC 1122 §4.2.3.10): a multicast or broadcast destination is discarded. Only the
  // forwarder would otherwise see it (such an address is never owned); counted apart all the same.
  if (wire::martian_destination(tuple.local.address)) {
    return &m.destination;
  }
  // The "land" attack: a segment claiming to come from this host, or from its own destination.
  if (tuple.remote.address == tuple.local.address || owns(tuple.remote.address)) {
    return &m.own_address;
  }
  return nullptr;
}

bool StackCore::ordinary_and_ours(const wire::FourTuple& tuple) noexcept {
  const wire::IpAddress& remote = tuple.remote.address;
  const wire::IpAddress& local = tuple.local.address;
  if (remote.is_v4() && wire::ordinary_v4_octet(remote.first_octet()) &&
      wire::ordinary_v4_octet(local.first_octet()) && remote != local && owned_list_.size() <= 4) {
    // martian_counter()'s fast path and owns(local) in one loop: not from an address of ours (the
    // "land" attack), to one of ours.
    bool to_us = false;
    for (const wire::IpAddress& a : owned_list_) {
      if (a == remote) return false;
      to_us = to_us || a == local;
    }
    return to_us;
  }
  return martian_counter(tuple) == nullptr && owns(local);
}

void StackCore::add_listener_counters(const tcp::ListenerStats& l, StackStats& s) noexcept {
  s.listen_syns += l.syns_received;
  s.syn_queue_full_drops += l.syn_queue_full_drops;
  s.accept_queue_full_drops += l.accept_queue_full_drops;
  s.listen_drops += l.syn_queue_full_drops + l.accept_queue_full_drops;
  s.syncookies_sent += l.syncookies_sent;
  s.syncookies_recv += l.syncookies_recv;
  s.syncookies_failed += l.syncookies_failed;
  s.syn_queue_pruned += l.syn_queue_pruned;
}

const StackStats& StackCore::stats() const noexcept {
  // Listeners keep their own counts; adding them up here (O(listeners)) rather than after every call
  // into a listener keeps two 88-byte copies and a sum off each SYN and final ACK.
  reported_ = stats_;
  reported_.memory = pool_.stats();
  for (const auto& l : listeners_) {
    if (l) add_listener_counters(l->stats(), reported_);
  }
  if (forwarder_listener_) add_listener_counters(forwarder_listener_->stats(), reported_);
  return reported_;
}

void StackCore::add_connection_counters(const tcp::ConnectionCounters& before,
                                        const tcp::ConnectionCounters& after) noexcept {
  stats_.challenge_acks += after.challenge_acks_sent - before.challenge_acks_sent;
  stats_.challenge_acks_suppressed += after.challenge_acks_suppressed - before.challenge_acks_suppressed;
  stats_.out_of_window += after.out_of_window - before.out_of_window;
  stats_.paws_rejected += after.paws_rejected - before.paws_rejected;
}

}  // namespace synack::stack
