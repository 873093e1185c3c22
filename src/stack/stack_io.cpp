// Stack: datagrams in (on_packet), datagrams out (poll_transmit), timers (on_timeout/next_deadline).
#include <algorithm>
#include <array>

#include "stack_core.hpp"
#include "synack/wire/packet.hpp"

namespace synack::stack {

using wire::TcpFlags;

void StackCore::observe(Instant now, ConnectionId id, Direction dir, const wire::FourTuple& tuple,
                        const wire::TcpHeader& h, std::size_t payload_len) const {
  if (observer_) observer_(SegmentRecord{now, id, dir, tuple, h, payload_len});
}

void StackCore::on_packets(Instant now, std::span<const wire::Bytes> datagrams) {
  // One datagram has nothing to overlap its miss with but its own parse, which on_packet's prefetch
  // already covers: peeking its tuple first would only add instructions. The burst path is a function of
  // its own, so that this one sets up no frame for the burst's hashes.
  if (datagrams.size() == 1) return on_packet_hashed(now, datagrams.front(), std::nullopt);
  on_packet_burst(now, datagrams);
}

void StackCore::on_packet_burst(Instant now, std::span<const wire::Bytes> datagrams) {
  constexpr std::size_t kAhead = 16;  // lines in flight at once (a core has 10-16 fill buffers)
  std::array<std::optional<std::uint32_t>, kAhead> hashes;
  for (std::size_t base = 0; base < datagrams.size(); base += kAhead) {
    const std::size_t n = std::min(kAhead, datagrams.size() - base);
    for (std::size_t i = 0; i < n; ++i) {
      hashes[i].reset();
      if (const auto tuple = wire::peek_tuple_at_receiver(datagrams[base + i])) {
        hashes[i] = flows_.hash(*tuple);
        flows_.prefetch(*hashes[i]);
      }
    }
    for (std::size_t i = 0; i < n; ++i) on_packet_hashed(now, datagrams[base + i], hashes[i]);
  }
}

std::size_t StackCore::connect_burst(Instant now, std::span<const ConnectRequest> requests,
                                     std::span<std::expected<ConnectionId, std::error_code>> results) {
  const std::size_t count = std::min(requests.size(), results.size());
  constexpr std::size_t kAhead = 16;  // lines in flight at once, as on_packet_burst()
  std::array<std::optional<std::uint32_t>, kAhead> hashes;
  for (std::size_t base = 0; base < count; base += kAhead) {
    const std::size_t n = std::min(kAhead, count - base);
    for (std::size_t i = 0; i < n; ++i) {
      const ConnectRequest& r = requests[base + i];
      hashes[i].reset();
      // Only a tuple that connect() looks up as given: an ephemeral port or an unspecified address is
      // chosen inside it (and a request that connect() refuses before its lookup wastes one prefetch).
      if (r.local.port != 0 && r.remote.port != 0 && !unspecified(r.local.address) &&
          r.local.address.version() == r.remote.address.version()) {
        hashes[i] = flows_.hash(wire::FourTuple{r.local, r.remote});
        flows_.prefetch(*hashes[i]);
      }
    }
    for (std::size_t i = 0; i < n; ++i) {
      const ConnectRequest& r = requests[base + i];
      results[base + i] = connect(now, r.local, r.remote, r.options, hashes[i]);
    }
  }
  return count;
}

void StackCore::on_packet_hashed(Instant now, wire::Bytes datagram,
                                 std::optional<std::uint32_t> peeked_hash) {
  ++stats_.packets_in;
  const auto view = wire::TcpPacketView::parse(datagram, wire::ChecksumPolicy::verify);
  if (!view) {
    if (view.error() == wire::Error::tcp_bad_checksum || view.error() == wire::Error::ipv4_bad_checksum) {
      ++stats_.bad_checksum;
    } else {
      ++stats_.malformed;
      ++stats_.malformed_header;
    }
    return;
  }
  const wire::FourTuple tuple = view->tuple_at_receiver();
  // Once per datagram. The peeked tuple is this one (the same header fields; tests/wire pins it).
  const std::uint32_t hash = peeked_hash ? *peeked_hash : flows_.hash(tuple);
  if (!peeked_hash) flows_.prefetch(hash);  // parsing the header below overlaps the miss of a large table
  const auto header = wire::TcpHeader::parse(view->tcp());
  if (!header) {
    ++stats_.malformed;
    const wire::Error e = header.error();
    const bool option = e == wire::Error::option_truncated || e == wire::Error::option_bad_length ||
                        e == wire::Error::option_wrong_length;
    ++(option ? stats_.malformed_option : stats_.malformed_header);
    return;
  }
  const wire::Bytes payload = view->tcp().payload();

  std::optional<FlowRef> ref;
  if (const TcpFlags f = header->flags;
      !f.syn() || f.ack() || f.rst() ||
      !syn_before_lookup(now, tuple, hash, *header, payload, view->ip().ecn, ref)) {
    ref = flow_find(hash, tuple);
  } else if (!ref) {
    return;  // in the listener's SYN queue
  }
  if (ref) {
    on_flow_segment(now, tuple, hash, *ref, *header, payload, view->ip().ecn);
    return;
  }
  // No flow: the datagram would create state or get an answer, so the martian filter and the owned
  // addresses apply here (no state, no answer). A datagram that matched a flow above has a tuple that
  // passed these checks when its flow was made (or one the user connected to): checking every datagram
  // cost ~0.4 k instructions per handshake.
  if (is_martian(tuple)) return;
  if (!forwarder_ && !owns(tuple.local.address)) {
    ++stats_.not_local;
    return;
  }
  observe(now, ConnectionId{}, Direction::in, tuple, *header, payload.size());
  on_segment_no_flow(now, tuple, hash, *header, payload, view->ip().ecn);
}

bool StackCore::syn_before_lookup(Instant now, const wire::FourTuple& tuple, std::uint32_t hash,
                                  const wire::TcpHeader& h, wire::Bytes payload, std::uint8_t ip_ecn,
                                  std::optional<FlowRef>& ref) {
  // With many flows the lookup of a new tuple is a cache miss (the tag word of a random line: BENCHMARKS.md
  // round 13), and a SYN's other work does not depend on the answer unless a flow exists, which is rare
  // (a retransmitted SYN, a new incarnation of a TIME-WAIT tuple, a simultaneous open). So the listener's
  // work for a plain SYN — the checks below, its options, the ISN's SipHash, the entry — runs while the
  // prefetched line loads (on_packet_hashed), and a SYN that turns out to have a flow is withdrawn from
  // the listener and goes to the flow (`ref`, the caller's), as if looked up first. Only what can be
  // undone exactly is done ahead: no pruning, cookie or Fast Open (take_syn() declines them), and nothing
  // the stack counts. The outcome is RFC 9293 §3.10.7's: the SYN is processed in the state of its tuple.
  // A SYN the listener declines (a full queue answering with cookies) runs the checks below twice.
  if (forwarder_ || control_count_ == control_.size() || !ordinary_and_ours(tuple)) return false;
  const auto li = find_listener(tuple.local);
  if (!li) return false;
  tcp::Listener& l = *listeners_[*li];
  const auto slot = l.take_syn(now, tuple, h, isn_, ip_ecn);
  if (!slot) return false;
  ref = flow_find(hash, tuple);
  if (ref) {
    l.withdraw_syn(*slot);
    return true;
  }
  observe(now, ConnectionId{}, Direction::in, tuple, h, payload.size());
  flow_insert(hash, FlowRef{FlowRef::Kind::half_open, *slot, *li});
  push_syn_ack(tuple, *li, *slot);
  return true;
}

void StackCore::on_flow_segment(Instant now, const wire::FourTuple& tuple, std::uint32_t hash, FlowRef ref,
                                const wire::TcpHeader& h, wire::Bytes payload, std::uint8_t ip_ecn) {
  const TcpFlags f = h.flags;
  if (ref.kind == FlowRef::Kind::time_wait) {
    if (f.syn() && !f.ack() && !f.rst() && time_wait_.get(ref.index).accepts_syn(h)) {
      // RFC 6191 / Linux tcp_timewait_state_process (TCP_TW_SYN): the new incarnation replaces the
      // TIME-WAIT record, which ends now.
      ++stats_.time_wait_reuses;
      flow_erase(hash, tuple);
      time_wait_.set_owner(ref.index, kTwDead);
      --time_wait_count_;
      on_segment_no_flow(now, tuple, hash, h, payload, ip_ecn);
      return;
    }
    // Anything else is TIME-WAIT's to answer (RFC 9293 §3.10.7.4): rebuild the connection for it.
    const auto index = rebuild_time_wait(now, ref.index, hash);
    if (!index) {
      ++stats_.pool_full_drops;
      return;
    }
    ref = FlowRef{FlowRef::Kind::connection, *index, 0};
  }
  switch (ref.kind) {
    case FlowRef::Kind::connection: {
      Slot& s = slots_[ref.index];
      tcp::Connection& c = *s.conn;
      if (c.state() == tcp::State::time_wait && f.syn() && !f.ack() && !f.rst() &&
          c.time_wait_accepts_syn(h)) {
        // RFC 6191 / Linux tcp_timewait_state_process (TCP_TW_SYN): the new incarnation replaces the
        // TIME-WAIT connection, which ends now.
        ++stats_.time_wait_reuses;
        flow_erase(hash, tuple);
        s.in_flow = false;
        c.abort();
        touch(ref.index);
        on_segment_no_flow(now, tuple, hash, h, payload, ip_ecn);
        return;
      }
      observe(now, ConnectionId{ref.index, s.generation}, Direction::in, tuple, h, payload.size());
      const tcp::ConnectionCounters before = c.counters();
      c.on_segment(now, h, payload, ip_ecn);
      add_connection_counters(before, c.counters());
      touch(ref.index);
      return;
    }
    case FlowRef::Kind::half_open:
      observe(now, ConnectionId{}, Direction::in, tuple, h, payload.size());
      on_half_open(now, tuple, hash, ref, h, payload);
      return;
    case FlowRef::Kind::offer:
      // The client retransmitted its SYN while the embedder decides: nothing to do.
      if (f.syn()) ++stats_.offer_duplicate_syns;
      return;
    case FlowRef::Kind::time_wait:
      return;  // rebuilt above
  }
}

void StackCore::on_segment_no_flow(Instant now, const wire::FourTuple& tuple, std::uint32_t hash,
                                   const wire::TcpHeader& h, wire::Bytes payload, std::uint8_t ip_ecn) {
  const TcpFlags f = h.flags;
  // A listener wins for its own address and port (a wildcard listener: on the addresses the stack owns);
  // everything else is the forwarder's.
  if (forwarder_ && (listeners_.empty() || !owns(tuple.local.address) || !find_listener(tuple.local))) {
    if (f.syn() && !f.ack() && !f.rst()) {
      forwarder_syn(now, tuple, hash, h);
      return;
    }
    if (f.ack() && !f.syn() && !f.rst() && forwarder_listener_->cookie_ack_possible(now)) {
      forwarder_cookie_ack(now, tuple, hash, h, payload);
      return;
    }
    reply_closed(tuple, h, payload.size());
    return;
  }
  if (const auto li = find_listener(tuple.local)) {
    if (f.syn() && !f.ack() && !f.rst() && control_count_ == control_.size()) {
      // Its SYN-ACK (from the queue or a cookie) could not be queued: drop the SYN before it takes an
      // entry or counts as answered; the peer retransmits it.
      ++stats_.control_queue_drops;
      return;
    }
    tcp::Listener& l = *listeners_[*li];
    const tcp::ListenerReply r = l.on_segment(now, tuple, h, payload, isn_, ip_ecn);
    switch (r.kind) {
      case tcp::ListenerReply::Kind::send_syn_ack:
        if (r.pruned) {
          // The entry the listener dropped to make room: its flow goes first (it may share the slot).
          erase_half_open_flow(flows_.hash(*r.pruned), r.pruned_slot, *li);
        }
        flow_insert(hash, FlowRef{FlowRef::Kind::half_open, r.slot, *li});
        push_syn_ack(tuple, *li, r.slot, r.fast_open_cookie);
        break;
      case tcp::ListenerReply::Kind::send_cookie_syn_ack: {
        // RFC 4987 §3.6: no state at all, not even a flow-table entry; the SYN-ACK is built from the
        // cookie when it leaves.
        Control c;
        c.kind = Control::Kind::cookie_syn_ack;
        c.tuple = tuple;
        c.listener = *li;
        c.ts_offset = r.cookie_ts_val;
        c.cookie = r.cookie;
        c.fast_open = r.fast_open_cookie;
        push_control(c);
        break;
      }
      case tcp::ListenerReply::Kind::complete_cookie: {
        // The cookie stood for a SYN-queue entry: the connection is built exactly as from one.
        const auto index = alloc_slot();
        if (!index) {
          ++stats_.pool_full_drops;  // the peer's next segment carries the same cookie
          break;
        }
        Slot& s = slots_[*index];
        s.listener = ListenerId{*li};
        s.conn.emplace(tcp::Connection::open_passive(config_.tcp, l.passive_open(r.cookie, h), now));
        flow_insert(hash, FlowRef{FlowRef::Kind::connection, *index, 0});
        s.flow_hash = hash;
        s.in_flow = true;
        accept_passive(now, *index, *li, h, payload);
        break;
      }
      case tcp::ListenerReply::Kind::fast_open:
        fast_open_accept(now, tuple, hash, *li, r, h, payload);
        break;
      case tcp::ListenerReply::Kind::send_rst:
        push_rst(tuple, r.rst_seq);
        ++stats_.resets_sent;
        break;
      default:
        break;
    }
    return;
  }
  reply_closed(tuple, h, payload.size());
}

void StackCore::reply_closed(const wire::FourTuple& tuple, const wire::TcpHeader& h,
                             std::size_t payload_len) {
  // RFC 9293 §3.10.7.1 CLOSED: an RST is dropped; an ACK gets <SEQ=SEG.ACK><CTL=RST>; anything else
  // <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>.
  ++stats_.no_listener;
  if (h.flags.rst()) return;
  if (h.flags.ack()) {
    push_rst(tuple, h.ack);
  } else {
    const auto seg_len =
        static_cast<std::uint32_t>(payload_len) + (h.flags.syn() ? 1U : 0U) + (h.flags.fin() ? 1U : 0U);
    push_rst(tuple, wire::SeqNum{0}, h.seq + seg_len);
  }
  ++stats_.resets_sent;
}

void StackCore::on_half_open(Instant now, const wire::FourTuple& tuple, std::uint32_t hash, FlowRef ref,
                             const wire::TcpHeader& h, wire::Bytes payload) {
  tcp::Listener* l = listener_at(ref.owner);
  if (l == nullptr) {
    flow_erase(hash, tuple);
    return;
  }
  const tcp::ListenerReply r = l->on_half_open_segment(now, ref.index, h);
  switch (r.kind) {
    case tcp::ListenerReply::Kind::none:
      if (!l->entry(ref.index).in_use()) {
        erase_half_open_flow(hash, ref.index, ref.owner);  // removed by an exact RST
        if (ref.owner == kForwarderListener && ref.index < offer_of_half_open_.size()) {
          // The embedder accepted this offer and may hold resources for it (an upstream socket): the
          // client's RST ended it as surely as SYN-ACK retransmissions running out would have.
          Event e = kBlankEvent;
          e.kind = EventKind::half_open_expired;
          e.offer = offer_of_half_open_[ref.index].offer;
          e.user = offer_of_half_open_[ref.index].user;
          post(e);
        }
      }
      return;
    case tcp::ListenerReply::Kind::send_syn_ack:
      push_syn_ack(tuple, ref.owner, ref.index, l->fast_open_cookie_for(h));
      return;
    case tcp::ListenerReply::Kind::send_rst:
      push_rst(tuple, r.rst_seq);
      return;
    case tcp::ListenerReply::Kind::send_cookie_syn_ack:
    case tcp::ListenerReply::Kind::complete_cookie:
    case tcp::ListenerReply::Kind::fast_open:
      return;  // only on_segment answers with cookies
    case tcp::ListenerReply::Kind::complete:
      break;
  }
  const auto index = alloc_slot();
  if (!index) {
    ++stats_.pool_full_drops;  // the entry stays; its SYN-ACK retransmission retries
    ++stats_.listen_drops;
    return;
  }
  const tcp::PassiveOpen open = l->passive_open(ref.index, h, tuple);
  Slot& s = slots_[*index];
  if (ref.owner == kForwarderListener) {
    s.offer = offer_of_half_open_[ref.index].offer;
    s.user = offer_of_half_open_[ref.index].user;
  } else {
    s.listener = ListenerId{ref.owner};
  }
  s.conn.emplace(BuiltBy{[&] { return tcp::Connection::open_passive(config_.tcp, open, now); }});
  flow_replace_exact(hash, ref, connection_ref(*index));
  l->free_half_open(ref.index);
  s.flow_hash = hash;
  s.in_flow = true;
  accept_passive(now, *index, ref.owner, h, payload);
}

void StackCore::accept_passive(Instant now, std::uint32_t index, std::uint32_t owner,
                               const wire::TcpHeader& h, wire::Bytes payload) {
  Slot& s = slots_[index];
  const ConnectionId id{index, s.generation};
  if (owner != kForwarderListener) {
    if (tcp::Listener* l = listener_at(owner)) {
      (void)l->push_accept((static_cast<std::uint64_t>(id.generation) << 32U) | id.index);
    }
    Event e = kBlankEvent;
    e.kind = EventKind::acceptable;
    e.connection = id;
    e.listener = s.listener;
    e.user = s.user;
    post(e);
  }
  // The final ACK may carry data or FIN: process it in ESTABLISHED (its ACK is a duplicate by then).
  if (!payload.empty() || h.flags.fin()) s.conn->on_segment(now, h, payload);
  touch(index);
}

void StackCore::push_rst(const wire::FourTuple& tuple, wire::SeqNum seq, std::optional<wire::SeqNum> ack) {
  Control c;
  c.kind = Control::Kind::rst;
  c.tuple = tuple;
  c.seq = seq;
  if (ack) {
    c.ack = *ack;
    c.with_ack = true;
  }
  push_control(c);
}

void StackCore::push_control(const Control& c) {
  if (Control* slot = push_control_slot()) *slot = c;
}

StackCore::Control* StackCore::push_control_slot() {
  if (control_count_ == control_.size()) {
    ++stats_.control_queue_drops;
    return nullptr;
  }
  std::size_t tail = control_head_ + control_count_;
  if (tail >= control_.size()) tail -= control_.size();
  ++control_count_;
  due_ |= detail::kTransmitDue;
  return &control_[tail];
}

void StackCore::push_syn_ack(const wire::FourTuple& tuple, std::uint32_t owner, std::uint32_t slot,
                             std::uint8_t fast_open) {
  const tcp::Listener* l = listener_at(owner);
  if (l == nullptr) return;
  // Filled in its queue slot rather than built and copied there: a Control is about 140 bytes (a cookie
  // SYN-ACK's half-open entry included), of which a SYN-ACK for a stored entry reads these fields only.
  Control* c = push_control_slot();
  if (c == nullptr) return;
  c->kind = Control::Kind::syn_ack;
  c->tuple = tuple;
  c->listener = owner;
  c->slot = slot;
  c->generation = l->entry_generation(slot);
  c->fast_open = fast_open;
}

std::optional<std::size_t> StackCore::emit(Instant now, ConnectionId id, const wire::FourTuple& tuple,
                                           const wire::SendHeader& h, wire::Bytes payload,
                                           wire::MutableBytes out, std::uint8_t ecn) {
  // One call site for both cases: the marked copy of the IP parameters is made only for ECT data.
  // (An empty optional, not an IpParams: its member defaults would be stored on every call.)
  const wire::IpParams* ip = &config_.ip;
  std::optional<wire::IpParams> marked;
  if (ecn != 0) [[unlikely]] {
    marked.emplace(config_.ip);
    marked->ecn = ecn;  // ECT(0) on a data segment of an ECN connection (RFC 3168 §6.1.2)
    ip = &*marked;
  }
  const auto n = wire::emit_tcp_packet(tuple.local.address, tuple.remote.address, h, payload, out, *ip);
  if (!n) [[unlikely]] {
    ++stats_.emit_failures;
    return std::nullopt;
  }
  ++stats_.packets_out;
  if (h.flags.rst()) ++stats_.out_rsts;
  if (observer_) [[unlikely]]
    observe_out(now, id, tuple, h, payload.size());
  return *n;
}

void StackCore::observe_out(Instant now, ConnectionId id, const wire::FourTuple& tuple,
                            const wire::SendHeader& h, std::size_t payload_len) const {
  observe(now, id, Direction::out, tuple, h.to_header(), payload_len);
}

std::optional<std::size_t> StackCore::poll_transmit_queued(Instant now, wire::MutableBytes out) {
  if (pool_.take_relief()) relieve_memory_pressure();
  while (control_count_ > 0) {
    // By reference: nothing below queues control segments (emit only writes `out` and observes).
    // A drained queue starts again at its first slot (as Ring does): the few slots a handshake uses stay
    // cached instead of the queue walking its whole array.
    const Control& c = control_[control_head_];
    if (--control_count_ == 0 || ++control_head_ == control_.size()) control_head_ = 0;
    wire::SendHeader h;
    if (c.kind == Control::Kind::rst) {
      h.src_port = c.tuple.local.port;
      h.dst_port = c.tuple.remote.port;
      h.seq = c.seq;
      h.flags = TcpFlags(c.with_ack ? (TcpFlags::kRst | TcpFlags::kAck) : TcpFlags::kRst);
      if (c.with_ack) h.ack = c.ack;
    } else if (c.kind == Control::Kind::cookie_syn_ack) {
      const tcp::Listener* l = listener_at(c.listener);
      if (l == nullptr) continue;  // closed meanwhile
      h = l->send_syn_ack(c.cookie, c.ts_offset);
    } else {
      const tcp::Listener* l = listener_at(c.listener);
      // Completed or expired meanwhile (the generation is 5 bits: the tuple confirms it).
      if (l == nullptr || c.slot >= l->syn_queue_slots() || !l->entry_live(c.slot, c.generation) ||
          !l->entry_matches(c.slot, c.tuple)) {
        continue;
      }
      h = l->send_syn_ack(now, c.slot);  // the entry keeps its timestamp offset: no hash here
    }
    wire::FastOpenCookie fast_open;
    if (c.fast_open != 0) [[unlikely]]
      add_fast_open_cookie(c, h, fast_open);
    if (const auto n = emit(now, ConnectionId{}, c.tuple, h, {}, out)) {
      if (c.kind == Control::Kind::syn_ack) ++stats_.syn_acks_sent;
      clear_transmit_due_if_idle();
      return n;
    }
  }
  while (!ready_.empty()) {
    const std::uint32_t index = ready_.front();
    Slot& s = slots_[index];
    tcp::Outgoing o;
    if (!s.conn || !s.conn->poll_transmit(now, o)) {
      ready_.pop_front();
      s.queued = false;
      touch(index, false);
      continue;
    }
    const auto n =
        emit(now, ConnectionId{index, s.generation}, s.conn->tuple(), o.header, o.payload, out, o.ecn);
    const bool wants = s.conn->wants_transmit();
    if (!wants) {
      // Its last segment for now: leave the queue at once rather than on the next call.
      ready_.pop_front();
      s.queued = false;
    }
    after_transmit(index, wants);
    if (n) {
      clear_transmit_due_if_idle();
      return n;
    }
  }
  // Everything sent: the driver's next poll answers in line (unless releasing a connection above
  // ended memory pressure).
  clear_transmit_due_if_idle();
  return std::nullopt;
}

Instant StackCore::next_deadline() {
  // Each source keeps its own earliest deadline: the cost does not depend on how many connections,
  // half-open entries or TIME-WAIT records exist (only on how many listeners).
  flush_timers();
  Instant t = std::min(timers_.next_deadline(), offer_timers_.next_deadline());
  for (const auto& l : listeners_) {
    if (l) t = std::min(t, l->next_deadline());
  }
  if (forwarder_listener_) t = std::min(t, forwarder_listener_->next_deadline());
  if (time_wait_head_ != kNone) t = std::min(t, time_wait_.expiry(time_wait_head_));
  return t;
}

void StackCore::on_timeout(Instant now) {
  flush_timers();
  timers_.expire(now, [&](TimerWheel::Id index) {
    Slot& s = slots_[index];
    if (!s.conn) return;
    s.conn->mark_timers_changed();  // the wheel has just disarmed its entry: refile whatever remains
    s.conn->on_timeout(now);
    touch(index);
  });
  const auto fire = [&](tcp::Listener& l, std::uint32_t owner) {
    if (l.next_deadline() > now) return;
    l.on_timeout(
        now,
        [&](std::uint32_t slot) {
          // Back-pressure: a full control queue leaves the rest due until poll_transmit has drained it
          // (next_deadline() stays <= now), instead of dropping SYN-ACKs that a full SYN queue's
          // retransmissions, due together, would overflow it with.
          if (control_count_ == control_.size()) return false;
          push_syn_ack(l.entry(slot).tuple(), owner, slot);
          return true;
        },
        [&](std::uint32_t slot) {
          flow_erase(l.entry(slot).tuple());
          ++stats_.half_open_timeouts;
          if (owner == kForwarderListener && slot < offer_of_half_open_.size()) {
            // The embedder accepted this offer and may hold resources for it: say it came to nothing.
            Event e = kBlankEvent;
            e.kind = EventKind::half_open_expired;
            e.offer = offer_of_half_open_[slot].offer;
            e.user = offer_of_half_open_[slot].user;
            post(e);
          }
        });
  };
  for (std::uint32_t i = 0; i < listeners_.size(); ++i) {
    if (listeners_[i]) fire(*listeners_[i], i);
  }
  if (forwarder_listener_) fire(*forwarder_listener_, kForwarderListener);
  expire_offers(now);
  expire_time_wait(now);
}

}  // namespace synack::stack
