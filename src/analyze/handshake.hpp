// One connection's handshake as the analyzer reports it: the observation layer's tracker
// (observe::ConnectionTracker: ISNs, offers, the agreement, retransmissions, the outcome the wire shows)
// fed segment by segment, with what only a capture report adds on top — the report's timings and reason
// sentences, the anomalies, the segments recorded for ladders, a few packets watched after the handshake
// (timestamps dropped?), the watch for a refused client's retries, and the live verdict's deadline. The
// rules are docs/analyze.md's; the flow table (flow_table.hpp) decides which handshake a segment belongs to.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

#include "format.hpp"
#include "segment.hpp"
#include "synack/analyze/analyzer.hpp"
#include "synack/observe/tracker.hpp"

namespace synack::analyze::detail {

class Handshake {
 public:
  struct Limits {
    std::uint32_t post_handshake_packets = 6;
    std::size_t max_segments = 0;  ///< 0: do not record segments
  };

  /// What started a handshake: the client's SYN, or a SYN-ACK for an unknown tuple (the capture missed the
  /// SYN).
  enum class Start : std::uint8_t { syn, synack };
  /// A tracker started by `first` (built in its place in the flow table's pool: a handshake is ~900 bytes).
  Handshake(Start start, std::uint64_t number, Timestamp time, const DecodedSegment& first, Limits limits);
  /// A report for a connection first seen as a bare ACK (capture began mid-connection).
  static ConnectionReport incomplete_from_ack(std::uint64_t number, Timestamp time, const DecodedSegment& ack,
                                              bool recording);

  /// Feeds one segment of this connection. Returns true once the verdict is final.
  bool on_segment(Timestamp time, const DecodedSegment& segment);
  [[nodiscard]] const wire::Endpoint& client() const noexcept { return report_.client; }
  [[nodiscard]] std::uint32_t client_isn() const noexcept { return report_.client_isn.value_or(0); }
  /// True while the client has sent nothing but its SYN(s) (a new ISN is then a new attempt).
  [[nodiscard]] bool awaiting_answer() const noexcept { return tracker_.awaiting_answer(); }
  /// Refused, and still watching for the same SYN again (the flow table ends the watch after a grace).
  [[nodiscard]] bool watching_retries() const noexcept {
    return !closed_ && tracker_.handshake_outcome() == observe::Outcome::refused;
  }

  /// The report being built (the flow table counts ECN marks into it).
  [[nodiscard]] ConnectionReport& report_in_progress() noexcept { return report_; }

  /// Closes the handshake (end of capture, idle, eviction) and moves its report into `into` (the report's
  /// place: one move, not a return and an assignment).
  void finalise(ConnectionReport& into);

  /// Links this connection to the one before it on the same 4-tuple, with a sentence for its anomalies
  /// (none when empty).
  void link_previous(std::uint64_t previous, std::string anomaly);

  // ---- Live verdicts (AnalyzerConfig::on_verdict) ----
  [[nodiscard]] std::uint64_t number() const noexcept { return report_.number; }
  /// True once a segment decided the outcome (established, refused, reset, simultaneous open, or a
  /// late-start handshake completed); a pending handshake is decided by its deadline instead.
  [[nodiscard]] bool verdict_known() const noexcept {
    return closed_ || tracker_.handshake_outcome() != observe::Outcome::pending;
  }
  /// When the side still waiting has given up: the time its next retransmission was due (twice the last
  /// gap between its retransmissions, or `initial_rto` after a first SYN / SYN-ACK: RFC 6298 §5.5's backoff
  /// from §2.1's initial RTO), plus a grace of 1/32 of that interval and 20 ms for a late timer.
  [[nodiscard]] Timestamp verdict_deadline(std::chrono::nanoseconds initial_rto) const noexcept;
  /// When the waiting side gave up: its next retransmission was due then and did not come.
  [[nodiscard]] Timestamp gave_up_at(std::chrono::nanoseconds initial_rto) const noexcept;
  /// The report as finalise() would give it now, leaving this handshake open.
  [[nodiscard]] ConnectionReport snapshot() const;
  /// How far the verdict was told: not yet, on a deadline (still pending: told again if it moves), final.
  enum class Told : std::uint8_t { no, by_deadline, final };
  Told told = Told::no;       ///< kept by the flow table
  Timestamp told_deadline{};  ///< the deadline a by_deadline verdict was told at
  bool armed = false;         ///< the flow table holds a deadline entry for it

 private:
  Handshake(std::uint64_t number, Limits limits, Timestamp time, wire::IpVersion version);
  void record(Timestamp time, const DecodedSegment& segment, Direction direction);
  /// Feeds the tracker and takes what the segment decided into the report.
  void track(Timestamp time, const DecodedSegment& segment, Direction direction);
  void take_answer(Timestamp time, const DecodedSegment& segment);
  void take_verdict(Timestamp time);
  void take_reset(Timestamp time);
  void check_timestamps(Timestamp time, const DecodedSegment& segment, Direction direction);
  void close(observe::Outcome outcome, std::string reason);
  bool on_after_refusal(Timestamp time, const DecodedSegment& segment, Direction direction);
  void conclude_pending();
  [[nodiscard]] std::chrono::nanoseconds retransmission_interval(
      std::chrono::nanoseconds initial_rto) const noexcept;

  observe::ConnectionTracker tracker_;
  ConnectionReport report_;
  Limits limits_;
  std::uint32_t post_packets_ = 0;
  bool closed_ = false;  ///< the verdict is final and nothing more is watched
  bool ts_drop_reported_ = false;
  bool recording_ = false;
};

/// Fills report.negotiated's anomalies (one-sided window scale, missing MSS, window scale above 14, SYN
/// cookie likely); report.negotiated itself is the tracker's.
void conclude_options(ConnectionReport& report);

}  // namespace synack::analyze::detail
