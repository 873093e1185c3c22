#include "handshake.hpp"

#include <utility>

#include <fmt/compile.h>
#include <fmt/format.h>

#include "format.hpp"

namespace synack::analyze::detail {
namespace {

OfferedOptions offered_from(const DecodedSegment& s, bool is_syn) {
  OfferedOptions o;
  o.seen = true;
  o.unknown = s.options_unknown();
  if (!o.unknown) {
    const auto& options = s.options();
    o.mss = options.mss;
    o.wscale = options.wscale;
    o.sack_permitted = options.sack_permitted;
    o.timestamps = options.timestamps.has_value();
    if (options.timestamps) o.tsval = options.timestamps->value;
    o.fast_open = options.fast_open.has_value();
    if (options.fast_open)
      o.fast_open_cookie_bytes = static_cast<std::uint8_t>(options.fast_open->cookie().size());
  }
  if (is_syn) {
    o.ecn = s.flags.ece() && s.flags.cwr();
    o.accurate_ecn = o.ecn && s.flags.has(wire::TcpFlags::kAe);
  } else {
    o.ecn = s.flags.ece() && !s.flags.cwr();
    // AccECN (RFC 9768 §3.1.1): a SYN-ACK's AE, CWR, ECE of 010, 011, 100 or 110 feeds back the SYN's IP-ECN
    // field and agrees to AccECN; 001 is classic ECN, 000 none, the others are reserved.
    const unsigned ace =
        (s.flags.has(wire::TcpFlags::kAe) ? 4U : 0U) | (s.flags.cwr() ? 2U : 0U) | (s.flags.ece() ? 1U : 0U);
    o.accurate_ecn = ace == 2U || ace == 3U || ace == 4U || ace == 6U;
  }
  return o;
}

// Distance from `from` to `to` modulo 2^32, signed (RFC 9293 §3.4 sequence arithmetic, wire::SeqNum).
std::int32_t seq_distance(std::uint32_t to, std::uint32_t from) noexcept {
  return wire::SeqNum(to) - wire::SeqNum(from);
}

}  // namespace

Handshake::Handshake(std::uint64_t number, Limits limits, Timestamp time) : limits_(limits) {
  report_.number = number;
  report_.first_packet = time;
  recording_ = limits.max_segments > 0;
}

Handshake Handshake::from_syn(std::uint64_t number, Timestamp time, const DecodedSegment& syn,
                              Limits limits) {
  Handshake h(number, limits, time);
  h.report_.client = syn.src;
  h.report_.server = syn.dst;
  h.report_.first_syn = time;
  h.report_.client_isn = syn.seq;
  h.report_.client_offered = offered_from(syn, true);
  h.report_.syn_data_bytes = syn.payload_length;
  h.last_syn_ = time;
  h.phase_ = Phase::syn_sent;
  h.report_.packets = 1;
  h.record(time, syn, Direction::to_server);
  return h;
}

Handshake Handshake::from_synack(std::uint64_t number, Timestamp time, const DecodedSegment& synack,
                                 Limits limits) {
  Handshake h(number, limits, time);
  h.report_.client = synack.dst;
  h.report_.server = synack.src;
  h.report_.client_isn = synack.ack - 1U;
  h.phase_ = Phase::incomplete;
  h.report_.packets = 1;
  h.record(time, synack, Direction::to_client);
  h.take_synack(time, synack);
  return h;
}

ConnectionReport Handshake::incomplete_from_ack(std::uint64_t number, Timestamp time,
                                                const DecodedSegment& ack, bool recording) {
  Handshake h(number, Limits{0, recording ? 1U : 0U}, time);
  // Mid-connection we cannot know who connected: guess the side with the higher (ephemeral) port.
  const bool src_is_client = ack.src.port >= ack.dst.port;
  h.report_.client = src_is_client ? ack.src : ack.dst;
  h.report_.server = src_is_client ? ack.dst : ack.src;
  h.report_.packets = 1;
  h.record(time, ack, src_is_client ? Direction::to_server : Direction::to_client);
  h.close(observe::Outcome::incomplete,
          "the capture began mid-connection (first packet an ACK, no SYN seen)");
  return std::move(h.report_);
}

void Handshake::record(Timestamp time, const DecodedSegment& s, Direction direction) {
  if (!recording_) return;
  if (report_.segments.size() >= limits_.max_segments) {
    report_.segments_truncated = true;
    return;
  }
  SegmentRecord r;
  r.time = time;
  r.direction = direction;
  r.flags = s.flags;
  r.seq = s.seq;
  r.ack = s.ack;
  r.window = s.window;
  r.payload_length = s.payload_length;
  r.options_unknown = s.options_unknown();
  if (!r.options_unknown) {
    const auto& options = s.options();
    r.mss = options.mss;
    r.wscale = options.wscale;
    r.sack_permitted = options.sack_permitted;
    r.sack_blocks = static_cast<std::uint8_t>(options.sack.size());
    r.timestamps = options.timestamps;
    r.fast_open = options.fast_open.has_value();
    if (options.fast_open)
      r.fast_open_cookie_bytes = static_cast<std::uint8_t>(options.fast_open->cookie().size());
  }
  r.ip_ecn = s.ip_ecn;
  report_.segments.push_back(r);
}

void Handshake::close(observe::Outcome outcome, std::string reason) {
  report_.outcome = outcome;
  report_.reason = std::move(reason);
  phase_ = Phase::closed;
}

void Handshake::take_synack(Timestamp time, const DecodedSegment& s) {
  synack_seen_ = true;
  report_.first_synack = time;
  report_.server_isn = s.seq;
  report_.server_offered = offered_from(s, false);
  last_synack_ = time;
  if (report_.first_syn) report_.syn_to_synack_ms = to_ms(time - last_syn_);
  if (report_.syn_data_bytes > 0 && report_.client_isn) {
    // RFC 7413 §4.2: a server that accepts the SYN's data acknowledges it in the SYN-ACK; one that does not
    // (no or a bad cookie) acknowledges the SYN alone and the client sends the data again.
    report_.syn_data_acknowledged = s.ack == *report_.client_isn + 1U + report_.syn_data_bytes;
  }
}

void Handshake::establish(Timestamp time) {
  report_.final_ack = time;
  report_.synack_to_ack_ms = to_ms(time - last_synack_);
  if (report_.first_syn) {
    report_.establish_ms = to_ms(time - *report_.first_syn);
    report_.outcome = observe::Outcome::established;
    report_.reason.reserve(40);  // one allocation
    report_.reason = "SYN, SYN-ACK and ACK in ";
    append_fixed3_ms(report_.reason, time - *report_.first_syn);
    report_.reason += " ms";
    phase_ = Phase::established;
  } else {
    report_.outcome = observe::Outcome::incomplete;
    report_.reason = "the capture began mid-handshake (SYN-ACK and ACK seen, no SYN)";
    phase_ = Phase::established;
  }
}

void Handshake::check_timestamps(Timestamp time, const DecodedSegment& s, Direction direction) {
  if (ts_drop_reported_ || s.flags.rst()) return;
  const bool agreed = report_.client_offered.timestamps && report_.server_offered.timestamps;
  if (!agreed || s.timestamps_or_unknown()) return;
  ts_drop_reported_ = true;
  const auto since = report_.final_ack ? to_ms(time - *report_.final_ack) : 0.0;
  report_.anomalies.push_back(
      fmt::format("timestamps dropped after being agreed: the {} sent a segment without "
                  "them {:.3f} ms after the handshake (RFC 7323 §3.2)",
                  direction == Direction::to_server ? "client" : "server", since));
}

bool Handshake::on_after_refusal(Timestamp time, const DecodedSegment& s, Direction direction) {
  if (direction == Direction::to_server && s.is_pure_syn() && s.seq == client_isn()) {
    ++report_.syn_retries_after_refusal;
    last_syn_ = time;
    return false;
  }
  // The server refusing the retry again; anything else ends the watch (the verdict stands).
  if (direction == Direction::to_client && s.flags.rst()) return false;
  phase_ = Phase::closed;
  return true;
}

bool Handshake::on_segment(Timestamp time, const DecodedSegment& s) {
  if (phase_ == Phase::closed) return true;
  ++report_.packets;
  const Direction direction = s.src == report_.client ? Direction::to_server : Direction::to_client;
  record(time, s, direction);
  if (phase_ == Phase::refused) return on_after_refusal(time, s, direction);
  if (direction == Direction::to_server) {
    on_to_server(time, s);
  } else {
    on_to_client(time, s);
  }
  if (phase_ == Phase::established || phase_ == Phase::simultaneous) {
    if (s.flags.rst() || s.flags.fin() || ++post_packets_ > limits_.post_handshake_packets)
      phase_ = Phase::closed;
  }
  return phase_ == Phase::closed;
}

void Handshake::on_to_server(Timestamp time, const DecodedSegment& s) {
  const auto& f = s.flags;
  switch (phase_) {
    case Phase::syn_sent:
    case Phase::synack_received:
      if (s.is_pure_syn()) {
        if (s.seq == client_isn()) {
          ++report_.syn_retransmits;
          if (!synack_seen_) {
            prev_syn_ = last_syn_;
            last_syn_ = time;
          }
        }
        return;
      }
      if (f.rst()) {
        close(observe::Outcome::reset,
              synack_seen_ ? fmt::format("the client reset the handshake {:.3f} ms after the SYN-ACK",
                                         to_ms(time - last_synack_))
                           : "the client reset the handshake before any answer");
        return;
      }
      if (phase_ == Phase::synack_received && f.ack() && !f.syn()) {
        const auto d = seq_distance(s.ack, report_.server_isn.value_or(0) + 1U);
        if (d >= 0 && d <= (1 << 20)) establish(time);
      }
      return;
    case Phase::incomplete:
      if (f.ack() && !f.syn() && !f.rst() && seq_distance(s.ack, report_.server_isn.value_or(0) + 1U) >= 0) {
        establish(time);
      } else if (f.rst()) {
        close(observe::Outcome::incomplete, "the capture began mid-handshake; the client then reset it");
      }
      return;
    case Phase::established:
      check_timestamps(time, s, Direction::to_server);
      return;
    case Phase::simultaneous:
    case Phase::refused:  // on_segment() hands these to on_after_refusal()
    case Phase::closed:
      return;
  }
}

void Handshake::on_to_client(Timestamp time, const DecodedSegment& s) {
  const auto& f = s.flags;
  switch (phase_) {
    case Phase::syn_sent:
      if (s.is_pure_syn()) {
        report_.server_isn = s.seq;
        report_.server_offered = offered_from(s, true);
        report_.first_synack = time;
        report_.syn_to_synack_ms = to_ms(time - last_syn_);
        phase_ = Phase::simultaneous;
        report_.outcome = observe::Outcome::simultaneous_open;
        report_.reason =
            fmt::format("both sides sent a SYN without ACK ({:.3f} ms apart)", to_ms(time - last_syn_));
        return;
      }
      if (s.is_synack()) {
        const bool data_acknowledged =
            report_.syn_data_bytes > 0 && s.ack == client_isn() + 1U + report_.syn_data_bytes;
        if (s.ack != client_isn() + 1U && !data_acknowledged) {
          report_.anomalies.push_back(fmt::format(
              "SYN-ACK acknowledges {} instead of the client's ISN + 1 ({})", s.ack, client_isn() + 1U));
        }
        take_synack(time, s);
        phase_ = Phase::synack_received;
        return;
      }
      if (f.rst()) {
        if (f.ack() && s.ack == client_isn() + 1U) {
          close(observe::Outcome::refused,
                fmt::format(FMT_COMPILE("RST/ACK from the server {:.3f} ms after the SYN{}"),
                            to_ms(time - last_syn_),
                            report_.syn_retransmits > 0 ? " (after retransmissions)" : ""));
          phase_ = Phase::refused;  // a client may send the same SYN again (Windows does, twice)
        } else {
          report_.anomalies.emplace_back(
              "an RST that does not acknowledge the SYN was ignored (RFC 9293 §3.10.7.3)");
        }
      }
      return;
    case Phase::synack_received:
    case Phase::incomplete:
      if (s.is_synack()) {
        if (s.seq == report_.server_isn.value_or(0)) {
          ++report_.synack_retransmits;
          prev_synack_ = last_synack_;
          last_synack_ = time;
        }
        return;
      }
      if (f.rst()) {
        close(phase_ == Phase::incomplete ? observe::Outcome::incomplete : observe::Outcome::reset,
              fmt::format("the server reset the handshake {:.3f} ms after its SYN-ACK",
                          to_ms(time - last_synack_)));
      }
      return;
    case Phase::established:
      check_timestamps(time, s, Direction::to_client);
      return;
    case Phase::simultaneous:
    case Phase::refused:  // on_segment() hands these to on_after_refusal()
    case Phase::closed:
      return;
  }
}

ConnectionReport Handshake::finalise() {
  switch (phase_) {
    case Phase::syn_sent:
      report_.outcome = observe::Outcome::timed_out;
      report_.reason = fmt::format(FMT_COMPILE("no answer to {} SYN{} over {:.3f} s"),
                                   report_.syn_retransmits + 1, report_.syn_retransmits > 0 ? "s" : "",
                                   to_ms(last_syn_ - report_.first_syn.value_or(last_syn_)) / 1000.0);
      break;
    case Phase::synack_received:
      report_.outcome = observe::Outcome::timed_out;
      report_.reason = fmt::format("the server's SYN-ACK{} never acknowledged by the client",
                                   report_.synack_retransmits > 0 ? "s were" : " was");
      break;
    case Phase::incomplete:
      report_.outcome = observe::Outcome::incomplete;
      report_.reason = "the capture began mid-handshake (first packet a SYN-ACK, no SYN seen)";
      break;
    case Phase::refused:
      if (report_.syn_retries_after_refusal > 0) {
        const auto n = report_.syn_retries_after_refusal;
        report_.reason += fmt::format(
            "; the client retried the refused port {} time{}, the last {:.3f} s after "
            "its first SYN",
            n, n == 1 ? "" : "s", to_ms(last_syn_ - report_.first_syn.value_or(last_syn_)) / 1000.0);
      }
      break;
    case Phase::established:
    case Phase::simultaneous:
    case Phase::closed:
      break;
  }
  phase_ = Phase::closed;
  if (report_.syn_data_bytes > 0) {
    report_.reason += fmt::format(
        "; {} byte{} of data on the SYN{}{}", report_.syn_data_bytes, report_.syn_data_bytes == 1 ? "" : "s",
        report_.client_offered.fast_open ? " with a Fast Open cookie" : "",
        !report_.syn_data_acknowledged ? ""
        : *report_.syn_data_acknowledged
            ? ", acknowledged by the SYN-ACK (accepted)"
            : ", not acknowledged by the SYN-ACK (the server took the SYN only; the data is sent again)");
  }
  conclude_options(report_);
  return std::move(report_);
}

std::chrono::nanoseconds Handshake::retransmission_interval(
    std::chrono::nanoseconds initial_rto) const noexcept {
  const bool waiting_for_synack = phase_ == Phase::syn_sent;
  const Timestamp last = waiting_for_synack ? last_syn_ : last_synack_;
  const Timestamp prev = waiting_for_synack ? prev_syn_ : prev_synack_;
  const bool retransmitted = (waiting_for_synack ? report_.syn_retransmits : report_.synack_retransmits) > 0;
  // RFC 6298 §5.5: each retransmission doubles the timer, so the next one was due twice the last gap on.
  return retransmitted ? 2 * (last - prev) : initial_rto;
}

void Handshake::link_previous(std::uint64_t previous, std::string anomaly) {
  report_.previous_attempt = previous;
  if (!anomaly.empty()) report_.anomalies.push_back(std::move(anomaly));
}

Timestamp Handshake::gave_up_at(std::chrono::nanoseconds initial_rto) const noexcept {
  return (phase_ == Phase::syn_sent ? last_syn_ : last_synack_) + retransmission_interval(initial_rto);
}

Timestamp Handshake::verdict_deadline(std::chrono::nanoseconds initial_rto) const noexcept {
  // A kernel's retransmission timer fires a little late (Linux's timer wheel: a few per cent); a verdict
  // told early is told again when the late retransmission comes.
  return gave_up_at(initial_rto) + retransmission_interval(initial_rto) / 32 + std::chrono::milliseconds(20);
}

ConnectionReport Handshake::snapshot() const {
  Handshake copy = *this;
  copy.recording_ = false;
  auto report = copy.finalise();
  report.segments.clear();
  return report;
}

}  // namespace synack::analyze::detail
