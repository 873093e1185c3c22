// Connection: timers — retransmission (RFC 6298), SYN/SYN-ACK give-up, persist, FIN-WAIT-2, TIME-WAIT.
#include <algorithm>

#include "synack/tcp/connection.hpp"
#include "synack/tcp/error.hpp"

namespace synack::tcp {

void Connection::arm_retransmit(Instant now) noexcept {
  if (!timers_.armed(TimerKind::retransmit)) set_timer(TimerKind::retransmit, now + rtt_.rto());
}

void Connection::enter_time_wait(Instant now) noexcept {
  set_state(State::time_wait);
  stop_timers();  // nothing outstanding, and FIN-WAIT-2's timer is over
  set_timer(TimerKind::time_wait, now + config_->time_wait_length());  // 2 x MSL (RFC 9293 §3.10.7.4)
}

void Connection::after_state_change(State previous) noexcept {
  if (config_->transition_sink != nullptr) [[unlikely]]
    report_transition(previous);
  // Nothing queued will be sent any more: its memory goes back at once, not when the slot is released.
  if (state_ == State::closed && buffers_) buffers_->send.clear();
}

void Connection::report_transition(State from) const noexcept {
  Transition t{from, state_, trigger_, {}, std::nullopt};
  if (trigger_ == Trigger::segment) t.flags = trigger_flags_;
  if (has_error_) t.error = error_;
  config_->transition_sink->on_transition(*this, t);
}

void Connection::fail(Error err) noexcept {
  has_error_ = true;
  error_ = err;
  set_state(State::closed);
  stop_timers();
  pending_.syn = pending_.ack = pending_.rtx_one = pending_.probe = false;
  events_ |= event::kError;
}

Instant Connection::next_deadline() const noexcept {
  return timers_.next();
}

void Connection::on_timeout(Instant now) {
  trigger_ = Trigger::timeout;
  if (take_due_timer(TimerKind::retransmit, now)) {
    switch (state_) {
      case State::syn_sent:
      case State::syn_received:
        // RFC 6298 §5.5-5.6 applied to the SYN (and the SYN-ACK of a simultaneous open): back off,
        // retransmit with the same options, give up after syn_retries.
        if (syn_retransmits_ >= config_->syn_retries) {
          fail(Error::timed_out);
          return;
        }
        ++syn_retransmits_;
        // RFC 3168 §6.1.1.1: a path may drop ECN-setup SYNs (broken middleboxes); the retransmitted SYN
        // goes without ECE and CWR, and the connection without ECN (Linux does the same). RFC 9768
        // §3.1.4.1: an AccECN SYN is retransmitted once as it was, the later ones without the flags.
        if (state_ == State::syn_sent && (!neg_.accecn || syn_retransmits_ != 1)) {
          neg_.ecn = false;
          neg_.accecn = false;
        }
        if (buffers_->fast_open) fast_open_syn_timeout(now);
        rtt_.backoff(config_->max_rto);
        pending_.syn = true;
        snd_nxt_ = iss_;
        set_timer(TimerKind::retransmit, now + rtt_.rto());
        break;
      case State::closed:
      case State::listen:
      case State::time_wait:
        break;
      default:
        if (snd_una_ == snd_max_) break;
        if (rtx_count_ >= config_->data_retries) {
          fail(Error::timed_out);
          return;
        }
        // RFC 5681 §3.1: ssthresh from the flight on the first timeout of this segment, cwnd = 1 SMSS.
        cc_.on_timeout(static_cast<std::uint32_t>(snd_max_ - snd_una_), smss(), rtx_count_ == 0);
        sack_recovery_ = false;
        // The scoreboard survives one timeout (go-back-N then skips what the peer holds, as Linux
        // does); a second one in a row clears it, in case the peer reneged (RFC 2018 §8).
        if (rtx_count_ > 0) buffers_->sacked.reset();
        ++rtx_count_;
        ++buffers_->timeouts;
        rtt_.backoff(config_->max_rto);  // RFC 6298 §5.5
        // §5.4: retransmit the earliest unacknowledged segment — by going back to it: SND.NXT = SND.UNA,
        // and slow start resends the rest as ACKs come (go-back-N, as BSD and Linux do after a timeout).
        snd_nxt_ = snd_una_;
        pending_.rtx_one = false;
        in_recovery_ = false;  // a timeout ends fast recovery (RFC 6582 §3.2 step 6 / §4.1)
        recovery_point_ = snd_max_;
        dupacks_ = 0;
        timing_ = false;
        skip_sacked();
        set_timer(TimerKind::retransmit, now + rtt_.rto());  // §5.6
        break;
    }
  }
  if (take_due_timer(TimerKind::persist, now)) {
    if (snd_wnd_ == 0 && is_synchronized(state_)) {
      pending_.probe = true;
      if (persist_backoff_ < 16) ++persist_backoff_;
      Duration interval = rtt_.rto();
      for (std::uint8_t i = 0; i < persist_backoff_ && interval < config_->max_rto; ++i) interval *= 2;
      set_timer(TimerKind::persist, now + std::min(interval, config_->max_rto));
    } else if (is_synchronized(state_) && snd_una_ == snd_max_) {
      // RFC 9293 §3.8.6.2.1 override timeout: the window stayed too small for a full segment; send what
      // fits (as Linux's tcp_write_wakeup does when its probe timer finds a small window).
      force_send_ = true;
    }
  }
  // FIN-WAIT-2 (orphaned) and TIME-WAIT end the same way: CLOSED, normally.
  const bool fin_wait_2_over = take_due_timer(TimerKind::fin_wait_2, now) && state_ == State::fin_wait_2;
  const bool time_wait_over = take_due_timer(TimerKind::time_wait, now) && state_ == State::time_wait;
  if (fin_wait_2_over || time_wait_over) {
    set_state(State::closed);
    events_ |= event::kClosed;
  }
}

}  // namespace synack::tcp
