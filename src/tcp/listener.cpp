// LISTEN and the passive SYN-RECEIVED of half-open entries (RFC 9293 §3.10.7.2, §3.10.7.4).
#include "synack/tcp/listener.hpp"

#include <sys/mman.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <new>

#include "synack/tcp/accecn.hpp"

namespace synack::tcp {

using wire::SeqNum;
using wire::TcpFlags;

SynOptions HalfOpen::peer_options() const noexcept {
  SynOptions s;
  if (peer_mss != 0) s.mss = peer_mss;
  if (peer_wscale != 0xFF) s.wscale = peer_wscale;
  s.sack_permitted = (flags & kSack) != 0;
  if ((flags & kTimestamps) != 0) s.timestamps = wire::Timestamps{ts_recent, 0};
  s.ecn = (flags & kEcn) != 0;
  s.accecn = (flags & kAccEcn) != 0;
  s.ip_ecn = syn_ecn;
  return s;
}

namespace {
/// RFC 9768 §3.1.1 on a listener that does AccECN: a SYN whose AE, CWR, ECE are anything but 000 and
/// 011 is answered as an AccECN SYN (111) — "MUST negotiate the use of AccECN as if they had been set
/// to 111"; the SYN's IP-ECN field is kept for the SYN-ACK (Table 2).
void accecn_syn(TcpFlags f, std::uint8_t ip_ecn, SynOptions& peer) noexcept {
  if (!accecn::requested(f)) return;
  peer.ecn = true;
  peer.accecn = true;
  peer.ip_ecn = ip_ecn & 3U;
}
}  // namespace

Listener::Listener(const Config& config, wire::Endpoint local, std::uint32_t backlog)
    : config_(&config),
      passive_v4_(passive_offer(config, wire::IpVersion::v4)),
      passive_v6_(passive_offer(config, wire::IpVersion::v6)),
      local_(local),
      // At most 2^20 entries (64 MiB): a Stack's flow table names a half-open slot in 20 bits.
      capacity_(std::clamp<std::uint32_t>(config.syn_queue_capacity, 1, kMaxSynQueue)),
      levels_(std::min<std::uint32_t>(config.synack_retries, Stored::kRetransmitsMask) + 1),
      accept_queue_(backlog == 0 ? config.default_backlog : backlog),
      cookie_mode_(config.syn_cookies) {}

std::size_t Listener::level_of(std::uint32_t slot) const noexcept {
  return std::min<std::size_t>(retransmits(slot), levels_.size() - 1);
}

void Listener::ChunkDelete::operator()(Stored* p) const noexcept {
  ::munmap(p, kChunkBytes);
}

void Listener::set_prev(std::uint32_t slot, std::uint32_t prev) noexcept {
  Stored& st = at(slot);
  st.set_word((st.word() & ~Stored::kLinkMask) | link_to(prev));
}

void Listener::set_next(std::uint32_t slot, std::uint32_t next) noexcept {
  Stored& st = at(slot);
  st.set_word((st.word() & ~(Stored::kLinkMask << Stored::kNextShift)) |
              (link_to(next) << Stored::kNextShift));
}

void Listener::set_retransmits(std::uint32_t slot, std::uint8_t n) noexcept {
  Stored& st = at(slot);
  st.set_word((st.word() & ~(Stored::kRetransmitsMask << Stored::kRetransmitsShift)) |
              (std::uint64_t{n} << Stored::kRetransmitsShift));
}

void Listener::fifo_push(std::uint32_t slot) noexcept {
  Fifo& f = levels_[level_of(slot)];
  set_prev(slot, f.tail);
  set_next(slot, kNil);
  if (f.tail != kNil) {
    set_next(f.tail, slot);
  } else {
    f.head = slot;
  }
  f.tail = slot;
}

void Listener::fifo_remove(std::uint32_t slot) noexcept {
  Fifo& f = levels_[level_of(slot)];
  const std::uint64_t w = at(slot).word();
  const std::uint32_t prev = prev_of(w);
  const std::uint32_t next = next_of(w);
  if (prev != kNil) {
    set_next(prev, next);
  } else {
    f.head = next;
  }
  if (next != kNil) {
    set_prev(next, prev);
  } else {
    f.tail = prev;
  }
}

void Listener::store(std::uint32_t slot, const HalfOpen& e) {
  Stored& st = at(slot);
  const bool v6 = (e.flags & HalfOpen::kV6) != 0;
  if (v6) {
    std::uint32_t index = v6_free_;
    if (index != kNil) {
      std::memcpy(&v6_free_, v6_addrs_[index].data(), sizeof v6_free_);
    } else {
      index = static_cast<std::uint32_t>(v6_addrs_.size());
      v6_addrs_.emplace_back();
    }
    std::memcpy(v6_addrs_[index].data(), e.addr.local_addr.data(), 16);
    std::memcpy(v6_addrs_[index].data() + 16, e.addr.remote_addr.data(), 16);
    st.put(Stored::kLocal, index);
    st.put(Stored::kRemote, std::uint32_t{0});
  } else {
    std::memcpy(st.bytes.data() + Stored::kLocal, e.addr.local_addr.data(), 4);
    std::memcpy(st.bytes.data() + Stored::kRemote, e.addr.remote_addr.data(), 4);
  }
  st.put(Stored::kLocalPort, e.addr.local_port);
  st.put(Stored::kRemotePort, e.addr.remote_port);
  st.put(Stored::kIss, e.iss);
  st.put(Stored::kIrs, e.irs);
  st.put(Stored::kTsRecent, e.ts_recent);
  st.put(Stored::kSynUs, e.syn_received_us);
  st.put(Stored::kTsOffset, e.ts_offset);
  st.put(Stored::kMss, e.peer_mss);
  std::uint64_t flags = 0;
  if (v6) flags |= 1U;
  if ((e.flags & HalfOpen::kSack) != 0) flags |= 2U;
  if ((e.flags & HalfOpen::kTimestamps) != 0) flags |= 4U;
  // Flag bit 8 is kAccEcn's: only entries rebuilt from cookies have kNoRtt, and those are never stored.
  if ((e.flags & HalfOpen::kAccEcn) != 0) flags |= 8U;
  if ((e.flags & HalfOpen::kEcn) != 0) flags |= 16U;
  // RFC 7323 §2.3: a shift above 14 is used as 14; 15 stands for "absent".
  const std::uint64_t wscale = e.peer_wscale == 0xFF ? 15U : std::min<std::uint8_t>(e.peer_wscale, 14);
  const std::uint64_t w = st.word();
  st.set_word(
      (w & ((std::uint64_t{1} << Stored::kRetransmitsShift) - 1)) |
      (std::uint64_t{e.retransmits} << Stored::kRetransmitsShift) |
      (std::uint64_t{e.syn_ecn & 3U} << Stored::kSynEcnShift) |
      (static_cast<std::uint64_t>(e.generation & Stored::kGenerationMask) << Stored::kGenerationShift) |
      ((e.flags & HalfOpen::kInUse) != 0 ? Stored::kInUseBit : 0) | (flags << Stored::kFlagsShift) |
      (wscale << Stored::kWscaleShift));
}

HalfOpen Listener::entry(std::uint32_t slot) const noexcept {
  const Stored& st = at(slot);
  const std::uint64_t w = st.word();
  const std::uint64_t flags = (w >> Stored::kFlagsShift) & Stored::kFlagsMask;
  HalfOpen e;
  if ((flags & 1U) != 0) {
    const V6Addresses& a = v6_addrs_[st.get<std::uint32_t>(Stored::kLocal)];
    std::memcpy(e.addr.local_addr.data(), a.data(), 16);
    std::memcpy(e.addr.remote_addr.data(), a.data() + 16, 16);
  } else {
    std::memcpy(e.addr.local_addr.data(), st.bytes.data() + Stored::kLocal, 4);
    std::memcpy(e.addr.remote_addr.data(), st.bytes.data() + Stored::kRemote, 4);
  }
  unpack_all_but_addresses(st, e);
  return e;
}

void Listener::unpack_all_but_addresses(const Stored& st, HalfOpen& e) noexcept {
  const std::uint64_t w = st.word();
  e.syn_received_us = st.get<std::uint32_t>(Stored::kSynUs);
  e.peer_mss = st.get<std::uint16_t>(Stored::kMss);
  e.retransmits = Stored::retransmits_of(w);
  e.generation = Stored::generation_of(w);
  unpack_answer(st, e);
}

void Listener::unpack_answer(const Stored& st, HalfOpen& e) noexcept {
  e.addr.local_port = st.get<std::uint16_t>(Stored::kLocalPort);
  e.addr.remote_port = st.get<std::uint16_t>(Stored::kRemotePort);
  e.iss = st.get<std::uint32_t>(Stored::kIss);
  e.irs = st.get<std::uint32_t>(Stored::kIrs);
  e.ts_recent = st.get<std::uint32_t>(Stored::kTsRecent);
  e.ts_offset = st.get<std::uint32_t>(Stored::kTsOffset);
  const std::uint64_t w = st.word();
  const std::uint64_t flags = (w >> Stored::kFlagsShift) & Stored::kFlagsMask;
  const auto wscale = static_cast<std::uint8_t>(w >> Stored::kWscaleShift);
  e.peer_wscale = wscale == 15 ? 0xFF : wscale;
  if ((flags & 1U) != 0) e.flags |= HalfOpen::kV6;
  if ((w & Stored::kInUseBit) != 0) e.flags |= HalfOpen::kInUse;
  if ((flags & 2U) != 0) e.flags |= HalfOpen::kSack;
  if ((flags & 4U) != 0) e.flags |= HalfOpen::kTimestamps;
  if ((flags & 8U) != 0) e.flags |= HalfOpen::kAccEcn;
  if ((flags & 16U) != 0) e.flags |= HalfOpen::kEcn;
  e.syn_ecn = static_cast<std::uint8_t>((w >> Stored::kSynEcnShift) & 3U);
}

bool Listener::v6_matches(const Stored& st, const wire::FourTuple& tuple) const noexcept {
  const V6Addresses& a = v6_addrs_[st.get<std::uint32_t>(Stored::kLocal)];
  const auto local = std::bit_cast<std::array<std::byte, 16>>(tuple.local.address.words());
  const auto remote = std::bit_cast<std::array<std::byte, 16>>(tuple.remote.address.words());
  return std::memcmp(a.data(), local.data(), 16) == 0 && std::memcmp(a.data() + 16, remote.data(), 16) == 0;
}

Instant Listener::entry_deadline(std::uint32_t slot) const noexcept {
  // SYN-ACKs at 0, 1, 3, 7, ... s: the RFC 6298 backoff from the initial RTO, capped at max_rto.
  Duration total{0};
  Duration rto = config_->initial_rto;
  const std::uint32_t count = retransmits(slot);
  for (std::uint32_t i = 0; i <= count; ++i) {
    total += rto;
    rto = std::min(rto * 2, config_->max_rto);
  }
  return epoch_ + std::chrono::microseconds(at(slot).get<std::uint32_t>(Stored::kSynUs)) + total;
}

std::uint32_t Listener::since_epoch(Instant now) noexcept {
  if (!epoch_set_) {
    epoch_ = now - kEpochLead;
    epoch_set_ = true;
  } else if (now - epoch_ > kEpochSpan) {
    // Every live entry is younger than the lead (its SYN-ACK schedule ends within minutes), so moving
    // the epoch to now - lead keeps every SYN time exact; an older one would be clamped to the epoch.
    const Instant next = now - kEpochLead;
    const auto shift = std::chrono::duration_cast<std::chrono::microseconds>(next - epoch_).count();
    for (std::uint32_t slot = 0; slot < slots_; ++slot) {
      Stored& st = at(slot);
      if ((st.word() & Stored::kInUseBit) == 0) continue;
      const auto us = st.get<std::uint32_t>(Stored::kSynUs);
      st.put(Stored::kSynUs, us > shift ? static_cast<std::uint32_t>(us - shift) : std::uint32_t{0});
    }
    epoch_ = next;
  }
  if (now < epoch_) return 0;  // time went backwards past the lead: the earliest representable instant
  return static_cast<std::uint32_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(now - epoch_).count());
}

std::optional<std::uint32_t> Listener::oldest_retransmitted() const noexcept {
  // Entries with more retransmissions are older: every entry retransmits on the same schedule from its
  // creation.
  for (std::size_t level = levels_.size(); level > 1; --level) {
    if (levels_[level - 1].head != kNil) return levels_[level - 1].head;
  }
  return std::nullopt;
}

Instant Listener::next_deadline() const noexcept {
  Instant earliest = Instant::max();
  if (half_open_count_ == 0) return earliest;
  for (const Fifo& f : levels_) {
    if (f.head != kNil) earliest = std::min(earliest, entry_deadline(f.head));
  }
  return earliest;
}

std::optional<std::uint32_t> Listener::add_half_open(Instant now, const wire::FourTuple& tuple,
                                                     SeqNum peer_isn, const SynOptions& peer,
                                                     const IsnGenerator& isn) {
  std::uint32_t slot = free_head_;
  std::uint8_t generation = 0;
  if (slot != kNil) {
    const std::uint64_t w = at(slot).word();
    free_head_ = next_of(w);
    generation = Stored::generation_of(w);
  } else {
    if (slots_ >= capacity_) return std::nullopt;
    slot = slots_;
    // A new chunk when the queue first reaches it: uninitialised, so untouched pages cost nothing.
    if ((slot >> kChunkShift) >= chunks_.size()) {
      void* p = ::mmap(nullptr, kChunkBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (p == MAP_FAILED) throw std::bad_alloc();
      chunks_.emplace_back(static_cast<Stored*>(p));
    }
    ++slots_;
  }
  HalfOpen e = make_half_open(now, tuple, peer_isn, peer, isn);
  e.generation = generation;
  store(slot, e);
  fifo_push(slot);
  ++half_open_count_;
  return slot;
}

HalfOpen Listener::make_half_open(Instant now, const wire::FourTuple& tuple, SeqNum peer_isn,
                                  const SynOptions& peer, const IsnGenerator& isn) {
  const IsnGenerator::TupleTerms terms = isn.terms(tuple);
  HalfOpen e = half_open(tuple, IsnGenerator::isn(now, terms).raw(), peer_isn.raw(), peer, HalfOpen::kInUse);
  e.syn_received_us = since_epoch(now);
  e.ts_offset = terms.ts_offset;
  return e;
}

HalfOpen Listener::half_open(const wire::FourTuple& tuple, std::uint32_t iss, std::uint32_t irs,
                             const SynOptions& peer, std::uint8_t flags) noexcept {
  HalfOpen e;
  e.addr = PackedTuple::pack(tuple);
  e.iss = iss;
  e.irs = irs;
  e.peer_mss = peer.mss.value_or(0);
  e.peer_wscale = peer.wscale.value_or(0xFF);
  e.flags = flags;
  if (tuple.local.address.is_v6()) e.flags |= HalfOpen::kV6;
  if (peer.sack_permitted) e.flags |= HalfOpen::kSack;
  if (peer.ecn) e.flags |= HalfOpen::kEcn;
  if (peer.accecn) {  // never in a cookie's options (a cookie answers an AccECN SYN with RFC 3168 ECN)
    e.flags |= HalfOpen::kAccEcn;
    e.syn_ecn = peer.ip_ecn;
  }
  if (peer.timestamps) {
    e.flags |= HalfOpen::kTimestamps;
    e.ts_recent = peer.timestamps->value;
  }
  return e;
}

void Listener::free_half_open(std::uint32_t slot) noexcept {
  Stored& st = at(slot);
  const std::uint64_t w = st.word();
  if ((w & Stored::kInUseBit) == 0) return;
  fifo_remove(slot);
  if (((w >> Stored::kFlagsShift) & 1U) != 0) {  // give the IPv6 side record back
    const auto index = st.get<std::uint32_t>(Stored::kLocal);
    std::memcpy(v6_addrs_[index].data(), &v6_free_, sizeof v6_free_);
    v6_free_ = index;
  }
  const auto generation =
      static_cast<std::uint64_t>((Stored::generation_of(w) + 1U) & Stored::kGenerationMask);
  // Free: not in use, the next generation, chained to the free list through its next link.
  st.set_word((generation << Stored::kGenerationShift) | (link_to(free_head_) << Stored::kNextShift) |
              Stored::kLinkMask);
  free_head_ = slot;
  --half_open_count_;
}

SynOptions Listener::peer_options(const wire::TcpHeader& h, std::uint8_t ip_ecn) const noexcept {
  SynOptions peer = SynOptions::from(h.options);
  // RFC 3168 §6.1.1: an ECN-setup SYN is agreed to unless ECN is off here (the entry remembers it).
  peer.ecn = config_->ecn != EcnMode::off && ecn_setup(h.flags);
  if (config_->ecn == EcnMode::accecn) [[unlikely]]
    accecn_syn(h.flags, ip_ecn, peer);
  return peer;
}

std::optional<std::uint32_t> Listener::take_syn(Instant now, const wire::FourTuple& tuple,
                                                const wire::TcpHeader& h, const IsnGenerator& isn,
                                                std::uint8_t ip_ecn) {
  const TcpFlags f = h.flags;
  // What on_segment() below does with a SYN when none of its other paths applies: the accept queue has
  // room (else dropped), no Fast Open option for a Fast Open listener (RFC 7413), no cookie answer
  // (always, or when_full with the queue full: RFC 4987 §3.6) and room without pruning. A SYN carrying
  // data is taken too: its SYN-ACK acknowledges only the SYN, and the peer retransmits the data.
  if (!f.syn() || f.ack() || f.rst() || half_open_count_ >= capacity_ || accept_queue_full() ||
      (fast_open_ != nullptr && h.options.fast_open) ||
      (cookies_ != nullptr && cookie_mode_ == SynCookieMode::always)) {
    return std::nullopt;
  }
  const auto slot = add_half_open(now, tuple, h.seq, peer_options(h, ip_ecn), isn);
  if (slot) ++stats_.syns_received;  // (always: room was checked above)
  return slot;
}

void Listener::withdraw_syn(std::uint32_t slot) noexcept {
  free_half_open(slot);
  --stats_.syns_received;
}

ListenerReply Listener::on_segment(Instant now, const wire::FourTuple& tuple, const wire::TcpHeader& h,
                                   wire::Bytes payload, const IsnGenerator& isn, std::uint8_t ip_ecn) {
  ListenerReply r;
  const TcpFlags f = h.flags;
  // RFC 9293 §3.10.7.2 first: "An incoming RST segment could not be valid ... should be ignored".
  if (f.rst()) return r;
  // Second: an ACK (on_ack).
  if (f.ack()) return on_ack(now, tuple, h, isn);
  // Fourth: a SYN. Anything else is dropped.
  if (!f.syn()) return r;
  if (const auto slot = take_syn(now, tuple, h, isn, ip_ecn)) {
    r.kind = ListenerReply::Kind::send_syn_ack;
    r.slot = *slot;
    return r;
  }
  ++stats_.syns_received;
  // Linux drops a SYN while the accept queue is full (LINUX_MIB_LISTENOVERFLOWS), cookies or not.
  if (accept_queue_full()) {
    ++stats_.accept_queue_full_drops;
    return r;
  }
  SynOptions peer = peer_options(h, ip_ecn);
  // RFC 7413 §4.2.2: a SYN with the Fast Open option, on a listener that does Fast Open (which answers
  // an AccECN SYN with RFC 3168 ECN, as a SYN cookie does).
  if (fast_open_ != nullptr && h.options.fast_open) [[unlikely]] {
    if (fast_open_syn(now, tuple, h, payload, peer, isn, r)) return r;
  }
  const bool full = half_open_count_ >= capacity_;
  // RFC 4987 §3.6: answer statelessly, always or once the SYN queue is full. A SYN the cookie cannot
  // encode (an MSS below the table) falls back to the queue.
  if (cookies_ != nullptr &&
      (cookie_mode_ == SynCookieMode::always || (cookie_mode_ == SynCookieMode::when_full && full)) &&
      answer_with_cookie(now, tuple, h, peer, isn, r)) {
    return r;
  }
  if (full && !make_room(r)) {
    ++stats_.syn_queue_full_drops;
    return r;
  }
  // A SYN carrying data (without a valid Fast Open cookie): the SYN-ACK acknowledges only the SYN
  // (RCV.NXT = SEG.SEQ + 1); the data is not queued and the peer retransmits it after the handshake.
  // (Here only after pruning, for a Fast Open SYN taken without its data, or for a SYN a cookie cannot
  // encode: take_syn() took every other.)
  const auto slot = add_half_open(now, tuple, h.seq, peer, isn);
  r.kind = ListenerReply::Kind::send_syn_ack;
  r.slot = *slot;
  return r;
}

bool Listener::make_room(ListenerReply& r) {
  // Make room by dropping the oldest entry whose SYN-ACK already went out more than once: a peer that
  // meant to connect has most likely answered the first one, and a spoofed SYN never will. Without it
  // 256 spoofed SYNs hold a queue for the whole 63 s of SYN-ACK retries (Linux prunes too: its
  // request-socket timer gives old entries fewer retries when the queue is more than half full).
  const auto victim = oldest_retransmitted();
  if (!victim) return false;
  r.pruned = entry(*victim).tuple();
  r.pruned_slot = *victim;
  ++stats_.syn_queue_pruned;
  free_half_open(*victim);
  return true;
}

ListenerReply Listener::on_half_open_segment(Instant now, std::uint32_t slot, const wire::TcpHeader& h) {
  (void)now;
  ListenerReply r;
  r.slot = slot;
  const Stored& st = at(slot);
  const SeqNum irs(st.get<std::uint32_t>(Stored::kIrs));
  const TcpFlags f = h.flags;
  const SeqNum rcv_nxt = irs + 1;
  const SeqNum iss(st.get<std::uint32_t>(Stored::kIss));
  if (f.rst()) {
    // RFC 9293 §3.10.7.4 / RFC 5961 §3.2: only an RST exactly at RCV.NXT removes the entry ("return
    // this connection to LISTEN"); any other RST is ignored.
    if (h.seq == rcv_nxt) free_half_open(slot);
    return r;
  }
  if (f.syn() && !f.ack()) {
    // A duplicate SYN (the peer did not see our SYN-ACK): retransmit the SYN-ACK. A SYN with another
    // sequence number is ignored here; the entry times out or completes.
    if (h.seq == irs) r.kind = ListenerReply::Kind::send_syn_ack;
    return r;
  }
  if (!f.ack()) return r;  // neither SYN, RST nor ACK: drop
  // RFC 9293 §3.10.7.4 fifth, SYN-RECEIVED: "If SND.UNA < SEG.ACK =< SND.NXT, then enter ESTABLISHED";
  // otherwise <SEQ=SEG.ACK><CTL=RST>. Here SND.UNA = ISS and SND.NXT = ISS + 1.
  if (h.ack != iss + 1 || f.syn()) {
    ++stats_.resets_sent;
    r.kind = ListenerReply::Kind::send_rst;
    r.rst_seq = h.ack;
    return r;
  }
  // First check, sequence number: the final ACK must start at RCV.NXT (a zero-length or data segment).
  if (h.seq != rcv_nxt) {
    r.kind = ListenerReply::Kind::send_syn_ack;  // not acceptable: answer with our SYN-ACK again
    return r;
  }
  if (accept_queue_full()) {
    // Linux (tcp_abort_on_overflow = 0): drop the final ACK, keep the entry; the SYN-ACK retransmission
    // gives the peer another chance.
    ++stats_.accept_queue_full_drops;
    return r;
  }
  ++stats_.established;
  r.kind = ListenerReply::Kind::complete;
  return r;
}

wire::TcpHeader Listener::syn_ack(Instant now, std::uint32_t slot) const {
  return send_syn_ack(now, slot).to_header();  // the entry keeps its timestamp offset: no second hash
}

wire::TcpHeader Listener::syn_ack(const HalfOpen& e, std::uint32_t ts_val) const {
  return send_syn_ack(e, ts_val).to_header();
}

wire::SendHeader Listener::send_syn_ack(Instant now, std::uint32_t slot) const {
  // Only what a SYN-ACK reads, straight from the packed slot: no addresses (nor an IPv6 side record).
  HalfOpen e;
  unpack_answer(at(slot), e);
  return send_syn_ack(e, ts_clock(now, e.ts_offset));
}

wire::SendHeader Listener::send_syn_ack(const HalfOpen& e, std::uint32_t ts_val) const {
  // answer_offer(passive offer, the SYN's options), read from the entry's flags without building either.
  const Offer& passive = (e.flags & HalfOpen::kV6) != 0 ? passive_v6_ : passive_v4_;
  Offer ours;
  ours.mss = passive.mss;
  if (e.peer_wscale != 0xFF) ours.wscale = passive.wscale;                           // RFC 7323 §2.2
  ours.sack_permitted = passive.sack_permitted && (e.flags & HalfOpen::kSack) != 0;  // RFC 2018 §2
  ours.timestamps = passive.timestamps && (e.flags & HalfOpen::kTimestamps) != 0;    // RFC 7323 §3.2
  ours.ecn = passive.ecn && (e.flags & HalfOpen::kEcn) != 0;                         // RFC 3168 §6.1.1
  ours.accecn = ours.ecn && (e.flags & HalfOpen::kAccEcn) != 0;                      // RFC 9768 §3.1.1
  wire::SendHeader h;
  h.src_port = e.addr.local_port;
  h.dst_port = e.addr.remote_port;
  h.seq = SeqNum(e.iss);
  h.ack = SeqNum(e.irs) + 1;
  // RFC 3168 §6.1.1: an ECN-setup SYN-ACK has ECE set and CWR clear.
  h.flags = TcpFlags(ours.ecn ? (TcpFlags::kSyn | TcpFlags::kAck | TcpFlags::kEce)
                              : (TcpFlags::kSyn | TcpFlags::kAck));
  // RFC 9768 §3.1.1 Table 2: an AccECN SYN-ACK feeds back the SYN's IP-ECN field in AE, CWR, ECE.
  if (ours.accecn) h.flags = TcpFlags(accecn::with_ace(h.flags.bits(), accecn::handshake_ace(e.syn_ecn)));
  h.window = config_->syn_window();
  h.has_mss = true;
  h.mss = ours.mss;
  h.set_window_scale(ours.wscale);
  h.sack_permitted = ours.sack_permitted;
  if (ours.timestamps) {
    h.has_timestamps = true;
    h.timestamps = wire::Timestamps{ts_val, e.ts_recent};
  }
  return h;
}

Negotiated Listener::negotiated(const HalfOpen& e) const noexcept {
  // negotiate() of the passive offer as it stands (what answer_offer() of it would give) and the SYN's
  // options straight from the entry's fields, without rebuilding its SynOptions.
  const bool v6 = (e.flags & HalfOpen::kV6) != 0;
  return negotiate(v6 ? passive_v6_ : passive_v4_, e.peer_syn(),
                   v6 ? wire::IpVersion::v6 : wire::IpVersion::v4, config_->min_send_mss);
}

PassiveOpen Listener::passive_open(std::uint32_t slot, const wire::TcpHeader& final_ack) const {
  return passive_open(entry(slot), final_ack);
}

PassiveOpen Listener::passive_open(std::uint32_t slot, const wire::TcpHeader& final_ack,
                                   const wire::FourTuple& tuple) const {
  HalfOpen e;  // its addresses stay empty: the tuple is the caller's
  unpack_all_but_addresses(at(slot), e);
  PassiveOpen p;
  p.tuple = tuple;
  fill_passive_open(e, final_ack, p);
  return p;
}

PassiveOpen Listener::passive_open(const HalfOpen& e, const wire::TcpHeader& final_ack) const {
  PassiveOpen p;
  p.tuple = e.tuple();
  fill_passive_open(e, final_ack, p);
  return p;
}

void Listener::fill_passive_open(const HalfOpen& e, const wire::TcpHeader& final_ack, PassiveOpen& p) const {
  p.iss = SeqNum(e.iss);
  p.irs = SeqNum(e.irs);
  p.negotiated = negotiated(e);
  p.ts_offset = e.ts_offset;  // kept with the entry (or the cookie's check): no second hash
  // A peer that negotiated timestamps but leaves them off its final ACK still completes the handshake
  // (gVisor once stranded such connections in SYN-RECEIVED); TS.Recent stays the SYN's TSval.
  p.ts_recent = final_ack.options.timestamps ? final_ack.options.timestamps->value : e.ts_recent;
  p.peer_window = final_ack.window;
  p.syn_received_at = syn_received_at(e);
  p.synack_retransmits = e.retransmits;
  p.rtt_sample = (e.flags & HalfOpen::kNoRtt) == 0;
  // RFC 9768 §3.2.2.1 Table 4: the ACE field of the ACK of an AccECN SYN-ACK feeds back the SYN-ACK's
  // IP-ECN (s.cep 6 after CE, else 5); 0b000 (Note 1): "the Server MUST NOT set ECT on outgoing packets
  // and MUST NOT respond to AccECN feedback" — its own feedback goes on.
  if (p.negotiated.accecn) {
    p.accecn_s_cep = accecn::handshake_s_cep(accecn::ace(final_ack.flags));
    if (p.accecn_s_cep == 0) p.negotiated.ecn = false;
  }
}

// The ring wraps by a compare, not `%`: the backlog is any size, so `%` is a division (tens of cycles
// on this machine's cores, twice per accepted connection), which callgrind counts as one instruction.
bool Listener::push_accept(std::uint64_t handle) noexcept {
  if (accept_queue_full()) return false;
  std::size_t tail = accept_head_ + accept_count_;
  if (tail >= accept_queue_.size()) tail -= accept_queue_.size();
  accept_queue_[tail] = handle;
  ++accept_count_;
  return true;
}

std::optional<std::uint64_t> Listener::pop_accept() noexcept {
  if (accept_count_ == 0) return std::nullopt;
  const std::uint64_t h = accept_queue_[accept_head_];
  if (++accept_head_ == accept_queue_.size()) accept_head_ = 0;
  --accept_count_;
  return h;
}

}  // namespace synack::tcp
