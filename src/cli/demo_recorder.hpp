// `synack demo`'s record of its connections: every segment the Stack's observer reports, filed by
// connection into the one per-connection tracker (observe/tracker.hpp) and kept as the simulator's
// ConnectionResult (so the tour prints the simulator's ladder and JSON).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "synack/observe/tracker.hpp"
#include "synack/sim/trace.hpp"
#include "synack/stack/stack.hpp"
#include "synack/time.hpp"

namespace synack::cli::demo {

struct Track {
  wire::FourTuple key;  ///< as the stack sees it (local = synack)
  bool synack_is_client = false;
  std::string title;
  sim::ConnectionResult result;  ///< the tracker's view, and up to 64 segments
  observe::ConnectionTracker tracker;
  bool printed = false;
};

class Recorder {
 public:
  /// Files one segment the Stack's observer saw under its connection (a new one starts at a SYN).
  void observe(const stack::SegmentRecord& r);

  /// The client's stack gave up on `key`'s SYNs (no answer is visible on the wire).
  void timed_out(const wire::FourTuple& key, Instant at);

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
