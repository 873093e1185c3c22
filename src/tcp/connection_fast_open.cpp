// Connection: TCP Fast Open (RFC 7413) — the server's SYN-RECEIVED with data, the client's SYN with data.
// Only connections that use Fast Open (Buffers::fast_open set) come here.
#include <algorithm>

#include "synack/tcp/connection.hpp"

namespace synack::tcp {

Connection Connection::open_fast_open(const Config& config, PassiveOpen open, wire::Bytes syn_data,
                                      Instant now) {
  // Built as a passive open (negotiated options, timestamps, buffers), then put back to SYN-RECEIVED: our
  // SYN is not acknowledged yet. No handshake RTT yet (the SYN-ACK leaves now; the final ACK times it).
  open.rtt_sample = false;
  open.synack_retransmits = 0;
  open.syn_received_at = now;
  Connection c = open_passive(config, open, now);
  c.buffers_->fast_open = std::make_unique<FastOpenState>();
  c.buffers_->fast_open->server = true;
  // RFC 7413 §4.2.2: "the server ... MUST ... deliver the data to the application"; the SYN-ACK
  // acknowledges SYN and data (RCV.NXT moves past them here).
  c.process_data(now, open.irs + 1, syn_data, false);
  c.buffers_->fast_open->data_received = static_cast<std::uint32_t>(c.rcv_nxt_ - (open.irs + 1));
  // RFC 7323 §2.2: the SYN's window is never scaled.
  c.snd_wnd_ = open.peer_window;
  c.max_snd_wnd_ = c.snd_wnd_;
  c.snd_una_ = open.iss;
  c.snd_nxt_ = open.iss;
  c.snd_max_ = open.iss;
  c.snd_wl2_ = open.iss;
  c.buffers_->ecn_recover = open.iss;
  c.established_seen_ = false;
  c.events_ &= static_cast<std::uint8_t>(~(event::kEstablished | event::kWritable));
  c.pending_.ack = false;
  c.pending_.syn = true;
  c.set_state(State::syn_received);
  c.arm_retransmit(now);
  return c;
}

void Connection::use_fast_open(const wire::FastOpenCookie& option, std::uint32_t syn_data) {
  if (state_ != State::syn_sent || snd_max_ != iss_) return;  // the SYN already left
  auto st = std::make_unique<FastOpenState>();
  st->syn_option = option;
  st->requested = option.is_request();
  st->syn_data = option.is_request()
                     ? 0U
                     : static_cast<std::uint32_t>(std::min<std::size_t>(syn_data, buffers_->send.size()));
  buffers_->fast_open = std::move(st);
}

void Connection::fast_open_syn(Outgoing& out) {
  FastOpenState& st = *buffers_->fast_open;
  if (state_ != State::syn_sent || !st.syn_option) return;  // a server's SYN-ACK carries no cookie here
  // RFC 7413 §4.2.1: the cookie (or an empty option asking for one) and, with a cookie, data.
  out.header.fast_open = &*st.syn_option;
  if (st.syn_data == 0) return;
  out.payload = buffers_->send.peek(0, st.syn_data);
  st.syn_data_sent = static_cast<std::uint32_t>(out.payload.size());
  snd_nxt_ = iss_ + 1 + st.syn_data_sent;
  if (snd_max_ < snd_nxt_) snd_max_ = snd_nxt_;
}

void Connection::fast_open_syn_ack(Instant now, const wire::TcpHeader& h) {
  (void)now;
  FastOpenState& st = *buffers_->fast_open;
  if (h.options.fast_open && !h.options.fast_open->is_request()) st.cookie_received = *h.options.fast_open;
  // RFC 7413 §4.2.2: the SYN-ACK acknowledges the SYN and maybe some or all of the data; what it does not
  // acknowledge is sent again after the handshake (SND.NXT back to SND.UNA: a go-back-N pass).
  const auto acked = static_cast<std::uint32_t>(h.ack - (iss_ + 1));
  if (acked > 0) {
    const std::size_t n = std::min<std::size_t>(acked, buffers_->send.size());
    buffers_->send.consume(n);
    buffers_->bytes_acked += n;
  }
  st.syn_data_acked = st.syn_data_sent > 0 && acked == st.syn_data_sent;
  snd_nxt_ = snd_una_;
}

void Connection::fast_open_syn_timeout(Instant now) noexcept {
  FastOpenState& st = *buffers_->fast_open;
  if (state_ != State::syn_sent || !st.syn_option) return;
  // RFC 7413 §7.1: a path may drop SYNs with data or with an unknown option; the retry carries neither
  // (the data follows the handshake), and the owner remembers the destination.
  st.syn_option.reset();
  st.syn_data = 0;
  st.syn_timed_out = true;
  st.syn_timed_out_at = now;
}

}  // namespace synack::tcp
