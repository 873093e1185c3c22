// `synack demo`'s record of its connections (demo_recorder.hpp).
#include "demo_recorder.hpp"

namespace synack::cli::demo {
namespace {

constexpr std::size_t kMaxSegments = 64;

/// The tracker's view in the simulator's record.
void copy(const observe::ConnectionTracker& tracker, sim::ConnectionResult& c) {
  c.negotiated = tracker.negotiated();
  c.client_isn = tracker.isn(observe::Role::client);
  c.server_isn = tracker.isn(observe::Role::server);
  c.syn_retransmits = tracker.syn_retransmits(observe::Role::client);
  c.synack_retransmits = tracker.syn_retransmits(observe::Role::server);
  c.data_retransmits = tracker.data_retransmits(observe::Role::client);
  c.outcome = tracker.outcome();
  c.established_at = tracker.established_at();
  c.ended_at = tracker.ended_at();
}

}  // namespace

void Recorder::observe(const stack::SegmentRecord& r) {
  const wire::TcpFlags flags = r.header.flags;
  Track* t = find(r.tuple);
  if (t == nullptr) {
    if (!flags.syn() || flags.ack()) return;
    tracks_.emplace_back();
    t = &tracks_.back();
    t->key = r.tuple;
    t->synack_is_client = r.direction == stack::Direction::out;
    t->tracker = observe::ConnectionTracker(r.tuple.local.address.version());
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
  s.retransmission = t->tracker.observe(r.at, s.dir, r.header, s.payload_len);
  copy(t->tracker, t->result);
  if (t->result.segments.size() < kMaxSegments) t->result.segments.push_back(s);
}

void Recorder::timed_out(const wire::FourTuple& key, Instant at) {
  if (Track* t = find(key)) {
    t->tracker.timed_out(at);
    copy(t->tracker, t->result);
  }
}

}  // namespace synack::cli::demo
