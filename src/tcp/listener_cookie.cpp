// LISTEN's SYN cookies (RFC 4987 §3.6): a cookie SYN-ACK for a SYN, and the final ACK that completes the
// handshake from the state the cookie carries; any other ACK on a listener gets an RST (RFC 9293
// §3.10.7.2).
#include "synack/tcp/listener.hpp"

namespace synack::tcp {

ListenerReply Listener::on_ack(Instant now, const wire::FourTuple& tuple, const wire::TcpHeader& h,
                               const IsnGenerator& isn) {
  // RFC 9293 §3.10.7.2 second: "Any acknowledgment is bad if it arrives on a connection still in the
  // LISTEN state. An acceptable reset segment should be formed for any arriving ACK-bearing segment. The
  // RST should be formatted as follows: <SEQ=SEG.ACK><CTL=RST>".
  // RFC 4987 §3.6: unless it is the final ACK of a cookie SYN-ACK, which completes the handshake with
  // the state the cookie carries (SEG.ACK - 1 is our ISN, SEG.SEQ - 1 the peer's).
  ListenerReply r;
  if (!h.flags.syn() && cookie_ack_possible(now)) {
    if (const auto peer = cookies_->check(now, tuple, h)) {
      ++stats_.syncookies_recv;
      if (accept_queue_full()) {
        // As for a queue entry (Linux ListenOverflows): drop; the peer's next segment carries the same
        // cookie and may find room while the cookie is valid.
        ++stats_.accept_queue_full_drops;
        return r;
      }
      r.cookie = cookie_entry(now, tuple, h, *peer, isn);
      ++stats_.established;
      r.kind = ListenerReply::Kind::complete_cookie;
      return r;
    }
    ++stats_.syncookies_failed;
  }
  ++stats_.resets_sent;
  r.kind = ListenerReply::Kind::send_rst;
  r.rst_seq = h.ack;
  return r;
}

HalfOpen Listener::cookie_entry(Instant now, const wire::FourTuple& tuple, const wire::TcpHeader& h,
                                const SynOptions& peer, const IsnGenerator& isn) {
  HalfOpen e = half_open(tuple, (h.ack - 1).raw(), (h.seq - 1).raw(), peer, HalfOpen::kCookie);
  if (peer.timestamps) {
    // TSecr is our SYN-ACK's TSval: the clock then, rounded down by up to 63 ms, so the handshake RTT
    // sample errs long (a larger RTO), never short.
    e.ts_offset = isn.timestamp_offset(tuple);
    const std::uint32_t clock_now = ts_clock(now, e.ts_offset);
    const std::uint32_t elapsed_ms = clock_now - h.options.timestamps->echo;
    // (A cookie is valid for minutes, far less than the epoch's lead: the difference stays >= 0.)
    const std::uint32_t now_us = since_epoch(now);
    const std::uint64_t elapsed_us = std::uint64_t{elapsed_ms} * 1000U;
    e.syn_received_us = elapsed_ms < 0x80000000U && elapsed_us <= now_us
                            ? now_us - static_cast<std::uint32_t>(elapsed_us)
                            : now_us;
  } else {
    e.flags |= HalfOpen::kNoRtt;  // nothing tells when the SYN-ACK left
    e.syn_received_us = since_epoch(now);
  }
  return e;
}

bool Listener::cookie_ack_possible(Instant now) const noexcept {
  // Linux (cookie_v4_check, tcp_synq_no_recent_overflow): only while cookies are on and were sent
  // recently enough that one could still be valid.
  return cookies_ != nullptr && cookie_mode_ != SynCookieMode::never && last_cookie_sent_ &&
         now - *last_cookie_sent_ < SynCookies::kTick * SynCookies::kValidTicks;
}

bool Listener::answer_with_cookie(Instant now, const wire::FourTuple& tuple, const wire::TcpHeader& syn,
                                  const SynOptions& peer, const IsnGenerator& isn, ListenerReply& r) {
  if (cookies_ == nullptr) return false;
  const std::uint32_t clock = peer.timestamps ? ts_clock(now, isn.timestamp_offset(tuple)) : 0;
  const auto cookie = cookies_->make(now, tuple, syn.seq, peer, clock);
  if (!cookie) return false;
  HalfOpen& e = r.cookie;
  // The cookie's options are the SYN's as the cookie encodes them (its MSS from the table; its timestamps
  // the SYN's).
  e = half_open(tuple, cookie->isn.raw(), syn.seq.raw(), cookie->peer, HalfOpen::kCookie);
  e.syn_received_us = since_epoch(now);
  r.cookie_ts_val = cookie->ts_val.value_or(0);
  r.kind = ListenerReply::Kind::send_cookie_syn_ack;
  last_cookie_sent_ = now;
  ++stats_.syncookies_sent;
  return true;
}

}  // namespace synack::tcp
