// `synack demo`'s record of its connections: every segment the Stack's observer reports, filed by
// connection as the simulator's ConnectionResult (so the tour prints the simulator's ladder), with one
// retransmission rule and one agreement rule (observe/).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "synack/observe/handshake.hpp"
#include "synack/sim/trace.hpp"
#include "synack/stack/stack.hpp"
#include "synack/time.hpp"

namespace synack::cli::demo {

struct Track {
  wire::FourTuple key;  ///< as the stack sees it (local = synack)
  bool synack_is_client = false;
  std::string title;
  sim::ConnectionResult result;  ///< its negotiated offers: the first SYN each way, as on the wire
  observe::RetransmissionRule retransmissions;
  std::array<bool, 2> fin{};  ///< a FIN was sent: [0] by the client, [1] by the server
  bool printed = false;
};

class Recorder {
 public:
  /// Files one segment the Stack's observer saw under its connection (a new one starts at a SYN).
  void observe(const stack::SegmentRecord& r);

  void timed_out(const wire::FourTuple& key, Instant at) {
    if (Track* t = find(key); t != nullptr && t->result.outcome == observe::Outcome::pending) {
      t->result.outcome = observe::Outcome::timed_out;
      t->result.ended_at = at;
    }
  }

  Track* find(const wire::FourTuple& key) {
    for (auto& t : tracks_) {
      if (t.key == key) return &t;
    }
    return nullptr;
  }
  std::vector<Track>& tracks() { return tracks_; }

 private:
  std::vector<Track> tracks_;  // few: the demo's own connections
};

}  // namespace synack::cli::demo
