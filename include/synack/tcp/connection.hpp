/// @file
/// One TCP connection: the transmission control block and its state machine (RFC 9293 §3.10), sans-I/O.
///
/// Inputs are values: on_segment(now, header, payload), user calls, on_timeout(now). Outputs are values:
/// poll_transmit(now) hands out the next segment to send (its payload a view into the send buffer, valid
/// until the next call on this connection), take_events() the events since the last call, and
/// next_deadline() when on_timeout must be called. Nothing here reads a clock or draws randomness.
///
/// A connection starts either in SYN-SENT (open_active) or ESTABLISHED (open_passive, built by the
/// listener from a completed half-open entry — LISTEN and the passive SYN-RECEIVED live in listener.hpp).
/// A SYN-SENT connection that receives a SYN without ACK moves to SYN-RECEIVED (simultaneous open).
///
/// Code map: connection.cpp (construction, user calls, events), connection_input.cpp (segment
/// arrival, §3.10.7), connection_output.cpp (what to send), connection_timers.cpp (RTO, persist,
/// FIN-WAIT-2, TIME-WAIT).
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <expected>
#include <memory>
#include <optional>
#include <system_error>

#include "synack/tcp/buffer_pool.hpp"
#include "synack/tcp/config.hpp"
#include "synack/tcp/congestion.hpp"
#include "synack/tcp/connection_info.hpp"
#include "synack/tcp/error.hpp"
#include "synack/tcp/fast_open.hpp"
#include "synack/tcp/options.hpp"
#include "synack/tcp/recv_buffer.hpp"
#include "synack/tcp/rtt.hpp"
#include "synack/tcp/sack_scoreboard.hpp"
#include "synack/tcp/send_buffer.hpp"
#include "synack/tcp/state.hpp"
#include "synack/tcp/time_wait.hpp"
#include "synack/tcp/timer_table.hpp"
#include "synack/tcp/transition.hpp"
#include "synack/time.hpp"
#include "synack/wire/ip_address.hpp"
#include "synack/wire/seq.hpp"
#include "synack/wire/tcp.hpp"

namespace synack::tcp {

/// A segment to send: the header (checksum left to the emitter) and a payload view.
struct Outgoing {
  wire::SendHeader header;  ///< the header; its options and flags final, its checksum computed on emission
  wire::Bytes
      payload;  ///< the payload: a view into the send buffer, valid until the next call on the connection
  /// The IP header's ECN field for this segment: ECT(0) on new data while ECN is in use, else Not-ECT
  /// (RFC 3168 §6.1.4-5: never on SYNs, pure ACKs, retransmissions or window probes).
  std::uint8_t ecn = 0;
};

/// The IP ECN codepoints (RFC 3168 §5).
namespace ecn {
inline constexpr std::uint8_t kNotEct = 0b00;  ///< not ECN-capable transport
inline constexpr std::uint8_t kEct1 = 0b01;    ///< ECN-capable, codepoint 1
inline constexpr std::uint8_t kEct0 = 0b10;    ///< ECN-capable, codepoint 0 (what RFC 3168 senders set)
inline constexpr std::uint8_t kCe = 0b11;      ///< congestion experienced (set by a router)
}  // namespace ecn

/// Event bits returned by Connection::take_events().
namespace event {
inline constexpr std::uint8_t kEstablished = 0x01;  ///< reached ESTABLISHED (once per connection)
inline constexpr std::uint8_t kReadable = 0x02;     ///< new in-order bytes (or EOF) to read
inline constexpr std::uint8_t kWritable = 0x04;     ///< send-buffer space opened
inline constexpr std::uint8_t kPeerClosed = 0x08;   ///< the peer's FIN arrived in order
inline constexpr std::uint8_t kClosed = 0x10;       ///< reached CLOSED normally (after TIME-WAIT or LAST-ACK)
inline constexpr std::uint8_t kError = 0x20;        ///< reached CLOSED on error(): refused/reset/timed_out
}  // namespace event

/// Facts a passive open carries from its half-open entry into the connection.
struct PassiveOpen {
  wire::FourTuple tuple;          ///< local = our side
  wire::SeqNum iss;               ///< our ISN
  wire::SeqNum irs;               ///< the peer's ISN
  Negotiated negotiated;          ///< the options in effect
  std::uint32_t ts_offset = 0;    ///< our timestamp offset for this tuple (IsnGenerator::timestamp_offset)
  std::uint32_t ts_recent = 0;    ///< TS.Recent: the peer's latest TSval
  std::uint32_t peer_window = 0;  ///< window field of the final ACK (scaled by negotiated.snd_shift)
  Instant syn_received_at;        ///< when the SYN arrived (our SYN-ACK went out then)
  std::uint32_t synack_retransmits = 0;  ///< SYN-ACK retransmissions while half-open (for ConnectionInfo)
  /// Whether syn_received_at times the handshake (false for a SYN cookie without timestamps: no RTT
  /// sample, the RTO stays initial_rto).
  bool rtt_sample = true;
  /// AccECN (negotiated.accecn): s.cep as the final ACK's ACE sets it (RFC 9768 Table 4; 0 = no response
  /// to the feedback, and negotiated.ecn false: no ECT).
  std::uint8_t accecn_s_cep = 5;
};

/// What a connection dropped or answered specially, for the Stack's totals (cheap: four loads).
struct ConnectionCounters {
  std::uint32_t challenge_acks_sent = 0;        ///< RFC 5961 challenge ACKs (and throttled dup ACKs) sent
  std::uint32_t challenge_acks_suppressed = 0;  ///< the same, held back by the rate limit (RFC 5961 §7)
  std::uint32_t out_of_window = 0;              ///< segments failing the sequence test, PAWS excluded
  std::uint32_t paws_rejected = 0;              ///< segments failing PAWS (RFC 7323 §5.3)
};

/// One TCP connection (see the file comment). Built by open_active, open_passive or from_time_wait, then
/// driven with segments and `now`; move-only. Keeps a pointer to its Config, which must outlive it; buffer
/// memory comes from Config::buffer_pool.
class Connection {
 public:
  /// Active open (RFC 9293 §3.10.1): CLOSED -> SYN-SENT; the SYN is ready for poll_transmit.
  [[nodiscard]] static Connection open_active(const Config& config, const wire::FourTuple& tuple,
                                              const Offer& offer, wire::SeqNum iss, std::uint32_t ts_offset,
                                              Instant now);
  /// Passive open completed by the listener: the connection starts in ESTABLISHED.
  [[nodiscard]] static Connection open_passive(const Config& config, const PassiveOpen& open, Instant now);
  /// RFC 7413 §4.2.2: a SYN with a valid Fast Open cookie and data. The connection starts in SYN-RECEIVED
  /// with `syn_data` readable at once and its SYN-ACK (acknowledging SYN and data) ready; it may send
  /// before the final ACK. `open` is the listener's passive_open() with the SYN as the segment.
  [[nodiscard]] static Connection open_fast_open(const Config& config, PassiveOpen open, wire::Bytes syn_data,
                                                 Instant now);
  /// RFC 7413 §4.2.1, client: before the first SYN leaves, makes it carry `option` (a cookie, or a cookie
  /// request when empty) and the first `syn_data` bytes of the send buffer (0 with a request).
  void use_fast_open(const wire::FastOpenCookie& option, std::uint32_t syn_data);
  /// The Fast Open state; null for a connection that does not use Fast Open.
  [[nodiscard]] const FastOpenState* fast_open() const noexcept { return buffers_->fast_open.get(); }
  /// A connection in TIME-WAIT rebuilt from its compact record, to process a segment that reached it
  /// (`ts_offset` as the connection had it: IsnGenerator::timestamp_offset of the tuple).
  [[nodiscard]] static Connection from_time_wait(const Config& config, const TimeWaitRecord& record,
                                                 std::uint32_t ts_offset, Instant now);

  /// @{
  /// Moves the whole control block; the moved-from connection may only be destroyed or assigned.
  Connection(Connection&&) noexcept = default;
  Connection& operator=(Connection&&) noexcept = default;
  /// @}
  ~Connection() = default;

  // --- engine inputs -----------------------------------------------------------------------------
  /// A segment for this connection's 4-tuple (already checksummed and parsed).
  void on_segment(Instant now, const wire::TcpHeader& header, wire::Bytes payload, std::uint8_t ip_ecn = 0);
  /// Fires the timers that are due at `now`.
  void on_timeout(Instant now);

  // --- engine outputs ----------------------------------------------------------------------------
  /// The next segment to send, or nullopt when there is nothing. Call until nullopt.
  [[nodiscard]] std::optional<Outgoing> poll_transmit(Instant now);
  /// The same into `out`, which must be freshly constructed (the Stack's form: the segment is built in
  /// place, not copied into an optional); false, `out` untouched, when there is nothing.
  [[nodiscard]] bool poll_transmit(Instant now, Outgoing& out);
  /// Whether poll_transmit would return something (cheap: in line when nothing is pending, queued or
  /// held, the answer the Stack gets after nearly every call).
  [[nodiscard]] bool wants_transmit() const noexcept {
    // Nothing pending, no data queued, and no FIN due (none queued, or it is out or acknowledged and
    // no SACK recovery runs): what wants_transmit_pending() answers by the longer way.
    if (!pending_.any() && buffers_->send.size() == 0 &&
        (!fin_queued_ || (!sack_recovery_ && !fin_due_without_data()))) {
      return false;
    }
    return wants_transmit_pending();
  }
  /// The earliest instant on_timeout must be called; Instant::max() when no timer runs.
  [[nodiscard]] Instant next_deadline() const noexcept;
  /// Whether any timer was set or stopped since the last call (then clears the mark): the Stack looks at
  /// the connection's deadline only then, not after every segment (and refiles it only when it moved
  /// earlier: a later one leaves the earlier entry, whose early call to on_timeout() finds nothing due).
  [[nodiscard]] bool take_timers_changed() noexcept {
    const bool changed = timers_changed_;
    timers_changed_ = false;
    return changed;
  }
  /// Marks the timers changed (the Stack's wheel disarmed this connection's entry when it fired).
  void mark_timers_changed() noexcept { timers_changed_ = true; }
  /// Event bits (see `event`) raised since the last call.
  [[nodiscard]] std::uint8_t take_events() noexcept;

  // --- user calls ----------------------------------------------------------------------------------
  /// Queues bytes to send; returns how many were accepted (0 when the buffer is full).
  std::expected<std::size_t, std::error_code> send(wire::Bytes data);
  /// Reads in-order bytes. 0 with no error means end of stream (the peer's FIN was read);
  /// would_block means nothing yet.
  std::expected<std::size_t, std::error_code> recv(wire::MutableBytes out);
  /// Sends FIN after the queued data (ESTABLISHED -> FIN-WAIT-1, CLOSE-WAIT -> LAST-ACK).
  std::error_code shutdown_write();
  /// shutdown_write() and give the connection up: it finishes closing on its own. Unread received
  /// data makes it an abort with RST, as Linux does (RFC 2525 §2.17). An orphaned FIN-WAIT-2 lasts
  /// Config::fin_wait_2_timeout from `now` (or from reaching FIN-WAIT-2).
  void close(Instant now);
  /// Sends RST when synchronized and enters CLOSED at once.
  void abort();
  /// The buffer pool's pressure ended (the Stack calls this on every connection then): a sender that
  /// send() held back hears kWritable, and a window held at its old right edge is offered again.
  void on_memory_relief() noexcept;

  // --- queries -------------------------------------------------------------------------------------
  /// The current state (RFC 9293 §3.3.2).
  [[nodiscard]] State state() const noexcept { return state_; }
  /// The 4-tuple (local = our side).
  [[nodiscard]] const wire::FourTuple& tuple() const noexcept { return tuple_; }
  /// Why the connection ended (a tcp::Error); empty while open and after a normal close.
  [[nodiscard]] std::error_code error() const noexcept;
  /// error() as the enum, without building an error_code: meaningful only when error() is set.
  [[nodiscard]] Error failure() const noexcept { return error_; }
  /// Whether the user called close() or abort() (the connection is orphaned: nobody reads it any more).
  [[nodiscard]] bool user_closed() const noexcept { return user_closed_; }
  /// A plain-value snapshot of everything observable (see ConnectionInfo).
  [[nodiscard]] ConnectionInfo info() const;
  /// The totals the Stack adds up across connections.
  [[nodiscard]] ConnectionCounters counters() const noexcept {
    return {buffers_->challenge_sent, buffers_->challenge_suppressed, buffers_->out_of_window,
            buffers_->paws_rejected};
  }
  [[nodiscard]] wire::SeqNum rcv_nxt() const noexcept {
    return rcv_nxt_;
  }  ///< RCV.NXT: the next sequence number expected
  /// The next new sequence number (SND.MAX: after a timeout the engine's own SND.NXT goes back to
  /// SND.UNA to resend, which is not what an observer means by SND.NXT).
  [[nodiscard]] wire::SeqNum snd_nxt() const noexcept { return snd_max_; }
  [[nodiscard]] wire::SeqNum snd_una() const noexcept {
    return snd_una_;
  }  ///< SND.UNA: the oldest unacknowledged sequence number
  [[nodiscard]] std::uint32_t snd_wnd() const noexcept {
    return snd_wnd_;
  }  ///< SND.WND: the peer's window, in bytes (scaled)
  /// Our receive window in bytes: the receive buffer's free space, capped at what the window field can
  /// express (65,535 << our shift). Receiver SWS avoidance may advertise less.
  [[nodiscard]] std::uint32_t rcv_wnd() const noexcept;
  [[nodiscard]] std::size_t send_buffer_free() const noexcept {
    return buffers_->send.free_space();
  }  ///< bytes send() would accept now (memory pressure aside)
  [[nodiscard]] std::size_t readable() const noexcept {
    return buffers_->recv.readable();
  }  ///< in-order bytes recv() would return now
  /// Heap bytes this connection holds beyond sizeof(Connection): its control extension block, buffer
  /// chunks, the out-of-order range list and the SACK scoreboard (the latter three only while in use).
  [[nodiscard]] std::size_t heap_bytes() const noexcept;
  /// Buffer chunks held (send, staging and receive).
  [[nodiscard]] std::size_t chunks_held() const noexcept;
  /// TIME-WAIT only: may a new SYN with `header` reuse this 4-tuple? (RFC 6191 / Linux: its sequence
  /// number is past RCV.NXT, or its timestamp is newer than TS.Recent when both use timestamps.)
  [[nodiscard]] bool time_wait_accepts_syn(const wire::TcpHeader& header) const noexcept;
  /// TIME-WAIT only: the compact record that stands for this connection from now on (link/owner unset).
  [[nodiscard]] TimeWaitRecord time_wait_record() const noexcept;

 private:
  /// The per-connection extension of the control block: statistics and the buffers' heads (no buffer
  /// memory: chunks are taken as bytes arrive). One kBlockSize block from the pool (plain new without
  /// one), so a connection is 256 bytes inline plus this block while idle.
  struct Buffers {
    Buffers(BufferPool* p, const Config& config)
        : pool(p), send(config.send_buffer, p), recv(config.recv_buffer, config.max_out_of_order_ranges, p) {}
    BufferPool* pool;
    SendBuffer send;
    RecvBuffer recv;
    std::unique_ptr<SackScoreboard> sacked;  ///< what the peer SACKed above SND.UNA (RFC 6675), while any
    std::uint64_t bytes_acked = 0;
    std::uint64_t bytes_received = 0;
    Instant syn_sent_at;  ///< our first SYN (active) or SYN-ACK (passive)
    Instant established_at;
    Instant challenge_window_start;     ///< RFC 5961 §7 rate limit: the current interval began
    std::uint32_t challenge_count = 0;  ///< challenge ACKs in the current interval
    std::uint32_t challenge_sent = 0;
    std::uint32_t challenge_suppressed = 0;
    std::uint32_t out_of_window = 0;  ///< segments not acceptable (RFC 9293 §3.10.7.4 first check)
    std::uint32_t paws_rejected = 0;  ///< segments not acceptable by PAWS (RFC 7323 §5.3)
    std::uint32_t data_retransmits = 0;
    std::uint32_t fast_retransmits = 0;
    std::uint32_t timeouts = 0;
    std::uint32_t ce_received = 0;     ///< segments that arrived marked CE (RFC 3168)
    std::uint32_t ecn_reductions = 0;  ///< congestion responses to ECE (at most one per window)
    wire::SeqNum ecn_recover;          ///< no further response to ECE until SND.UNA passes this
    std::uint32_t ce_delivered = 0;    ///< AccECN: CE marks the peer's ACE counter reported
    std::uint8_t r_cep = 5;            ///< AccECN r.cep mod 8: CE-marked packets received (RFC 9768 §3.2.2.2)
    std::uint8_t s_cep = 5;            ///< AccECN s.cep mod 8: the peer's counter as last read from ACE
    std::uint8_t r_cep_acked = 5;      ///< AccECN: r.cep on the last ACK we sent
    /// AccECN client: the ACE of our first ACK (RFC 9768 Table 4, the SYN-ACK's IP-ECN); 0 = sent
    std::uint8_t ace_first = 0;
    wire::SeqNum high_rxt;  ///< RFC 6675 HighRxt: end of the highest octet retransmitted in recovery
    std::unique_ptr<FastOpenState> fast_open;  ///< only for connections that use Fast Open (RFC 7413)
  };
  struct BuffersDeleter {
    void operator()(Buffers* b) const noexcept;
  };
  static constexpr SackScoreboard kNoSackState{};
  /// The scoreboard, or an empty one while nothing is SACKed (the real one exists only then).
  [[nodiscard]] const SackScoreboard& scoreboard() const noexcept {
    return buffers_->sacked ? *buffers_->sacked : kNoSackState;
  }
  Connection(const Config& config, const wire::FourTuple& tuple);

  // wants_transmit() past its in-line "nothing pending" answer (connection_output.cpp).
  [[nodiscard]] bool wants_transmit_pending() const noexcept;

  // connection_input.cpp
  void on_segment_syn_sent(Instant now, const wire::TcpHeader& h, wire::Bytes payload);
  void on_segment_synchronized(Instant now, const wire::TcpHeader& h, wire::Bytes payload);
  /// SYN-RECEIVED after a simultaneous open: the peer's SYN-ACK acknowledges our SYN.
  void on_simultaneous_syn_ack(Instant now, const wire::TcpHeader& h);
  /// A segment that failed the sequence test or PAWS (RFC 9293 §3.10.7.4 first): counted, maybe answered.
  void on_unacceptable(Instant now, const wire::TcpHeader& h, std::size_t payload_len, bool paws_rejected);
  /// An acceptable RST in a synchronized state (RFC 9293 §3.10.7.4 second, RFC 5961 §3.2).
  void on_rst_synchronized(Instant now, const wire::TcpHeader& h);
  // ecn.cpp
  void on_ecn_input(const wire::TcpHeader& h, std::size_t payload_len) noexcept;
  /// RFC 9768 §3.2.2: counts CE-marked arrivals (r.cep) and reads the peer's ACE counter (s.cep).
  void on_accecn_input(const wire::TcpHeader& h, std::size_t payload_len) noexcept;
  /// The sender's response to ECE, or to an increase of the ACE counter: once per window (RFC 3168 §6.1.2).
  void ecn_congestion_response() noexcept;
  /// The header flags of an outgoing segment with AccECN: the ACE field carries r.cep (or, on the
  /// client's first ACK, the SYN-ACK's IP-ECN); RFC 3168's ECE and CWR are not used.
  [[nodiscard]] std::uint16_t accecn_flags(std::uint16_t flags) noexcept;
  /// SYN-SENT: the ECN the SYN-ACK agrees to (RFC 3168 §6.1.1, RFC 9768 §3.1.2) into `peer`.
  void read_syn_ack_ecn(wire::TcpFlags f, SynOptions& peer) const noexcept;
  /// After negotiation: the AccECN counters start (RFC 9768 §3.2.2.2); a client keeps the SYN-ACK's
  /// IP-ECN for its first ACK (§3.2.2.1).
  void start_accecn() noexcept;
  [[nodiscard]] bool segment_acceptable(const wire::TcpHeader& h, std::size_t payload_len) const noexcept;
  /// RFC 9293 §3.10.7.4 fifth, the ACK field; false when the segment's text is not to be processed.
  bool process_ack(Instant now, const wire::TcpHeader& h, std::size_t payload_len);
  /// process_ack in SYN-RECEIVED (and the simultaneous open's SYN-ACK): the ACK of our SYN-ACK enters
  /// ESTABLISHED with the peer's window `window` (scaled, or not on a SYN-ACK), anything else gets an RST.
  bool ack_syn_received(Instant now, const wire::TcpHeader& h, std::uint32_t window);
  /// What an ACK that advanced SND.UNA left to do.
  struct NewAck {
    bool process_text = true;   ///< false: the connection closed (LAST-ACK), drop the rest
    bool newly_sacked = false;  ///< the scoreboard learned new SACKed octets
  };
  /// SND.UNA < SEG.ACK: the send buffer, RTT, retransmission timer, congestion window and FIN.
  NewAck on_new_ack(Instant now, const wire::TcpHeader& h);
  /// An RTT sample from the ACK (RFC 7323 §4 with timestamps, else RFC 6298 with Karn).
  void sample_rtt(Instant now, const wire::TcpHeader& h);
  /// The congestion window on an ACK of `acked` new octets (RFC 5681, RFC 6582, RFC 6675).
  void grow_window_on_ack(const wire::TcpHeader& h, std::uint32_t acked, std::uint32_t flight_before);
  /// Our FIN was acknowledged: the state moves on; false when the connection closed (LAST-ACK).
  bool on_fin_acked(Instant now) noexcept;
  /// SEG.ACK = SND.UNA: a duplicate ACK (RFC 5681 §2, RFC 6675 §2); whether it SACKed new octets.
  bool on_duplicate_ack(const wire::TcpHeader& h, std::size_t payload_len, std::uint32_t scaled_window);
  void enter_recovery() noexcept;
  /// Feeds the ACK's SACK blocks to the scoreboard (after SND.UNA moved); whether new octets were SACKed.
  bool update_scoreboard(const wire::TcpHeader& h) noexcept;
  void process_data(Instant now, wire::SeqNum seq, wire::Bytes payload, bool fin);
  void process_fin_if_reached(Instant now) noexcept;
  void challenge_ack(Instant now) noexcept;
  void schedule_rst(wire::SeqNum seq, std::optional<wire::SeqNum> ack) noexcept;
  void become_established(Instant now) noexcept;
  void update_timestamps(const wire::TcpHeader& h) noexcept;
  // connection_fast_open.cpp (RFC 7413)
  /// Our SYN (client: option and data) or SYN-ACK as make_syn built it, amended for Fast Open.
  void fast_open_syn(Outgoing& out);
  /// Client, a SYN-ACK acknowledging our SYN (SND.UNA already SEG.ACK): what it acknowledged of the data.
  void fast_open_syn_ack(Instant now, const wire::TcpHeader& h);
  /// Client, the SYN timed out: §7.1, the retry carries neither data nor the option.
  void fast_open_syn_timeout(Instant now) noexcept;

  // connection_output.cpp
  // The segment builders write into a freshly constructed header or Outgoing (poll_transmit's `out`).
  void make_header(Instant now, std::uint16_t flags, wire::SeqNum seq, wire::SendHeader& h);
  void make_syn(Instant now, bool with_ack, Outgoing& out);
  /// The RST that schedule_rst() asked for: <SEQ=rst_seq_><CTL=RST>, with <ACK=rst_ack_> when it has one.
  void make_rst(wire::SendHeader& h) const noexcept;
  /// False, `out` untouched, when there is no data segment to send at `seq`.
  [[nodiscard]] bool make_data_segment(Instant now, wire::SeqNum seq, std::size_t max_len,
                                       bool retransmission, Outgoing& out);
  /// Payload bytes the data segment at `seq` (`offset` into the send buffer) may carry: what is queued, at
  /// most `max_len`, within what was sent before (a retransmission) or the send allowance, before the
  /// next SACKed range, leaving room for the SACK blocks.
  [[nodiscard]] std::size_t data_length(wire::SeqNum seq, std::size_t offset, std::size_t max_len,
                                        bool retransmission) const noexcept;
  /// The send state after a data segment [seq, seg_end) left: SND.NXT/SND.MAX, RTT timing (Karn),
  /// retransmission counts, the retransmission timer.
  void note_data_sent(Instant now, wire::SeqNum seq, wire::SeqNum seg_end, bool fin, bool retransmission,
                      bool resent);
  /// The sequence number of the send buffer's front: SND.UNA once our SYN is acknowledged.
  [[nodiscard]] wire::SeqNum data_base() const noexcept { return snd_una_ == iss_ ? iss_ + 1 : snd_una_; }
  [[nodiscard]] wire::SeqNum fin_seq() const noexcept;  ///< valid once fin_queued_
  /// The window field of an ACK: receiver SWS avoidance, memory pressure (counted when it holds the
  /// edge), RFC 7323 scaling rounded up when the buffer has room.
  [[nodiscard]] std::uint16_t window_field() noexcept;
  [[nodiscard]] bool has_new_data_to_send() const noexcept;
  /// RFC 7413 §4.2.2: a Fast Open server in SYN-RECEIVED whose SYN-ACK is out (it may send).
  [[nodiscard]] bool fast_open_server() const noexcept;
  /// With the send buffer empty: whether the FIN is due at SND.NXT (first send or after a rewind). With
  /// the buffer empty the FIN is the next thing at SND.NXT exactly when SND.NXT is the buffer's front
  /// (after a timeout's rewind too) — what has_new_data_to_send() finds by the longer way.
  [[nodiscard]] bool fin_due_without_data() const noexcept {
    return fin_queued_ && !fin_acked_ && snd_nxt_ == data_base();
  }
  /// The FIN as a control segment (nothing queued before it), timed and retransmitted as data is.
  void make_fin(Instant now, Outgoing& out);
  /// RFC 5681 §4.1: cwnd back to at most the initial window after an idle RTO.
  void restart_after_idle(Instant now) noexcept;
  /// Queued bytes at and after SND.NXT; nullopt while SND.NXT is still at the SYN.
  [[nodiscard]] std::optional<std::size_t> unsent_bytes() const noexcept;
  /// Payload bytes the segment at SND.NXT may carry now (peer window, congestion window, sender SWS).
  [[nodiscard]] std::size_t send_allowance() const noexcept;
  /// Payload bytes per full segment: the send MSS less the options every segment carries (RFC 6691).
  [[nodiscard]] std::uint32_t smss() const noexcept;
  [[nodiscard]] std::uint32_t in_flight() const noexcept;
  [[nodiscard]] bool needs_persist() const noexcept;
  /// SACK blocks our next ACK carries (RFC 2018 §4): 0 without SACK or without out-of-order data.
  [[nodiscard]] std::size_t sack_block_count() const noexcept;
  /// make_header()'s SACK blocks (`blocks` of them, > 0) on `h`. Out of line: most ACKs carry none, and
  /// in line its frame (the gathered ranges) was set up by every header made.
  [[gnu::noinline]] void add_sack_blocks(wire::SendHeader& h, std::size_t blocks) const;
  /// RFC 6675 NextSeg() rule 1 when cwnd - pipe allows a segment: the next lost stretch to resend.
  [[nodiscard]] std::optional<SackScoreboard::Hole> next_sack_retransmission() const noexcept;
  /// During a go-back-N pass, moves SND.NXT past octets the peer SACKed (they need no resending).
  void skip_sacked() noexcept;
  [[nodiscard]] std::uint32_t ts_val(Instant now) const noexcept;

  // Every change to timers_ goes through these, so that take_timers_changed() sees it.
  // (Setting a timer to what it is, or stopping one that is not armed, changes nothing.)
  void set_timer(TimerKind kind, Instant at) noexcept {
    if (timers_.get(kind) == at) return;
    timers_.set(kind, at);
    timers_changed_ = true;
  }
  void stop_timer(TimerKind kind) noexcept {
    if (!timers_.armed(kind)) return;
    timers_.stop(kind);
    timers_changed_ = true;
  }
  void stop_timers() noexcept {
    if (timers_.next() == Instant::max()) return;
    timers_.stop_all();
    timers_changed_ = true;
  }
  [[nodiscard]] bool take_due_timer(TimerKind kind, Instant now) noexcept {
    const bool due = timers_.take_due(kind, now);
    if (due) timers_changed_ = true;
    return due;
  }

  // connection_timers.cpp
  void arm_retransmit(Instant now) noexcept;
  void enter_time_wait(Instant now) noexcept;
  /// Enters `next`. In line: most calls only store the state; the rest (a transition sink to tell, a
  /// closed connection's send queue to give back) goes out of line.
  void set_state(State next) noexcept {
    const State previous = state_;
    state_ = next;
    if (config_->transition_sink != nullptr || next == State::closed) after_state_change(previous);
  }
  void after_state_change(State previous) noexcept;
  void report_transition(State from) const noexcept;
  void fail(Error err) noexcept;

  const Config* config_;
  std::unique_ptr<Buffers, BuffersDeleter> buffers_;
  wire::FourTuple tuple_;
  Negotiated neg_;  ///< in SYN-SENT: our offer; afterwards: what is in effect
  RttEstimator rtt_;
  Congestion cc_;

  wire::SeqNum iss_, irs_;
  wire::SeqNum snd_una_, snd_nxt_, snd_max_;
  wire::SeqNum snd_wl1_, snd_wl2_;
  wire::SeqNum rcv_nxt_, rcv_adv_;  ///< rcv_adv_: right edge of the window we last advertised
  wire::SeqNum recovery_point_, timed_seq_, peer_fin_seq_;
  wire::SeqNum rst_seq_, rst_ack_;
  std::uint32_t snd_wnd_ = 0, max_snd_wnd_ = 0;
  std::uint32_t ts_recent_ = 0, ts_offset_ = 0;
  std::uint32_t rtx_tsval_ = 0;  ///< TSval of our latest retransmission: older echoes give no sample

  TimerTable timers_;
  Instant timed_at_;
  Instant last_send_;  ///< when data or FIN last went out (RFC 5681 §4.1 restart after idle)

  std::uint8_t syn_retransmits_ = 0;
  std::uint8_t synack_retransmits_ = 0;
  std::uint8_t rtx_count_ = 0;  ///< consecutive RTO expirations
  std::uint8_t dupacks_ = 0;
  std::uint8_t persist_backoff_ = 0;
  std::uint8_t events_ = 0;
  State state_ = State::closed;
  Error error_{};
  Trigger trigger_ = Trigger::open;  ///< the event being handled, for state transitions (transition.hpp)
  wire::TcpFlags trigger_flags_;     ///< the arriving segment's flags when trigger_ is Trigger::segment
  /// The segments owed to the peer whatever the send queue holds, in one byte so that wants_transmit()
  /// asks "any?" with one load and one test instead of five (it is asked after nearly every call).
  struct Pending {
    bool syn : 1 = false;         ///< a SYN or SYN-ACK (again: a retransmission)
    bool ack : 1 = false;         ///< an ACK
    bool rst : 1 = false;         ///< an RST (rst_seq_, rst_ack_)
    bool rtx_one : 1 = false;     ///< the first unacknowledged segment again (RTO, fast retransmit)
    bool probe : 1 = false;       ///< a zero-window probe
    std::uint8_t unused : 3 = 0;  ///< (named: a byte with no padding bits reads as a defined value)
    [[nodiscard]] bool any() const noexcept { return std::bit_cast<std::uint8_t>(*this) != 0; }
  };
  static_assert(sizeof(Pending) == 1);
  Pending pending_;
  bool has_error_ : 1 = false;
  bool passive_ : 1 = false;
  bool rst_with_ack_ : 1 = false;
  bool force_send_ : 1 = false;  ///< the SWS override timeout fired: send a segment however small
  bool fin_queued_ : 1 = false;
  bool fin_sent_ : 1 = false;
  bool fin_acked_ : 1 = false;
  bool peer_fin_known_ : 1 = false;
  bool peer_fin_received_ : 1 = false;
  bool in_recovery_ : 1 = false;
  bool sack_recovery_ : 1 = false;  ///< in_recovery_ driven by the SACK scoreboard (RFC 6675)
  bool timing_ : 1 = false;
  bool user_closed_ : 1 = false;
  bool established_seen_ : 1 = false;
  bool eof_read_ : 1 = false;
  bool ts_seen_ : 1 = false;
  bool send_held_ : 1 = false;      ///< send() was cut short for memory: kWritable when pressure ends
  bool ece_pending_ : 1 = false;    ///< CE arrived: our ACKs carry ECE until a segment with CWR does
  bool cwr_pending_ : 1 = false;    ///< we reduced for ECE: the next new data segment carries CWR
  bool ecn_reduced_ : 1 = false;    ///< the ACK being processed carried ECE and reduced cwnd: no growth
  std::uint8_t rx_ecn_ : 2 = 0;     ///< the IP ECN field of the segment being processed
  bool timers_changed_ : 1 = true;  ///< see take_timers_changed(); a new connection is not filed yet
};

}  // namespace synack::tcp
