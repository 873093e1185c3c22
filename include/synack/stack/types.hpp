/// @file
/// Values of the Stack API: ids, events, configuration, statistics, forwarder offers.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>
#include <system_error>
#include <vector>

#include "synack/tcp/buffer_pool.hpp"
#include "synack/tcp/config.hpp"
#include "synack/tcp/listener_stats.hpp"
#include "synack/tcp/options.hpp"
#include "synack/tcp/transition.hpp"
#include "synack/time.hpp"
#include "synack/wire/ip_address.hpp"
#include "synack/wire/packet.hpp"
#include "synack/wire/seq.hpp"
#include "synack/wire/tcp.hpp"

namespace synack::stack {

/// A connection: an index into the stack's pool and the generation of that slot, so a stale id is
/// detected instead of reaching a newer connection.
struct ConnectionId {
  std::uint32_t index = 0xFFFFFFFFU;  ///< the connection's slot in the pool; 0xFFFFFFFF = no connection
  std::uint32_t generation = 0;       ///< the slot's generation when the id was issued
  /// False for a default-constructed id ("no connection").
  [[nodiscard]] constexpr bool valid() const noexcept { return index != 0xFFFFFFFFU; }
  /// Same slot and generation.
  friend constexpr bool operator==(ConnectionId, ConnectionId) noexcept = default;
};

/// A listener of one Stack (Stack::listen). Default-constructed: no listener.
struct ListenerId {
  std::uint32_t value = 0xFFFFFFFFU;  ///< the listener's index; 0xFFFFFFFF = no listener
  /// False for a default-constructed id.
  [[nodiscard]] constexpr bool valid() const noexcept { return value != 0xFFFFFFFFU; }
  /// Same listener.
  friend constexpr bool operator==(ListenerId, ListenerId) noexcept = default;
};

/// A forwarder offer (EventKind::syn_offer) until it is decided or expires: a slot index and its generation,
/// so a stale id is detected (decide() answers unknown_offer or offer_expired).
struct OfferId {
  std::uint32_t index = 0xFFFFFFFFU;  ///< the offer's slot; 0xFFFFFFFF = no offer
  std::uint32_t generation = 0;       ///< the slot's generation when the offer was made
  /// False for a default-constructed id.
  [[nodiscard]] constexpr bool valid() const noexcept { return index != 0xFFFFFFFFU; }
  /// Same slot and generation.
  friend constexpr bool operator==(OfferId, OfferId) noexcept = default;
};

/// What an Event reports; the comment on each says which Event fields it fills. Events come from
/// Stack::poll_event() in the order they happened.
enum class EventKind : std::uint8_t {
  established,  ///< handshake complete (active open, or a forwarder-accepted connection)
  acceptable,   ///< a listener has a completed connection to accept() (`listener`, `connection`)
  readable,     ///< in-order bytes or end of stream to recv()
  writable,     ///< send-buffer space opened
  peer_closed,  ///< the peer's FIN arrived (recv() returns 0 once the bytes before it are read)
  closed,       ///< the connection reached CLOSED normally
  reset,        ///< reset by the peer (error: tcp::Error::reset)
  timed_out,    ///< retransmissions exhausted (error: tcp::Error::timed_out)
  refused,      ///< the peer answered our SYN with RST (error: tcp::Error::refused)
  aborted,      ///< we reset it (error: tcp::Error::aborted), e.g. data arrived after close()
  syn_offer,    ///< forwarder: a SYN awaits decide() (`offer`)
  /// forwarder: an offer nobody decided within pending_timeout was dropped (`offer`, `user`): release
  /// whatever the embedder holds for it (e.g. an upstream socket it opened)
  offer_expired,
  /// forwarder: an accepted offer's SYN-ACK went unanswered through synack_retries, or the client's RST
  /// removed its half-open entry; no connection will come of it (`offer`, `user`)
  half_open_expired,
};
/// The enumerator's name, e.g. "peer_closed" (for logs and JSON).
[[nodiscard]] std::string_view to_string(EventKind kind) noexcept;

/// Something an embedder must react to: poll them with Stack::poll_event() after every input. Fields not
/// named by the kind's comment are default (invalid ids, no error, user 0).
struct Event {
  EventKind kind = EventKind::established;  ///< what happened
  ConnectionId connection;                  ///< the connection it is about (invalid for offer events)
  ListenerId listener;                      ///< acceptable: the listener with a connection to accept
  OfferId offer;  ///< syn_offer; and on `established` of a connection the forwarder accepted
  /// For reset, timed_out, refused and aborted: the tcp::Error behind it; empty otherwise.
  std::error_code error;
  /// The embedder's context (Stack::set_user_data) of the connection or offer this event is about; an
  /// accepted offer's context passes to its connection. 0 when none was set.
  std::uint64_t user = 0;
};

/// A SYN seen in forwarder mode before any state exists for it.
struct SynOffer {
  OfferId id;               ///< pass to Stack::decide() (valid until decided or expired)
  wire::FourTuple tuple;    ///< local = the address and port the SYN was sent to
  tcp::SynOptions options;  ///< the SYN's options (MSS, window scale, SACK-permitted, timestamps)
  wire::SeqNum seq;         ///< the SYN's sequence number (the client's ISN)
  Instant received_at;      ///< when the SYN arrived (the `now` of that on_packet); expiry counts from here
  /// The SYN was answered with a SYN cookie and this offer comes from the final ACK that proved it
  /// (ForwarderConfig::syn_cookies): the client already considers the connection established. accept
  /// then completes it at once (no SYN-ACK); refuse resets it (the client sees a reset, not "connection
  /// refused"); drop and expiry forget it (the client's next segment carries the same cookie and makes a
  /// new offer while the cookie is valid, then meets an RST).
  bool handshake_done = false;
};

/// The embedder's answer to a SynOffer (Stack::decide()).
enum class Verdict : std::uint8_t {
  accept,  ///< answer with SYN-ACK; the connection reports `established` with this offer id
  refuse,  ///< answer with RST (the client sees "connection refused")
  drop,    ///< say nothing (the client retransmits its SYN and eventually times out)
};

/// Forwarder mode (Stack::set_forwarder): every SYN that no listener claims becomes a SynOffer for the
/// embedder to decide, instead of an RST.
struct ForwarderConfig {
  /// Undecided offers made from a SYN at once; further SYNs get a cookie or are dropped (syn_cookies).
  /// As many again for offers made after a cookie handshake (SynOffer::handshake_done).
  std::uint32_t max_pending = 1024;
  Duration pending_timeout = std::chrono::seconds(5);  ///< undecided offers then expire (dropped, counted)
  std::uint32_t syn_queue = 1024;                      ///< accepted offers waiting for the final ACK
  /// SYN cookies for offers (RFC 4987 §3.6). `when_full`: once max_pending offers are undecided, a
  /// further SYN is answered with a cookie instead of being dropped, and the final ACK that returns a
  /// valid cookie becomes the offer (handshake_done). `always`: every SYN is answered so, and the
  /// embedder decides only after the handshake — it can no longer refuse before the client sees the
  /// port open, which is what offers are for; use it only when flood resistance matters more. `never`:
  /// past the bound SYNs are dropped (offers_overflow).
  tcp::SynCookieMode syn_cookies = tcp::SynCookieMode::when_full;
};

/// A listener as plain values (Stack::listener_info).
struct ListenerInfo {
  wire::Endpoint local;       ///< the address and port listened on (unspecified address: any of the stack's)
  std::size_t syn_queue = 0;  ///< half-open entries now
  std::size_t syn_queue_capacity = 0;  ///< their bound
  std::size_t accept_queue = 0;        ///< completed connections waiting for accept()
  std::size_t backlog = 0;             ///< the accept queue's bound
  tcp::SynCookieMode syn_cookies =
      tcp::SynCookieMode::when_full;  ///< the SYN cookie mode in effect for this listener
  tcp::ListenerStats stats;           ///< the listener's counters
  std::uint32_t fast_open_queue = 0;  ///< the Fast Open queue length (0 = off)
  std::size_t fast_open_pending = 0;  ///< Fast Open connections still waiting for their final ACK (or stale)
  std::uint64_t fast_open_cookies_sent = 0;  ///< SYN-ACKs that carried a Fast Open cookie
  std::uint64_t fast_open_accepted = 0;      ///< SYNs whose data was accepted at once
  std::uint64_t fast_open_invalid = 0;       ///< SYNs with a cookie that did not check
  std::uint64_t fast_open_overflows = 0;     ///< valid SYNs with data handled plainly: the queue was full
};

/// Stack::listen's options.
struct ListenOptions {
  std::uint32_t backlog = 0;  ///< the accept queue's bound (0 = tcp::Config::default_backlog)
  /// SYN cookies for this listener; nullopt = StackConfig::tcp.syn_cookies.
  std::optional<tcp::SynCookieMode> syn_cookies;
  /// TCP Fast Open (RFC 7413) queue length, as Linux's TCP_FASTOPEN socket option: at most this many
  /// connections created from a SYN with data wait for their final ACK (§5.1). 0 = no Fast Open.
  std::uint32_t fast_open = 0;
};

/// Per-connection options for Stack::connect.
struct ConnectOptions {
  tcp::OfferOverrides offer;  ///< what to offer in our SYN instead of StackConfig::tcp's choice
  /// Queued at once, as send() would (the caller's bytes are copied).
  wire::Bytes data;
  /// TCP Fast Open (RFC 7413 §4.2.1): with a cookie cached for the server (Stack::fast_open_cache), the
  /// first bytes of `data` (up to the server's cached MSS) go in the SYN; without one the SYN asks for a
  /// cookie. A server marked hostile (§7.1) gets a plain SYN.
  bool fast_open = false;
};

/// One active open of a burst (Stack::connect over a span): connect()'s three arguments.
struct ConnectRequest {
  wire::Endpoint local;    ///< as connect()'s (port 0: an ephemeral port; unspecified: an owned address)
  wire::Endpoint remote;   ///< the peer
  ConnectOptions options;  ///< as connect()'s
};

/// Everything a Stack is built with. Plain values; the defaults suit a server (Linux-like limits).
struct StackConfig {
  tcp::Config
      tcp;  ///< the engine's knobs for every listener and connection (its buffer_pool is set by the Stack)
  /// Addresses this host owns. Segments to other addresses are dropped (unless forwarding).
  std::vector<wire::IpAddress> addresses;
  /// Connections in the pool at once (memory grows with use, not with this bound). TIME-WAIT records
  /// do not count against it: they are bounded by max_time_wait.
  std::uint32_t max_connections = 1U << 20U;
  /// TIME-WAIT records at once (Linux tcp_max_tw_buckets); past it a closing connection skips TIME-WAIT
  /// and is counted in time_wait_overflows.
  std::uint32_t max_time_wait = 1U << 20U;
  std::uint32_t control_queue = 256;     ///< RSTs and SYN-ACKs waiting for poll_transmit
  wire::IpParams ip;                     ///< TTL/hop limit, DSCP and ECN of every datagram the stack emits
  std::uint16_t ephemeral_low = 32768;   ///< Linux ip_local_port_range
  std::uint16_t ephemeral_high = 60999;  ///< the highest ephemeral port connect() picks (inclusive)
  /// Buffer memory of all connections together, like Linux tcp_mem (tcp/buffer_pool.hpp): past 7/8 of it
  /// offered windows stop growing and send() takes no new chunk; at the limit received data that needs
  /// a new chunk is dropped. 1 GiB: 1/16 of a 16 GiB server's RAM, ~4000 connections with full buffers
  /// (Linux's tcp_mem pressure mark is about 1/16 of RAM too).
  std::size_t buffer_memory_limit = std::size_t{1} << 30U;
  std::uint32_t buffer_free_chunks = 256;  ///< 16 KiB chunks kept for reuse (4 MiB), the rest is freed
};

/// Datagrams discarded in on_packet before any lookup, by the reason wire::martian_source() (or the
/// Stack, for own_address) gave. Nothing is answered and no state is created for them.
struct MartianStats {
  std::uint64_t zero_net = 0;            ///< source in 0.0.0.0/8
  std::uint64_t loopback = 0;            ///< source in 127.0.0.0/8
  std::uint64_t multicast = 0;           ///< source in 224.0.0.0/4
  std::uint64_t broadcast_reserved = 0;  ///< source in 240.0.0.0/4 (255.255.255.255 included)
  std::uint64_t own_address = 0;     ///< source is one of our addresses, or equals the destination ("land")
  std::uint64_t v6_unspecified = 0;  ///< source ::
  std::uint64_t v6_loopback = 0;     ///< source ::1
  std::uint64_t v6_multicast = 0;    ///< source in ff00::/8
  std::uint64_t v4_mapped = 0;       ///< source in \::ffff:0:0/96
  std::uint64_t destination = 0;     ///< destination multicast or broadcast (v4 224/4, 240/4; v6 ff00::/8)
  /// Every martian datagram, whatever the reason.
  [[nodiscard]] constexpr std::uint64_t total() const noexcept {
    return zero_net + loopback + multicast + broadcast_reserved + own_address + v6_unspecified + v6_loopback +
           v6_multicast + v4_mapped + destination;
  }
};

/// What the Stack counted since it was built. Plain counters that only grow; the Linux nstat name of
/// each, where one exists, is in docs/engine.md ("Counters").
struct StackStats {
  std::uint64_t packets_in = 0;        ///< datagrams given to on_packet (TcpInSegs)
  std::uint64_t packets_out = 0;       ///< datagrams poll_transmit emitted (TcpOutSegs)
  std::uint64_t malformed = 0;         ///< failed to parse: malformed_header + malformed_option
  std::uint64_t malformed_header = 0;  ///< an IP or TCP header that does not parse (lengths, version …)
  std::uint64_t malformed_option = 0;  ///< TCP options that do not parse (truncated, bad length)
  std::uint64_t bad_checksum = 0;      ///< TCP checksum or IPv4 header checksum (TcpInCsumErrors)
  std::uint64_t not_local = 0;         ///< addressed to an address we do not own
  MartianStats martian;                ///< martian source or destination, by reason
  std::uint64_t no_listener = 0;       ///< segments for no connection and no listener (answered with RST)
  std::uint64_t resets_sent = 0;       ///< RSTs queued for segments without a connection
  std::uint64_t out_rsts = 0;          ///< every RST put on the wire, connections' included (TcpOutRsts)
  /// SYNs dropped, and RSTs or SYN-ACKs not queued, because StackConfig::control_queue segments were already
  /// waiting for poll_transmit.
  std::uint64_t control_queue_drops = 0;
  std::uint64_t emit_failures = 0;  ///< poll_transmit's buffer too small
  std::uint64_t listen_syns = 0;    ///< SYNs that reached a listener with no half-open entry for them
  std::uint64_t syn_acks_sent =
      0;  ///< SYN-ACKs of SYN-queue entries put on the wire, retransmissions included
  /// SYNs and final ACKs a listener dropped, any reason (ListenDrops): the queue drops below, and
  /// final ACKs dropped for a full connection pool.
  std::uint64_t listen_drops = 0;
  std::uint64_t syn_queue_full_drops = 0;  ///< SYNs dropped: SYN queue full, no cookie (TCPReqQFullDrop)
  std::uint64_t accept_queue_full_drops =
      0;                             ///< SYNs and final ACKs dropped: accept queue full (ListenOverflows)
  std::uint64_t challenge_acks = 0;  ///< RFC 5961 challenge ACKs sent, all connections (TCPChallengeACK)
  std::uint64_t challenge_acks_suppressed =
      0;                            ///< held back by the per-connection limit (TCPACKSkippedChallenge)
  std::uint64_t out_of_window = 0;  ///< segments a connection found not acceptable (sequence test)
  std::uint64_t paws_rejected = 0;  ///< segments a connection rejected by PAWS, RFC 7323 §5.3 (PAWSEstab)
  std::uint64_t half_open_timeouts =
      0;  ///< half-open entries (listeners' and the forwarder's) dropped after their SYN-ACK retransmissions
  std::uint64_t time_wait_reuses = 0;     ///< a new SYN replaced a TIME-WAIT connection
  std::uint64_t time_wait_overflows = 0;  ///< closed without TIME-WAIT: max_time_wait records existed
  std::uint64_t pool_full_drops = 0;      ///< SYNs/final ACKs dropped for a full connection pool
  // SYN cookies, named after Linux's nstat counters (SyncookiesSent, SyncookiesRecv, SyncookiesFailed).
  std::uint64_t syncookies_sent = 0;    ///< SYN-ACKs carrying a cookie
  std::uint64_t syncookies_recv = 0;    ///< final ACKs whose cookie was valid
  std::uint64_t syncookies_failed = 0;  ///< ACKs checked as a cookie and refused (answered with RST)
  /// Half-open entries dropped to make room (oldest retransmitted first).
  std::uint64_t syn_queue_pruned = 0;
  std::uint64_t offers = 0;           ///< offers made (EventKind::syn_offer raised)
  std::uint64_t offers_overflow = 0;  ///< SYNs dropped because max_pending offers were undecided
  std::uint64_t offers_cookie = 0;    ///< offers made after a cookie handshake (SynOffer::handshake_done)
  /// Cookie-validated final ACKs dropped because max_pending offers were undecided (the peer's next
  /// segment carries the same cookie).
  std::uint64_t offers_cookie_overflow = 0;
  std::uint64_t offers_expired = 0;  ///< offers nobody decided within ForwarderConfig::pending_timeout
  std::uint64_t offers_refused = 0;  ///< offers decided Verdict::refuse
  std::uint64_t offers_dropped = 0;  ///< offers decided Verdict::drop
  std::uint64_t offer_duplicate_syns =
      0;                        ///< retransmitted SYNs that found their offer still undecided (ignored)
  tcp::BufferPoolStats memory;  ///< buffer chunks, memory pressure and what it held back
};

/// One counter under its name: Linux's nstat name where Linux has the counter (TcpExtListenDrops …),
/// otherwise a name of the same style with the prefix Synack. The table is in docs/engine.md "Counters".
struct NamedCounter {
  std::string_view name;    ///< the counter's name (static storage)
  std::uint64_t value = 0;  ///< its value
};
/// Every counter of `stats` under its name, always in the same order (for summaries, JSON, SIGUSR1).
[[nodiscard]] std::vector<NamedCounter> named_counters(const StackStats& stats);

/// Whether a segment was received (`in`, given to on_packet) or sent (`out`, from poll_transmit).
enum class Direction : std::uint8_t { in, out };

/// One segment seen by the stack, for ladders and logs. Valid only during the callback.
struct SegmentRecord {
  Instant at;                     ///< the `now` of the call that received or emitted it
  ConnectionId connection;        ///< invalid for segments of no connection (RSTs to closed ports, SYN-ACKs)
  Direction direction;            ///< received or sent
  const wire::FourTuple& tuple;   ///< local = this stack
  const wire::TcpHeader& header;  ///< the whole TCP header, options included
  std::size_t payload_len;        ///< payload bytes (the payload itself is not recorded)
};
/// Called for every segment the stack receives or sends (Stack::set_observer); must not call into the Stack.
using SegmentObserver = std::function<void(const SegmentRecord&)>;

/// What a LogRecord reports.
enum class LogKind : std::uint8_t {
  transition,  ///< a connection changed state (LogRecord::transition)
  drop,        ///< a datagram or segment was dropped, or a half-open entry gave up (LogRecord::reason)
  note,        ///< something worth a line that dropped nothing: a challenge ACK, a SYN cookie, a pruned entry
};
/// One entry of the stack's log (Stack::set_log_hook): the library's events for `-v`, as values.
struct LogRecord {
  Instant at;                    ///< the `now` of the call in which it happened
  LogKind kind = LogKind::note;  ///< what this record reports
  ConnectionId connection;       ///< the connection (transitions; invalid while an active open is being made)
  wire::FourTuple tuple;       ///< local = this stack; the dropped datagram's when it parsed (else all zero)
  tcp::Transition transition;  ///< LogKind::transition: old state, new state and why (tcp::describe)
  /// drop and note: the counter that counted it, as named_counters() names it ("TcpInCsumErrors",
  /// "SynackOutOfWindow" …; docs/engine.md "Counters"). Static storage.
  std::string_view reason;
  std::uint64_t count = 0;  ///< drop and note: how much that counter went up in this call
};
/// Called for every LogRecord (Stack::set_log_hook); must not call into the Stack and must not throw.
using LogHook = std::function<void(const LogRecord&)>;

namespace detail {
/// The bits of a Stack core's "due" word, which the public Stack reads first in poll_transmit() and
/// poll_event() so that it answers "nothing due" inline, with one load (a driver ends every batch with
/// such a call: about 15 and 9 per handshake) instead of with a call into the core. A bit is set when
/// something may be due — a control segment or a connection queued to transmit (kTransmitDue), an event
/// queued (kEventsDue), buffer memory pressure ended (both) — and cleared by the core only when it has
/// checked that nothing is. Internal; the word lives as long as the core.
inline constexpr std::uint8_t kTransmitDue = 0x01;
inline constexpr std::uint8_t kEventsDue = 0x02;
}  // namespace detail

}  // namespace synack::stack
