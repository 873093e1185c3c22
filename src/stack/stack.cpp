// Stack: construction, the socket API, connection bookkeeping (slots, events, release).
#include "synack/stack/stack.hpp"

#include <algorithm>
#include <bit>
#include <utility>

#include "synack/tcp/error.hpp"
#include "synack/wire/martian.hpp"

namespace synack::stack {

using tcp::Error;
using tcp::make_error_code;

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

namespace {
std::size_t address_hash(const wire::IpAddress& a) noexcept {
  // FNV-1a over the address bytes: few addresses, chosen by the operator (not by the network).
  std::uint64_t h = 0xCBF29CE484222325ULL;
  for (const std::byte b : a.bytes()) h = (h ^ static_cast<std::uint64_t>(b)) * 0x100000001B3ULL;
  return static_cast<std::size_t>(h ^ (h >> 29U));
}
bool unspecified(const wire::IpAddress& a) noexcept {
  return a == wire::IpAddress{} || a == wire::IpAddress::v6({});
}
}  // namespace

Stack::Stack(StackConfig config, std::span<const std::byte, 16> isn_key, std::uint64_t rng_seed)
    : config_(std::move(config)),
      pool_(tcp::BufferPool::Limits{config_.buffer_memory_limit, config_.buffer_free_chunks,
                                    std::min<std::size_t>(config_.max_connections, 4096)}),
      isn_(isn_key),
      cookies_(tcp::SynCookies::derive_key(isn_key)),
      rng_state_(rng_seed),
      flows_(rng_seed ^ 0x5EED5EED5EED5EEDULL),
      control_(std::max<std::uint32_t>(config_.control_queue, 1)) {
  // Owned addresses as an open-addressed set at most half full: found in O(1) per datagram.
  owned_.resize(std::bit_ceil(std::max<std::size_t>(config_.addresses.size() * 2, 4)));
  for (const wire::IpAddress& a : config_.addresses) {
    if (unspecified(a)) continue;
    owned_list_.push_back(a);
    const std::size_t mask = owned_.size() - 1;
    std::size_t i = address_hash(a) & mask;
    while (!unspecified(owned_[i]) && owned_[i] != a) i = (i + 1) & mask;
    owned_[i] = a;
  }
  config_.tcp.buffer_pool = &pool_;  // every connection of this stack takes its buffers from it
  // Slots, offers and TIME-WAIT records are named in 29 bits by the flow table.
  config_.max_connections = std::min(config_.max_connections, FlowTable::kMaxIndex);
  config_.max_time_wait = std::min(config_.max_time_wait, FlowTable::kMaxIndex);
}

void Stack::relieve_memory_pressure() {
  for (std::uint32_t i = 0; i < slots_.size(); ++i) {
    if (!slots_[i].conn) continue;
    slots_[i].conn->on_memory_relief();
    touch(i);
  }
}

Stack::~Stack() = default;

std::uint64_t Stack::next_random() noexcept {
  // splitmix64: ephemeral ports only (not a secret).
  std::uint64_t z = (rng_state_ += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30U)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27U)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31U);
}

bool Stack::owns(const wire::IpAddress& address) const noexcept {
  // A host has a handful of addresses: up to four are compared directly, more go through the set.
  if (owned_list_.size() <= 4) {
    for (const wire::IpAddress& a : owned_list_) {
      if (a == address) return true;
    }
    return false;
  }
  if (unspecified(address)) return false;
  const std::size_t mask = owned_.size() - 1;
  for (std::size_t i = address_hash(address) & mask;; i = (i + 1) & mask) {
    if (owned_[i] == address) return true;
    if (unspecified(owned_[i])) return false;
  }
}

bool Stack::flow_is(FlowRef ref, const wire::FourTuple& tuple) const noexcept {
  switch (ref.kind) {
    case FlowRef::Kind::connection:
      return ref.index < slots_.size() && slots_[ref.index].conn && slots_[ref.index].conn->tuple() == tuple;
    case FlowRef::Kind::half_open: {
      const tcp::Listener* l = listener_at(ref.owner);
      return l != nullptr && ref.index < l->syn_queue_slots() && l->entry(ref.index).matches(tuple);
    }
    case FlowRef::Kind::offer:
      return ref.index < offers_.size() && offers_[ref.index].offer.tuple == tuple;
    case FlowRef::Kind::time_wait:
      return time_wait_.contains(ref.index) && time_wait_.matches(ref.index, tuple);
  }
  return false;
}

std::optional<FlowRef> Stack::flow_find(std::uint32_t hash, const wire::FourTuple& tuple) const {
  return flows_.find(hash, [&](FlowRef r) { return flow_is(r, tuple); });
}

void Stack::flow_erase(std::uint32_t hash, const wire::FourTuple& tuple) {
  (void)flows_.erase(hash, [&](FlowRef r) { return flow_is(r, tuple); });
}

void Stack::flow_replace(std::uint32_t h, const wire::FourTuple& tuple, FlowRef ref) {
  if (!flows_.replace(h, [&](FlowRef r) { return flow_is(r, tuple); }, ref)) flows_.insert(h, ref);
}

void Stack::sync_timer(std::uint32_t index) noexcept {
  const Slot& s = slots_[index];
  const Instant d = s.conn ? s.conn->next_deadline() : Instant::max();
  if (d != timers_.deadline(index)) timers_.schedule(index, d);
}

tcp::Connection* Stack::lookup(ConnectionId id) noexcept {
  if (id.index >= slots_.size()) return nullptr;
  Slot& s = slots_[id.index];
  if (s.generation != id.generation || !s.conn) return nullptr;
  return &*s.conn;
}

const tcp::Connection* Stack::lookup(ConnectionId id) const noexcept {
  if (id.index >= slots_.size()) return nullptr;
  const Slot& s = slots_[id.index];
  if (s.generation != id.generation || !s.conn) return nullptr;
  return &*s.conn;
}

std::optional<std::uint32_t> Stack::alloc_slot() {
  if (live_connections_ >= config_.max_connections) return std::nullopt;
  std::uint32_t index = 0;
  if (!free_slots_.empty()) {
    index = free_slots_.back();
    free_slots_.pop_back();
  } else {
    index = static_cast<std::uint32_t>(slots_.size());
    slots_.emplace_back();
  }
  Slot& s = slots_[index];
  s.offer = OfferId{};
  s.listener = ListenerId{};
  s.time_wait = kNone;
  s.in_flow = false;
  s.released_by_user = false;
  ++live_connections_;
  return index;
}

void Stack::release(std::uint32_t index) {
  Slot& s = slots_[index];
  if (!s.conn) return;
  if (s.in_flow) {
    flow_erase(s.flow_hash, s.conn->tuple());
    s.in_flow = false;
  }
  if (s.time_wait != kNone) {
    // The rebuilt connection ended (RST, expiry): its record goes too.
    if (time_wait_.owner(s.time_wait) == kTwDetached) {
      time_wait_.free(s.time_wait);
    } else {
      time_wait_.set_owner(s.time_wait, kTwDead);
    }
    s.time_wait = kNone;
  }
  timers_.cancel(index);
  s.conn.reset();
  ++s.generation;
  free_slots_.push_back(index);
  --live_connections_;
}

void Stack::touch(std::uint32_t index, bool requeue) {
  Slot& s = slots_[index];
  if (!s.conn) return;
  tcp::Connection& c = *s.conn;
  const ConnectionId id{index, s.generation};
  const std::uint8_t ev = c.take_events();
  // A connection rebuilt from a TIME-WAIT record has no user: nobody holds its id, so no events.
  if (ev != 0 && s.time_wait == kNone) {
    const auto push = [&](EventKind kind, std::error_code error = {}) {
      Event e;
      e.kind = kind;
      e.connection = id;
      e.listener = s.listener;
      e.offer = s.offer;
      e.error = error;
      events_.push_back(e);
    };
    // A listener's connection is announced by `acceptable`; active and forwarder opens by `established`.
    if ((ev & tcp::event::kEstablished) != 0 && !s.listener.valid()) push(EventKind::established);
    if ((ev & tcp::event::kReadable) != 0) push(EventKind::readable);
    if ((ev & tcp::event::kWritable) != 0 && (ev & tcp::event::kEstablished) == 0) push(EventKind::writable);
    if ((ev & tcp::event::kPeerClosed) != 0) push(EventKind::peer_closed);
    if ((ev & tcp::event::kClosed) != 0) push(EventKind::closed);
    if ((ev & tcp::event::kError) != 0) {
      const std::error_code err = c.error();
      EventKind kind = EventKind::reset;
      if (err == make_error_code(Error::refused)) kind = EventKind::refused;
      if (err == make_error_code(Error::timed_out)) kind = EventKind::timed_out;
      if (err == make_error_code(Error::aborted)) kind = EventKind::aborted;
      push(kind, err);
    }
  }
  if (c.state() == tcp::State::closed && s.in_flow) {
    flow_erase(s.flow_hash, c.tuple());
    s.in_flow = false;
  }
  const bool wants = c.wants_transmit();
  if (wants && requeue && !s.queued) {
    ready_.push_back(index);
    s.queued = true;
  }
  if (s.released_by_user && !wants) {
    if (c.state() == tcp::State::closed) {
      release(index);
      return;
    }
    if (c.state() == tcp::State::time_wait) {
      compact_time_wait(index);
      return;
    }
  }
  sync_timer(index);
}

const tcp::Listener* Stack::listener_at(std::uint32_t owner) const noexcept {
  if (owner == kForwarderListener) return forwarder_listener_ ? &*forwarder_listener_ : nullptr;
  if (owner >= listeners_.size() || !listeners_[owner]) return nullptr;
  return &*listeners_[owner];
}

tcp::Listener* Stack::listener_at(std::uint32_t owner) noexcept {
  return const_cast<tcp::Listener*>(std::as_const(*this).listener_at(owner));
}

void Stack::erase_half_open_flow(std::uint32_t hash, std::uint32_t slot, std::uint32_t owner) noexcept {
  // A freed entry no longer confirms its tuple: the flow is found by what it points at instead.
  (void)flows_.erase(hash, [&](FlowRef r) {
    return r.kind == FlowRef::Kind::half_open && r.index == slot && r.owner == owner;
  });
}

const tcp::Listener* Stack::listener(ListenerId id) const noexcept {
  if (id.value >= listeners_.size() || !listeners_[id.value]) return nullptr;
  return &*listeners_[id.value];
}

std::optional<std::uint32_t> Stack::find_listener(const wire::Endpoint& local) const noexcept {
  // Few listeners per host: a scan, exact address before wildcard (as Linux's lookup scores them).
  std::optional<std::uint32_t> wildcard;
  for (std::uint32_t i = 0; i < listeners_.size(); ++i) {
    if (!listeners_[i] || listeners_[i]->local().port != local.port) continue;
    const wire::IpAddress& a = listeners_[i]->local().address;
    if (a == local.address) return i;
    if (a == wire::IpAddress{} || a == wire::IpAddress::v6({})) wildcard = i;
  }
  return wildcard;
}

std::expected<ConnectionId, std::error_code> Stack::connect(Instant now, wire::Endpoint local,
                                                            wire::Endpoint remote,
                                                            const ConnectOptions& options) {
  last_now_ = now;
  if (remote.port == 0) return std::unexpected(make_error_code(Error::invalid_argument));
  if (unspecified(local.address)) {
    const auto it =
        std::find_if(config_.addresses.begin(), config_.addresses.end(),
                     [&](const wire::IpAddress& a) { return a.version() == remote.address.version(); });
    if (it == config_.addresses.end()) return std::unexpected(make_error_code(Error::address_not_local));
    local.address = *it;
  }
  if (local.address.version() != remote.address.version()) {
    return std::unexpected(make_error_code(Error::invalid_argument));
  }
  if (!forwarder_ && !owns(local.address)) return std::unexpected(make_error_code(Error::address_not_local));
  wire::FourTuple tuple{local, remote};
  std::uint32_t hash = 0;
  if (local.port == 0) {
    const std::uint32_t span =
        static_cast<std::uint32_t>(config_.ephemeral_high - config_.ephemeral_low) + 1U;
    bool found = false;
    for (int attempt = 0; attempt < 64 && !found; ++attempt) {
      tuple.local.port = static_cast<std::uint16_t>(config_.ephemeral_low + next_random() % span);
      hash = flows_.hash(tuple);
      found = !flow_find(hash, tuple).has_value();
    }
    if (!found) return std::unexpected(make_error_code(Error::address_in_use));
  } else {
    hash = flows_.hash(tuple);
    if (flow_find(hash, tuple)) return std::unexpected(make_error_code(Error::address_in_use));
  }
  const auto index = alloc_slot();
  if (!index) return std::unexpected(make_error_code(Error::no_resources));
  Slot& s = slots_[*index];
  const tcp::Offer offer = tcp::make_offer(config_.tcp, tuple.local.address.version(), options.offer);
  const tcp::IsnGenerator::TupleTerms terms = isn_.terms(tuple);  // one SipHash for ISN and TS offset
  s.conn.emplace(tcp::Connection::open_active(config_.tcp, tuple, offer, tcp::IsnGenerator::isn(now, terms),
                                              terms.ts_offset, now));
  flows_.insert(hash, FlowRef{FlowRef::Kind::connection, *index, 0});
  s.flow_hash = hash;
  s.in_flow = true;
  touch(*index);
  return ConnectionId{*index, s.generation};
}

std::expected<ListenerId, std::error_code> Stack::listen(wire::Endpoint local, std::uint32_t backlog) {
  return listen(local, ListenOptions{.backlog = backlog, .syn_cookies = std::nullopt});
}

std::expected<ListenerId, std::error_code> Stack::listen(wire::Endpoint local, const ListenOptions& options) {
  if (!unspecified(local.address) && !owns(local.address))
    return std::unexpected(make_error_code(Error::address_not_local));
  if (local.port == 0) return std::unexpected(make_error_code(Error::invalid_argument));
  for (const auto& l : listeners_) {
    if (l && l->local() == local) return std::unexpected(make_error_code(Error::address_in_use));
  }
  auto index = static_cast<std::uint32_t>(listeners_.size());
  for (std::uint32_t i = 0; i < listeners_.size(); ++i) {
    if (!listeners_[i]) {
      index = i;
      break;
    }
  }
  // The flow table names a half-open entry's listener in 9 bits (511 is the forwarder's).
  if (index >= FlowTable::kForwarderOwner) return std::unexpected(make_error_code(Error::no_resources));
  if (index == listeners_.size()) listeners_.emplace_back();
  listeners_[index].emplace(config_.tcp, local, options.backlog);
  listeners_[index]->set_syn_cookies(&cookies_);
  if (options.syn_cookies) listeners_[index]->set_syn_cookie_mode(*options.syn_cookies);
  return ListenerId{index};
}

void Stack::rekey_syn_cookies(Instant now, std::span<const std::byte, 16> key) noexcept {
  cookies_.rekey(now, key);
}

std::expected<ConnectionId, std::error_code> Stack::accept(ListenerId id) {
  if (id.value >= listeners_.size() || !listeners_[id.value]) {
    return std::unexpected(make_error_code(Error::invalid_argument));
  }
  while (auto handle = listeners_[id.value]->pop_accept()) {
    const ConnectionId cid{static_cast<std::uint32_t>(*handle & 0xFFFFFFFFU),
                           static_cast<std::uint32_t>(*handle >> 32U)};
    if (lookup(cid) != nullptr) return cid;
  }
  return std::unexpected(make_error_code(Error::would_block));
}

std::error_code Stack::close_listener(ListenerId id) {
  tcp::Listener* l = id.value < listeners_.size() && listeners_[id.value] ? &*listeners_[id.value] : nullptr;
  if (l == nullptr) return make_error_code(Error::invalid_argument);
  for (std::uint32_t slot = 0; slot < l->syn_queue_slots(); ++slot) {
    if (l->entry(slot).in_use()) flow_erase(l->entry(slot).tuple());
  }
  // Connections never accepted are reset, as Linux does when a listening socket closes.
  while (auto cid = accept(id)) (void)abort(*cid);
  listeners_[id.value].reset();
  return {};
}

std::expected<std::size_t, std::error_code> Stack::send(ConnectionId id, wire::Bytes data) {
  tcp::Connection* c = lookup(id);
  if (c == nullptr) return std::unexpected(make_error_code(Error::unknown_connection));
  auto r = c->send(data);
  touch(id.index);
  return r;
}

std::expected<std::size_t, std::error_code> Stack::recv(ConnectionId id, wire::MutableBytes out) {
  tcp::Connection* c = lookup(id);
  if (c == nullptr) return std::unexpected(make_error_code(Error::unknown_connection));
  auto r = c->recv(out);
  touch(id.index);
  return r;
}

std::error_code Stack::shutdown_write(ConnectionId id) {
  tcp::Connection* c = lookup(id);
  if (c == nullptr) return make_error_code(Error::unknown_connection);
  const std::error_code ec = c->shutdown_write();
  touch(id.index);
  return ec;
}

std::error_code Stack::close(ConnectionId id) {
  tcp::Connection* c = lookup(id);
  if (c == nullptr) return make_error_code(Error::unknown_connection);
  c->close(last_now_);
  slots_[id.index].released_by_user = true;
  touch(id.index);
  return {};
}

std::error_code Stack::abort(ConnectionId id) {
  tcp::Connection* c = lookup(id);
  if (c == nullptr) return make_error_code(Error::unknown_connection);
  c->abort();
  slots_[id.index].released_by_user = true;
  touch(id.index);
  return {};
}

std::optional<tcp::ConnectionInfo> Stack::info(ConnectionId id) const {
  const tcp::Connection* c = lookup(id);
  if (c == nullptr) return std::nullopt;
  return c->info();
}

std::optional<Event> Stack::poll_event() {
  if (pool_.take_relief()) relieve_memory_pressure();
  if (events_.empty()) return std::nullopt;
  Event e = events_.front();
  events_.pop_front();
  return e;
}

void Stack::set_forwarder(std::optional<ForwarderConfig> config) {
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
  offer_of_half_open_.assign(forwarder_listener_->syn_queue_slots(), OfferId{});
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

std::optional<SynOffer> Stack::offer(OfferId id) const {
  if (id.index >= offers_.size()) return std::nullopt;
  const PendingOffer& p = offers_[id.index];
  if (!p.in_use || p.generation != id.generation) return std::nullopt;
  return p.offer;
}

void Stack::free_offer(std::uint32_t index) {
  PendingOffer& p = offers_[index];
  if (!p.in_use) return;
  p.in_use = false;
  ++p.generation;
  offer_timers_.cancel(index);
  (p.offer.handshake_done ? free_cookie_offers_ : free_offers_).push_back(index);
  --pending_offers_;
}

std::error_code Stack::decide(Instant now, OfferId id, Verdict verdict) {
  last_now_ = now;
  if (!offer(id)) return make_error_code(Error::invalid_argument);
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
      std::uint32_t ts_offset = 0;
      const auto slot = forwarder_listener_->add_half_open(now, o.tuple, o.seq, o.options, isn_, &ts_offset);
      if (!slot) {
        ++stats_.syn_queue_full_drops;
        ++stats_.listen_drops;
        return make_error_code(Error::no_resources);
      }
      if (*slot >= offer_of_half_open_.size())
        offer_of_half_open_.resize(forwarder_listener_->syn_queue_slots());
      offer_of_half_open_[*slot] = id;
      flow_insert(flows_.hash(o.tuple), FlowRef{FlowRef::Kind::half_open, *slot, kForwarderListener});
      push_syn_ack(o.tuple, kForwarderListener, *slot, ts_offset);
      return {};
    }
    case Verdict::refuse: {
      // As a closed port answers a SYN: <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>.
      push_rst(o.tuple, wire::SeqNum{0}, o.seq + 1);
      ++stats_.offers_refused;
      return {};
    }
    case Verdict::drop:
      ++stats_.offers_dropped;
      return {};
  }
  return {};
}

std::error_code Stack::decide_after_handshake(Instant now, const PendingOffer& p, Verdict verdict) {
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
      s.conn.emplace(tcp::Connection::open_passive(config_.tcp, p.open, now));
      flow_replace(hash, tuple, FlowRef{FlowRef::Kind::connection, *index, 0});
      s.flow_hash = hash;
      s.in_flow = true;
      wire::TcpHeader ack;  // the final ACK was consumed when the offer was made
      ack.flags = wire::TcpFlags{wire::TcpFlags::kAck};
      accept_passive(now, *index, kForwarderListener, ack, {});
      return {};
    }
    case Verdict::refuse:
      // The client holds an established connection: reset it as one, <SEQ=SND.NXT><CTL=RST>
      // (RFC 9293 §3.10.7.4's reset of a synchronized connection; our SND.NXT is ISS+1).
      flow_erase(hash, tuple);
      push_rst(tuple, p.open.iss + 1);
      ++stats_.resets_sent;
      ++stats_.offers_refused;
      return {};
    case Verdict::drop:
      flow_erase(hash, tuple);
      ++stats_.offers_dropped;
      return {};
  }
  return {};
}

// --- counters --------------------------------------------------------------------------------------

bool Stack::is_martian(const wire::FourTuple& tuple) noexcept {
  // Nearly every datagram: IPv4 unicast from an ordinary address that is not ours.
  if (tuple.remote.address.is_v4() && wire::ordinary_v4_octet(tuple.remote.address.first_octet()) &&
      wire::ordinary_v4_octet(tuple.local.address.first_octet()) &&
      tuple.remote.address != tuple.local.address && !owns(tuple.remote.address)) {
    return false;
  }
  MartianStats& m = stats_.martian;
  if (const auto reason = wire::martian_source(tuple.remote.address)) {
    switch (*reason) {
      case wire::MartianReason::zero_net:
        ++m.zero_net;
        break;
      case wire::MartianReason::loopback:
        ++m.loopback;
        break;
      case wire::MartianReason::multicast:
        ++m.multicast;
        break;
      case wire::MartianReason::broadcast_reserved:
        ++m.broadcast_reserved;
        break;
      case wire::MartianReason::v6_unspecified:
        ++m.v6_unspecified;
        break;
      case wire::MartianReason::v6_loopback:
        ++m.v6_loopback;
        break;
      case wire::MartianReason::v6_multicast:
        ++m.v6_multicast;
        break;
      case wire::MartianReason::v4_mapped:
        ++m.v4_mapped;
        break;
    }
    return true;
  }
  // TCP is unicast (RFC 1122 §4.2.3.10): a multicast or broadcast destination is discarded. Only the
  // forwarder would otherwise see it (such an address is never owned); counted apart all the same.
  if (wire::martian_destination(tuple.local.address)) {
    ++m.destination;
    return true;
  }
  // The "land" attack: a segment claiming to come from this host, or from its own destination.
  if (tuple.remote.address == tuple.local.address || owns(tuple.remote.address)) {
    ++m.own_address;
    return true;
  }
  return false;
}

void Stack::add_listener_counters(const tcp::ListenerStats& before,
                                  const tcp::ListenerStats& after) noexcept {
  const std::uint64_t syn_queue = after.syn_queue_full_drops - before.syn_queue_full_drops;
  const std::uint64_t accept_queue = after.accept_queue_full_drops - before.accept_queue_full_drops;
  stats_.listen_syns += after.syns_received - before.syns_received;
  stats_.syn_queue_full_drops += syn_queue;
  stats_.accept_queue_full_drops += accept_queue;
  stats_.listen_drops += syn_queue + accept_queue;
  stats_.syncookies_sent += after.syncookies_sent - before.syncookies_sent;
  stats_.syncookies_recv += after.syncookies_recv - before.syncookies_recv;
  stats_.syncookies_failed += after.syncookies_failed - before.syncookies_failed;
  stats_.syn_queue_pruned += after.syn_queue_pruned - before.syn_queue_pruned;
}

void Stack::add_connection_counters(const tcp::ConnectionCounters& before,
                                    const tcp::ConnectionCounters& after) noexcept {
  stats_.challenge_acks += after.challenge_acks_sent - before.challenge_acks_sent;
  stats_.challenge_acks_suppressed += after.challenge_acks_suppressed - before.challenge_acks_suppressed;
  stats_.out_of_window += after.out_of_window - before.out_of_window;
  stats_.paws_rejected += after.paws_rejected - before.paws_rejected;
}

}  // namespace synack::stack
