// The one per-connection tracker (synack/observe/tracker.hpp).
#include "synack/observe/tracker.hpp"

namespace synack::observe {

namespace {
constexpr Role sender_of(Direction direction) noexcept {
  return direction == Direction::to_server ? Role::client : Role::server;
}
}  // namespace

bool ConnectionTracker::observe(Instant at, Direction direction, const wire::TcpHeader& header,
                                std::uint32_t payload_length) {
  const wire::TcpFlags flags = header.flags;
  const bool again = retransmissions_.observe(direction, header.seq, flags, payload_length);
  Side& side = sides_[static_cast<std::size_t>(sender_of(direction))];
  if (flags.syn()) {
    on_syn(direction, header, again);
  } else if (again && (payload_length > 0 || flags.fin())) {
    ++side.data_retransmits;
  }
  decide(at, direction, flags, header);
  if (flags.fin()) side.fin = true;
  return again;
}

void ConnectionTracker::on_syn(Direction direction, const wire::TcpHeader& header, bool retransmission) {
  const Role role = sender_of(direction);
  Side& side = sides_[static_cast<std::size_t>(role)];
  side.isn = header.seq.raw();
  ++side.syns;
  if (header.flags.ack()) ++side.syn_acks;
  if (retransmission) ++side.syn_retransmits;
  auto& offer = role == Role::client ? negotiated_.client : negotiated_.server;
  if (!offer) offer = Offer::from(header);
  if (negotiated_.client && negotiated_.server && !negotiated_.agreed) {
    negotiated_.agreed = agree(*negotiated_.client, *negotiated_.server, version_);
  }
}

void ConnectionTracker::decide(Instant at, Direction direction, wire::TcpFlags flags,
                               const wire::TcpHeader& header) noexcept {
  const bool from_client = direction == Direction::to_server;
  const std::optional<std::uint32_t> server_isn = sides_[1].isn;
  if (outcome_ == Outcome::pending) {
    if (!from_client && flags.rst() && !server_isn) {
      outcome_ = Outcome::refused;  // RFC 9293 §3.10.7.3: an acceptable RST answers the SYN
      ended_at_ = at;
    } else if (from_client && flags.ack() && !flags.syn() && server_isn &&
               header.ack.raw() == *server_isn + 1U) {
      outcome_ = Outcome::established;  // the ACK of the server's SYN (RFC 9293 §3.5 figure 6)
      established_at_ = at;
    }
  } else if (outcome_ == Outcome::established && flags.rst() && !(sides_[0].fin && sides_[1].fin)) {
    // An RST after both FINs does not reset the connection: a peer already CLOSED answers a late segment
    // so (the kernel's tail-loss probe of its FIN crossing our ACK, seen on a loaded machine).
    outcome_ = Outcome::reset;
    ended_at_ = at;
  }
}

void ConnectionTracker::timed_out(Instant at) noexcept {
  if (outcome_ != Outcome::pending) return;
  outcome_ = Outcome::timed_out;
  ended_at_ = at;
}

}  // namespace synack::observe
