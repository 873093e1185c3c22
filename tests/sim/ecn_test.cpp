// ECN at work in the simulator: the same bottleneck (10 Mbit/s, 10 ms each way, a step AQM at 5 ms of
// queue) carrying one 256 KiB transfer, once with ECN (the AQM marks CE) and once without (the AQM drops).
// Prints the comparison BENCHMARKS.md quotes; asserts only what must hold whatever the timing.
#include <cstdio>
#include <optional>

#include <gtest/gtest.h>

#include "synack/sim/simulation.hpp"

namespace synack::sim {
namespace {

using namespace std::chrono_literals;

struct Outcome {
  std::uint64_t data_segments = 0;
  std::uint64_t marked = 0;
  std::uint64_t dropped = 0;
  std::uint32_t retransmits = 0;
  double seconds = 0;
  bool ecn = false;
  std::optional<Instant> first;  ///< the first data segment sent
  std::optional<Instant> last;   ///< the last data segment's arrival
};

Outcome bulk(tcp::EcnMode client_ecn, std::uint32_t bytes) {
  SimConfig c;
  c.scenario = "ecn-bulk";
  c.client.ecn = client_ecn;
  c.to_server.delay = c.to_client.delay = 10ms;
  c.to_server.bandwidth_bps = 10'000'000;
  c.to_server.aqm_threshold = 5ms;
  c.request_bytes = bytes;
  Outcome o;
  SimObserver obs;
  obs.on_segment = [&o](std::uint32_t, const SegmentTrace& s) {
    if (s.dir != Direction::to_server || s.payload_len == 0) return;
    ++o.data_segments;
    if (!o.first) o.first = s.at;
    if (s.arrival && (!o.last || *o.last < *s.arrival)) o.last = s.arrival;
    if (s.fate == Fate::marked) ++o.marked;
    if (s.fate == Fate::dropped) ++o.dropped;
  };
  const RunResult r = run(c, obs);
  EXPECT_FALSE(r.hit_time_cap);
  EXPECT_EQ(r.connections.size(), 1U);
  if (r.connections.empty()) return o;
  const ConnectionResult& conn = r.connections[0];
  EXPECT_EQ(conn.outcome, observe::Outcome::established);
  o.retransmits = conn.data_retransmits;
  o.ecn = conn.negotiated.agreed && conn.negotiated.agreed->ecn;
  if (o.first && o.last) o.seconds = static_cast<double>((*o.last - *o.first).count()) / 1e9;
  return o;
}

TEST(SimEcn, BulkThroughAqm_MarksInsteadOfDrops) {
  constexpr std::uint32_t kBytes = 256 * 1024;  // one send buffer: the simulator's client sends it once
  const Outcome mark = bulk(tcp::EcnMode::on, kBytes);
  const Outcome drop = bulk(tcp::EcnMode::off, kBytes);
  for (const auto& [name, o] : {std::pair{"ecn on ", mark}, std::pair{"ecn off", drop}}) {
    std::printf("[ %s ] data segments %llu, CE-marked %llu, dropped %llu, retransmitted %u, %.3f s virtual\n",
                name, static_cast<unsigned long long>(o.data_segments),
                static_cast<unsigned long long>(o.marked), static_cast<unsigned long long>(o.dropped),
                o.retransmits, o.seconds);
  }
  EXPECT_TRUE(mark.ecn);
  EXPECT_GT(mark.marked, 0U);
  EXPECT_EQ(mark.dropped, 0U);
  EXPECT_EQ(mark.retransmits, 0U);  // the congestion signal cost no data
  EXPECT_FALSE(drop.ecn);
  EXPECT_EQ(drop.marked, 0U);
  EXPECT_GT(drop.dropped, 0U);
  EXPECT_GT(drop.retransmits, 0U);
}

}  // namespace
}  // namespace synack::sim
