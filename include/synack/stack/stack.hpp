/// @file
/// One Stack per host: the flow table (4-tuple -> connection), listeners, the forwarder, timers and the
/// socket-facing API the drivers (simulator, TUN) and the CLI use. Sans-I/O like the engine below it:
/// IP datagrams go in through on_packet(now, bytes) and come out of poll_transmit(now, buffer); time is
/// passed in; next_deadline()/on_timeout(now) drive the timers; poll_event() reports what happened.
/// Single-threaded: one Stack per thread (or per core), no call from two threads at once.
///
/// Typical driver loop:
/// @code
///   stack.on_packet(now, datagram);                 // for each received datagram
///   while (auto n = stack.poll_transmit(now, buf)) send(buf.first(*n));
///   while (auto e = stack.poll_event()) handle(*e);
///   sleep until stack.next_deadline(); stack.on_timeout(now);
/// @endcode
#pragma once

#include <cstddef>
#include <cstdint>
#include <expected>
#include <memory>
#include <optional>
#include <span>
#include <system_error>

#include "synack/stack/types.hpp"
#include "synack/tcp/connection_info.hpp"
#include "synack/time.hpp"
#include "synack/wire/bytes.hpp"
#include "synack/wire/ip_address.hpp"

namespace synack::tcp {
class BufferPool;
class FastOpenCache;
class Listener;
}  // namespace synack::tcp

namespace synack::stack {

class StackCore;  // src/stack/stack_core.hpp

/// One host's TCP/IP stack (see the file comment): owns every listener, connection, offer and TIME-WAIT
/// record, and all their memory. Driven by calls with `now`; never reads a clock, never blocks, never does
/// I/O. Movable, not copyable; single-threaded.
class Stack {
 public:
  /// `isn_key`: 128 secret bits (random_isn_key() in production, fixed in tests). `rng_seed`: ephemeral
  /// ports and the flow table's hash seed.
  Stack(StackConfig config, std::span<const std::byte, 16> isn_key, std::uint64_t rng_seed);
  Stack(const Stack&) = delete;
  Stack& operator=(const Stack&) = delete;
  /// @{
  /// A Stack moves (its state stays where it is; only the pointer to it moves). A moved-from Stack may
  /// only be destroyed or assigned to.
  Stack(Stack&&) noexcept;
  Stack& operator=(Stack&&) noexcept;
  /// @}
  ~Stack();

  // --- driver side -----------------------------------------------------------------------------------
  /// One received IP datagram (IPv4 or IPv6 carrying TCP). Malformed or bad-checksum datagrams are
  /// dropped and counted in stats(), never a crash.
  void on_packet(Instant now, wire::Bytes ip_datagram);
  /// on_packet() for each datagram of a burst, in order, with the same effect; the flow-table lines of up
  /// to 16 datagrams start loading before the first of them is processed, so that their cache misses
  /// (a table of many flows) overlap instead of following one another.
  void on_packets(Instant now, std::span<const wire::Bytes> ip_datagrams);
  /// Writes the next datagram to send into `out` and returns its size; nullopt when nothing is due.
  /// `out` should hold the MTU (a too-small buffer drops that datagram and counts emit_failures).
  [[nodiscard]] std::optional<std::size_t> poll_transmit(Instant now, wire::MutableBytes out) {
    if (!transmit_due()) return std::nullopt;  // no call
    return poll_transmit_due(now, out);
  }
  /// True when poll_transmit() may have a datagram to give (a control segment, a connection with
  /// something to send, memory relief); false means it has none. One load each, no call: a driver that
  /// feeds a burst of datagrams one by one asks after each and writes what it made due before feeding
  /// the next, so that each data segment is acknowledged before the next is processed (the engine sends
  /// no delayed ACK; RFC 5681 §4.2: a duplicate ACK for every out-of-order segment) and a burst does
  /// not collapse into one stretch ACK.
  [[nodiscard]] bool transmit_due() const noexcept { return (*due_ & detail::kTransmitDue) != 0; }
  /// The next event, in the order they happened; nullopt when there is none. Call until nullopt after
  /// every on_packet, on_timeout and user call.
  [[nodiscard]] std::optional<Event> poll_event() {
    if ((*due_ & detail::kEventsDue) == 0) return std::nullopt;  // the usual last call, without a call
    return poll_event_due();
  }
  /// The instant on_timeout() must run at the latest; Instant::max() when no timer runs. It may be
  /// earlier than any timer really due (a spurious wake-up: on_timeout() then fires nothing and files the
  /// later deadline): a connection whose deadline moved later (a retransmission timer restarted by an
  /// ACK, 2 MSL replacing a FIN's retransmission timer) keeps its earlier entry until that entry comes
  /// due, instead of being refiled at every change. Never later than a real deadline.
  [[nodiscard]] Instant next_deadline() const;
  /// Fires every timer due at `now` (retransmissions, SYN-ACK retransmissions, persist, FIN-WAIT-2,
  /// TIME-WAIT, offer expiry); then poll_transmit and poll_event.
  void on_timeout(Instant now);

  // --- sockets -------------------------------------------------------------------------------------------
  /// Active open. local.port 0 picks an ephemeral port: drawn at random from
  /// [StackConfig::ephemeral_low, ephemeral_high], and redrawn while busy (65 draws, then
  /// address_in_use); a port whose tuple shares its flow hash with another flow counts as busy.
  /// An unspecified local address picks the first owned address of the remote's family.
  [[nodiscard]] std::expected<ConnectionId, std::error_code> connect(Instant now, wire::Endpoint local,
                                                                     wire::Endpoint remote,
                                                                     const ConnectOptions& options = {});
  /// connect() for each request of a burst, in order, with the same effect: `results[i]` is what
  /// connect(now, requests[i].local, requests[i].remote, requests[i].options) would have returned.
  /// Handles min(requests.size(), results.size()) requests and returns that count. As on_packets() does
  /// for datagrams, the flow-table lines of up to 16 fully named tuples (the local address and port
  /// given, not chosen by the stack) start loading before the first of them is looked up, so that with
  /// many flows resident their cache misses overlap instead of following one another (a load generator
  /// or a forwarder opening many connections at once).
  std::size_t connect(Instant now, std::span<const ConnectRequest> requests,
                      std::span<std::expected<ConnectionId, std::error_code>> results);
  /// Passive open on `local` (an unspecified address listens on every owned address). `backlog` bounds
  /// the accept queue (0 = tcp::Config::default_backlog).
  [[nodiscard]] std::expected<ListenerId, std::error_code> listen(wire::Endpoint local,
                                                                  std::uint32_t backlog = 0);
  /// The same with per-listener options (backlog, SYN-cookie mode).
  [[nodiscard]] std::expected<ListenerId, std::error_code> listen(wire::Endpoint local,
                                                                  const ListenOptions& options);
  /// SYN cookies follow ListenOptions::syn_cookies, else StackConfig::tcp.syn_cookies; their secret is
  /// derived from the ISN key and rotates on a schedule (tcp/syn_cookie.hpp). This replaces it now with 128
  /// fresh bits (e.g. random_isn_key()); cookies already sent stay valid under the previous secret.
  void rekey_syn_cookies(Instant now, std::span<const std::byte, 16> key) noexcept;
  /// TCP Fast Open cookies (RFC 7413 §4.1.2) are a MAC of the client's address under a secret derived from
  /// the ISN key; this installs 128 fresh bits. Cookies under the previous secret stay valid for
  /// tcp::FastOpenKeys::kGrace.
  void rekey_fast_open(Instant now, std::span<const std::byte, 16> key) noexcept;
  /// The client's Fast Open cookie cache (RFC 7413 §4.2.1): filled from SYN-ACKs, read by connect() with
  /// ConnectOptions::fast_open; the embedder may load and save it.
  [[nodiscard]] tcp::FastOpenCache& fast_open_cache() noexcept;
  /// The oldest completed connection of listener `id`: would_block when none is waiting, invalid_argument
  /// for an unknown listener. The connection is ESTABLISHED (or further along, if the peer already sent FIN).
  [[nodiscard]] std::expected<ConnectionId, std::error_code> accept(ListenerId id);
  /// Closes listener `id` at `now`: its half-open entries are forgotten and connections never accepted are
  /// reset (as Linux does). invalid_argument for an unknown listener.
  std::error_code close_listener(Instant now, ListenerId id);

  /// Queues bytes to send; returns how many were taken (0 when the send buffer is full or memory pressure
  /// holds it back: wait for EventKind::writable). Errors: unknown_connection; shut_down after
  /// shutdown_write() or close(); not_connected (or the connection's error: reset, timed_out, …) once CLOSED.
  [[nodiscard]] std::expected<std::size_t, std::error_code> send(ConnectionId id, wire::Bytes data);
  /// Reads in-order bytes into `out`. 0 means end of stream (the peer's FIN, after every byte before it).
  /// would_block means nothing to read yet (wait for EventKind::readable): not a failure, unlike
  /// unknown_connection, not_connected or the connection's own error (reset, timed_out, …) once CLOSED.
  [[nodiscard]] std::expected<std::size_t, std::error_code> recv(ConnectionId id, wire::MutableBytes out);
  /// Sends FIN after the queued data (ESTABLISHED -> FIN-WAIT-1, CLOSE-WAIT -> LAST-ACK); receiving goes
  /// on. The FIN leaves, and its retransmission timer starts, in poll_transmit. Errors: unknown_connection
  /// for a stale id, else what the connection reports (e.g. not_connected once it is CLOSED).
  std::error_code shutdown_write(Instant now, ConnectionId id);
  /// Gives the connection up at `now`: it sends FIN after the queued data and finishes closing by itself
  /// (an orphaned FIN-WAIT-2 lasts tcp::Config::fin_wait_2_timeout from `now`; unread received data makes
  /// it an RST instead, as Linux does). Its id becomes invalid once CLOSED. unknown_connection for a
  /// stale id.
  std::error_code close(Instant now, ConnectionId id);
  /// Resets the connection at `now`: an RST when synchronized, then CLOSED at once; the id becomes
  /// invalid once the RST is sent. unknown_connection for a stale id.
  std::error_code abort(Instant now, ConnectionId id);
  /// @{
  /// The embedder's context for a connection or a pending offer (lwIP's tcp_arg): carried by every event
  /// about it (Event::user); an accepted offer's context passes to its half-open entry and connection.
  /// unknown_connection / unknown_offer for an id that names nothing live.
  std::error_code set_user_data(ConnectionId id, std::uint64_t user);
  std::error_code set_user_data(OfferId id, std::uint64_t user);
  /// @}
  /// The context set_user_data() stored for the connection (0 when never set); nullopt for a stale id.
  [[nodiscard]] std::optional<std::uint64_t> user_data(ConnectionId id) const;
  /// A snapshot of the connection as plain values; nullopt for a stale id.
  [[nodiscard]] std::optional<tcp::ConnectionInfo> info(ConnectionId id) const;

  // --- forwarder ("promiscuous") mode ----------------------------------------------------------------
  /// With a config: every SYN for any address and port without a connection becomes a SynOffer
  /// (Event syn_offer) instead of going to a listener. nullopt turns the mode off.
  void set_forwarder(std::optional<ForwarderConfig> config);
  /// The offer `id` while it is pending; nullopt once decided or expired, or for an id never made.
  [[nodiscard]] std::optional<SynOffer> offer(OfferId id) const;
  /// Answers an offer. Undecided offers are "deferred" and expire after pending_timeout (Event
  /// offer_expired). tcp::Error::offer_expired for an offer that expired, unknown_offer for an id that
  /// names no pending offer (never made, or already decided); no_resources when accepting finds the
  /// forwarder's SYN queue (or, after a cookie handshake, the connection pool) full.
  /// A listener wins over the forwarder for its own address and port; every other SYN becomes an offer.
  std::error_code decide(Instant now, OfferId id, Verdict verdict);

  // --- observation -------------------------------------------------------------------------------------
  /// Calls `observer` with every segment the stack receives or sends (for ladders and logs); an empty
  /// function turns it off. The observer must not call into the Stack.
  void set_observer(SegmentObserver observer);
  /// Calls `hook` with every state transition of every connection (old state, new state, why) and every
  /// datagram the stack drops with its reason (the counter that counted it): the events a `-v` prints. An
  /// empty function turns it off; while off, the only cost is one test per call. The hook must not call
  /// into the Stack. A TIME-WAIT connection kept as a compact record reports no further transition.
  void set_log_hook(LogHook hook);
  /// Everything the stack counted since construction (see StackStats).
  [[nodiscard]] const StackStats& stats() const noexcept;
  /// The connections' buffer memory (bytes in use, pressure).
  [[nodiscard]] const tcp::BufferPool& buffer_pool() const noexcept;
  /// Connections the stack holds, TIME-WAIT records included.
  [[nodiscard]] std::size_t connection_count() const noexcept;
  /// TIME-WAIT connections kept as compact records (the user has closed them).
  [[nodiscard]] std::size_t time_wait_count() const noexcept;
  /// Offers made and not yet decided or expired.
  [[nodiscard]] std::size_t pending_offer_count() const noexcept;
  /// A listener's queues and counters as plain values; nullopt for an unknown or closed listener.
  [[nodiscard]] std::optional<ListenerInfo> listener_info(ListenerId id) const noexcept;
  /// The engine's listener itself (for tests and tools that inspect its SYN queue); prefer listener_info.
  [[nodiscard]] const tcp::Listener* listener(ListenerId id) const noexcept;
  /// The engine configuration every connection uses (StackConfig::tcp, with the Stack's buffer pool).
  [[nodiscard]] const tcp::Config& tcp_config() const noexcept;

 private:
  std::optional<std::size_t> poll_transmit_due(Instant now, wire::MutableBytes out);
  std::optional<Event> poll_event_due();

  std::unique_ptr<StackCore> core_;
  const std::uint8_t* due_;  ///< the core's due word (detail::kTransmitDue, kEventsDue); moves with core_
};

}  // namespace synack::stack
