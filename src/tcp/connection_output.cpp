// Connection: what to send next (RFC 9293 §3.8.6, §3.10.7; RFC 6298 §5; RFC 5681 §3.2).
#include <algorithm>

#include "synack/tcp/connection.hpp"

namespace synack::tcp {

using wire::SeqNum;
using wire::TcpFlags;

std::uint32_t Connection::ts_val(Instant now) const noexcept {
  // A 1 ms timestamp clock (RFC 7323 §5.4 allows 1 ms .. 1 s) plus a per-connection offset.
  return static_cast<std::uint32_t>(static_cast<std::uint64_t>(now.nanoseconds()) / 1'000'000U) + ts_offset_;
}

SeqNum Connection::data_base() const noexcept {
  // The send buffer starts at SND.UNA once our SYN is acknowledged.
  return snd_una_ == iss_ ? iss_ + 1 : snd_una_;
}

SeqNum Connection::fin_seq() const noexcept {
  return data_base() + static_cast<std::uint32_t>(buffers_->send.size());
}

std::uint16_t Connection::window_field() const noexcept {
  const std::uint32_t w = rcv_wnd() >> neg_.rcv_shift.value_or(0);
  return static_cast<std::uint16_t>(std::min<std::uint32_t>(w, 65535U));
}

wire::TcpHeader Connection::make_header(Instant now, std::uint16_t flags, SeqNum seq) {
  wire::TcpHeader h;
  h.src_port = tuple_.local.port;
  h.dst_port = tuple_.remote.port;
  h.seq = seq;
  h.flags = TcpFlags(flags);
  if (h.flags.ack()) {
    h.ack = rcv_nxt_;
    h.window = window_field();
    const SeqNum right = rcv_nxt_ + (static_cast<std::uint32_t>(h.window) << neg_.rcv_shift.value_or(0));
    if (right > rcv_adv_) rcv_adv_ = right;
    ack_pending_ = false;
  }
  if (neg_.timestamps) h.options.timestamps = wire::Timestamps{ts_val(now), ts_recent_};
  return h;
}

Outgoing Connection::make_syn(Instant now, bool with_ack) {
  wire::TcpHeader h;
  h.src_port = tuple_.local.port;
  h.dst_port = tuple_.remote.port;
  h.seq = iss_;
  h.flags = TcpFlags(with_ack ? (TcpFlags::kSyn | TcpFlags::kAck) : TcpFlags::kSyn);
  if (with_ack) h.ack = rcv_nxt_;
  // RFC 7323 §2.2: the window field of a SYN or SYN-ACK is never scaled.
  h.window = static_cast<std::uint16_t>(std::min<std::size_t>(buffers_->recv.window(), 65535U));
  // A retransmitted SYN carries the same options (only TSval moves with the clock).
  const Offer offer{neg_.recv_mss, neg_.rcv_shift, neg_.sack, neg_.timestamps};
  h.options = syn_options(offer, wire::Timestamps{ts_val(now), with_ack ? ts_recent_ : 0U});
  rcv_adv_ = rcv_nxt_ + h.window;
  snd_nxt_ = iss_ + 1;
  if (snd_max_ < snd_nxt_) snd_max_ = snd_nxt_;
  ack_pending_ = false;
  arm_retransmit(now);
  return Outgoing{h, {}};
}

bool Connection::has_new_data_to_send() const noexcept {
  if (!is_synchronized(state_)) return false;
  const std::size_t buffered = buffers_->send.size();
  const std::int32_t sent = snd_nxt_ - data_base();
  const std::size_t unsent =
      sent < 0 ? buffered : buffered - std::min<std::size_t>(buffered, static_cast<std::size_t>(sent));
  if (unsent > 0) {
    const std::int32_t room = (snd_una_ + snd_wnd_) - snd_nxt_;
    return room > 0;
  }
  return fin_queued_ && !fin_sent_;
}

std::optional<Outgoing> Connection::make_data_segment(Instant now, SeqNum seq, std::size_t max_len,
                                                      bool retransmission) {
  SendBuffer& sb = buffers_->send;
  const std::int32_t off = seq - data_base();
  if (off < 0) return std::nullopt;
  const auto offset = static_cast<std::size_t>(off);
  const std::size_t avail = offset < sb.size() ? sb.size() - offset : 0;
  std::size_t len = std::min(avail, max_len);
  if (retransmission) {
    // Only bytes sent before: a retransmission never carries data past SND.MAX (the window may have
    // held it back), or the peer's RCV.NXT would pass our SND.NXT.
    const SeqNum sent_end = fin_sent_ ? fin_seq() : snd_max_;
    const std::int32_t sent = sent_end - seq;
    len = std::min(len, sent > 0 ? static_cast<std::size_t>(sent) : std::size_t{0});
  } else {
    const std::int32_t room = (snd_una_ + snd_wnd_) - seq;
    len = std::min(len, room > 0 ? static_cast<std::size_t>(room) : std::size_t{0});
  }
  const SeqNum end = seq + static_cast<std::uint32_t>(len);
  bool fin = false;
  if (fin_queued_ && offset + len == sb.size()) {
    // A FIN rides on the last data segment, or goes alone when everything else was sent; it needs no
    // window. A retransmission carries it again when it was sent before.
    fin = retransmission ? (fin_sent_ && end == fin_seq()) : !fin_sent_;
  }
  if (len == 0 && !fin) return std::nullopt;

  std::uint16_t flags = TcpFlags::kAck;
  if (len > 0 && offset + len == sb.size()) flags |= TcpFlags::kPsh;
  if (fin) flags |= TcpFlags::kFin;
  Outgoing out{make_header(now, flags, seq), sb.peek(offset, len)};

  if (retransmission) {
    ++data_retransmits_;
    rtx_tsval_ = ts_val(now);
    timing_ = false;  // Karn (RFC 6298 §3): no sample across a retransmission
  } else {
    snd_nxt_ = end + (fin ? 1U : 0U);
    if (fin) fin_sent_ = true;
    if (snd_max_ < snd_nxt_) {
      if (!timing_) {
        timing_ = true;
        timed_seq_ = snd_nxt_;
        timed_at_ = now;
      }
      snd_max_ = snd_nxt_;
    }
  }
  arm_retransmit(now);  // RFC 6298 §5.1
  return out;
}

bool Connection::wants_transmit() const noexcept {
  if (rst_pending_) return true;
  if (state_ == State::closed || state_ == State::listen) return false;
  if (syn_pending_ || ack_pending_ || rtx_one_pending_ || probe_pending_ || has_new_data_to_send())
    return true;
  // A zero window with data waiting and the persist timer not yet armed: poll_transmit arms it.
  return is_synchronized(state_) && snd_wnd_ == 0 && snd_una_ == snd_max_ &&
         persist_deadline_ == Instant::max() &&
         buffers_->send.size() > static_cast<std::size_t>(std::max(0, snd_nxt_ - data_base()));
}

std::optional<Outgoing> Connection::poll_transmit(Instant now) {
  if (rst_pending_) {
    rst_pending_ = false;
    wire::TcpHeader h;
    h.src_port = tuple_.local.port;
    h.dst_port = tuple_.remote.port;
    h.seq = rst_seq_;
    h.flags = TcpFlags(rst_with_ack_ ? (TcpFlags::kRst | TcpFlags::kAck) : TcpFlags::kRst);
    if (rst_with_ack_) h.ack = rst_ack_;
    return Outgoing{h, {}};
  }
  switch (state_) {
    case State::closed:
    case State::listen:
      return std::nullopt;
    case State::syn_sent:
      if (!syn_pending_) return std::nullopt;
      syn_pending_ = false;
      return make_syn(now, false);
    case State::syn_received:
      if (!syn_pending_ && !ack_pending_) return std::nullopt;
      syn_pending_ = false;
      return make_syn(now, true);
    default:
      break;
  }
  if (rtx_one_pending_) {
    // RFC 6298 §5.4 / RFC 5681 §3.2: retransmit the earliest unacknowledged segment.
    rtx_one_pending_ = false;
    if (auto seg = make_data_segment(now, snd_una_, neg_.send_mss, true)) return seg;
  }
  if (auto seg = make_data_segment(now, snd_nxt_, neg_.send_mss, false)) return seg;

  // Zero window with data waiting and nothing in flight: the persist timer (RFC 9293 §3.8.6.1).
  if (snd_wnd_ == 0 && snd_una_ == snd_max_ && persist_deadline_ == Instant::max() &&
      buffers_->send.size() > static_cast<std::size_t>(std::max(0, snd_nxt_ - data_base()))) {
    Duration interval = rtt_.rto();
    for (std::uint8_t i = 0; i < persist_backoff_ && interval < config_->max_rto; ++i) interval *= 2;
    persist_deadline_ = now + std::min(interval, config_->max_rto);
  }
  if (probe_pending_) {
    // Zero-window probe as Linux sends it (tcp_xmit_probe_skb): an ACK with SEG.SEQ = SND.UNA - 1,
    // which the receiver must answer with its current window.
    probe_pending_ = false;
    return Outgoing{make_header(now, TcpFlags::kAck, snd_una_ - 1), {}};
  }
  if (ack_pending_) return Outgoing{make_header(now, TcpFlags::kAck, snd_nxt_), {}};
  return std::nullopt;
}

}  // namespace synack::tcp
