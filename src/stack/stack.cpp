// Stack: construction, the socket API, connection bookkeeping (slots, events, release).
#include <algorithm>
#include <array>
#include <bit>
#include <utility>

#include "stack_core.hpp"
#include "synack/random.hpp"
#include "synack/tcp/error.hpp"

namespace synack::stack {

using tcp::Error;
using tcp::make_error_code;

namespace {
std::size_t address_hash(const wire::IpAddress& a) noexcept {
  // FNV-1a over the address bytes: few addresses, chosen by the operator (not by the network).
  std::uint64_t h = 0xCBF29CE484222325ULL;
  for (const std::byte b : a.bytes()) h = (h ^ static_cast<std::uint64_t>(b)) * 0x100000001B3ULL;
  return static_cast<std::size_t>(h ^ (h >> 29U));
}
bool no_overrides(const tcp::OfferOverrides& o) noexcept {
  return !o.mss && !o.window_scaling && !o.window_shift && !o.sack_permitted && !o.timestamps && !o.ecn;
}
}  // namespace

StackCore::StackCore(StackConfig config, std::span<const std::byte, 16> isn_key, std::uint64_t rng_seed)
    : config_(std::move(config)),
      pool_(tcp::BufferPool::Limits{config_.buffer_memory_limit, config_.buffer_free_chunks,
                                    std::min<std::size_t>(config_.max_connections, 4096)}),
      isn_(isn_key),
      cookies_(tcp::SynCookies::derive_key(isn_key)),
      fast_open_keys_(tcp::FastOpenKeys::derive_key(isn_key)),
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
  pool_.signal_relief(&due_, detail::kTransmitDue | detail::kEventsDue);
  default_offer_v4_ = tcp::make_offer(config_.tcp, wire::IpVersion::v4);
  default_offer_v6_ = tcp::make_offer(config_.tcp, wire::IpVersion::v6);
  // Slots, offers and TIME-WAIT records are named in 29 bits by the flow table.
  config_.max_connections = std::min(config_.max_connections, FlowTable::kMaxIndex);
  config_.max_time_wait = std::min(config_.max_time_wait, FlowTable::kMaxIndex);
}

void StackCore::relieve_memory_pressure() {
  for (std::uint32_t i = 0; i < slots_.size(); ++i) {
    if (!slots_[i].conn) continue;
    slots_[i].conn->on_memory_relief();
    touch(i);
  }
}

StackCore::~StackCore() = default;

std::uint64_t StackCore::next_random() noexcept {
  return splitmix64(rng_state_);  // ephemeral ports only (not a secret)
}

std::uint16_t StackCore::ephemeral_port() noexcept {
  const std::uint32_t span = static_cast<std::uint32_t>(config_.ephemeral_high - config_.ephemeral_low) + 1U;
  return static_cast<std::uint16_t>(config_.ephemeral_low + next_random() % span);
}

bool StackCore::redraw_ephemeral(wire::FourTuple& tuple, std::uint32_t& hash) {
  // With many flows resident a busy port is common (half of an address's range at 10^6 flows over 74
  // addresses) and each lookup a cache miss: a batch's lookups load together, then are read in turn.
  std::array<std::uint16_t, kEphemeralBatch> ports{};
  std::array<std::uint32_t, kEphemeralBatch> hashes{};
  for (int batch = 0; batch < kEphemeralBatches; ++batch) {
    for (std::size_t i = 0; i < kEphemeralBatch; ++i) {
      ports[i] = tuple.local.port = ephemeral_port();
      hashes[i] = flows_.hash(tuple);
      flows_.prefetch(hashes[i]);
    }
    for (std::size_t i = 0; i < kEphemeralBatch; ++i) {
      if (!flows_.holds_hash(hashes[i])) {
        tuple.local.port = ports[i];
        hash = hashes[i];
        return true;
      }
    }
  }
  return false;
}

bool StackCore::owns(const wire::IpAddress& address) const noexcept {
  // A host has a handful of addresses: up to four are compared directly, more go through the set.
  if (owned_list_.size() <= 4) {
    for (const wire::IpAddress& a : owned_list_) {
      if (a == address) return true;
    }
    return false;
  }
  return owns_hashed(address);
}

bool StackCore::owns_hashed(const wire::IpAddress& address) const noexcept {
  if (unspecified(address)) return false;
  const std::size_t mask = owned_.size() - 1;
  for (std::size_t i = address_hash(address) & mask;; i = (i + 1) & mask) {
    if (owned_[i] == address) return true;
    if (unspecified(owned_[i])) return false;
  }
}

bool StackCore::flow_is(FlowRef ref, const wire::FourTuple& tuple) const noexcept {
  switch (ref.kind) {
    case FlowRef::Kind::connection:
      return ref.index < slots_.size() && slots_[ref.index].conn && slots_[ref.index].conn->tuple() == tuple;
    case FlowRef::Kind::half_open: {
      const tcp::Listener* l = listener_at(ref.owner);
      return l != nullptr && ref.index < l->syn_queue_slots() && l->entry_matches(ref.index, tuple);
    }
    case FlowRef::Kind::offer:
      return ref.index < offers_.size() && offers_[ref.index].offer.tuple == tuple;
    case FlowRef::Kind::time_wait:
      return time_wait_.contains(ref.index) && time_wait_.matches(ref.index, tuple);
  }
  return false;
}

std::uint32_t StackCore::flow_find_word(std::uint32_t hash, const wire::FourTuple& tuple) const {
  return flows_.find_word(hash, [&](FlowRef r) {
    // A connection's tuple compared here, in line: most datagrams belong to one. (flow_is()'s connection
    // case written out again: the same test through a shared inline helper measured +22 instructions a
    // handshake, GCC inlining differently around the lookup — BENCHMARKS.md round 17.)
    if (r.kind == FlowRef::Kind::connection)
      return r.index < slots_.size() && slots_[r.index].conn && slots_[r.index].conn->tuple() == tuple;
    return flow_is(r, tuple);
  });
}

void StackCore::flow_erase(std::uint32_t hash, const wire::FourTuple& tuple) {
  (void)flows_.erase(hash, [&](FlowRef r) { return flow_is(r, tuple); });
}

void StackCore::flow_replace(std::uint32_t h, const wire::FourTuple& tuple, FlowRef ref) {
  if (!flows_.replace(h, [&](FlowRef r) { return flow_is(r, tuple); }, ref)) flows_.insert(h, ref);
}

void StackCore::note_timer(Slot& s, std::uint32_t index) noexcept {
  s.timer_pending = true;
  timer_pending_.push_back(index);  // within capacity: reserved as slots_ grows (alloc_slot)
}

void StackCore::flush_timers() noexcept {
  for (const std::uint32_t index : timer_pending_) {
    Slot& s = slots_[index];
    s.timer_pending = false;
    // A released slot's timer was cancelled at release; a reused one files its new connection's deadline.
    if (!s.conn) continue;
    // Refiled only when the deadline moved earlier (or none is filed); a connection with no timer left
    // leaves the wheel (an O(1) unlink). A deadline that moved later leaves the earlier entry: when it
    // fires, on_timeout() finds nothing due for the connection and files it again (a spurious wake-up,
    // which next_deadline() documents).
    const Instant d = s.conn->next_deadline();
    if (d < timers_.deadline(index)) {
      timers_.schedule(index, d);
    } else if (d == Instant::max()) {
      timers_.cancel(index);
    }
  }
  timer_pending_.clear();
}

tcp::Connection* StackCore::lookup(ConnectionId id) noexcept {
  if (id.index >= slots_.size()) return nullptr;
  Slot& s = slots_[id.index];
  if (s.generation != id.generation || !s.conn) return nullptr;
  return &*s.conn;
}

const tcp::Connection* StackCore::lookup(ConnectionId id) const noexcept {
  if (id.index >= slots_.size()) return nullptr;
  const Slot& s = slots_[id.index];
  if (s.generation != id.generation || !s.conn) return nullptr;
  return &*s.conn;
}

std::optional<std::uint32_t> StackCore::alloc_slot() {
  if (live_connections_ >= config_.max_connections) return std::nullopt;
  std::uint32_t index = 0;
  if (!free_slots_.empty()) {
    index = free_slots_.back();
    free_slots_.pop_back();
  } else {
    index = static_cast<std::uint32_t>(slots_.size());
    slots_.emplace_back();
    // sync_timer() notes each slot at most once: room for all of them, so it never allocates.
    timer_pending_.reserve(slots_.capacity());
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

void StackCore::release(std::uint32_t index) {
  Slot& s = slots_[index];
  if (!s.conn) return;
  if (s.in_flow) {
    (void)flows_.erase_exact(s.flow_hash, connection_ref(index));
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
  s.user = 0;
  ++s.generation;
  free_slots_.push_back(index);
  --live_connections_;
}

void StackCore::post_events(std::uint32_t index, std::uint8_t ev) {
  Slot& s = slots_[index];
  tcp::Connection& c = *s.conn;
  // A listener's connection becoming established (its final ACK: one of a handshake's three calls
  // here) raises nothing below — `acceptable` announced it — so no event is built for it.
  constexpr std::uint8_t kEstablishedWritable = tcp::event::kEstablished | tcp::event::kWritable;
  if ((ev | kEstablishedWritable) == kEstablishedWritable && (ev & tcp::event::kEstablished) != 0 &&
      s.listener.valid() && c.fast_open() == nullptr) {
    return;
  }
  // One event built once; each bit raised changes only its kind (and a failure's error).
  Event e = kBlankEvent;
  e.connection = ConnectionId{index, s.generation};
  e.listener = s.listener;
  e.offer = s.offer;
  e.user = s.user;
  const auto push = [&](EventKind kind) {
    e.kind = kind;
    post(e);
  };
  // A listener's connection is announced by `acceptable`; active and forwarder opens by `established`.
  if ((ev & tcp::event::kEstablished) != 0 && !s.listener.valid()) push(EventKind::established);
  if ((ev & tcp::event::kReadable) != 0) push(EventKind::readable);
  if ((ev & tcp::event::kWritable) != 0 && (ev & tcp::event::kEstablished) == 0) push(EventKind::writable);
  if ((ev & tcp::event::kPeerClosed) != 0) push(EventKind::peer_closed);
  if ((ev & tcp::event::kClosed) != 0) push(EventKind::closed);
  if ((ev & (tcp::event::kEstablished | tcp::event::kError)) != 0 && c.fast_open() != nullptr) [[unlikely]]
    fast_open_learn(c);
  if ((ev & tcp::event::kError) != 0) {
    EventKind kind = EventKind::reset;
    switch (c.failure()) {  // the enum, not three error_code compares (each a category call)
      case Error::refused:
        kind = EventKind::refused;
        break;
      case Error::timed_out:
        kind = EventKind::timed_out;
        break;
      case Error::aborted:
        kind = EventKind::aborted;
        break;
      default:
        break;
    }
    e.error = c.error();
    push(kind);
  }
}

void StackCore::touch(std::uint32_t index, bool requeue) {
  Slot& s = slots_[index];
  if (!s.conn) return;
  tcp::Connection& c = *s.conn;
  const std::uint8_t ev = c.take_events();
  // A connection rebuilt from a TIME-WAIT record has no user: nobody holds its id, so no events.
  if (ev != 0 && s.time_wait == kNone) post_events(index, ev);
  const tcp::State state = c.state();
  if (state == tcp::State::closed && s.in_flow) {
    (void)flows_.erase_exact(s.flow_hash, connection_ref(index));
    s.in_flow = false;
  }
  const bool wants = c.wants_transmit();
  if (wants && requeue && !s.queued) {
    ready_.push_back(index);
    s.queued = true;
    due_ |= detail::kTransmitDue;
  }
  if (s.released_by_user && !wants) {
    if (state == tcp::State::closed) {
      release(index);
      return;
    }
    if (state == tcp::State::time_wait) {
      compact_time_wait(index);
      return;
    }
  }
  sync_timer(s, index);
}

void StackCore::after_transmit(std::uint32_t index, bool wants) {
  Slot& s = slots_[index];
  if (s.released_by_user && !wants) {
    if (s.conn->state() == tcp::State::closed) {
      release(index);
      return;
    }
    if (s.conn->state() == tcp::State::time_wait) {
      compact_time_wait(index);
      return;
    }
  }
  sync_timer(s, index);
}

const tcp::Listener* StackCore::listener_at(std::uint32_t owner) const noexcept {
  if (owner == kForwarderListener) return forwarder_listener_ ? &*forwarder_listener_ : nullptr;
  if (owner >= listeners_.size() || !listeners_[owner]) return nullptr;
  return &*listeners_[owner];
}

tcp::Listener* StackCore::listener_at(std::uint32_t owner) noexcept {
  return const_cast<tcp::Listener*>(std::as_const(*this).listener_at(owner));
}

void StackCore::erase_half_open_flow(std::uint32_t hash, std::uint32_t slot, std::uint32_t owner) noexcept {
  // A freed entry no longer confirms its tuple: the flow is found by what it points at instead.
  (void)flows_.erase(hash, [&](FlowRef r) {
    return r.kind == FlowRef::Kind::half_open && r.index == slot && r.owner == owner;
  });
}

const tcp::Listener* StackCore::listener(ListenerId id) const noexcept {
  if (id.value >= listeners_.size() || !listeners_[id.value]) return nullptr;
  return &*listeners_[id.value];
}

std::optional<ListenerInfo> StackCore::listener_info(ListenerId id) const noexcept {
  const tcp::Listener* l = listener(id);
  if (l == nullptr) return std::nullopt;
  return ListenerInfo{.local = l->local(),
                      .syn_queue = l->syn_queue_size(),
                      .syn_queue_capacity = l->syn_queue_capacity(),
                      .accept_queue = l->accept_queue_size(),
                      .backlog = l->backlog(),
                      .syn_cookies = l->syn_cookie_mode(),
                      .stats = l->stats(),
                      .fast_open_queue = l->fast_open() ? l->fast_open()->queue_length : 0U,
                      .fast_open_pending = l->fast_open() ? l->fast_open()->pending.size() : 0U,
                      .fast_open_cookies_sent = l->fast_open() ? l->fast_open()->cookies_sent : 0U,
                      .fast_open_accepted = l->fast_open() ? l->fast_open()->accepted : 0U,
                      .fast_open_invalid = l->fast_open() ? l->fast_open()->invalid : 0U,
                      .fast_open_overflows = l->fast_open() ? l->fast_open()->queue_overflows : 0U};
}

std::optional<std::uint32_t> StackCore::find_listener(const wire::Endpoint& local) const noexcept {
  // Few listeners per host: a scan, exact address before wildcard (as Linux's lookup scores them).
  std::optional<std::uint32_t> wildcard;
  for (std::uint32_t i = 0; i < listeners_.size(); ++i) {
    if (!listeners_[i] || listeners_[i]->local().port != local.port) continue;
    const wire::IpAddress& a = listeners_[i]->local().address;
    if (a == local.address) return i;
    if (unspecified(a)) wildcard = i;
  }
  return wildcard;
}

bool StackCore::tuple_taken(std::uint32_t hash, const wire::FourTuple& tuple) const {
  return flow_find_word(hash, tuple) != FlowTable::kNoWord;
}

std::expected<ConnectionId, std::error_code> StackCore::connect(Instant now, wire::Endpoint local,
                                                                wire::Endpoint remote,
                                                                const ConnectOptions& options,
                                                                std::optional<std::uint32_t> hashed) {
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
  const bool ephemeral = local.port == 0;
  if (ephemeral) tuple.local.port = ephemeral_port();
  // The lookup's tag word and line start loading now and are read as late as the answer allows: with
  // many flows resident they are a cache miss (a new tuple lands on a random line) that this call would
  // otherwise wait for, once per handshake (BENCHMARKS.md round 13). An explicit port's lookup comes after
  // the ISN's SipHash and the connection's construction, which overlap it; a taken tuple then undoes the
  // construction, which nothing saw — unless a transition sink (the stack's log) watches connections
  // being built: then the lookup comes first, as it does for an ephemeral port, which is chosen before
  // anything (its lookup has the SipHash's lead).
  std::uint32_t hash = hashed ? *hashed : flows_.hash(tuple);  // (connect_burst(): this tuple's, prefetched)
  if (!hashed) flows_.prefetch(hash);
  tcp::IsnGenerator::TupleTerms terms = isn_.terms(tuple);  // one SipHash for ISN and TS offset
  const bool check_late = !ephemeral && config_.tcp.transition_sink == nullptr;
  // A port drawn is busy when any entry has its hash (no owner read: a rare collision skips a free
  // port). An explicit port is refused only for its own tuple.
  if (ephemeral ? flows_.holds_hash(hash)
                : !check_late && flow_find_word(hash, tuple) != FlowTable::kNoWord) {
    if (!ephemeral || !redraw_ephemeral(tuple, hash))
      return std::unexpected(make_error_code(Error::address_in_use));
    terms = isn_.terms(tuple);
  }
  const auto index = alloc_slot();
  if (!index) [[unlikely]]
    return std::unexpected(make_error_code(check_late && tuple_taken(hash, tuple) ? Error::address_in_use
                                                                                  : Error::no_resources));
  Slot& s = slots_[*index];
  const wire::IpVersion version = tuple.local.address.version();
  const tcp::Offer offer = !no_overrides(options.offer) ? tcp::make_offer(config_.tcp, version, options.offer)
                           : version == wire::IpVersion::v4 ? default_offer_v4_
                                                            : default_offer_v6_;
  s.conn.emplace(BuiltBy{[&] {
    return tcp::Connection::open_active(config_.tcp, tuple, offer, tcp::IsnGenerator::isn(now, terms),
                                        terms.ts_offset, now);
  }});
  if (check_late && flow_find_word(hash, tuple) != FlowTable::kNoWord) [[unlikely]] {
    release(*index);  // nothing saw it: no event, no flow entry, no timer filed
    return std::unexpected(make_error_code(Error::address_in_use));  // RFC 9293 §3.10.1: it exists
  }
  if (options.fast_open || !options.data.empty()) [[unlikely]]
    fast_open_connect(now, *s.conn, options);
  flows_.insert(hash, FlowRef{FlowRef::Kind::connection, *index, 0});
  s.flow_hash = hash;
  s.in_flow = true;
  touch(*index);
  return ConnectionId{*index, s.generation};
}

std::expected<ListenerId, std::error_code> StackCore::listen(wire::Endpoint local, std::uint32_t backlog) {
  return listen(local, ListenOptions{.backlog = backlog, .syn_cookies = std::nullopt});
}

std::expected<ListenerId, std::error_code> StackCore::listen(wire::Endpoint local,
                                                             const ListenOptions& options) {
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
  if (options.fast_open != 0) {
    listeners_[index]->enable_fast_open(&fast_open_keys_, options.fast_open, [this](std::uint64_t handle) {
      const tcp::Connection* c =
          lookup(ConnectionId{static_cast<std::uint32_t>(handle), static_cast<std::uint32_t>(handle >> 32U)});
      return c != nullptr && c->state() == tcp::State::syn_received;
    });
  }
  return ListenerId{index};
}

void StackCore::rekey_syn_cookies(Instant now, std::span<const std::byte, 16> key) noexcept {
  cookies_.rekey(now, key);
}

std::expected<ConnectionId, std::error_code> StackCore::accept(ListenerId id) {
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

std::error_code StackCore::close_listener(Instant now, ListenerId id) {
  tcp::Listener* l = id.value < listeners_.size() && listeners_[id.value] ? &*listeners_[id.value] : nullptr;
  if (l == nullptr) return make_error_code(Error::invalid_argument);
  for (std::uint32_t slot = 0; slot < l->syn_queue_slots(); ++slot) {
    const tcp::HalfOpen e = l->entry(slot);
    if (e.in_use()) flow_erase(e.tuple());
  }
  // Connections never accepted are reset, as Linux does when a listening socket closes.
  while (auto cid = accept(id)) (void)abort(now, *cid);
  add_listener_counters(l->stats(), stats_);  // its counts stay in the stack's totals
  listeners_[id.value].reset();
  return kNoError;
}

std::expected<std::size_t, std::error_code> StackCore::send(ConnectionId id, wire::Bytes data) {
  tcp::Connection* c = lookup(id);
  if (c == nullptr) return std::unexpected(make_error_code(Error::unknown_connection));
  auto r = c->send(data);
  touch(id.index);
  return r;
}

std::expected<std::size_t, std::error_code> StackCore::recv(ConnectionId id, wire::MutableBytes out) {
  tcp::Connection* c = lookup(id);
  if (c == nullptr) return std::unexpected(make_error_code(Error::unknown_connection));
  auto r = c->recv(out);
  touch(id.index);
  return r;
}

// shutdown_write and abort arm no timer themselves: the FIN or RST they queue leaves in the next
// poll_transmit(now), which arms the FIN's retransmission timer. `now` keeps the three calls that end a
// connection alike, and leaves room for an engine that would need it.
std::error_code StackCore::shutdown_write(Instant /*now*/, ConnectionId id) {
  tcp::Connection* c = lookup(id);
  if (c == nullptr) return make_error_code(Error::unknown_connection);
  const std::error_code ec = c->shutdown_write();
  touch(id.index);
  return ec;
}

std::error_code StackCore::set_user_data(ConnectionId id, std::uint64_t user) {
  if (lookup(id) == nullptr) return make_error_code(Error::unknown_connection);
  slots_[id.index].user = user;
  return kNoError;
}

std::error_code StackCore::set_user_data(OfferId id, std::uint64_t user) {
  if (!offer(id)) return make_error_code(Error::unknown_offer);
  offers_[id.index].user = user;
  return kNoError;
}

std::optional<std::uint64_t> StackCore::user_data(ConnectionId id) const {
  if (lookup(id) == nullptr) return std::nullopt;
  return slots_[id.index].user;
}

std::error_code StackCore::close(Instant now, ConnectionId id) {
  tcp::Connection* c = lookup(id);
  if (c == nullptr) return make_error_code(Error::unknown_connection);
  c->close(now);  // FIN-WAIT-2's timer counts from the call, not from an earlier one
  slots_[id.index].released_by_user = true;
  touch(id.index);
  return kNoError;
}

std::error_code StackCore::abort(Instant /*now*/, ConnectionId id) {
  tcp::Connection* c = lookup(id);
  if (c == nullptr) return make_error_code(Error::unknown_connection);
  c->abort();
  slots_[id.index].released_by_user = true;
  touch(id.index);
  return kNoError;
}

std::optional<tcp::ConnectionInfo> StackCore::info(ConnectionId id) const {
  const tcp::Connection* c = lookup(id);
  if (c == nullptr) return std::nullopt;
  return c->info();
}

void StackCore::relieve_memory_pressure_now() {
  if (pool_.take_relief()) relieve_memory_pressure();
}

}  // namespace synack::stack
