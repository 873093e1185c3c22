// `synack demo`'s record of its connections (demo_recorder.hpp).
#include "demo_recorder.hpp"

namespace synack::cli::demo {

void Recorder::observe(const stack::SegmentRecord& r) {
  const wire::TcpFlags flags = r.header.flags;
  Track* t = find(r.tuple);
  if (t == nullptr) {
    if (!flags.syn() || flags.ack()) return;
    tracks_.emplace_back();
    t = &tracks_.back();
    t->key = r.tuple;
    t->synack_is_client = r.direction == stack::Direction::out;
    t->result.number = static_cast<std::uint32_t>(tracks_.size());
    t->result.tuple = t->synack_is_client ? r.tuple : r.tuple.reversed();
    t->result.started_at = r.at;
  }
  const bool c2s = (r.direction == stack::Direction::out) == t->synack_is_client;
  sim::SegmentTrace s;
  s.at = r.at;
  s.dir = c2s ? observe::Direction::to_server : observe::Direction::to_client;
  s.header = r.header;
  s.payload_len = static_cast<std::uint32_t>(r.payload_len);
  s.arrival = r.at;
  s.retransmission =
      t->retransmissions.observe(s.dir, r.header.seq, flags, static_cast<std::uint32_t>(r.payload_len));
  auto& c = t->result;
  if (flags.syn()) {
    auto& offer = c2s ? c.negotiated.client : c.negotiated.server;
    if (!offer) offer = observe::Offer::from(r.header);
    if (c.negotiated.client && c.negotiated.server && !c.negotiated.agreed) {
      c.negotiated.agreed =
          observe::agree(*c.negotiated.client, *c.negotiated.server, r.tuple.local.address.version());
    }
    if (c2s) {
      c.client_isn = r.header.seq.raw();
      if (s.retransmission) ++c.syn_retransmits;
    } else {
      c.server_isn = r.header.seq.raw();
      if (s.retransmission) ++c.synack_retransmits;
    }
  }
  if (c.outcome == observe::Outcome::pending) {
    if (!c2s && flags.rst() && !c.server_isn) {
      c.outcome = observe::Outcome::refused;
      c.ended_at = r.at;
    } else if (c2s && flags.ack() && !flags.syn() && c.server_isn &&
               r.header.ack.raw() == *c.server_isn + 1U) {
      c.outcome = observe::Outcome::established;
      c.established_at = r.at;
    }
  } else if (c.outcome == observe::Outcome::established && flags.rst() && !(t->fin[0] && t->fin[1])) {
    // An RST after both FINs is not a reset of the connection: a peer already CLOSED answers a late
    // segment so (the kernel's tail-loss probe of its FIN crossing our ACK, seen on a loaded machine).
    c.outcome = observe::Outcome::reset;
    c.ended_at = r.at;
  }
  if (flags.fin()) t->fin[c2s ? 0 : 1] = true;
  if (c.segments.size() < 64) c.segments.push_back(s);
}

}  // namespace synack::cli::demo
