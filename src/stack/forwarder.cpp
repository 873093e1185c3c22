// Stack, forwarder mode: offers (a SYN seen before any state exists, decided by the embedder), their
// expiry, and SYN cookies for offers (ForwarderConfig::syn_cookies, docs/engine.md "SYN cookies").
#include "stack_core.hpp"
#include "synack/tcp/error.hpp"

namespace synack::stack {

using tcp::Error;
using tcp::make_error_code;

std::optional<std::uint32_t> StackCore::add_offer(Instant now, std::uint32_t hash, const SynOffer& offer) {
  std::vector<std::uint32_t>& free = offer.handshake_done ? free_cookie_offers_ : free_offers_;
  if (free.empty()) return std::nullopt;
  const std::uint32_t index = free.back();
  free.pop_back();
  PendingOffer& p = offers_[index];
  p.in_use = true;
  p.user = 0;
  p.offer = offer;
  p.offer.id = OfferId{index, p.generation};
  flow_insert(hash, FlowRef{FlowRef::Kind::offer, index, 0});
  offer_timers_.schedule(index, now + forwarder_->pending_timeout);
  ++pending_offers_;
  ++stats_.offers;
  Event e = kBlankEvent;
  e.kind = EventKind::syn_offer;
  e.offer = p.offer.id;
  post(e);
  return index;
}

void StackCore::forwarder_syn(Instant now, const wire::FourTuple& tuple, std::uint32_t hash,
                              const wire::TcpHeader& h) {
  tcp::SynOptions peer = tcp::SynOptions::from(h.options);
  // RFC 3168 §6.1.1: an ECN-setup SYN is agreed to as a listener would (Config::ecn, passive by default).
  peer.ecn = forwarder_tcp_.ecn != tcp::EcnMode::off && tcp::ecn_setup(h.flags);
  const tcp::SynCookieMode mode = forwarder_->syn_cookies;
  // RFC 4987 §3.6 for offers: past max_pending (or for every SYN under `always`) the SYN is answered
  // with a cookie and no state; the final ACK that returns it becomes the offer (forwarder_cookie_ack).
  if ((mode == tcp::SynCookieMode::always ||
       (mode == tcp::SynCookieMode::when_full && free_offers_.empty())) &&
      control_count_ < control_.size()) {
    tcp::Listener& l = *forwarder_listener_;
    tcp::ListenerReply r;
    const bool sent = l.answer_with_cookie(now, tuple, h, peer, isn_, r);
    if (sent) {
      Control c;
      c.kind = Control::Kind::cookie_syn_ack;
      c.tuple = tuple;
      c.listener = kForwarderListener;
      c.ts_offset = r.cookie_ts_val;
      c.cookie = r.cookie;
      push_control(c);
      return;
    }
  }
  if (!add_offer(now, hash, SynOffer{OfferId{}, tuple, peer, h.seq, now})) ++stats_.offers_overflow;
}

void StackCore::forwarder_cookie_ack(Instant now, const wire::FourTuple& tuple, std::uint32_t hash,
                                     const wire::TcpHeader& h, wire::Bytes payload) {
  tcp::Listener& l = *forwarder_listener_;
  const tcp::ListenerReply r = l.on_segment(now, tuple, h, payload, isn_);
  if (r.kind == tcp::ListenerReply::Kind::send_rst) {
    // Not a valid cookie: as an ACK to a closed port (RFC 9293 §3.10.7.1), <SEQ=SEG.ACK><CTL=RST>.
    push_rst(tuple, r.rst_seq);
    ++stats_.resets_sent;
    return;
  }
  if (r.kind != tcp::ListenerReply::Kind::complete_cookie) return;
  // The handshake is complete on the client's side; the embedder decides now. Data or FIN on this ACK
  // is not kept: unacknowledged, the client retransmits it once the connection exists.
  SynOffer o{OfferId{}, tuple, r.cookie.peer_options(), wire::SeqNum{r.cookie.irs}, now};
  o.handshake_done = true;
  const auto index = add_offer(now, hash, o);
  if (!index) {
    ++stats_.offers_cookie_overflow;  // the client's next segment carries the same cookie
    return;
  }
  offers_[*index].open = l.passive_open(r.cookie, h);
  ++stats_.offers_cookie;
}

void StackCore::expire_offers(Instant now) {
  offer_timers_.expire(now, [&](TimerWheel::Id index) {
    PendingOffer& p = offers_[index];
    if (!p.in_use) return;
    flow_erase(p.offer.tuple);
    Event e = kBlankEvent;
    e.kind = EventKind::offer_expired;
    e.offer = p.offer.id;
    e.user = p.user;
    post(e);
    free_offer(index, true);
    ++stats_.offers_expired;
  });
}

void StackCore::set_forwarder(std::optional<ForwarderConfig> config) {
  // Undecided offers of a previous configuration are dropped.
  for (std::uint32_t i = 0; i < offers_.size(); ++i) {
    if (offers_[i].in_use) {
      flow_erase(offers_[i].offer.tuple);
      free_offer(i);
    }
  }
  forwarder_ = config;
  offers_.clear();
  free_offers_.clear();
  free_cookie_offers_.clear();
  offer_timers_ = TimerWheel{};
  if (!config) return;
  forwarder_tcp_ = config_.tcp;
  forwarder_tcp_.syn_queue_capacity = std::max<std::uint32_t>(config->syn_queue, 1);
  if (!forwarder_listener_) forwarder_listener_.emplace(forwarder_tcp_, wire::Endpoint{}, 1);
  forwarder_listener_->set_syn_cookies(&cookies_);
  forwarder_listener_->set_syn_cookie_mode(config->syn_cookies);
  offer_of_half_open_.assign(forwarder_listener_->syn_queue_slots(), AcceptedOffer{});
  // Offers made from a SYN take the first max_pending slots; offers made after a cookie handshake the
  // next max_pending, so a flood of spoofed SYNs that fills the first cannot keep out the clients whose
  // final ACK proved their address.
  const std::uint32_t bound = std::max<std::uint32_t>(config->max_pending, 1);
  offers_.resize(std::size_t{bound} * 2);
  free_offers_.reserve(bound);
  free_cookie_offers_.reserve(bound);
  for (std::uint32_t i = bound; i > 0; --i) {
    free_offers_.push_back(i - 1);
    free_cookie_offers_.push_back(bound + i - 1);
  }
}

std::optional<SynOffer> StackCore::offer(OfferId id) const {
  if (id.index >= offers_.size()) return std::nullopt;
  const PendingOffer& p = offers_[id.index];
  if (!p.in_use || p.generation != id.generation) return std::nullopt;
  return p.offer;
}

void StackCore::free_offer(std::uint32_t index, bool expired) {
  PendingOffer& p = offers_[index];
  if (!p.in_use) return;
  p.in_use = false;
  p.expired = expired;
  ++p.generation;
  offer_timers_.cancel(index);
  (p.offer.handshake_done ? free_cookie_offers_ : free_offers_).push_back(index);
  --pending_offers_;
}

std::error_code StackCore::decide(Instant now, OfferId id, Verdict verdict) {
  if (!offer(id)) {
    // The slot's generation moved on by one when this offer was freed; `expired` says why.
    const bool expired = id.index < offers_.size() && offers_[id.index].generation == id.generation + 1 &&
                         offers_[id.index].expired;
    return make_error_code(expired ? Error::offer_expired : Error::unknown_offer);
  }
  const std::uint64_t user = offers_[id.index].user;
  if (offers_[id.index].offer.handshake_done) {
    const PendingOffer p = offers_[id.index];
    free_offer(id.index);
    return decide_after_handshake(now, p, verdict);
  }
  const SynOffer o = offers_[id.index].offer;
  flow_erase(o.tuple);
  free_offer(id.index);
  switch (verdict) {
    case Verdict::accept: {
      const auto slot = forwarder_listener_->add_half_open(now, o.tuple, o.seq, o.options, isn_);
      if (!slot) {
        ++stats_.syn_queue_full_drops;
        ++stats_.listen_drops;
        return make_error_code(Error::no_resources);
      }
      if (*slot >= offer_of_half_open_.size())
        offer_of_half_open_.resize(forwarder_listener_->syn_queue_slots());
      offer_of_half_open_[*slot] = AcceptedOffer{id, user};
      flow_insert(flows_.hash(o.tuple), FlowRef{FlowRef::Kind::half_open, *slot, kForwarderListener});
      push_syn_ack(o.tuple, kForwarderListener, *slot);
      return kNoError;
    }
    case Verdict::refuse: {
      // As a closed port answers a SYN: <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>.
      push_rst(o.tuple, wire::SeqNum{0}, o.seq + 1);
      ++stats_.offers_refused;
      return kNoError;
    }
    case Verdict::drop:
      ++stats_.offers_dropped;
      return kNoError;
  }
  return kNoError;
}

std::error_code StackCore::decide_after_handshake(Instant now, const PendingOffer& p, Verdict verdict) {
  const wire::FourTuple& tuple = p.offer.tuple;
  const std::uint32_t hash = flows_.hash(tuple);
  switch (verdict) {
    case Verdict::accept: {
      const auto index = alloc_slot();
      if (!index) {
        flow_erase(hash, tuple);
        ++stats_.pool_full_drops;
        ++stats_.listen_drops;
        return make_error_code(Error::no_resources);
      }
      Slot& s = slots_[*index];
      s.offer = p.offer.id;
      s.user = p.user;
      s.conn.emplace(tcp::Connection::open_passive(config_.tcp, p.open, now));
      flow_replace(hash, tuple, FlowRef{FlowRef::Kind::connection, *index, 0});
      s.flow_hash = hash;
      s.in_flow = true;
      wire::TcpHeader ack;  // the final ACK was consumed when the offer was made
      ack.flags = wire::TcpFlags{wire::TcpFlags::kAck};
      accept_passive(now, *index, kForwarderListener, ack, {});
      return kNoError;
    }
    case Verdict::refuse:
      // The client holds an established connection: reset it as one, <SEQ=SND.NXT><CTL=RST>
      // (RFC 9293 §3.10.7.4's reset of a synchronized connection; our SND.NXT is ISS+1).
      flow_erase(hash, tuple);
      push_rst(tuple, p.open.iss + 1);
      ++stats_.resets_sent;
      ++stats_.offers_refused;
      return kNoError;
    case Verdict::drop:
      flow_erase(hash, tuple);
      ++stats_.offers_dropped;
      return kNoError;
  }
  return kNoError;
}

}  // namespace synack::stack
