// Connection: segment arrival, RFC 9293 §3.10.7 "SEGMENT ARRIVES", hardened per RFC 5961.
#include <algorithm>

#include "synack/tcp/connection.hpp"
#include "synack/tcp/error.hpp"

namespace synack::tcp {

using wire::SeqNum;

void Connection::on_segment(Instant now, const wire::TcpHeader& header, wire::Bytes payload,
                            std::uint8_t ip_ecn) {
  rx_ecn_ = ip_ecn & 0x03U;
  trigger_ = Trigger::segment;
  trigger_flags_ = header.flags;
  switch (state_) {
    case State::closed:
    case State::listen:
      // RFC 9293 §3.10.7.1: a closed connection has no TCB; the stack answers for unknown tuples.
      return;
    case State::syn_sent:
      on_segment_syn_sent(now, header, payload);
      return;
    default:
      on_segment_synchronized(now, header, payload);
      return;
  }
}

void Connection::on_segment_syn_sent(Instant now, const wire::TcpHeader& h, wire::Bytes payload) {
  const wire::TcpFlags f = h.flags;
  // RFC 9293 §3.10.7.3 first: "If SEG.ACK =< ISS or SEG.ACK > SND.NXT, send a reset (unless the RST bit
  // is set, if so drop the segment and return) <SEQ=SEG.ACK><CTL=RST>".
  if (f.ack() && (h.ack <= iss_ || h.ack > snd_max_)) {
    if (!f.rst()) schedule_rst(h.ack, std::nullopt);
    return;
  }
  // Second, the RST bit: it counts only when it acknowledges our SYN (RFC 9293 §3.10.7.3, RFC 5961 §3.2
  // leaves SYN-SENT to this rule). An RST without ACK is dropped.
  if (f.rst()) {
    if (f.ack()) fail(Error::refused);
    return;
  }
  // Fourth, the SYN bit. Neither SYN nor RST: drop.
  if (!f.syn()) return;

  irs_ = h.seq;
  rcv_nxt_ = h.seq + 1;
  rcv_adv_ = rcv_nxt_;
  SynOptions peer = SynOptions::from(h.options);
  read_syn_ack_ecn(f, peer);
  const Offer ours{neg_.recv_mss, neg_.rcv_shift, neg_.sack, neg_.timestamps, neg_.ecn, neg_.accecn};
  neg_ = negotiate(ours, peer, tuple_.local.address.version(), config_->min_send_mss);
  if (neg_.accecn) start_accecn();
  if (neg_.timestamps) {
    ts_recent_ = peer.timestamps->value;
    ts_seen_ = true;
  }
  // RFC 7323 §2.2: the window field of a SYN or SYN-ACK is never scaled.
  snd_wnd_ = h.window;
  max_snd_wnd_ = snd_wnd_;
  snd_wl1_ = h.seq;

  if (f.ack()) {
    // SYN-ACK acknowledging our SYN: ESTABLISHED, <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>.
    snd_una_ = h.ack;
    snd_wl2_ = h.ack;
    if (buffers_->fast_open) fast_open_syn_ack(now, h);
    if (syn_retransmits_ == 0) {
      rtt_.sample(now - buffers_->syn_sent_at, config_->min_rto, config_->max_rto);  // Karn: first SYN only
    } else {
      rtt_.set_rto(std::max(config_->rto_after_syn_retransmit, config_->min_rto));  // RFC 6298 §5.7
    }
    stop_timer(TimerKind::retransmit);
    set_state(State::established);
    become_established(now);
    pending_.ack = true;
    // "If there are other controls or text in the segment, then continue processing at the sixth step".
    if (!payload.empty() || f.fin()) process_data(now, h.seq + 1, payload, f.fin());
    return;
  }
  // Simultaneous open (RFC 9293 §3.5, Figure 8): SYN-RECEIVED, send <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>
  // reusing our ISS. Data on the crossing SYN is not queued (only the SYN is acknowledged).
  snd_wl2_ = snd_una_;
  snd_nxt_ = iss_;
  pending_.syn = true;
  set_state(State::syn_received);
}

bool Connection::segment_acceptable(const wire::TcpHeader& h, std::size_t payload_len) const noexcept {
  // RFC 9293 §3.10.7.4 first: the four acceptability cases.
  const std::uint32_t seg_len =
      static_cast<std::uint32_t>(payload_len) + (h.flags.syn() ? 1U : 0U) + (h.flags.fin() ? 1U : 0U);
  const std::uint32_t wnd = rcv_wnd();
  if (wnd == 0) {
    // Zero window: only SEG.SEQ = RCV.NXT, and RFC 9293's "special allowance ... to accept valid ACKs,
    // URGs, and RSTs" — a probe's data is dropped later (no room), its ACK still processed.
    return h.seq == rcv_nxt_;
  }
  const SeqNum end = rcv_nxt_ + wnd;
  if (seg_len == 0) return wire::seq_in_range(h.seq, rcv_nxt_, end);
  return wire::seq_in_range(h.seq, rcv_nxt_, end) || wire::seq_in_range(h.seq + (seg_len - 1), rcv_nxt_, end);
}

void Connection::on_segment_synchronized(Instant now, const wire::TcpHeader& h, wire::Bytes payload) {
  const wire::TcpFlags f = h.flags;
  if (state_ == State::syn_received && f.syn() && f.ack() && !f.rst() && h.seq == irs_) {
    on_simultaneous_syn_ack(now, h);
    return;
  }
  bool acceptable = segment_acceptable(h, payload.size());
  // RFC 7323 §5.3 PAWS: a non-RST segment whose TSval is older than TS.Recent is not acceptable.
  // Segments without timestamps are accepted although timestamps are in use (Linux does the same;
  // RFC 7323 §3.2 says SHOULD drop) — see docs/engine.md.
  bool paws_rejected = false;
  if (acceptable && !f.rst() && neg_.timestamps && ts_seen_ && h.options.timestamps &&
      static_cast<std::int32_t>(h.options.timestamps->value - ts_recent_) < 0) {
    acceptable = false;
    paws_rejected = true;
  }
  if (!acceptable) {
    on_unacceptable(now, h, payload.size(), paws_rejected);
    return;
  }

  // Second, the RST bit (RFC 5961 §3.2): reset only when SEG.SEQ = RCV.NXT exactly; an in-window RST
  // that is not exact gets a challenge ACK.
  if (f.rst()) {
    on_rst_synchronized(now, h);
    return;
  }

  // Fourth, the SYN bit (RFC 5961 §4.2): any SYN in a synchronized state gets a challenge ACK. In
  // SYN-RECEIVED a duplicate of the peer's SYN retransmits our SYN-ACK.
  if (f.syn()) {
    if (state_ == State::syn_received && h.seq == irs_ && !f.ack()) {
      pending_.syn = true;
      return;
    }
    challenge_ack(now);
    return;
  }

  // Fifth, the ACK field: "if the ACK bit is off, drop the segment and return".
  if (!f.ack()) return;
  update_timestamps(h);
  if (neg_.ecn || neg_.accecn) on_ecn_input(h, payload.size());
  if (!process_ack(now, h, payload.size())) return;

  // Seventh and eighth: segment text and FIN.
  process_data(now, h.seq, payload, f.fin());
}

void Connection::on_simultaneous_syn_ack(Instant now, const wire::TcpHeader& h) {
  // Simultaneous open (RFC 9293 §3.5 Figure 8; the acceptability test would reject this segment, see
  // RFC 793 errata and Linux's special case in tcp_validate_incoming): the peer's SYN-ACK carries the
  // ACK of our SYN. Its window is not scaled (RFC 7323 §2.2).
  if (!(snd_una_ < h.ack && h.ack <= snd_max_)) {
    schedule_rst(h.ack, std::nullopt);
    return;
  }
  update_timestamps(h);
  (void)ack_syn_received(now, h, h.window);
}

void Connection::on_unacceptable(Instant now, const wire::TcpHeader& h, std::size_t payload_len,
                                 bool paws_rejected) {
  ++(paws_rejected ? buffers_->paws_rejected : buffers_->out_of_window);
  // RFC 9293 §3.10.7.4: "If an incoming segment is not acceptable, an acknowledgment should be sent in
  // reply (unless the RST bit is set, if so drop the segment and return)".
  if (h.flags.rst()) return;
  // An unacceptable segment without data is answered through the per-connection limiter (RFC 5961
  // §7 ACK throttling, Linux's tcp_invalid_ratelimit): two desynchronized peers cannot ACK each
  // other forever. Segments with data are always answered.
  if (payload_len == 0 && !h.flags.fin()) {
    challenge_ack(now);
  } else {
    pending_.ack = true;
  }
  // TIME-WAIT: a retransmitted FIN is acknowledged and restarts the 2 MSL timer (§3.10.7.4 eighth).
  if (state_ == State::time_wait && h.flags.fin())
    set_timer(TimerKind::time_wait, now + config_->time_wait_length());
}

void Connection::on_rst_synchronized(Instant now, const wire::TcpHeader& h) {
  if (h.seq != rcv_nxt_) {
    challenge_ack(now);
    return;
  }
  switch (state_) {
    case State::syn_received:
      fail(Error::refused);  // RFC 9293 §3.10.7.4: active open -> "connection refused"
      return;
    case State::established:
    case State::fin_wait_1:
    case State::fin_wait_2:
    case State::close_wait:
      fail(Error::reset);
      return;
    default:  // CLOSING, LAST-ACK, TIME-WAIT: enter CLOSED (Linux does not apply RFC 1337)
      set_state(State::closed);
      stop_timers();
      events_ |= event::kClosed;
      return;
  }
}

bool Connection::process_ack(Instant now, const wire::TcpHeader& h, std::size_t payload_len) {
  if (state_ == State::syn_received) {
    if (!ack_syn_received(now, h, static_cast<std::uint32_t>(h.window) << neg_.snd_shift.value_or(0)))
      return false;
    // RFC 7413 §4.2.2: a Fast Open server may have sent data after its SYN-ACK; an ACK of some of it is
    // processed below as in ESTABLISHED, once the SYN is acknowledged.
    if (h.ack == iss_ + 1) return true;
  }

  // RFC 5961 §5.2: acceptable iff (SND.UNA - MAX.SND.WND) =< SEG.ACK =< SND.NXT; otherwise a
  // challenge ACK and the segment is dropped.
  const SeqNum lower = snd_una_ - max_snd_wnd_;
  if (h.ack > snd_max_ || h.ack < lower) {
    challenge_ack(now);
    return false;
  }

  const std::uint32_t scaled_window = static_cast<std::uint32_t>(h.window) << neg_.snd_shift.value_or(0);
  bool newly_sacked = false;
  if (snd_una_ < h.ack) {
    const NewAck r = on_new_ack(now, h);
    if (!r.process_text) return false;
    newly_sacked = r.newly_sacked;
  } else if (h.ack == snd_una_) {
    newly_sacked = on_duplicate_ack(h, payload_len, scaled_window);
  } else {
    return true;  // an old ACK within MAX.SND.WND: ignored, the text is still processed
  }
  // RFC 6675 §5 (C): the scoreboard alone may declare SND.UNA lost (DupThresh segments SACKed above it).
  if (!in_recovery_ && newly_sacked && h.ack >= recovery_point_ && scoreboard().is_lost(snd_una_, smss()))
    enter_recovery();

  // Window update (RFC 9293 §3.10.7.4): SND.WL1 < SEG.SEQ, or SND.WL1 = SEG.SEQ and SND.WL2 =< SEG.ACK.
  if (snd_wl1_ < h.seq || (snd_wl1_ == h.seq && snd_wl2_ <= h.ack)) {
    snd_wnd_ = scaled_window;
    snd_wl1_ = h.seq;
    snd_wl2_ = h.ack;
    max_snd_wnd_ = std::max(max_snd_wnd_, snd_wnd_);
    if (snd_wnd_ > 0) {
      stop_timer(TimerKind::persist);
      persist_backoff_ = 0;
    }
  }
  return true;
}

bool Connection::ack_syn_received(Instant now, const wire::TcpHeader& h, std::uint32_t window) {
  // RFC 9293 §3.10.7.4 fifth, SYN-RECEIVED: "If SND.UNA < SEG.ACK =< SND.NXT, then enter ESTABLISHED
  // ... If the segment acknowledgment is not acceptable, form a reset segment <SEQ=SEG.ACK><CTL=RST>".
  if (!(snd_una_ < h.ack && h.ack <= snd_max_)) {
    schedule_rst(h.ack, std::nullopt);
    return false;
  }
  snd_una_ = iss_ + 1;  // the SYN; an ACK of Fast Open data beyond it is the caller's (process_ack)
  snd_wnd_ = window;
  max_snd_wnd_ = std::max(max_snd_wnd_, snd_wnd_);
  snd_wl1_ = h.seq;
  snd_wl2_ = h.ack;
  stop_timer(TimerKind::retransmit);
  if (buffers_->fast_open && syn_retransmits_ == 0)  // a Fast Open SYN-ACK left at syn_sent_at
    rtt_.sample(now - buffers_->syn_sent_at, config_->min_rto, config_->max_rto);
  if (!rtt_.has_sample()) rtt_.set_rto(std::max(config_->rto_after_syn_retransmit, config_->min_rto));
  set_state(State::established);
  become_established(now);
  return true;
}

Connection::NewAck Connection::on_new_ack(Instant now, const wire::TcpHeader& h) {
  if (fin_sent_ && !fin_acked_ && h.ack == snd_max_ && buffers_->send.size() == 0 && !buffers_->sacked) {
    // Only our FIN was outstanding and this ACK covers it: RFC 9293 §3.10.7.4 fifth, FIN-WAIT-1 ("if
    // the FIN segment is now acknowledged, then enter FIN-WAIT-2"), CLOSING (TIME-WAIT) and LAST-ACK
    // ("delete the TCB, enter the CLOSED state"). No data to release, and nothing is sent after the FIN,
    // so no RTT sample and no congestion-window growth are of any use (RFC 6298 §5.2: all acknowledged,
    // the retransmission timer stops).
    snd_una_ = h.ack;
    snd_nxt_ = snd_max_;
    fin_acked_ = true;
    rtx_count_ = 0;
    dupacks_ = 0;
    stop_timer(TimerKind::retransmit);
    return {on_fin_acked(now), false};
  }
  // The SYN's sequence number is never data (in synchronized states it is already acknowledged).
  const auto acked = static_cast<std::uint32_t>(h.ack - snd_una_) - (snd_una_ == iss_ ? 1U : 0U);
  const bool fin_now_acked = fin_sent_ && !fin_acked_ && h.ack == fin_seq() + 1;
  SendBuffer& sb = buffers_->send;
  const std::size_t free_before = sb.free_space();
  const std::size_t data_acked = std::min<std::size_t>(acked - (fin_now_acked ? 1U : 0U), sb.size());
  sb.consume(data_acked);
  buffers_->bytes_acked += data_acked;
  const std::uint32_t flight_before = std::max(in_flight(), static_cast<std::uint32_t>(h.ack - snd_una_));
  snd_una_ = h.ack;
  if (snd_nxt_ < snd_una_) snd_nxt_ = snd_una_;
  if (fin_now_acked) fin_acked_ = true;
  const bool newly_sacked = update_scoreboard(h);
  sample_rtt(now, h);
  rtx_count_ = 0;
  dupacks_ = 0;
  // RFC 6298 §5.2 / §5.3: stop the timer when all is acknowledged, else restart it (on every partial
  // ACK too: RFC 6582 §4's "Slow-but-Steady" variant).
  set_timer(TimerKind::retransmit, snd_una_ == snd_max_ ? Instant::max() : now + rtt_.rto());
  grow_window_on_ack(h, acked, flight_before);
  const std::size_t threshold = sb.capacity() / 2;
  if (free_before < threshold && sb.free_space() >= threshold) events_ |= event::kWritable;
  if (fin_now_acked) return {on_fin_acked(now), newly_sacked};
  return {true, newly_sacked};
}

void Connection::sample_rtt(Instant now, const wire::TcpHeader& h) {
  // RTT measurement. With timestamps, RFC 7323 §4 (RTTM): TSecr echoes the TSval of the segment that
  // advanced the peer's RCV.NXT, so even an ACK of a retransmission gives an unambiguous sample.
  // Without timestamps, RFC 6298 with Karn: only the timed segment, never retransmitted (timing_ is
  // cleared when anything is retransmitted).
  // An echo older than our latest retransmission may be a stale TS.Recent (the peer's ACKs were
  // lost and it echoes a segment from long ago): no sample from it.
  if (neg_.timestamps && h.options.timestamps && h.options.timestamps->echo != 0) {
    const std::uint32_t echo = h.options.timestamps->echo;
    const auto ms = static_cast<std::int32_t>(ts_val(now) - echo);
    if (ms >= 0 && static_cast<std::int32_t>(echo - rtx_tsval_) >= 0) {
      rtt_.sample(std::chrono::milliseconds(ms), config_->min_rto, config_->max_rto);
    }
    timing_ = false;
  } else if (timing_ && h.ack >= timed_seq_) {
    rtt_.sample(now - timed_at_, config_->min_rto, config_->max_rto);
    timing_ = false;
  }
}

void Connection::grow_window_on_ack(const wire::TcpHeader& h, std::uint32_t acked,
                                    std::uint32_t flight_before) {
  if (!in_recovery_) {
    if (!ecn_reduced_) cc_.on_ack(acked, smss(), flight_before);  // RFC 5681 §3.1
    return;
  }
  if (h.ack < recovery_point_) {
    if (sack_recovery_) {
      // RFC 6675: the scoreboard and pipe decide what goes next. A partial ACK still means the new
      // SND.UNA was a hole before recovery began: resend it if the scoreboard does not already call
      // it lost and it was not resent yet (Linux marks the head lost the same way).
      if (!scoreboard().is_lost(snd_una_, smss()) && buffers_->high_rxt <= snd_una_) pending_.rtx_one = true;
    } else {
      // RFC 6582 §3.2 step 5, partial ACK: retransmit the first unacknowledged segment, deflate cwnd.
      pending_.rtx_one = true;
      cc_.on_partial_ack(acked, smss());
    }
  } else {
    // Full ACK: everything up to the recovery point arrived; leave recovery.
    in_recovery_ = false;
    sack_recovery_ = false;
    cc_.on_full_ack(in_flight(), smss());
  }
}

bool Connection::on_fin_acked(Instant now) noexcept {
  switch (state_) {
    case State::fin_wait_1:
      set_state(State::fin_wait_2);
      if (user_closed_) set_timer(TimerKind::fin_wait_2, now + config_->fin_wait_2_timeout);
      return true;
    case State::closing:
      enter_time_wait(now);
      return true;
    case State::last_ack:
      set_state(State::closed);
      stop_timers();
      events_ |= event::kClosed;
      return false;
    default:
      return true;
  }
}

bool Connection::on_duplicate_ack(const wire::TcpHeader& h, std::size_t payload_len,
                                  std::uint32_t scaled_window) {
  const bool newly_sacked = update_scoreboard(h);
  // RFC 5681 §2 duplicate ACK: no data, no SYN/FIN, same window, data outstanding. With SACK, RFC
  // 6675 §2 also counts any ACK that SACKs new octets, data or window change notwithstanding.
  if ((payload_len == 0 && !h.flags.fin() && scaled_window == snd_wnd_ && snd_max_ != snd_una_) ||
      newly_sacked) {
    if (dupacks_ < 255) ++dupacks_;
    if (in_recovery_) {
      if (!sack_recovery_) cc_.on_dupack_in_recovery(smss());  // RFC 6582 §3.2 step 3
    } else if (dupacks_ >= 3 && h.ack >= recovery_point_) {
      enter_recovery();
    }
  }
  return newly_sacked;
}

bool Connection::update_scoreboard(const wire::TcpHeader& h) noexcept {
  if (!neg_.sack) return false;
  // The scoreboard exists only while the peer reports SACKed data (allocated on the first block, freed
  // when SND.UNA passes everything it held).
  std::unique_ptr<SackScoreboard>& board = buffers_->sacked;
  if (!board) {
    if (h.options.sack.blocks().empty()) return false;
    board = std::make_unique<SackScoreboard>();
  }
  const bool newly_sacked = board->update(snd_una_, snd_max_, h.options.sack.blocks());
  if (board->empty()) board.reset();
  skip_sacked();
  return newly_sacked;
}

void Connection::enter_recovery() noexcept {
  // Fast retransmit (RFC 5681 §3.2, RFC 6582 §3.2 steps 1-2): resend the first unacknowledged segment
  // now and halve the window — only past the previous recovery point, so the duplicates a go-back-N
  // pass after a timeout provokes start no new recovery (RFC 6582 §4.1). With a scoreboard RFC 6675
  // drives the recovery (cwnd = ssthresh; send while cwnd - pipe >= SMSS, lost holes first); without
  // one, NewReno's window inflation.
  if (neg_.sack && !scoreboard().empty()) {
    sack_recovery_ = true;
    buffers_->high_rxt = snd_una_;
    cc_.on_sack_recovery(static_cast<std::uint32_t>(snd_max_ - snd_una_), smss());
  } else {
    cc_.on_fast_retransmit(in_flight(), smss());
  }
  pending_.rtx_one = true;
  in_recovery_ = true;
  recovery_point_ = snd_max_;
  timing_ = false;
  ++buffers_->fast_retransmits;
}

void Connection::process_data(Instant now, SeqNum seq, wire::Bytes payload, bool fin) {
  const bool accepts_text =
      state_ == State::established || state_ == State::fin_wait_1 || state_ == State::fin_wait_2;
  if (!payload.empty()) {
    if (!accepts_text) {
      // CLOSE-WAIT, CLOSING, LAST-ACK, TIME-WAIT: the peer already sent FIN; "ignore the segment text".
      pending_.ack = true;
    } else if (user_closed_) {
      // Data for a connection the user closed: nobody will read it. Linux answers with RST.
      schedule_rst(snd_max_, std::nullopt);
      fail(Error::aborted);
      return;
    } else {
      std::int32_t offset = seq - rcv_nxt_;
      wire::Bytes data = payload;
      if (offset < 0) {
        const auto skip = static_cast<std::size_t>(-static_cast<std::int64_t>(offset));
        data = skip >= data.size() ? wire::Bytes{} : data.subspan(skip);
        offset = 0;
      }
      const std::size_t advanced = buffers_->recv.insert(static_cast<std::size_t>(offset), data);
      if (advanced > 0) {
        rcv_nxt_ += static_cast<std::uint32_t>(advanced);
        buffers_->bytes_received += advanced;
        events_ |= event::kReadable;
      }
      // Every data segment is acknowledged at once (no delayed ACK): out-of-order ones produce the
      // duplicate ACKs fast retransmit needs (RFC 5681 §4.2).
      pending_.ack = true;
    }
  }
  if (fin && !peer_fin_received_) {
    const SeqNum fin_at = seq + static_cast<std::uint32_t>(payload.size());
    if (!peer_fin_known_ && fin_at - rcv_nxt_ >= 0 &&
        static_cast<std::uint32_t>(fin_at - rcv_nxt_) <= rcv_wnd()) {
      peer_fin_known_ = true;
      peer_fin_seq_ = fin_at;
    }
    pending_.ack = true;
  }
  process_fin_if_reached(now);
}

void Connection::process_fin_if_reached(Instant now) noexcept {
  if (!peer_fin_known_ || peer_fin_received_ || rcv_nxt_ != peer_fin_seq_) return;
  // RFC 9293 §3.10.7.4 eighth: advance RCV.NXT over the FIN, ACK it, signal "connection closing".
  rcv_nxt_ += 1;
  peer_fin_received_ = true;
  pending_.ack = true;
  // Nobody reads a connection its user closed (close(), not shutdown_write()): the end of stream is not
  // announced to it. Its end is (closed, or nothing once compacted in TIME-WAIT).
  if (!user_closed_) events_ |= event::kPeerClosed | event::kReadable;
  switch (state_) {
    case State::syn_received:
    case State::established:
      set_state(State::close_wait);
      break;
    case State::fin_wait_1:
      if (fin_acked_) {
        enter_time_wait(now);
      } else {
        set_state(State::closing);  // simultaneous close
      }
      break;
    case State::fin_wait_2:
      enter_time_wait(now);
      break;
    default:
      break;
  }
}

void Connection::update_timestamps(const wire::TcpHeader& h) noexcept {
  // RFC 7323 §4.3: TS.Recent <- SEG.TSval when SEG.SEQ =< Last.ACK.sent.
  if (neg_.timestamps && h.options.timestamps && h.seq <= rcv_nxt_) {
    ts_recent_ = h.options.timestamps->value;
    ts_seen_ = true;
  }
}

void Connection::challenge_ack(Instant now) noexcept {
  // RFC 5961 §3.2, §4.2, §5.2 challenge ACK, rate-limited per connection (RFC 5961 §7). There is no
  // global counter: a shared budget is the side channel of CVE-2016-5696.
  Buffers& b = *buffers_;
  if (now - b.challenge_window_start >= config_->challenge_ack_interval || now < b.challenge_window_start) {
    b.challenge_window_start = now;
    b.challenge_count = 0;
  }
  if (b.challenge_count < config_->challenge_ack_limit) {
    ++b.challenge_count;
    ++buffers_->challenge_sent;
    pending_.ack = true;
  } else {
    ++buffers_->challenge_suppressed;
  }
}

void Connection::schedule_rst(SeqNum seq, std::optional<SeqNum> ack) noexcept {
  pending_.rst = true;
  rst_seq_ = seq;
  rst_with_ack_ = ack.has_value();
  if (ack) rst_ack_ = *ack;
}

void Connection::become_established(Instant now) noexcept {
  // A SYN (or SYN-ACK) may have been due for retransmission, SND.NXT rewound to ISS, when the answer
  // arrived: nothing of the handshake is left to send.
  pending_.syn = false;
  if (snd_nxt_ < snd_una_) snd_nxt_ = snd_una_;
  if (snd_max_ < snd_nxt_) snd_max_ = snd_nxt_;
  buffers_->established_at = now;
  established_seen_ = true;
  // RFC 6928 §2 initial window. RFC 5681 §3.1 asks for one segment when the SYN or SYN-ACK was lost;
  // like Linux (tcp_init_transfer) only after more than one retransmission, since with RFC 6298's 1 s
  // initial RTO a single retransmission is often spurious.
  const std::uint32_t handshake_retransmits = passive_ ? synack_retransmits_ : syn_retransmits_;
  cc_.start(handshake_retransmits > 1 ? smss() : Congestion::initial_window(smss(), config_->initial_window));
  last_send_ = now;
  recovery_point_ = snd_una_;
  events_ |= event::kEstablished | event::kWritable;
  if (fin_queued_ && state_ == State::established)
    set_state(State::fin_wait_1);  // shutdown during the handshake
}

}  // namespace synack::tcp
