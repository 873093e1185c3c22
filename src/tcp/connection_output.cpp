// Connection: what to send next (RFC 9293 §3.8.6, §3.10.7; RFC 6298 §5; RFC 5681 §3.2).
#include <algorithm>
#include <array>
#include <span>

#include "synack/tcp/connection.hpp"

namespace synack::tcp {

using wire::SeqNum;
using wire::TcpFlags;

std::uint32_t Connection::ts_val(Instant now) const noexcept {
  // A 1 ms timestamp clock (RFC 7323 §5.4 allows 1 ms .. 1 s) plus a per-connection offset.
  return static_cast<std::uint32_t>(static_cast<std::uint64_t>(now.nanoseconds()) / 1'000'000U) + ts_offset_;
}

SeqNum Connection::fin_seq() const noexcept {
  return data_base() + static_cast<std::uint32_t>(buffers_->send.size());
}

std::uint16_t Connection::window_field() noexcept {
  // One pass over the receive window (rcv_wnd() and the pool's pressure flag read once per header).
  const std::uint32_t shift = neg_.rcv_shift.value_or(0);
  const std::uint32_t free = rcv_wnd();
  const std::int32_t rem = rcv_adv_ - rcv_nxt_;
  const std::uint32_t offered = rem > 0 ? static_cast<std::uint32_t>(rem) : 0U;
  std::uint32_t w = free;
  if (free > offered) {
    // Receiver silly-window avoidance (RFC 9293 §3.8.6.2.2, a MUST): move the right edge we offer only
    // when it advances by at least min(half the buffer, one MSS); otherwise keep offering the old edge,
    // so a reader taking a few bytes at a time does not invite the peer to send segments of that size.
    const std::uint32_t threshold =
        std::min<std::uint32_t>(static_cast<std::uint32_t>(buffers_->recv.capacity() / 2), neg_.recv_mss);
    if (free - offered < threshold) {
      w = offered;
    } else if (under_pressure(buffers_->pool)) {
      // Memory pressure (buffer_pool.hpp): the window stops growing, but the right edge already offered
      // is never pulled back (RFC 9293 §3.8.6.2.2 "SHOULD NOT shrink", RFC 7323 §2.4).
      ++buffers_->pool->counters().windows_clamped;
      w = offered;
    }
  }
  std::uint32_t field = w >> shift;
  // RFC 7323 §2.4: scaling rounds the window down, which would pull an edge we keep offering back by up
  // to 2^shift - 1 bytes; round up instead when the buffer has that room (Linux tcp_select_window aligns
  // the same way).
  if ((field << shift) < w && ((field + 1U) << shift) <= free) ++field;
  return static_cast<std::uint16_t>(std::min<std::uint32_t>(field, 65535U));
}

void Connection::make_header(Instant now, std::uint16_t flags, SeqNum seq, wire::SendHeader& h) {
  h.src_port = tuple_.local.port;
  h.dst_port = tuple_.remote.port;
  h.seq = seq;
  // RFC 3168 §6.1.3: while a CE mark waits for the sender's CWR, every ACK carries ECE.
  if (ece_pending_ && neg_.ecn && (flags & TcpFlags::kAck) != 0) flags |= TcpFlags::kEce;
  if (neg_.accecn) [[unlikely]]
    flags = accecn_flags(flags);  // RFC 9768 §3.2.2: the ACE field instead
  h.flags = TcpFlags(flags);
  if (h.flags.ack()) {
    h.ack = rcv_nxt_;
    h.window = window_field();
    const SeqNum right = rcv_nxt_ + (static_cast<std::uint32_t>(h.window) << neg_.rcv_shift.value_or(0));
    if (right > rcv_adv_) rcv_adv_ = right;
    pending_.ack = false;
  }
  if (neg_.timestamps) {
    h.has_timestamps = true;
    h.timestamps = wire::Timestamps{ts_val(now), ts_recent_};
  }
  // RFC 2018 §4: with SACK in effect, every ACK sent while out-of-order data is held carries SACK
  // blocks — the block of the latest out-of-order arrival first, then earlier ones — as many as fit
  // beside the timestamps (3, else 4). (Most ACKs have none: nothing to gather then.)
  if (const std::size_t blocks = h.flags.ack() ? sack_block_count() : 0; blocks > 0)
    add_sack_blocks(h, blocks);
}

void Connection::add_sack_blocks(wire::SendHeader& h, std::size_t blocks) const {
  std::array<RecvBuffer::Held, wire::SackBlocks::kCapacity> held{};
  const std::size_t n = buffers_->recv.sack_ranges(std::span(held).first(blocks));
  for (std::size_t i = 0; i < n; ++i) {
    h.sack[i] = {rcv_nxt_ + static_cast<std::uint32_t>(held[i].begin),
                 rcv_nxt_ + static_cast<std::uint32_t>(held[i].end)};
  }
  h.sack_count = static_cast<std::uint8_t>(n);
}

std::size_t Connection::sack_block_count() const noexcept {
  if (!neg_.sack || peer_fin_received_) return 0;
  return std::min<std::size_t>(buffers_->recv.out_of_order_ranges(), neg_.timestamps ? 3U : 4U);
}

void Connection::make_syn(Instant now, bool with_ack, Outgoing& out) {
  wire::SendHeader& h = out.header;
  h.src_port = tuple_.local.port;
  h.dst_port = tuple_.remote.port;
  h.seq = iss_;
  std::uint16_t flags = with_ack ? (TcpFlags::kSyn | TcpFlags::kAck) : TcpFlags::kSyn;
  // RFC 3168 §6.1.1: an ECN-setup SYN carries ECE and CWR, an ECN-setup SYN-ACK ECE alone.
  if (neg_.ecn) flags |= with_ack ? TcpFlags::kEce : (TcpFlags::kEce | TcpFlags::kCwr);
  // RFC 9768 §3.1.1: a SYN requesting AccECN sets AE as well.
  if (neg_.accecn && !with_ack) flags |= TcpFlags::kAe;
  h.flags = TcpFlags(flags);
  if (with_ack) h.ack = rcv_nxt_;
  // RFC 7323 §2.2: the window field of a SYN or SYN-ACK is never scaled.
  h.window = static_cast<std::uint16_t>(std::min<std::size_t>(buffers_->recv.window(), 65535U));
  // A retransmitted SYN carries the same options (only TSval moves with the clock).
  h.has_mss = true;
  h.mss = neg_.recv_mss;
  h.set_window_scale(neg_.rcv_shift);
  h.sack_permitted = neg_.sack;
  if (neg_.timestamps) {
    h.has_timestamps = true;
    h.timestamps = wire::Timestamps{ts_val(now), with_ack ? ts_recent_ : 0U};
  }
  rcv_adv_ = rcv_nxt_ + h.window;
  snd_nxt_ = iss_ + 1;
  if (snd_max_ < snd_nxt_) snd_max_ = snd_nxt_;
  pending_.ack = false;
  arm_retransmit(now);
  if (buffers_->fast_open) [[unlikely]]
    fast_open_syn(out);
}

std::uint32_t Connection::smss() const noexcept {
  // RFC 6691 §2 / RFC 9293 §3.7.1: the MSS option counts no TCP options, so the payload of a full
  // segment is the send MSS less the options every data segment carries (timestamps: 10 + 2 NOPs).
  const std::uint32_t options = neg_.timestamps ? 12U : 0U;
  return neg_.send_mss > options + 8U ? neg_.send_mss - options : 8U;
}

std::uint32_t Connection::in_flight() const noexcept {
  // In SACK recovery: RFC 6675 pipe. Otherwise sent and not cumulatively acknowledged; after a timeout
  // SND.NXT is rewound to SND.UNA (go-back-N), so what lies between SND.NXT and SND.MAX counts as lost.
  // What the peer SACKed is not in flight either.
  if (sack_recovery_) return scoreboard().pipe(snd_una_, snd_max_, buffers_->high_rxt, smss());
  const std::int32_t f = snd_nxt_ - snd_una_;
  if (f <= 0) return 0U;
  return static_cast<std::uint32_t>(f) - scoreboard().sacked_bytes_below(snd_nxt_);
}

std::optional<SackScoreboard::Hole> Connection::next_sack_retransmission() const noexcept {
  // RFC 6675 §5 step (C): while cwnd - pipe >= 1 SMSS, NextSeg(); rule 1 (lost, unSACKed, not yet
  // resent) is taken here, rule 2 (new data) by the normal send path under the same pipe.
  if (!sack_recovery_) return std::nullopt;
  const std::uint64_t pipe = in_flight();
  if (pipe + smss() > cc_.cwnd()) return std::nullopt;
  return scoreboard().next_lost(snd_una_, buffers_->high_rxt, smss());
}

void Connection::skip_sacked() noexcept {
  while (snd_nxt_ < snd_max_) {
    const auto end = scoreboard().sacked_until(snd_nxt_);
    if (!end) break;
    snd_nxt_ = *end < snd_max_ ? *end : snd_max_;
  }
}

std::optional<std::size_t> Connection::unsent_bytes() const noexcept {
  const std::int32_t sent = snd_nxt_ - data_base();
  if (sent < 0) return std::nullopt;  // SND.NXT still at the SYN
  const std::size_t buffered = buffers_->send.size();
  return buffered - std::min<std::size_t>(buffered, static_cast<std::size_t>(sent));
}

std::size_t Connection::send_allowance() const noexcept {
  const std::size_t unsent = unsent_bytes().value_or(0);
  if (unsent == 0) return 0;
  const std::uint32_t mss = smss();
  const std::uint32_t flight = in_flight();

  // The peer's window (RFC 9293 §3.8.6).
  const std::int32_t rwnd_room_signed = (snd_una_ + snd_wnd_) - snd_nxt_;
  const std::size_t rwnd_room = rwnd_room_signed > 0 ? static_cast<std::size_t>(rwnd_room_signed) : 0;
  // The congestion window (RFC 5681 §3), plus RFC 3042 limited transmit: each of the first two duplicate
  // ACKs lets one new segment beyond cwnd out (FlightSize <= cwnd + 2*SMSS) — new data only, so not
  // during a go-back-N pass (SND.NXT below SND.MAX).
  std::uint64_t cwnd = cc_.cwnd();
  if (config_->limited_transmit && !in_recovery_ && dupacks_ > 0 && dupacks_ < 3 && snd_nxt_ == snd_max_)
    cwnd += static_cast<std::uint64_t>(dupacks_) * mss;
  const std::size_t cwnd_room = cwnd > flight ? static_cast<std::size_t>(cwnd - flight) : 0;

  const std::size_t want = std::min<std::size_t>(unsent, mss);
  const std::size_t len = std::min({want, rwnd_room, cwnd_room});
  if (len == want || force_send_) return len;
  // Less than a full segment of what is waiting: sender silly-window avoidance (RFC 9293 §3.8.6.2.1).
  // A cwnd that is not a whole number of segments never sends a runt (as Linux counts cwnd in segments):
  // with data in flight an ACK will come. When the peer's window is the limit, send only if at least
  // half its largest window (Fs = 1/2) can go; otherwise wait for a window update, or, with nothing in
  // flight, for the override timeout (the persist timer, then force_send_).
  if (cwnd_room < std::min(want, rwnd_room)) return 0;
  return len >= max_snd_wnd_ / 2 ? len : 0;
}

bool Connection::needs_persist() const noexcept {
  // Data waits, nothing is in flight to bring an ACK, and the window (zero, or too small to be worth a
  // segment) holds it back: the persist timer must run (RFC 9293 §3.8.6.1, §3.8.6.2.1).
  if (!is_synchronized(state_) || snd_una_ != snd_max_ || timers_.armed(TimerKind::persist)) return false;
  return unsent_bytes().value_or(0) > 0 && send_allowance() == 0;
}

bool Connection::fast_open_server() const noexcept {
  // RFC 7413 §4.2.2: a Fast Open server sends in SYN-RECEIVED, once its SYN-ACK is out.
  return state_ == State::syn_received && buffers_->fast_open && snd_max_ != iss_;
}

bool Connection::has_new_data_to_send() const noexcept {
  if (!is_synchronized(state_) && !fast_open_server()) return false;
  if (send_allowance() > 0) return true;
  // A FIN goes when every byte before it went (in this pass: a timeout rewinds SND.NXT); it needs
  // neither peer window nor congestion window (Linux tcp_cwnd_test lets a lone FIN through).
  return fin_queued_ && !fin_acked_ && snd_nxt_ <= fin_seq() && unsent_bytes() == std::size_t{0};
}

std::size_t Connection::data_length(SeqNum seq, std::size_t offset, std::size_t max_len,
                                    bool retransmission) const noexcept {
  const SendBuffer& sb = buffers_->send;
  const std::size_t avail = offset < sb.size() ? sb.size() - offset : 0;
  std::size_t len = std::min(avail, max_len);
  if (retransmission) {
    // Only bytes sent before: a retransmission never carries data past SND.MAX (the window may have
    // held it back), or the peer's RCV.NXT would pass our SND.NXT.
    const SeqNum sent_end = fin_sent_ ? fin_seq() : snd_max_;
    const std::int32_t sent = sent_end - seq;
    len = std::min(len, sent > 0 ? static_cast<std::size_t>(sent) : std::size_t{0});
  } else {
    len = std::min(len, send_allowance());
    if (seq < snd_max_) {
      // Go-back-N: stop at the next range the peer SACKed.
      if (const auto sacked = scoreboard().next_sacked_after(seq)) {
        len = std::min<std::size_t>(len, static_cast<std::size_t>(*sacked - seq));
      }
    }
  }
  // SACK blocks ride on this segment too (NOP NOP kind length + 8 per block): the payload gives way so
  // the packet still fits the MSS (Linux tcp_current_mss does the same).
  if (const std::size_t blocks = sack_block_count(); blocks > 0) {
    const std::size_t room = smss() > 4 + 8 * blocks ? smss() - (4 + 8 * blocks) : 0;
    len = std::min(len, room);
  }
  return len;
}

bool Connection::make_data_segment(Instant now, SeqNum seq, std::size_t max_len, bool retransmission,
                                   Outgoing& out) {
  SendBuffer& sb = buffers_->send;
  const std::int32_t off = seq - data_base();
  if (off < 0) return false;
  const auto offset = static_cast<std::size_t>(off);
  std::size_t len = data_length(seq, offset, max_len, retransmission);
  // The payload is one span: a view into a chunk, or a copy in the staging chunk when it crosses a chunk
  // boundary (shorter only at the pool's hard limit, when no staging chunk can be had).
  const wire::Bytes payload = len > 0 ? sb.peek(offset, len) : wire::Bytes{};
  len = payload.size();
  const SeqNum end = seq + static_cast<std::uint32_t>(len);
  bool fin = false;
  if (fin_queued_ && !fin_acked_ && offset + len == sb.size()) {
    // A FIN rides on the last data segment, or goes alone when everything else was sent. A
    // retransmission carries it again when it was sent before; so does the go-back-N pass after a
    // timeout (SND.NXT rewound below the FIN).
    fin = retransmission ? (fin_sent_ && end == fin_seq()) : true;
  }
  if (len == 0 && !fin) return false;

  std::uint16_t flags = TcpFlags::kAck;
  if (len > 0 && offset + len == sb.size()) flags |= TcpFlags::kPsh;
  if (fin) flags |= TcpFlags::kFin;
  // Below SND.MAX it is a retransmission, whichever path sent it (fast retransmit or go-back-N).
  const bool resent = retransmission || seq < snd_max_ || (fin && fin_sent_);
  // RFC 3168 §6.1.2: CWR on the first new data segment after a reduction for ECE.
  const bool cwr = neg_.ecn && cwr_pending_ && len > 0 && !resent;
  if (cwr) {
    flags |= TcpFlags::kCwr;
    cwr_pending_ = false;
  }
  make_header(now, flags, seq, out.header);
  out.payload = payload;
  // RFC 3168 §6.1.4-5: ECT(0) on new data only — not on retransmissions (nor on SYNs, pure ACKs or
  // window probes, which are built elsewhere without it).
  if (neg_.ecn && len > 0 && !resent) out.ecn = ecn::kEct0;

  note_data_sent(now, seq, end + (fin ? 1U : 0U), fin, retransmission, resent);
  return true;
}

void Connection::note_data_sent(Instant now, SeqNum seq, SeqNum seg_end, bool fin, bool retransmission,
                                bool resent) {
  if (resent) {
    ++buffers_->data_retransmits;
    rtx_tsval_ = ts_val(now);
    timing_ = false;  // Karn (RFC 6298 §3): no sample across a retransmission
  }
  if (retransmission && sack_recovery_ && buffers_->high_rxt < seg_end) buffers_->high_rxt = seg_end;
  if (!retransmission) {
    force_send_ = false;
    snd_nxt_ = seg_end;
    if (fin) fin_sent_ = true;
    if (snd_max_ < snd_nxt_) {
      if (!timing_ && !(seq < snd_max_)) {
        timing_ = true;
        timed_seq_ = snd_nxt_;
        timed_at_ = now;
      }
      snd_max_ = snd_nxt_;
    }
    skip_sacked();
  }
  last_send_ = now;
  arm_retransmit(now);  // RFC 6298 §5.1
}

void Connection::restart_after_idle(Instant now) noexcept {
  if (config_->slow_start_after_idle && snd_una_ == snd_max_ && now - last_send_ > rtt_.rto()) {
    // RFC 5681 §4.1: nothing sent for longer than an RTO, so the ACK clock is gone: restart from at
    // most the initial window.
    cc_.on_idle_restart(Congestion::initial_window(smss(), config_->initial_window));
  }
}

void Connection::make_fin(Instant now, Outgoing& out) {
  // RFC 9293 §3.10.4 CLOSE (ESTABLISHED, CLOSE-WAIT): "form a FIN segment and send it" once everything
  // before it was sent — here nothing is queued, so it is a control segment <SEQ=SND.NXT><ACK=RCV.NXT>
  // <CTL=FIN,ACK>, without the data path's length, window and SACK-range work. The FIN needs neither
  // peer nor congestion window (as in has_new_data_to_send()); it is timed and retransmitted like data
  // (RFC 9293 §3.8.1: the FIN occupies sequence space and is acknowledged like data).
  const SeqNum seq = snd_nxt_;
  const bool resent = seq < snd_max_ || fin_sent_;  // after a timeout's rewind: a retransmission
  make_header(now, TcpFlags::kAck | TcpFlags::kFin, seq, out.header);
  note_data_sent(now, seq, seq + 1, true, false, resent);
}

bool Connection::wants_transmit_pending() const noexcept {
  if (pending_.rst) return true;
  if (state_ == State::closed || state_ == State::listen) return false;
  if (pending_.any()) return true;  // (not the RST: answered above)
  // Nothing queued and no FIN to send: no data segment, retransmission or persist is possible (the
  // common case, asked after every call — the rest below costs far more).
  if (!fin_queued_) {
    if (buffers_->send.size() == 0) return false;
  } else if (buffers_->send.size() == 0 && !sack_recovery_) {
    // No data: only the FIN can be due (has_new_data_to_send() without the data path; the
    // fast-open server of SYN-RECEIVED included, as there).
    return fin_due_without_data() && (is_synchronized(state_) || fast_open_server());
  }
  if (has_new_data_to_send() || next_sack_retransmission()) return true;
  // Data held back by the window and the persist timer not yet armed: poll_transmit arms it.
  return needs_persist();
}

void Connection::make_rst(wire::SendHeader& h) const noexcept {
  h.src_port = tuple_.local.port;
  h.dst_port = tuple_.remote.port;
  h.seq = rst_seq_;
  h.flags = TcpFlags(rst_with_ack_ ? (TcpFlags::kRst | TcpFlags::kAck) : TcpFlags::kRst);
  if (rst_with_ack_) h.ack = rst_ack_;
}

std::optional<Outgoing> Connection::poll_transmit(Instant now) {
  Outgoing out;
  if (!poll_transmit(now, out)) return std::nullopt;
  return out;
}

bool Connection::poll_transmit(Instant now, Outgoing& out) {
  // Every segment is written straight into `out` (a fresh Outgoing): no header built, then copied into
  // the Outgoing, then into an optional.
  if (pending_.rst) {
    pending_.rst = false;
    make_rst(out.header);
    return true;
  }
  switch (state_) {
    case State::closed:
    case State::listen:
      return false;
    case State::syn_sent:
      if (!pending_.syn) return false;
      pending_.syn = false;
      make_syn(now, false, out);
      return true;
    case State::syn_received:
      if (!pending_.syn && !pending_.ack) {
        // RFC 7413 §4.2.2: a Fast Open server may send data before the handshake completes.
        if (buffers_->fast_open) break;
        return false;
      }
      pending_.syn = false;
      make_syn(now, true, out);
      return true;
    default:
      break;
  }
  if (buffers_->send.size() == 0 && !pending_.rtx_one && !pending_.probe &&
      (!fin_queued_ || !sack_recovery_)) {
    // No data queued (the handshake's ACK, most pure ACKs, and the FIN of a connection whose data is
    // acknowledged): no data segment, retransmission or persist is possible, as in wants_transmit();
    // what is left is the FIN, as a control segment, and the ACK, with SND.MAX (below).
    if (fin_queued_) {
      restart_after_idle(now);
      if (fin_due_without_data()) {
        make_fin(now, out);
        return true;
      }
    }
    if (pending_.ack) {
      make_header(now, TcpFlags::kAck, snd_max_, out.header);
      return true;
    }
    return false;
  }
  if (pending_.rtx_one) {
    // RFC 5681 §3.2 / RFC 6582 §3.2: retransmit the earliest unacknowledged segment.
    pending_.rtx_one = false;
    if (make_data_segment(now, snd_una_, smss(), true, out)) return true;
  }
  if (const auto hole = next_sack_retransmission()) {
    // RFC 6675 NextSeg() rule 1: a lost stretch the peer's SACKs point at.
    if (make_data_segment(now, hole->seq, hole->len, true, out)) return true;
  }
  restart_after_idle(now);
  if (make_data_segment(now, snd_nxt_, smss(), false, out)) return true;

  // Window too small with data waiting and nothing in flight: the persist timer (RFC 9293 §3.8.6.1).
  if (needs_persist()) {
    Duration interval = rtt_.rto();
    for (std::uint8_t i = 0; i < persist_backoff_ && interval < config_->max_rto; ++i) interval *= 2;
    set_timer(TimerKind::persist, now + std::min(interval, config_->max_rto));
  }
  if (pending_.probe) {
    // Zero-window probe as Linux sends it (tcp_xmit_probe_skb): an ACK with SEG.SEQ = SND.UNA - 1,
    // which the receiver must answer with its current window.
    pending_.probe = false;
    make_header(now, TcpFlags::kAck, snd_una_ - 1, out.header);
    return true;
  }
  // A segment without data, SYN or FIN carries SND.MAX: during a go-back-N pass SND.NXT is below what
  // the peer has already received, and a sequence number below its RCV.NXT would make it drop the
  // segment as an old duplicate — the ACK with it (BSD tcp_output does the same).
  if (pending_.ack) {
    make_header(now, TcpFlags::kAck, snd_max_, out.header);
    return true;
  }
  return false;
}

}  // namespace synack::tcp
