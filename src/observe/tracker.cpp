// The one per-connection tracker (synack/observe/tracker.hpp).
#include "synack/observe/tracker.hpp"

namespace synack::observe {

namespace {
constexpr Role sender_of(Direction direction) noexcept {
  return direction == Direction::to_server ? Role::client : Role::server;
}

/// How far past the server's ISN + 1 the ACK that completes a handshake may reach: data the server sent
/// after its SYN-ACK, acknowledged by a client whose plain ACK the capture missed.
constexpr std::int32_t kAckReach = 1 << 20;
}  // namespace

bool ConnectionTracker::observe(Instant at, Direction direction, const Segment& segment) {
  const wire::TcpFlags flags = segment.flags;
  const Role role = sender_of(direction);
  if (!seen_any_) {
    seen_any_ = true;
    late_start_ = role == Role::server && segment.is_synack();
  }
  const bool again =
      retransmissions_.observe(direction, wire::SeqNum(segment.seq), flags, segment.payload_length);
  Side& side = this->at(role);
  if (flags.syn()) {
    if (handshake_ == Outcome::refused && role == Role::client && !flags.ack() && side.isn == segment.seq) {
      ++retries_after_refusal_;  // the refused SYN again, not a retransmission of an unanswered one
      last_retry_ = at;
    } else {
      on_syn(at, role, segment, again);
    }
  } else if (again && (segment.payload_length > 0 || flags.fin())) {
    ++side.data_retransmits;
  }
  decide(at, direction, segment);
  if (flags.fin()) side.fin = true;
  return again;
}

void ConnectionTracker::on_syn(Instant at, Role role, const Segment& segment, bool retransmission) {
  Side& side = this->at(role);
  side.isn = segment.seq;
  ++side.syns;
  if (segment.flags.ack()) ++side.syn_acks;
  if (retransmission) ++side.syn_retransmits;
  side.previous_syn = side.first_syn ? side.last_syn : at;
  side.last_syn = at;
  if (!side.first_syn) side.first_syn = at;
  if (side.offer) return;
  side.offer = Offer::from(segment);
  side.options_unknown = segment.options_unknown();
  if (!side.options_unknown) (role == Role::client ? negotiated_.client : negotiated_.server) = side.offer;
  if (negotiated_.client && negotiated_.server && !negotiated_.agreed) {
    negotiated_.agreed = agree(*negotiated_.client, *negotiated_.server, version_);
  }
}

void ConnectionTracker::decide(Instant at, Direction direction, const Segment& segment) noexcept {
  if (handshake_ == Outcome::pending) {
    if (direction == Direction::to_server) {
      decide_from_client(at, segment);
    } else {
      decide_from_server(at, segment);
    }
  } else if (outcome_ == Outcome::established && segment.flags.rst() && !(sides_[0].fin && sides_[1].fin)) {
    // An RST after both FINs does not reset the connection: a peer already CLOSED answers a late segment
    // so (the kernel's tail-loss probe of its FIN crossing our ACK, seen on a loaded machine).
    outcome_ = Outcome::reset;
    ended_at_ = at;
    reset_by_ = sender_of(direction);
  }
}

void ConnectionTracker::decide_from_client(Instant at, const Segment& segment) noexcept {
  const wire::TcpFlags flags = segment.flags;
  if (flags.syn()) return;
  if (flags.rst()) {
    end(late_start_ ? Outcome::incomplete : Outcome::reset, at, Role::client);  // the client gave up
    return;
  }
  const Side& server = this->at(Role::server);
  if (!flags.ack() || server.syn_acks == 0 || !server.isn) return;
  // The ACK of the server's SYN (RFC 9293 §3.5 figure 6): at or a little past its ISN + 1.
  const std::int32_t past = wire::SeqNum(segment.ack) - wire::SeqNum(*server.isn + 1U);
  if (past < 0 || (!late_start_ && past > kAckReach)) return;
  handshake_ = outcome_ = late_start_ ? Outcome::incomplete : Outcome::established;
  established_at_ = at;
  acked_syn_ack_ = server.last_syn;
}

void ConnectionTracker::decide_from_server(Instant at, const Segment& segment) noexcept {
  const Side& client = this->at(Role::client);
  const bool unanswered = !answered_syn_ && !late_start_ && client.syns > 0;
  if (segment.flags.syn()) {
    if (!unanswered) return;
    answered_syn_ = client.last_syn;
    // Both sides sent a SYN without ACK (RFC 9293 §3.5 figure 8).
    if (!segment.flags.ack()) handshake_ = outcome_ = Outcome::simultaneous_open;
    return;
  }
  if (!segment.flags.rst()) return;
  if (unanswered) {
    // RFC 9293 §3.10.7.3: in SYN-SENT an RST is acceptable only when its ACK acknowledges the SYN.
    if (segment.flags.ack() && client.isn && segment.ack == *client.isn + 1U) {
      answered_syn_ = client.last_syn;
      end(Outcome::refused, at, Role::server);
    } else {
      ++ignored_rsts_;
    }
    return;
  }
  end(late_start_ ? Outcome::incomplete : Outcome::reset, at, Role::server);
}

void ConnectionTracker::end(Outcome outcome, Instant at, std::optional<Role> by) noexcept {
  handshake_ = outcome_ = outcome;
  ended_at_ = at;
  reset_by_ = by;
}

void ConnectionTracker::timed_out(Instant at) noexcept {
  if (outcome_ != Outcome::pending) return;
  end(Outcome::timed_out, at, std::nullopt);
}

}  // namespace synack::observe
