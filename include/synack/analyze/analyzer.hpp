/// @file
/// The capture analyzer: a streaming reconstruction of every TCP handshake in a sequence of captured IP
/// datagrams. Feed it frame by frame (add_datagram / add_frame), then call finish() for the results.
///
/// Memory is bounded by the number of open handshakes: a flow table keyed by the connection's 4-tuple
/// (and the client's ISN, so a reused port is a new connection) holds only flows still in their
/// handshake, plus a small tombstone per recently finished tuple; finished handshakes become small
/// ConnectionReport records. Per-segment detail (for ladders and SVGs) is kept only for the connections
/// AnalyzerConfig asks for. The analyzer never prints and never reads a clock: time is the capture's.
/// Outcome and anomaly rules: docs/analyze.md.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "synack/observe/handshake.hpp"
#include "synack/wire/bytes.hpp"
#include "synack/wire/ip_address.hpp"
#include "synack/wire/tcp.hpp"

namespace synack::analyze {

/// Capture time: nanoseconds since the Unix epoch (the same unit as capture::Timestamp).
using Timestamp = std::chrono::nanoseconds;

/// A value read from a SYN's options: known, absent, or unknown (the capture's snaplen cut the options).
template <typename T>
struct Offered {
  bool unknown = false;    ///< the value could not be read (options cut by the snaplen)
  std::optional<T> value;  ///< meaningful only when !unknown
};

/// What one side put in its SYN (or SYN-ACK), as the capture holds it (observe::Offer once readable).
struct OfferedOptions {
  bool seen = false;     ///< this side's SYN / SYN-ACK was captured
  bool unknown = false;  ///< its options were cut off by the snaplen: every field below is unknown
  std::optional<std::uint16_t> mss;         ///< MSS offered, in bytes
  std::optional<std::uint8_t> wscale;       ///< as sent (may exceed 14)
  bool sack_permitted = false;              ///< SACK-permitted offered
  bool timestamps = false;                  ///< Timestamps offered
  std::uint32_t tsval = 0;                  ///< TSval of the SYN / SYN-ACK when timestamps
  bool fast_open = false;                   ///< a Fast Open option (cookie or cookie request)
  std::uint8_t fast_open_cookie_bytes = 0;  ///< the Fast Open cookie's length (0: a cookie request)
  bool ecn = false;           ///< ECN setup: ECE+CWR on a SYN, ECE on a SYN-ACK (RFC 3168 §6.1.1)
  bool accurate_ecn = false;  ///< AE+CWR+ECE on a SYN (AccECN)
};

/// Which way a segment travelled, relative to the connection's client: the observation layer's one type.
using observe::Direction;

/// One captured segment of a recorded connection (for ladders and SVGs).
struct SegmentRecord {
  Timestamp time{};                            ///< capture time
  Direction direction = Direction::to_server;  ///< client to server, or back
  wire::TcpFlags flags;                        ///< the TCP flags
  std::uint32_t seq = 0;                       ///< absolute
  std::uint32_t ack = 0;                       ///< absolute
  std::uint16_t window = 0;                    ///< the window field as sent (unscaled)
  std::uint32_t payload_length = 0;    ///< from the IP header's length (the capture may hold fewer bytes)
  bool options_unknown = false;        ///< snaplen cut the options
  std::optional<std::uint16_t> mss;    ///< MSS option, when present
  std::optional<std::uint8_t> wscale;  ///< window-scale option, when present
  bool sack_permitted = false;         ///< SACK-permitted option present
  std::uint8_t sack_blocks = 0;        ///< SACK blocks carried
  std::optional<wire::Timestamps> timestamps;  ///< Timestamps option, when present
  bool fast_open = false;                      ///< Fast Open option present
  std::uint8_t fast_open_cookie_bytes = 0;     ///< its cookie's length (0: a cookie request)
  std::uint8_t ip_ecn = 0;  ///< the IP header's ECN field (RFC 3168 §5: 1 ECT(1), 2 ECT(0), 3 CE)
};

/// ECN at work in one direction of a connection (RFC 3168): the IP ECN codepoints its packets carried and
/// the TCP ECE / CWR flags on its segments after the SYNs.
struct EcnCounts {
  std::uint64_t ect0 = 0;  ///< packets marked ECT(0)
  std::uint64_t ect1 = 0;  ///< packets marked ECT(1)
  std::uint64_t ce = 0;   ///< packets marked CE (Congestion Experienced: a router marked instead of dropping)
  std::uint64_t ece = 0;  ///< segments other than SYN / SYN-ACK with ECE (the receiver echoing CE)
  std::uint64_t cwr = 0;  ///< segments other than SYN / SYN-ACK with CWR (the sender reduced its window)
  /// Field by field.
  friend constexpr bool operator==(const EcnCounts&, const EcnCounts&) noexcept = default;
};

/// Why a connection has its outcome, in a sentence ("RST/ACK from the server 0.031 ms after the SYN"). An
/// established handshake's sentence is one duration in fixed words ("SYN, SYN-ACK and ACK in 1.234 ms"),
/// and most of a capture's connections have it: that one is kept as the duration and its text is written
/// only when read (text(), append_to()), so that a capture of a million handshakes does not allocate a
/// million sentences that a text report never prints.
class Reason {
 public:
  Reason() = default;
  /// A sentence given as text.
  Reason(std::string text) noexcept : text_(std::move(text)) {}  // NOLINT(google-explicit-constructor)
  /// @copydoc Reason(std::string)
  Reason(const char* text) : text_(text) {}  // NOLINT(google-explicit-constructor)
  /// "SYN, SYN-ACK and ACK in D ms": `d` from the first SYN to the final ACK, written to 3 decimals.
  [[nodiscard]] static Reason established_in(std::chrono::nanoseconds d) noexcept;

  /// The sentence.
  [[nodiscard]] std::string text() const;
  /// Appends the sentence to `out`.
  void append_to(std::string& out) const;
  /// Adds a clause to the end of the sentence ("; 5 bytes of data on the SYN …").
  Reason& operator+=(std::string_view clause);
  /// True when there is no sentence.
  [[nodiscard]] bool empty() const noexcept { return !established_in_ && text_.empty(); }
  /// The same sentence.
  friend bool operator==(const Reason& a, const Reason& b) { return a.text() == b.text(); }

 private:
  std::optional<std::chrono::nanoseconds> established_in_;  ///< set: the established sentence, then text_
  std::string text_;  ///< the sentence, or what follows the established sentence's words
};

/// Everything the analyzer concluded about one connection.
struct ConnectionReport {
  std::uint64_t number = 0;  ///< 1-based, in order of the connection's first captured packet
  wire::Endpoint client;     ///< the side that sent the first SYN
  wire::Endpoint server;     ///< the side the SYN was sent to
  /// established, refused, timed_out, reset, simultaneous_open or incomplete (observe/handshake.hpp).
  observe::Outcome outcome = observe::Outcome::timed_out;
  Reason reason;  ///< why this outcome, in a sentence ("RST/ACK from the server 0.031 ms after the SYN")
  std::vector<std::string>
      anomalies;  ///< oddities seen (e.g. "timestamps dropped"), one sentence each; rules in docs/analyze.md
  Timestamp first_packet{};               ///< the first packet of this connection the capture holds
  std::optional<Timestamp> first_syn;     ///< the client's first SYN
  std::optional<Timestamp> first_synack;  ///< the server's first SYN-ACK
  std::optional<Timestamp> final_ack;     ///< the packet that completed the handshake
  std::uint32_t syn_retransmits = 0;      ///< SYNs the client sent again
  std::uint32_t synack_retransmits = 0;   ///< SYN-ACKs the server sent again
  /// Refused connections: the same SYN sent again after the server's RST (Windows retries a refused port,
  /// 0.5 s apart), each answered or not; not counted in syn_retransmits.
  std::uint32_t syn_retries_after_refusal = 0;
  std::optional<double> syn_to_synack_ms;   ///< last SYN before the first SYN-ACK → that SYN-ACK
  std::optional<double> synack_to_ack_ms;   ///< last SYN-ACK before the final ACK → the final ACK
  std::optional<double> establish_ms;       ///< first SYN → final ACK
  std::optional<std::uint32_t> client_isn;  ///< the client's ISN, when its SYN was captured
  std::optional<std::uint32_t> server_isn;  ///< the server's ISN, when its SYN-ACK was captured
  OfferedOptions client_offered;            ///< what the client's SYN offered
  OfferedOptions server_offered;            ///< what the server's SYN-ACK offered
  /// The readable offers (nullopt when not seen or cut by the snaplen) and what both agreed (observe::agree).
  observe::Negotiated negotiated;
  std::uint64_t packets = 0;  ///< packets of this connection seen while it was tracked
  /// The connection before this one on the same 4-tuple (a new SYN with a new ISN: a new attempt, or the
  /// port reused), by number; nullopt for the first.
  std::optional<std::uint64_t> previous_attempt;
  std::uint32_t syn_data_bytes = 0;  ///< payload on the client's SYN (TCP Fast Open, RFC 7413)
  /// Whether the SYN-ACK acknowledged the SYN's data (ack = ISN + 1 + bytes); nullopt without SYN data or
  /// SYN-ACK.
  std::optional<bool> syn_data_acknowledged;
  /// ECN at work, indexed by Direction (client to server, server to client): counted over every packet of
  /// the connection the capture holds, also after its report is final (a report already streamed by
  /// AnalyzerConfig::on_connection holds the counts up to then). Duplicate frames are not counted.
  std::array<EcnCounts, 2> ecn{};
  /// Segments in capture order, when this connection was recorded (see AnalyzerConfig).
  std::vector<SegmentRecord> segments;
  bool segments_truncated = false;  ///< more segments were seen than were kept
};

/// Limits and choices. The defaults suit captures of any size.
struct AnalyzerConfig {
  /// A handshake with no packet for this long (capture time) is finalised (e.g. as timeout).
  std::chrono::nanoseconds idle_timeout = std::chrono::seconds(300);
  /// Most flows (open handshakes + tombstones of finished ones) held at once; beyond it the least
  /// recently seen are finalised early.
  std::size_t max_flows = 1U << 20U;
  /// Packets watched after establishment (for "timestamps dropped") before the report is final.
  std::uint32_t post_handshake_packets = 6;
  /// A refused connection's report stays open this long (capture time) after the last RST or retried SYN,
  /// so that a client sending the same SYN again (Windows retries a refused port twice, 0.5 s apart) is
  /// counted in it (syn_retries_after_refusal) rather than lost.
  std::chrono::nanoseconds refused_retry_window = std::chrono::seconds(3);
  /// Record segments for these connection numbers (ladder / SVG) …
  std::vector<std::uint64_t> record_connections;
  /// … or for every connection (tests, small captures).
  bool record_all = false;
  /// Segments kept per recorded connection (`--ladder-limit`); a recorded connection is also watched after
  /// establishment for up to this many packets, so its ladder reaches the FIN exchange when it fits.
  std::size_t max_recorded_segments = 32;
  /// analyse_file() / analyse_capture(): asked between frames (every 4,096); true stops the reading there,
  /// with FileReport::Status::interrupted (e.g. on SIGINT).
  std::function<bool()> should_stop;
  /// Called with each connection's report as soon as it is final (its handshake concluded and the packets
  /// watched after it were seen, its flow went idle, or the input ended): in the order reports become
  /// final, not by number. The reports are still returned by finish().
  std::function<void(const ConnectionReport&)> on_connection;
  /// Live analysis (`synack analyze -i`): called as soon as a connection's outcome is known, with its
  /// report as it stands then — at the segment that decided it (established, refused, reset, simultaneous
  /// open, a late-start handshake completed), or, for one still waiting, once the waiting side's
  /// retransmission budget is spent (Analyzer::advance() or a later packet's capture time passing
  /// Handshake's deadline: twice the last retransmission gap, or verdict_initial_rto after a single SYN,
  /// plus a small grace). A connection told `timed_out` that then moves (a late retransmission or answer) is
  /// told again. `decided` is the capture time of the segment that decided it, or the time the waiting side
  /// gave up (its next retransmission was due). Costs nothing when unset.
  std::function<void(const ConnectionReport&, Timestamp decided)> on_verdict;
  /// A segment identical to its flow's previous one within this much capture time is a duplicate frame
  /// (PacketCounters::duplicates); no TCP re-sends a segment that fast (RFC 6298 §2.4: RTO ≥ 1 s; Linux 200
  /// ms).
  std::chrono::nanoseconds duplicate_window = std::chrono::milliseconds(5);
  /// The retransmission timeout assumed after a single SYN or SYN-ACK (RFC 6298 §2.1: 1 s).
  std::chrono::nanoseconds verdict_initial_rto = std::chrono::seconds(1);
};

/// Percentiles of one timing, in milliseconds; nullopt fields when no connection had the timing.
struct Distribution {
  std::size_t count = 0;  ///< connections that had this timing
  /// @{
  /// Nearest-rank percentiles and the maximum, in milliseconds.
  std::optional<double> p50, p90, p99, max;
  /// @}
};

/// A server endpoint that failed handshakes, with the count per failure verdict.
struct EndpointFailures {
  wire::Endpoint server;        ///< the server address and port
  std::uint64_t failures = 0;   ///< refused + timed_out + reset
  std::uint64_t refused = 0;    ///< connections refused
  std::uint64_t timed_out = 0;  ///< connections that timed out
  std::uint64_t reset = 0;      ///< connections reset during the handshake
};

/// A bucket of the establish-time histogram: [lower_ms, upper_ms).
struct HistogramBucket {
  double lower_ms = 0;      ///< the bucket's lower edge, milliseconds (inclusive)
  double upper_ms = 0;      ///< its upper edge, milliseconds (exclusive)
  std::uint64_t count = 0;  ///< connections that established within the bucket
};

/// The numbers over every connection of a capture.
struct Summary {
  std::array<std::uint64_t, observe::kAllOutcomes.size()> outcomes{};  ///< indexed by observe::Outcome
  Distribution syn_to_synack;                        ///< last SYN before the first SYN-ACK → that SYN-ACK
  Distribution synack_to_ack;                        ///< last SYN-ACK before the final ACK → the final ACK
  Distribution establish;                            ///< first SYN → final ACK
  std::vector<HistogramBucket> establish_histogram;  ///< log-scale buckets (empty when no timings)
  std::vector<EndpointFailures> top_failing;         ///< servers with the most failures, worst first
  /// Connections with outcome `o`.
  [[nodiscard]] std::uint64_t count(observe::Outcome o) const noexcept {
    return outcomes[static_cast<std::size_t>(o)];
  }
};

/// Counters for packets the analyzer could not use.
struct PacketCounters {
  std::uint64_t packets = 0;    ///< everything offered to the analyzer
  std::uint64_t tcp = 0;        ///< parsed as TCP
  std::uint64_t not_tcp = 0;    ///< not TCP, or not IP at all
  std::uint64_t malformed = 0;  ///< IP/TCP headers that did not parse
  std::uint64_t truncated = 0;  ///< cut by the snaplen (still used when the TCP header's first 20 bytes fit)
  std::uint64_t untracked = 0;  ///< TCP packets of no tracked handshake (mid-connection data, stray RSTs)
  std::uint64_t flows_evicted_early = 0;  ///< flows finalised because max_flows was reached
  /// Scanner probes, flag combinations no TCP sends on a connection (nmap's NULL, FIN, Xmas and SYN+FIN
  /// scans: no flags, FIN without ACK, FIN+PSH+URG, SYN with FIN): counted, never a handshake, no state kept.
  std::uint64_t probes = 0;
  /// Frames captured twice (a capture on both sides of a bridge, a mirror port): the same segment of a flow
  /// again within AnalyzerConfig::duplicate_window, with the same IPv4 Identification and TCP checksum (or,
  /// for IPv6, the same checksum, sequence, acknowledgment, flags, window and length). Skipped: a SYN
  /// captured twice is not a retransmission.
  std::uint64_t duplicates = 0;
};

/// Everything an analysis produced: the reports, their summary and the packet counters.
struct AnalysisResult {
  std::vector<ConnectionReport> connections;  ///< ordered by number
  Summary summary;                            ///< the numbers over all connections
  PacketCounters counters;                    ///< what was offered and what could not be used
};

/// Percentiles (nearest rank) of `values`; sorts its argument.
[[nodiscard]] Distribution distribution_of(std::vector<double>& values);
/// Summary of a set of connection reports (outcome counts, distributions, histogram, top failing).
[[nodiscard]] Summary summarize(const std::vector<ConnectionReport>& connections, std::size_t top = 10);

class FlowTable;

/// Streaming handshake reconstruction. Not thread-safe; movable.
class Analyzer {
 public:
  /// An analyzer with no flows; memory grows only with the open handshakes.
  explicit Analyzer(AnalyzerConfig config = {});
  /// @{
  /// Takes over `other`'s flows; `other` may only be destroyed or assigned.
  Analyzer(Analyzer&&) noexcept;
  Analyzer& operator=(Analyzer&&) noexcept;
  /// @}
  Analyzer(const Analyzer&) = delete;
  Analyzer& operator=(const Analyzer&) = delete;
  ~Analyzer();

  /// One captured IP datagram (IPv4 or IPv6). `cut_short` says the capture's snaplen cut it (caplen <
  /// origlen): headers that end early are then read as far as they go, and options past the cut are
  /// "unknown". Checksums are not verified (captures often hold offloaded, unfilled checksums).
  void add_datagram(Timestamp time, wire::Bytes datagram, bool cut_short = false);
  /// One captured frame of pcap link type `linktype`; decapsulated, then add_datagram().
  void add_frame(std::uint32_t linktype, Timestamp time, wire::Bytes frame, std::uint32_t original_length);

  /// Tells (AnalyzerConfig::on_verdict) every pending handshake whose deadline is at or before `now`: for
  /// a live capture, called with the wall clock when no packet comes. Never finalises a report, so the
  /// reports finish() returns are those of the same packets read from a file.
  void advance(Timestamp now);

  /// A hint, given once: `share_read` (0 < share ≤ 1) of the input has been added so far (analyse_file():
  /// the file's bytes). The flow table makes room for the connections and flows the whole input will then
  /// likely hold (those so far, scaled up, an eighth more), so that its reports are written once, in their
  /// final place, instead of moved as storage grows. Only memory written is faulted in: a high estimate
  /// costs address space only, a low one what no hint costs. Results are the same with or without it.
  void expect(double share_read);

  /// What was offered and what could not be used, so far.
  [[nodiscard]] const PacketCounters& counters() const noexcept;
  /// Handshakes currently held in the flow table (open ones and tombstones).
  [[nodiscard]] std::size_t open_flows() const noexcept;

  /// Finalises every open handshake and returns all reports with their summary. The analyzer is empty
  /// afterwards.
  [[nodiscard]] AnalysisResult finish(std::size_t top_failing = 10);

 private:
  std::unique_ptr<FlowTable> table_;
};

}  // namespace synack::analyze
