#include "handshake.hpp"

#include <utility>

#include <fmt/compile.h>
#include <fmt/format.h>

#include "format.hpp"

namespace synack::analyze::detail {
namespace {

using observe::Outcome;
using observe::Role;

Instant instant(Timestamp t) noexcept {
  return Instant::from_duration(t);
}
Timestamp stamp(Instant i) noexcept {
  return i.since_origin();
}

/// The report's form of `side`'s first SYN / SYN-ACK offer: the tracker's, with what only a report shows
/// (the SYN's TSval for the SYN cookie check, the Fast Open cookie's length).
OfferedOptions offered_from(const observe::ConnectionTracker& tracker, Role side, const DecodedSegment& s) {
  OfferedOptions o;
  o.seen = true;
  o.unknown = tracker.options_unknown(side);
  const observe::Offer& offer = *tracker.offer(side);
  o.mss = offer.mss;
  o.wscale = offer.wscale;
  o.sack_permitted = offer.sack_permitted;
  o.timestamps = offer.timestamps;
  o.fast_open = offer.fast_open;
  o.ecn = offer.ecn;
  o.accurate_ecn = offer.accecn;
  if (!o.unknown) {
    const auto& options = s.options();
    if (options.timestamps) o.tsval = options.timestamps->value;
    if (options.fast_open) {
      o.fast_open_cookie_bytes = static_cast<std::uint8_t>(options.fast_open->cookie().size());
    }
  }
  return o;
}

}  // namespace

Handshake::Handshake(std::uint64_t number, Limits limits, Timestamp time, wire::IpVersion version)
    : tracker_(version), limits_(limits) {
  report_.number = number;
  report_.first_packet = time;
  recording_ = limits.max_segments > 0;
}

Handshake::Handshake(Start start, std::uint64_t number, Timestamp time, const DecodedSegment& first,
                     Limits limits)
    : Handshake(number, limits, time, first.src.address.version()) {
  report_.packets = 1;
  if (start == Start::synack) {
    report_.client = first.dst;
    report_.server = first.src;
    report_.client_isn = first.ack - 1U;
    record(time, first, Direction::to_client);
    track(time, first, Direction::to_client);
    return;
  }
  report_.client = first.src;
  report_.server = first.dst;
  report_.first_syn = time;
  report_.client_isn = first.seq;
  report_.syn_data_bytes = first.payload_length;
  record(time, first, Direction::to_server);
  (void)tracker_.observe(instant(time), Direction::to_server, first);
  report_.client_offered = offered_from(tracker_, Role::client, first);
}

ConnectionReport Handshake::incomplete_from_ack(std::uint64_t number, Timestamp time,
                                                const DecodedSegment& ack, bool recording) {
  Handshake h(number, Limits{0, recording ? 1U : 0U}, time, ack.src.address.version());
  // Mid-connection we cannot know who connected: guess the side with the higher (ephemeral) port.
  const bool src_is_client = ack.src.port >= ack.dst.port;
  h.report_.client = src_is_client ? ack.src : ack.dst;
  h.report_.server = src_is_client ? ack.dst : ack.src;
  h.report_.packets = 1;
  h.record(time, ack, src_is_client ? Direction::to_server : Direction::to_client);
  h.close(Outcome::incomplete, "the capture began mid-connection (first packet an ACK, no SYN seen)");
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

void Handshake::close(Outcome outcome, std::string reason) {
  report_.outcome = outcome;
  report_.reason = std::move(reason);
  closed_ = true;
}

void Handshake::track(Timestamp time, const DecodedSegment& s, Direction direction) {
  const Outcome before = tracker_.handshake_outcome();
  const std::uint32_t ignored_rsts = tracker_.ignored_rsts();
  (void)tracker_.observe(instant(time), direction, s);
  if (direction == Direction::to_client && s.flags.syn() && !report_.server_offered.seen)
    take_answer(time, s);
  if (tracker_.ignored_rsts() != ignored_rsts) {
    report_.anomalies.emplace_back(
        "an RST that does not acknowledge the SYN was ignored (RFC 9293 §3.10.7.3)");
  }
  if (before == Outcome::pending && tracker_.handshake_outcome() != Outcome::pending) take_verdict(time);
}

void Handshake::take_answer(Timestamp time, const DecodedSegment& s) {
  report_.first_synack = time;
  report_.server_isn = s.seq;
  report_.server_offered = offered_from(tracker_, Role::server, s);
  if (const auto answered = tracker_.answered_syn_at())
    report_.syn_to_synack_ms = to_ms(time - stamp(*answered));
  if (!s.flags.ack()) return;  // a simultaneous open's SYN
  const std::uint32_t isn = client_isn();
  const bool data_acknowledged = report_.syn_data_bytes > 0 && s.ack == isn + 1U + report_.syn_data_bytes;
  if (!tracker_.late_start() && s.ack != isn + 1U && !data_acknowledged) {
    report_.anomalies.push_back(
        fmt::format("SYN-ACK acknowledges {} instead of the client's ISN + 1 ({})", s.ack, isn + 1U));
  }
  // RFC 7413 §4.2: a server that accepts the SYN's data acknowledges it in the SYN-ACK; one that does not
  // (no or a bad cookie) acknowledges the SYN alone and the client sends the data again.
  if (report_.syn_data_bytes > 0) report_.syn_data_acknowledged = data_acknowledged;
}

void Handshake::take_verdict(Timestamp time) {
  const Outcome outcome = tracker_.handshake_outcome();
  if (outcome == Outcome::reset || (outcome == Outcome::incomplete && !tracker_.established_at())) {
    take_reset(time);
    return;
  }
  if (outcome == Outcome::refused) {
    report_.outcome = outcome;
    report_.reason =
        fmt::format(FMT_COMPILE("RST/ACK from the server {:.3f} ms after the SYN{}"),
                    to_ms(time - stamp(*tracker_.answered_syn_at())),
                    tracker_.syn_retransmits(Role::client) > 0 ? " (after retransmissions)" : "");
    return;  // a client may send the same SYN again (Windows does, twice): watching_retries()
  }
  if (outcome == Outcome::simultaneous_open) {
    report_.outcome = outcome;
    report_.reason = fmt::format("both sides sent a SYN without ACK ({:.3f} ms apart)",
                                 to_ms(time - stamp(*tracker_.answered_syn_at())));
    return;
  }
  // Established, or a late start completed.
  report_.final_ack = time;
  report_.synack_to_ack_ms = to_ms(time - stamp(*tracker_.acknowledged_syn_ack_at()));
  report_.outcome = outcome;
  if (!report_.first_syn) {
    report_.reason = "the capture began mid-handshake (SYN-ACK and ACK seen, no SYN)";
    return;
  }
  report_.establish_ms = to_ms(time - *report_.first_syn);
  report_.reason = Reason::established_in(time - *report_.first_syn);  // no text made (Reason)
}

void Handshake::take_reset(Timestamp time) {
  const bool by_client = tracker_.reset_by() == Role::client;
  const double since_synack = to_ms(time - stamp(tracker_.last_syn_at(Role::server)));
  if (tracker_.late_start() && by_client) {
    close(Outcome::incomplete, "the capture began mid-handshake; the client then reset it");
  } else if (!by_client) {
    close(tracker_.handshake_outcome(),
          fmt::format("the server reset the handshake {:.3f} ms after its SYN-ACK", since_synack));
  } else if (tracker_.syn_acks(Role::server) > 0) {
    close(Outcome::reset,
          fmt::format("the client reset the handshake {:.3f} ms after the SYN-ACK", since_synack));
  } else {
    close(Outcome::reset, "the client reset the handshake before any answer");
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
  (void)tracker_.observe(instant(time), direction, s);  // counts the client's retries of the refused SYN
  if (direction == Direction::to_server && s.is_pure_syn() && s.seq == client_isn()) return false;
  // The server refusing the retry again; anything else ends the watch (the verdict stands).
  if (direction == Direction::to_client && s.flags.rst()) return false;
  closed_ = true;
  return true;
}

bool Handshake::on_segment(Timestamp time, const DecodedSegment& s) {
  if (closed_) return true;
  ++report_.packets;
  const Direction direction = s.src == report_.client ? Direction::to_server : Direction::to_client;
  record(time, s, direction);
  if (watching_retries()) return on_after_refusal(time, s, direction);
  const bool decided_before = verdict_known();
  track(time, s, direction);
  const Outcome outcome = tracker_.handshake_outcome();
  if (closed_ || outcome == Outcome::pending || outcome == Outcome::refused) return closed_;
  // Established (or a late start completed) or a simultaneous open: a few more packets are watched.
  if (decided_before && outcome != Outcome::simultaneous_open) check_timestamps(time, s, direction);
  if (s.flags.rst() || s.flags.fin() || ++post_packets_ > limits_.post_handshake_packets) closed_ = true;
  return closed_;
}

void Handshake::conclude_pending() {
  if (closed_) return;
  const Outcome outcome = tracker_.handshake_outcome();
  if (outcome == Outcome::refused && tracker_.retries_after_refusal() > 0) {
    const auto n = tracker_.retries_after_refusal();
    const Timestamp first = report_.first_syn.value_or(Timestamp{});
    report_.reason += fmt::format(
        "; the client retried the refused port {} time{}, the last {:.3f} s after its first SYN", n,
        n == 1 ? "" : "s", to_ms(stamp(tracker_.last_retry_at().value_or(instant(first))) - first) / 1000.0);
  }
  if (outcome != Outcome::pending) return;
  if (tracker_.late_start()) {
    report_.outcome = Outcome::incomplete;
    report_.reason = "the capture began mid-handshake (first packet a SYN-ACK, no SYN seen)";
  } else if (tracker_.awaiting_answer()) {
    const std::uint32_t retransmits = tracker_.syn_retransmits(Role::client);
    const Timestamp last = stamp(tracker_.last_syn_at(Role::client));
    report_.outcome = Outcome::timed_out;
    report_.reason =
        fmt::format(FMT_COMPILE("no answer to {} SYN{} over {:.3f} s"), retransmits + 1,
                    retransmits > 0 ? "s" : "", to_ms(last - report_.first_syn.value_or(last)) / 1000.0);
  } else {
    report_.outcome = Outcome::timed_out;
    report_.reason = fmt::format("the server's SYN-ACK{} never acknowledged by the client",
                                 tracker_.syn_retransmits(Role::server) > 0 ? "s were" : " was");
  }
}

void Handshake::finalise(ConnectionReport& into) {
  conclude_pending();
  closed_ = true;
  report_.syn_retransmits = tracker_.syn_retransmits(Role::client);
  report_.synack_retransmits = tracker_.syn_retransmits(Role::server);
  report_.syn_retries_after_refusal = tracker_.retries_after_refusal();
  if (report_.syn_data_bytes > 0) {
    report_.reason += fmt::format(
        "; {} byte{} of data on the SYN{}{}", report_.syn_data_bytes, report_.syn_data_bytes == 1 ? "" : "s",
        report_.client_offered.fast_open ? " with a Fast Open cookie" : "",
        !report_.syn_data_acknowledged ? ""
        : *report_.syn_data_acknowledged
            ? ", acknowledged by the SYN-ACK (accepted)"
            : ", not acknowledged by the SYN-ACK (the server took the SYN only; the data is sent again)");
  }
  report_.negotiated = tracker_.negotiated();
  conclude_options(report_);
  into = std::move(report_);
}

std::chrono::nanoseconds Handshake::retransmission_interval(
    std::chrono::nanoseconds initial_rto) const noexcept {
  // Waiting for the SYN-ACK, the client's SYNs; then the server's SYN-ACKs.
  const Role side = tracker_.awaiting_answer() ? Role::client : Role::server;
  // RFC 6298 §5.5: each retransmission doubles the timer, so the next one was due twice the last gap on.
  return tracker_.syn_retransmits(side) > 0
             ? 2 * (stamp(tracker_.last_syn_at(side)) - stamp(tracker_.previous_syn_at(side)))
             : initial_rto;
}

void Handshake::link_previous(std::uint64_t previous, std::string anomaly) {
  report_.previous_attempt = previous;
  if (!anomaly.empty()) report_.anomalies.push_back(std::move(anomaly));
}

Timestamp Handshake::gave_up_at(std::chrono::nanoseconds initial_rto) const noexcept {
  const Role side = tracker_.awaiting_answer() ? Role::client : Role::server;
  return stamp(tracker_.last_syn_at(side)) + retransmission_interval(initial_rto);
}

Timestamp Handshake::verdict_deadline(std::chrono::nanoseconds initial_rto) const noexcept {
  // A kernel's retransmission timer fires a little late (Linux's timer wheel: a few per cent); a verdict
  // told early is told again when the late retransmission comes.
  return gave_up_at(initial_rto) + retransmission_interval(initial_rto) / 32 + std::chrono::milliseconds(20);
}

ConnectionReport Handshake::snapshot() const {
  Handshake copy = *this;
  copy.recording_ = false;
  ConnectionReport report;
  copy.finalise(report);
  report.segments.clear();
  return report;
}

}  // namespace synack::analyze::detail
