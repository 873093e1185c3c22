// One Stack per host: the flow table (4-tuple -> connection), listeners, the forwarder, timers and the
// socket-facing API the drivers (simulator, TUN) and the CLI use. Sans-I/O like the engine below it:
// IP datagrams go in through on_packet(now, bytes) and come out of poll_transmit(now, buffer); time is
// passed in; next_deadline()/on_timeout(now) drive the timers; poll_event() reports what happened.
// Single-threaded: one Stack per thread (or per core), no call from two threads at once.
//
// Typical driver loop:
//   stack.on_packet(now, datagram);                 // for each received datagram
//   while (auto n = stack.poll_transmit(now, buf)) send(buf.first(*n));
//   while (auto e = stack.poll_event()) handle(*e);
//   sleep until stack.next_deadline(); stack.on_timeout(now);
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
class Listener;
}  // namespace synack::tcp

namespace synack::stack {

class StackCore;  // src/stack/stack_core.hpp

class Stack {
 public:
  /// `isn_key`: 128 secret bits (random_isn_key() in production, fixed in tests). `rng_seed`: ephemeral
  /// ports and the flow table's hash seed.
  Stack(StackConfig config, std::span<const std::byte, 16> isn_key, std::uint64_t rng_seed);
  Stack(const Stack&) = delete;
  Stack& operator=(const Stack&) = delete;
  /// A Stack moves (its state stays where it is; only the pointer to it moves). A moved-from Stack may
  /// only be destroyed or assigned to.
  Stack(Stack&&) noexcept;
  Stack& operator=(Stack&&) noexcept;
  ~Stack();

  // --- driver side -----------------------------------------------------------------------------------
  /// One received IP datagram (IPv4 or IPv6 carrying TCP). Malformed or bad-checksum datagrams are
  /// dropped and counted in stats(), never a crash.
  void on_packet(Instant now, wire::Bytes ip_datagram);
  /// Writes the next datagram to send into `out` and returns its size; nullopt when nothing is due.
  /// `out` should hold the MTU (a too-small buffer drops that datagram and counts emit_failures).
  [[nodiscard]] std::optional<std::size_t> poll_transmit(Instant now, wire::MutableBytes out);
  [[nodiscard]] std::optional<Event> poll_event();
  /// Earliest instant on_timeout() must run; Instant::max() when no timer runs.
  [[nodiscard]] Instant next_deadline() const;
  void on_timeout(Instant now);

  // --- sockets -------------------------------------------------------------------------------------------
  /// Active open. local.port 0 picks an ephemeral port; an unspecified local address picks the first
  /// owned address of the remote's family.
  [[nodiscard]] std::expected<ConnectionId, std::error_code> connect(Instant now, wire::Endpoint local,
                                                                     wire::Endpoint remote,
                                                                     const ConnectOptions& options = {});
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
  [[nodiscard]] std::expected<ConnectionId, std::error_code> accept(ListenerId id);
  std::error_code close_listener(Instant now, ListenerId id);

  [[nodiscard]] std::expected<std::size_t, std::error_code> send(ConnectionId id, wire::Bytes data);
  [[nodiscard]] std::expected<std::size_t, std::error_code> recv(ConnectionId id, wire::MutableBytes out);
  /// Queues a FIN after the queued data (it leaves, and its retransmission timer starts, in poll_transmit).
  std::error_code shutdown_write(Instant now, ConnectionId id);
  /// Gives the connection up: it finishes closing by itself and its id becomes invalid once CLOSED.
  /// The timer it arms (the orphaned FIN-WAIT-2 lifetime) counts from `now`.
  std::error_code close(Instant now, ConnectionId id);
  /// RST now; the id becomes invalid once the RST is sent.
  std::error_code abort(Instant now, ConnectionId id);
  /// The embedder's context for a connection or a pending offer (lwIP's tcp_arg): carried by every event
  /// about it (Event::user); an accepted offer's context passes to its half-open entry and connection.
  std::error_code set_user_data(ConnectionId id, std::uint64_t user);
  std::error_code set_user_data(OfferId id, std::uint64_t user);
  [[nodiscard]] std::optional<std::uint64_t> user_data(ConnectionId id) const;
  [[nodiscard]] std::optional<tcp::ConnectionInfo> info(ConnectionId id) const;

  // --- forwarder ("promiscuous") mode ----------------------------------------------------------------
  /// With a config: every SYN for any address and port without a connection becomes a SynOffer
  /// (Event syn_offer) instead of going to a listener. nullopt turns the mode off.
  void set_forwarder(std::optional<ForwarderConfig> config);
  [[nodiscard]] std::optional<SynOffer> offer(OfferId id) const;
  /// Answers an offer. Undecided offers are "deferred" and expire after pending_timeout (Event
  /// offer_expired). tcp::Error::offer_expired for an offer that expired, unknown_offer for an id that
  /// names no pending offer (never made, or already decided); no_resources when accepting finds the
  /// forwarder's SYN queue (or, after a cookie handshake, the connection pool) full.
  /// A listener wins over the forwarder for its own address and port; every other SYN becomes an offer.
  std::error_code decide(Instant now, OfferId id, Verdict verdict);

  // --- observation -------------------------------------------------------------------------------------
  void set_observer(SegmentObserver observer);
  [[nodiscard]] const StackStats& stats() const noexcept;
  /// The connections' buffer memory (bytes in use, pressure).
  [[nodiscard]] const tcp::BufferPool& buffer_pool() const noexcept;
  /// Connections the stack holds, TIME-WAIT records included.
  [[nodiscard]] std::size_t connection_count() const noexcept;
  /// TIME-WAIT connections kept as compact records (the user has closed them).
  [[nodiscard]] std::size_t time_wait_count() const noexcept;
  [[nodiscard]] std::size_t pending_offer_count() const noexcept;
  /// A listener's queues and counters as plain values; nullopt for an unknown or closed listener.
  [[nodiscard]] std::optional<ListenerInfo> listener_info(ListenerId id) const noexcept;
  /// The engine's listener itself (for tests and tools that inspect its SYN queue); prefer listener_info.
  [[nodiscard]] const tcp::Listener* listener(ListenerId id) const noexcept;
  [[nodiscard]] const tcp::Config& tcp_config() const noexcept;

 private:
  std::unique_ptr<StackCore> core_;
};

}  // namespace synack::stack
