// Connection: construction, user calls (RFC 9293 §3.10.1–§3.10.6), events and info.
#include "synack/tcp/connection.hpp"

#include <algorithm>
#include <new>

#include "synack/tcp/error.hpp"

namespace synack::tcp {

static_assert(sizeof(Connection) <= 256, "the TCB stays within 256 bytes; the rest lives in Buffers");

namespace {

// One block from the pool (a free-list pop once warm: no malloc per connection), or plain new.
void* acquire_block(BufferPool* pool) {
  return pool != nullptr ? pool->acquire_block() : ::operator new(BufferPool::kBlockSize);
}

}  // namespace

void Connection::BuffersDeleter::operator()(Buffers* b) const noexcept {
  BufferPool* pool = b->pool;
  b->~Buffers();
  if (pool != nullptr) {
    pool->release_block(b);
  } else {
    ::operator delete(static_cast<void*>(b));
  }
}

Connection::Connection(const Config& config, const wire::FourTuple& tuple)
    : config_(&config),
      buffers_(::new(acquire_block(config.buffer_pool)) Buffers(config.buffer_pool, config)),
      tuple_(tuple),
      rtt_(config.initial_rto) {
  static_assert(sizeof(Buffers) <= BufferPool::kBlockSize, "the control extension fits one pool block");
  static_assert(alignof(Buffers) <= alignof(std::max_align_t));
}

std::size_t Connection::chunks_held() const noexcept {
  return buffers_->send.chunks_held() + buffers_->recv.chunks_held();
}

std::size_t Connection::heap_bytes() const noexcept {
  std::size_t n = BufferPool::kBlockSize + chunks_held() * sizeof(BufferChunk) + buffers_->recv.side_bytes();
  if (buffers_->sacked) n += sizeof(SackScoreboard);
  return n;
}

void Connection::on_memory_relief() noexcept {
  if (send_held_) {
    send_held_ = false;
    events_ |= event::kWritable;
  }
  // The window stayed at its old right edge while memory was short: offer the room now if it is worth a
  // window update (the same rule as in recv()).
  if (is_synchronized(state_) && !peer_fin_received_) {
    const auto advertised = static_cast<std::uint32_t>(std::max(0, rcv_adv_ - rcv_nxt_));
    const std::uint32_t threshold =
        std::min<std::uint32_t>(static_cast<std::uint32_t>(buffers_->recv.capacity() / 2), neg_.recv_mss);
    const std::uint32_t free = rcv_wnd();
    if (free > advertised && free - advertised >= threshold) pending_.ack = true;
  }
}

Connection Connection::open_active(const Config& config, const wire::FourTuple& tuple, const Offer& offer,
                                   wire::SeqNum iss, std::uint32_t ts_offset, Instant now) {
  Connection c(config, tuple);
  // RFC 9293 §3.10.1 OPEN call, CLOSED state, active: select an ISS, send a SYN, enter SYN-SENT.
  c.neg_.recv_mss = offer.mss;
  c.neg_.rcv_shift = offer.wscale;
  c.neg_.sack = offer.sack_permitted;
  c.neg_.timestamps = offer.timestamps;
  c.neg_.ecn = offer.ecn;        // in SYN-SENT: we ask (RFC 3168 §6.1.1); the SYN-ACK decides
  c.neg_.accecn = offer.accecn;  // RFC 9768 §3.1.1
  c.neg_.send_mss = default_peer_mss(tuple.local.address.version());
  c.iss_ = iss;
  c.buffers_->ecn_recover = iss;
  c.snd_una_ = iss;
  c.snd_nxt_ = iss;
  c.snd_max_ = iss;
  c.ts_offset_ = ts_offset;
  c.pending_.syn = true;
  c.buffers_->syn_sent_at = now;
  c.set_state(State::syn_sent);
  c.arm_retransmit(now);
  return c;
}

Connection Connection::open_passive(const Config& config, const PassiveOpen& open, Instant now) {
  Connection c(config, open.tuple);
  c.passive_ = true;
  c.neg_ = open.negotiated;
  c.iss_ = open.iss;
  c.irs_ = open.irs;
  c.snd_una_ = open.iss + 1;
  c.snd_nxt_ = c.snd_una_;
  c.snd_max_ = c.snd_una_;
  c.buffers_->ecn_recover = c.snd_una_;
  if (c.neg_.accecn) {
    c.start_accecn();
    c.buffers_->s_cep = open.accecn_s_cep;  // RFC 9768 Table 4
  }
  c.rcv_nxt_ = open.irs + 1;
  // The right edge the listener's SYN-ACK offered: receiver SWS avoidance keeps offering it until the
  // window can move by a worthwhile amount.
  c.rcv_adv_ = c.rcv_nxt_ + config.syn_window();
  c.snd_wl1_ = c.rcv_nxt_;
  c.snd_wl2_ = c.snd_una_;
  c.snd_wnd_ = open.peer_window << c.neg_.snd_shift.value_or(0);
  c.max_snd_wnd_ = c.snd_wnd_;
  c.ts_offset_ = open.ts_offset;
  c.ts_recent_ = open.ts_recent;
  c.ts_seen_ = c.neg_.timestamps;
  c.buffers_->syn_sent_at = open.syn_received_at;
  c.synack_retransmits_ = static_cast<std::uint8_t>(std::min<std::uint32_t>(open.synack_retransmits, 255));
  // Karn (RFC 6298 §3): the handshake RTT counts only when the SYN-ACK was not retransmitted.
  // A SYN cookie without timestamps gives no sample (when the SYN-ACK left is unknown): the RTO stays
  // RFC 6298 §2.1's initial one.
  if (open.synack_retransmits == 0) {
    if (open.rtt_sample) c.rtt_.sample(now - open.syn_received_at, config.min_rto, config.max_rto);
  } else if (!c.rtt_.has_sample()) {
    c.rtt_.set_rto(std::max(config.rto_after_syn_retransmit, config.min_rto));  // RFC 6298 §5.7
  }
  c.trigger_ = Trigger::accept;
  c.set_state(State::established);
  c.become_established(now);
  return c;
}

std::uint32_t Connection::rcv_wnd() const noexcept {
  const std::size_t w = buffers_->recv.window();
  const std::uint32_t shift = neg_.rcv_shift.value_or(0);
  const std::size_t max_wnd = static_cast<std::size_t>(65535U) << shift;
  return static_cast<std::uint32_t>(std::min(w, max_wnd));
}

std::expected<std::size_t, std::error_code> Connection::send(wire::Bytes data) {
  switch (state_) {
    case State::syn_sent:
    case State::syn_received:
    case State::established:
    case State::close_wait:
      break;
    case State::closed:
      if (has_error_) return std::unexpected(make_error_code(error_));
      return std::unexpected(make_error_code(Error::not_connected));
    default:
      return std::unexpected(make_error_code(Error::shut_down));
  }
  if (fin_queued_) return std::unexpected(make_error_code(Error::shut_down));
  SendBuffer& sb = buffers_->send;
  const std::size_t room = std::min(data.size(), sb.free_space());
  const std::size_t n = sb.append(data);
  if (n < room) {
    // Memory pressure or the hard limit held it back although the buffer has room: the caller sees a
    // short write (0 = would block) and hears kWritable when pressure ends.
    send_held_ = true;
    if (buffers_->pool != nullptr) ++buffers_->pool->counters().sends_held_back;
  }
  return n;
}

std::expected<std::size_t, std::error_code> Connection::recv(wire::MutableBytes out) {
  RecvBuffer& rb = buffers_->recv;
  if (rb.readable() > 0 && !out.empty()) {
    const std::uint32_t before = rcv_wnd();
    const std::size_t n = rb.copy_out(out);
    // Window update (RFC 9293 §3.8.6.2.2, receiver SWS avoidance): announce when the window grew by
    // at least min(half the buffer, one MSS) past what we last advertised. Not once the peer's FIN has
    // arrived: it sends no more data, and a peer that has closed its socket answers the update with RST
    // (seen against Linux, which itself stops window updates after RCV_SHUTDOWN in tcp_cleanup_rbuf).
    const std::uint32_t after = rcv_wnd();
    const auto advertised = static_cast<std::uint32_t>(std::max(0, rcv_adv_ - rcv_nxt_));
    const std::uint32_t threshold =
        std::min<std::uint32_t>(static_cast<std::uint32_t>(rb.capacity() / 2), neg_.recv_mss);
    // Under memory pressure the window stays at its old right edge: no update (on_memory_relief sends it).
    if (is_synchronized(state_) && !peer_fin_received_ && after > advertised &&
        after - advertised >= threshold && after > before && !under_pressure(buffers_->pool)) {
      pending_.ack = true;
    }
    return n;
  }
  if (peer_fin_received_) {
    eof_read_ = true;
    return std::size_t{0};
  }
  if (state_ == State::closed) {
    if (has_error_) return std::unexpected(make_error_code(error_));
    return std::unexpected(make_error_code(Error::not_connected));
  }
  return std::unexpected(make_error_code(Error::would_block));
}

std::error_code Connection::shutdown_write() {
  trigger_ = Trigger::close;
  switch (state_) {
    case State::syn_sent:
    case State::syn_received:
      // RFC 9293 §3.10.4 (SYN-RECEIVED): "queue for processing after entering ESTABLISHED state". The
      // FIN follows the handshake and any queued data; the state moves to FIN-WAIT-1 then.
      fin_queued_ = true;
      return {};
    case State::established:
      fin_queued_ = true;
      set_state(State::fin_wait_1);
      return {};
    case State::close_wait:
      fin_queued_ = true;
      set_state(State::last_ack);
      return {};
    case State::closed:
      return make_error_code(Error::not_connected);
    default:
      return {};  // already closing
  }
}

void Connection::close(Instant now) {
  trigger_ = Trigger::close;
  user_closed_ = true;
  if (state_ == State::syn_sent) {
    // RFC 9293 §3.10.4: CLOSE in SYN-SENT deletes the TCB.
    set_state(State::closed);
    stop_timer(TimerKind::retransmit);
    pending_.syn = false;
    return;
  }
  if (buffers_->recv.readable() > 0 && is_synchronized(state_)) {
    // Unread data at close: abort with RST, as Linux does (RFC 2525 §2.17).
    abort();
    return;
  }
  (void)shutdown_write();
  if (state_ == State::fin_wait_2 && !timers_.armed(TimerKind::fin_wait_2)) {
    set_timer(TimerKind::fin_wait_2, now + config_->fin_wait_2_timeout);  // Linux tcp_fin_timeout
  }
}

void Connection::abort() {
  trigger_ = Trigger::abort;
  // RFC 9293 §3.10.5 ABORT: in SYN-RECEIVED and synchronized states (except the closing ones) send RST.
  if (state_ == State::syn_received || state_ == State::established || state_ == State::fin_wait_1 ||
      state_ == State::fin_wait_2 || state_ == State::close_wait) {
    schedule_rst(snd_max_, std::nullopt);
  }
  user_closed_ = true;
  stop_timers();
  if (state_ != State::closed) set_state(State::closed);
  pending_.ack = false;
  pending_.syn = false;
  pending_.rtx_one = false;
  pending_.probe = false;
}

std::uint8_t Connection::take_events() noexcept {
  const std::uint8_t e = events_;
  events_ = 0;
  return e;
}

std::error_code Connection::error() const noexcept {
  return has_error_ ? make_error_code(error_) : std::error_code{};
}

bool Connection::time_wait_accepts_syn(const wire::TcpHeader& header) const noexcept {
  // One rule for connections and compact records: TimeWaitRecord::accepts_syn (RFC 6191).
  return state_ == State::time_wait && time_wait_record().accepts_syn(header);
}

TimeWaitRecord Connection::time_wait_record() const noexcept {
  TimeWaitRecord r;
  r.set_tuple(tuple_);
  r.expiry_ns = timers_.get(TimerKind::time_wait).nanoseconds();
  r.snd_nxt = snd_max_.raw();
  r.rcv_nxt = rcv_nxt_.raw();
  r.ts_recent = ts_recent_;
  if (neg_.timestamps) r.flags |= TimeWaitRecord::kTimestamps;
  if (neg_.sack) r.flags |= TimeWaitRecord::kSack;
  r.flags |= TimeWaitRecord::kInUse;
  r.set_shifts(neg_.rcv_shift, neg_.snd_shift);
  // RFC 5961 §7: the challenge-ACK budget survives compaction (a record is rebuilt per segment), kept
  // as the count in the current interval and that interval's number mod 16. A connection that sent none
  // (nearly every one) keeps 0, and its interval is not computed: a division by a configured value.
  if (buffers_->challenge_count != 0) {
    const Duration interval = std::max(config_->challenge_ack_interval, Duration{1});
    const auto epoch =
        static_cast<std::uint64_t>(buffers_->challenge_window_start.nanoseconds() / interval.count());
    r.challenge = static_cast<std::uint8_t>(std::min<std::uint32_t>(buffers_->challenge_count, 15) |
                                            ((epoch & 0xFU) << 4U));
  }
  return r;
}

Connection Connection::from_time_wait(const Config& config, const TimeWaitRecord& record,
                                      std::uint32_t ts_offset, Instant now) {
  Connection c(config, record.tuple());
  // Everything TIME-WAIT's rules read (RFC 9293 §3.10.7.4): both FINs sent and acknowledged, nothing
  // outstanding, the window we last offered, and the timestamps state (RFC 7323 PAWS).
  c.neg_.rcv_shift = record.rcv_shift();
  c.neg_.snd_shift = record.snd_shift();
  // A spent budget is restored while its interval lasts; an unspent one is the fresh connection's.
  if ((record.challenge & 0x0FU) != 0) {
    const Duration interval = std::max(config.challenge_ack_interval, Duration{1});
    const std::int64_t current = now.nanoseconds() / interval.count();
    if ((static_cast<std::uint64_t>(current) & 0xFU) == (record.challenge >> 4U)) {
      c.buffers_->challenge_window_start = Instant::from_nanoseconds(current * interval.count());
      c.buffers_->challenge_count = record.challenge & 0x0FU;
    }
  }
  c.neg_.timestamps = record.timestamps();
  c.neg_.sack = (record.flags & TimeWaitRecord::kSack) != 0;
  c.neg_.send_mss = default_peer_mss(record.tuple().local.address.version());
  c.iss_ = wire::SeqNum(record.snd_nxt) - 1;
  c.snd_una_ = c.snd_nxt_ = c.snd_max_ = wire::SeqNum(record.snd_nxt);
  c.snd_wl2_ = c.snd_una_;
  c.rcv_nxt_ = wire::SeqNum(record.rcv_nxt);
  c.snd_wl1_ = c.rcv_nxt_;
  c.irs_ = c.rcv_nxt_ - 1;
  c.rcv_adv_ = c.rcv_nxt_ + c.rcv_wnd();
  c.peer_fin_seq_ = c.rcv_nxt_ - 1;
  c.snd_wnd_ = c.max_snd_wnd_ = 65535;
  c.ts_recent_ = record.ts_recent;
  c.ts_offset_ = ts_offset;
  c.ts_seen_ = c.neg_.timestamps;
  c.fin_queued_ = c.fin_sent_ = c.fin_acked_ = true;
  c.peer_fin_known_ = c.peer_fin_received_ = true;
  c.established_seen_ = true;
  c.user_closed_ = true;
  c.set_timer(TimerKind::time_wait, record.expiry());
  c.state_ = State::time_wait;  // restored from the record: not a transition
  return c;
}

ConnectionInfo Connection::info() const {
  ConnectionInfo i;
  i.state = state_;
  i.tuple = tuple_;
  i.passive = passive_;
  i.iss = iss_;
  i.irs = irs_;
  i.negotiated = neg_;
  i.syn_retransmits = passive_ ? 0U : syn_retransmits_;
  i.synack_retransmits = synack_retransmits_;
  i.data_retransmits = buffers_->data_retransmits;
  i.fast_retransmits = buffers_->fast_retransmits;
  i.timeouts = buffers_->timeouts;
  i.ecn_ce_received = buffers_->ce_received;
  i.ecn_reductions = buffers_->ecn_reductions;
  i.ecn_ce_delivered = buffers_->ce_delivered;
  if (state_ != State::closed || buffers_->syn_sent_at != Instant{} || established_seen_)
    i.syn_sent_at = buffers_->syn_sent_at;
  if (established_seen_) i.established_at = buffers_->established_at;
  if (rtt_.has_sample()) i.srtt = rtt_.srtt();
  i.rto = rtt_.rto();
  i.snd_una = snd_una_;
  i.snd_nxt = snd_max_;
  i.rcv_nxt = rcv_nxt_;
  i.snd_wnd = snd_wnd_;
  i.rcv_wnd = rcv_wnd();
  i.bytes_acked = buffers_->bytes_acked;
  i.bytes_received = buffers_->bytes_received;
  i.challenge_acks_sent = buffers_->challenge_sent;
  i.challenge_acks_suppressed = buffers_->challenge_suppressed;
  i.cwnd = cc_.cwnd();
  i.ssthresh = cc_.ssthresh();
  i.smss = static_cast<std::uint16_t>(smss());
  i.error = error();
  if (buffers_->fast_open) i.fast_open = buffers_->fast_open->info();
  return i;
}

}  // namespace synack::tcp
