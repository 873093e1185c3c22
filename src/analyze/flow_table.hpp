// The analyzer's flow table: canonical 4-tuple → the handshake in progress (or a tombstone for a tuple
// whose handshake is finished, so its later packets allocate nothing). The map is flat (flat_map.hpp) and
// the handshakes live in a pool whose slots are reused, so a connection allocates no node of its own.
// Bounded: idle flows are finalised after AnalyzerConfig::idle_timeout of capture time, and the least
// recently seen when max_flows is hit.
#pragma once

#include <bit>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <queue>
#include <vector>

#include "flat_map.hpp"
#include "handshake.hpp"
#include "report_store.hpp"
#include "segment.hpp"
#include "synack/analyze/analyzer.hpp"

namespace synack::analyze {

class FlowTable {
 public:
  explicit FlowTable(AnalyzerConfig config);

  void add(Timestamp time, wire::Bytes datagram, bool cut_short);
  /// A frame with no IP datagram inside: malformed (a cut link header) or not TCP at all.
  void count_unusable(bool malformed) noexcept {
    ++counters_.packets;
    ++(malformed ? counters_.malformed : counters_.not_tcp);
  }
  [[nodiscard]] const PacketCounters& counters() const noexcept { return counters_; }
  [[nodiscard]] std::size_t size() const noexcept { return flows_.size(); }
  [[nodiscard]] AnalysisResult finish(std::size_t top_failing);
  /// Analyzer::expect().
  void expect(double share_read);
  /// Tells the pending handshakes whose verdict deadline is at or before `now` (live analysis).
  void check_deadlines(Timestamp now);

 private:
  struct Key {
    wire::Endpoint a;  // the lesser endpoint
    wire::Endpoint b;
    friend bool operator==(const Key&, const Key&) noexcept = default;
  };
  /// Two multiply-xorshift rounds over the tuple folded into two words (an IPv4 tuple's addresses fill the
  /// first exactly, its ports and families the second): a third of wire::hash_value's work on every packet.
  /// Unkeyed, as wire::hash_value was here with seed 0.
  struct KeyHash {
    std::size_t operator()(const Key& k) const noexcept {
      const auto x = k.a.address.words();
      const auto y = k.b.address.words();
      const std::uint64_t ports = (static_cast<std::uint64_t>(k.a.port) << 16U) | k.b.port |
                                  (static_cast<std::uint64_t>(k.a.address.version()) << 32U) |
                                  (static_cast<std::uint64_t>(k.b.address.version()) << 40U);
      std::uint64_t h = (x[0] ^ std::rotl(y[0], 32)) * 0x9E3779B97F4A7C15ULL;
      h = (h ^ (h >> 32U) ^ x[1] ^ std::rotl(y[1], 32) ^ ports) * 0xBF58476D1CE4E5B9ULL;
      return h ^ (h >> 32U);
    }
  };
  struct Flow {
    std::uint32_t handshake = kNoHandshake;  ///< its place in pool_; kNoHandshake: a tombstone
    Timestamp last_seen{};
    std::uint32_t client_isn = 0;
    bool has_client_isn = false;
    bool was_established = false;    ///< the last connection of this tuple was established
    std::uint64_t number = 0;        ///< the last connection of this tuple (0: none)
    std::size_t report = kNoReport;  ///< the last connection's report in done_, once final
    std::uint64_t last_print = 0;    ///< the last segment's fingerprint (duplicate frames)
    Timestamp last_print_time{};
  };

  static constexpr std::uint32_t kNoHandshake = ~std::uint32_t{0};
  /// The flow's handshake in the pool, or nullptr for a tombstone.
  [[nodiscard]] detail::Handshake* handshake_of(const Flow& flow) noexcept {
    return flow.handshake == kNoHandshake ? nullptr : &*pool_[flow.handshake];
  }
  /// Starts connection `number`'s handshake with `first` in a free slot of the pool (reusing a retired one,
  /// built in place) and gives it to `flow`.
  detail::Handshake& adopt(Flow& flow, detail::Handshake::Start start, std::uint64_t number, Timestamp time,
                           const detail::DecodedSegment& first);

  void on_segment(Timestamp time, const detail::DecodedSegment& segment);
  bool is_duplicate(Flow& flow, Timestamp time, const detail::DecodedSegment& segment) noexcept;
  void link_previous(Flow& flow, std::uint64_t previous, bool was_pending, bool was_established,
                     std::chrono::nanoseconds since, const detail::DecodedSegment& syn);
  void start(const Key& key, Flow& flow, Timestamp time, const detail::DecodedSegment& segment);
  static constexpr std::size_t kNoReport = ~std::size_t{0};
  /// Adds a final report; returns its place in done_.
  std::size_t emit(ConnectionReport report);
  /// Where connection `number`'s report goes in done_ (number - 1), made room for.
  ConnectionReport& place_of(std::uint64_t number);
  /// Counts the segment's ECN marks into the report of its flow's connection (open or final).
  void count_ecn(const Flow& flow, const detail::DecodedSegment& segment) noexcept;
  void retire(Flow& flow, Timestamp when);
  void sweep(Timestamp now);
  void expire_refused(Timestamp now);
  [[nodiscard]] detail::Handshake::Limits limits_for(std::uint64_t number) const;
  void tell_after_segment(const Key& key, detail::Handshake& handshake, Timestamp time);
  void tell_final(detail::Handshake& handshake, const ConnectionReport& report, Timestamp when);

  /// A pending handshake's verdict deadline (live analysis only), checked lazily: a handshake whose
  /// deadline moved is put back with the new one.
  struct Deadline {
    Timestamp when;
    Key key;
    std::uint64_t number;
    friend bool operator>(const Deadline& a, const Deadline& b) noexcept { return a.when > b.when; }
  };

  AnalyzerConfig config_;
  detail::FlatMap<Key, Flow, KeyHash> flows_;
  /// The open handshakes, and retired slots to reuse. A deque: growing never moves a handshake, and its
  /// blocks come from the heap, not from fresh pages. Optional: a slot is emplaced (built in place, and left
  /// empty, not half-built, should building throw).
  std::deque<std::optional<detail::Handshake>> pool_;
  std::vector<std::uint32_t> free_;  ///< retired slots of pool_
  detail::ReportStore done_;         ///< final reports by place (number - 1)
  PacketCounters counters_;
  std::uint64_t next_number_ = 1;
  /// Flows whose handshake was refused and is watching for retries, with when they entered the list, in
  /// that order: each is retired once refused_retry_window has passed since its last packet.
  std::deque<std::pair<Key, Timestamp>> refused_;
  std::priority_queue<Deadline, std::vector<Deadline>, std::greater<>> deadlines_;
  detail::DecodedSegment segment_;  ///< the packet being read (add())
  Timestamp now_{};
  Timestamp last_sweep_{};
  bool started_ = false;
};

}  // namespace synack::analyze
