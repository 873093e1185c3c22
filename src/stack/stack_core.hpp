// The Stack's implementation (private to src/stack). The public face is synack/stack/stack.hpp, which
// documents every call and forwards it here through one pointer, so that a Stack can move and its header
// stays small; the comments below are about the implementation only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <expected>
#include <memory>
#include <optional>
#include <span>
#include <system_error>
#include <type_traits>
#include <vector>

#include "synack/stack/flow_table.hpp"
#include "synack/stack/ring.hpp"
#include "synack/stack/time_wait_table.hpp"
#include "synack/stack/timer_wheel.hpp"
#include "synack/stack/types.hpp"
#include "synack/tcp/buffer_pool.hpp"
#include "synack/tcp/connection.hpp"
#include "synack/tcp/fast_open.hpp"
#include "synack/tcp/isn.hpp"
#include "synack/tcp/listener.hpp"
#include "synack/tcp/syn_cookie.hpp"
#include "synack/tcp/time_wait.hpp"
#include "synack/time.hpp"
#include "synack/wire/bytes.hpp"
#include "synack/wire/ip_address.hpp"

namespace synack::stack {

/// 0.0.0.0 or ::, the two addresses whose 16 bytes are all zero (an IPv4 address keeps its last 12 zero).
inline bool unspecified(const wire::IpAddress& a) noexcept {
  const auto w = a.words();
  return (w[0] | w[1]) == 0;
}

/// What an event starts as: `Event e = kBlankEvent;` copies two words where `Event e;` would call
/// std::system_category() (a default std::error_code's category, out of line in libstdc++) for every
/// event raised.
inline const Event kBlankEvent{};
/// What a call that succeeded returns, copied for the same reason (`return {};` would call it too).
inline const std::error_code kNoError{};

/// Builds a value in place from a factory's result: `opt.emplace(BuiltBy{[&] { return T::make(...); }})`
/// constructs the factory's prvalue straight into the optional (the conversion's result initialises it),
/// instead of building a temporary and moving it in — for a 256-byte Connection, once per handshake side.
template <typename F>
struct BuiltBy {
  F make;
  // NOLINTNEXTLINE(google-explicit-constructor): the implicit conversion is the point
  operator std::invoke_result_t<F&>() { return make(); }
};
template <typename F>
BuiltBy(F) -> BuiltBy<F>;

class StackCore;

/// The log hook's state while one is installed (stack_log.cpp): the hook, the `now` of the call in progress
/// and the transition sink the Stack's tcp::Config points at.
class StackLog final : public tcp::TransitionSink {
 public:
  StackLog(const StackCore& core, LogHook log_hook) : hook(std::move(log_hook)), core_(&core) {}
  void on_transition(const tcp::Connection& connection, const tcp::Transition& transition) noexcept override;
  /// One record per counter (drops and notes, not the routine ones) that went up from `before` to `after`.
  void counters(const StackStats& before, const StackStats& after, const wire::FourTuple& tuple) const;

  LogHook hook;
  Instant now;

 private:
  const StackCore* core_;
};

class StackCore {
 public:
  // The public API, one for one: each call is documented once, in synack/stack/stack.hpp.
  StackCore(StackConfig config, std::span<const std::byte, 16> isn_key, std::uint64_t rng_seed);
  StackCore(const StackCore&) = delete;
  StackCore& operator=(const StackCore&) = delete;
  StackCore(StackCore&&) = delete;
  StackCore& operator=(StackCore&&) = delete;
  ~StackCore();

  // --- driver side -----------------------------------------------------------------------------------
  void on_packet(Instant now, wire::Bytes ip_datagram) { on_packet_hashed(now, ip_datagram, std::nullopt); }
  void on_packets(Instant now, std::span<const wire::Bytes> ip_datagrams);
  /// on_packets() for more than one datagram: every tuple hashed and its line prefetched, 16 ahead.
  [[gnu::noinline]] void on_packet_burst(Instant now, std::span<const wire::Bytes> datagrams);
  /// The control queue, then the ready connections: Stack::poll_transmit() calls it (through
  /// poll_transmit_due) only when the due bit is set; a batch's closing poll answers in line there.
  std::optional<std::size_t> poll_transmit_queued(Instant now, wire::MutableBytes out);
  [[nodiscard]] std::optional<Event> poll_event() {
    if (pool_.relief_pending()) [[unlikely]]
      relieve_memory_pressure_now();
    std::optional<Event> e;
    if (!events_.empty()) {
      // Inline (into Stack::poll_event_due): popping one event is a few moves, cheaper than a call.
      e.emplace(events_.front());
      events_.pop_front();
    }
    if (events_.empty() && !pool_.relief_pending()) due_ &= static_cast<std::uint8_t>(~detail::kEventsDue);
    return e;
  }
  /// Not const: it first files the timers that changed since the last call (flush_timers).
  [[nodiscard]] Instant next_deadline();
  void on_timeout(Instant now);
  /// For the public Stack's inline "nothing due" answers: the due word (detail::kTransmitDue, kEventsDue).
  [[nodiscard]] const std::uint8_t* due() const noexcept { return &due_; }

  // --- sockets -------------------------------------------------------------------------------------------
  /// `hash`: the flow hash of {local, remote}, when the caller computed it (and prefetched its line) for a
  /// fully named tuple; connect_burst() does.
  [[nodiscard]] std::expected<ConnectionId, std::error_code> connect(
      Instant now, wire::Endpoint local, wire::Endpoint remote, const ConnectOptions& options = {},
      std::optional<std::uint32_t> hash = std::nullopt);
  /// Stack::connect() over a span: the fully named tuples of up to 16 requests hashed and their lines
  /// prefetched, then each request connected in order.
  std::size_t connect_burst(Instant now, std::span<const ConnectRequest> requests,
                            std::span<std::expected<ConnectionId, std::error_code>> results);
  [[nodiscard]] std::expected<ListenerId, std::error_code> listen(wire::Endpoint local,
                                                                  std::uint32_t backlog = 0);
  [[nodiscard]] std::expected<ListenerId, std::error_code> listen(wire::Endpoint local,
                                                                  const ListenOptions& options);
  void rekey_syn_cookies(Instant now, std::span<const std::byte, 16> key) noexcept;
  void rekey_fast_open(Instant now, std::span<const std::byte, 16> key) noexcept {
    fast_open_keys_.rekey(now, key);
  }
  [[nodiscard]] tcp::FastOpenCache& fast_open_cache() noexcept { return fast_open_cache_; }
  [[nodiscard]] std::expected<ConnectionId, std::error_code> accept(ListenerId id);
  std::error_code close_listener(Instant now, ListenerId id);

  [[nodiscard]] std::expected<std::size_t, std::error_code> send(ConnectionId id, wire::Bytes data);
  [[nodiscard]] std::expected<std::size_t, std::error_code> recv(ConnectionId id, wire::MutableBytes out);
  std::error_code shutdown_write(Instant now, ConnectionId id);
  std::error_code close(Instant now, ConnectionId id);
  std::error_code abort(Instant now, ConnectionId id);
  std::error_code set_user_data(ConnectionId id, std::uint64_t user);
  std::error_code set_user_data(OfferId id, std::uint64_t user);
  [[nodiscard]] std::optional<std::uint64_t> user_data(ConnectionId id) const;
  [[nodiscard]] std::optional<tcp::ConnectionInfo> info(ConnectionId id) const;

  // --- forwarder ("promiscuous") mode ----------------------------------------------------------------
  void set_forwarder(std::optional<ForwarderConfig> config);
  [[nodiscard]] std::optional<SynOffer> offer(OfferId id) const;
  std::error_code decide(Instant now, OfferId id, Verdict verdict);

  // --- observation -------------------------------------------------------------------------------------
  void set_observer(SegmentObserver observer) { observer_ = std::move(observer); }
  // stack_log.cpp
  void set_log_hook(LogHook hook);
  [[nodiscard]] bool logging() const noexcept { return log_ != nullptr; }
  void log_time(Instant now) noexcept {
    if (log_) log_->now = now;
  }
  void on_packet_logged(Instant now, wire::Bytes datagram);
  /// on_packet_logged() for each datagram of a burst: out of line, so that Stack::on_packets() (which
  /// calls it while a log is open) sets up no frame on its usual way through.
  [[gnu::noinline]] void on_packets_logged(Instant now, std::span<const wire::Bytes> datagrams);
  void on_timeout_logged(Instant now);
  /// The id of the connection on `tuple`, invalid when the flow table has none.
  [[nodiscard]] ConnectionId id_of(const wire::FourTuple& tuple) const;
  /// The stack's own counters plus what its listeners counted (added up here, not per segment).
  [[nodiscard]] const StackStats& stats() const noexcept;
  [[nodiscard]] const tcp::BufferPool& buffer_pool() const noexcept { return pool_; }
  [[nodiscard]] std::size_t connection_count() const noexcept { return live_connections_ + time_wait_count_; }
  [[nodiscard]] std::size_t time_wait_count() const noexcept { return time_wait_count_; }
  [[nodiscard]] std::size_t pending_offer_count() const noexcept { return pending_offers_; }
  [[nodiscard]] const tcp::Listener* listener(ListenerId id) const noexcept;
  [[nodiscard]] std::optional<ListenerInfo> listener_info(ListenerId id) const noexcept;
  [[nodiscard]] const tcp::Config& tcp_config() const noexcept { return config_.tcp; }

 private:
  struct Slot {
    std::optional<tcp::Connection> conn;
    std::uint32_t generation = 0;
    OfferId offer;                    ///< the forwarder offer it came from
    ListenerId listener;              ///< the listener it came from
    std::uint32_t time_wait = kNone;  ///< the TIME-WAIT record this connection was rebuilt from
    std::uint32_t flow_hash = 0;      ///< FlowTable::hash of its tuple, kept so it is computed once
    std::uint64_t user = 0;           ///< set_user_data
    bool in_flow = false;
    bool queued = false;  ///< in ready_
    bool released_by_user = false;
    bool timer_pending = false;  ///< in timer_pending_: its deadline changed since the wheel last saw it
  };
  /// TimeWaitRecord::owner: where a record stands.
  enum TimeWaitOwner : std::uint8_t {
    kTwLive = 0,      ///< in the flow table and the expiry FIFO
    kTwRebuilt = 1,   ///< a connection rebuilt from it is answering a segment; still in the FIFO
    kTwDead = 2,      ///< replaced or reused; freed when it reaches the FIFO's head
    kTwDetached = 3,  ///< reached the FIFO's head while rebuilt: belongs to the connection alone
  };
  struct Control {
    enum class Kind : std::uint8_t { rst, syn_ack, cookie_syn_ack };
    Kind kind = Kind::rst;
    wire::FourTuple tuple;
    wire::SeqNum seq;
    wire::SeqNum ack;
    bool with_ack = false;
    std::uint32_t listener = 0;
    std::uint32_t slot = 0;
    std::uint32_t ts_offset = 0;  ///< cookie_syn_ack: its TSval
    std::uint8_t generation = 0;
    std::uint8_t fast_open =
        0;                 ///< SYN-ACKs: carry a Fast Open cookie (tcp::ListenerReply::fast_open_cookie)
    tcp::HalfOpen cookie;  ///< cookie_syn_ack: what the SYN-ACK answers (no entry exists)
  };
  struct PendingOffer {
    SynOffer offer;
    tcp::PassiveOpen open;  ///< offer.handshake_done: the connection the cookie's final ACK completes
    std::uint64_t user = 0;
    std::uint32_t generation = 0;
    bool in_use = false;
    bool expired = false;  ///< the last offer freed from this slot expired (decide's error says so)
  };
  static constexpr std::uint32_t kForwarderListener = FlowTable::kForwarderOwner;
  static constexpr std::uint32_t kNone = 0xFFFFFFFFU;

  // stack.cpp
  [[nodiscard]] tcp::Connection* lookup(ConnectionId id) noexcept;
  [[nodiscard]] const tcp::Connection* lookup(ConnectionId id) const noexcept;
  [[nodiscard]] bool owns(const wire::IpAddress& address) const noexcept;
  /// owns() for a host with more than four addresses (the hashed set), out of line: the usual short list
  /// is then compared without a frame.
  [[nodiscard, gnu::noinline]] bool owns_hashed(const wire::IpAddress& address) const noexcept;
  [[nodiscard]] std::optional<std::uint32_t> alloc_slot();
  /// Collects events, unmaps a CLOSED connection, queues it for transmission (unless `requeue` is
  /// false: poll_transmit just found it has nothing) and releases it when the user is done with it.
  void touch(std::uint32_t index, bool requeue = true);
  /// touch() after poll_transmit handed out a segment of the connection in slot `index`, which is still
  /// queued exactly when `wants` (its wants_transmit() after the segment): sending raises no event and
  /// changes no state, so only the release and the timer are left to do.
  void after_transmit(std::uint32_t index, bool wants);
  void release(std::uint32_t index);
  /// Raises the Stack events for the connection bits `ev` of slot `index` (touch()).
  void post_events(std::uint32_t index, std::uint8_t ev);
  /// Queues `e` for poll_event() and marks events due.
  void post(const Event& e) {
    events_.push_back(e);
    due_ |= detail::kEventsDue;
  }
  /// Whether poll_transmit() may have something: a control segment, a ready connection, memory relief.
  [[nodiscard]] bool transmit_due() const noexcept {
    return control_count_ != 0 || !ready_.empty() || pool_.relief_pending();
  }
  /// Clears detail::kTransmitDue once nothing is left, so that the driver's next poll (the one that ends
  /// every batch) answers in line, without a call: done as the last datagram leaves, not by that poll.
  void clear_transmit_due_if_idle() noexcept {
    if (!transmit_due()) due_ &= static_cast<std::uint8_t>(~detail::kTransmitDue);
  }
  /// Notes that slot `s` (at `index`, holding a connection) may need its timer refiled when a timer of
  /// the connection changed; the wheel sees it at the next flush_timers(). Inline: most calls find no
  /// change.
  void sync_timer(Slot& s, std::uint32_t index) noexcept {
    if (!s.conn->take_timers_changed() || s.timer_pending) return;
    note_timer(s, index);
  }
  void note_timer(Slot& s, std::uint32_t index) noexcept;
  /// Files the deadline of every connection noted by sync_timer() since the last flush when it moved
  /// earlier than the one filed (or none is filed), and unfiles a connection with no timer left; a
  /// deadline that moved later leaves the earlier entry, whose expiry then refiles the connection
  /// (on_timeout). A deadline that changes
  /// several times between two driver calls to next_deadline() or on_timeout() (a SYN's retransmission
  /// timer armed at connect() and cancelled by the SYN-ACK within one pump, or by the connection's
  /// release) is filed once, or not at all.
  void flush_timers() noexcept;
  /// Takes the pool's relief (it is pending) and relieves every connection (poll_event()'s rare path).
  [[gnu::noinline]] void relieve_memory_pressure_now();
  // flows: one keyed hash per datagram; the owner's own tuple confirms a hash match
  [[nodiscard]] bool flow_is(FlowRef ref, const wire::FourTuple& tuple) const noexcept;
  /// The owner word of `tuple`'s flow, or FlowTable::kNoWord (flow_find() as one register).
  [[nodiscard]] std::uint32_t flow_find_word(std::uint32_t hash, const wire::FourTuple& tuple) const;
  [[nodiscard]] std::optional<FlowRef> flow_find(std::uint32_t hash, const wire::FourTuple& tuple) const {
    const std::uint32_t word = flow_find_word(hash, tuple);
    if (word == FlowTable::kNoWord) return std::nullopt;
    return FlowTable::decode(word);
  }
  /// Whether a tuple has a flow: connect()'s no-slot error, out of line (in line it was a second copy of
  /// the lookup in connect()'s frame).
  [[nodiscard, gnu::cold, gnu::noinline]] bool tuple_taken(std::uint32_t hash,
                                                           const wire::FourTuple& tuple) const;
  void flow_insert(std::uint32_t hash, FlowRef ref) { flows_.insert(hash, ref); }
  void flow_erase(std::uint32_t hash, const wire::FourTuple& tuple);
  void flow_erase(const wire::FourTuple& tuple) { flow_erase(flows_.hash(tuple), tuple); }
  void flow_replace(std::uint32_t hash, const wire::FourTuple& tuple, FlowRef ref);
  /// Points the flow of owner `old_ref` at `ref` (inserts it when there is none), without a tuple compare.
  void flow_replace_exact(std::uint32_t hash, FlowRef old_ref, FlowRef ref) {
    if (!flows_.replace_exact(hash, old_ref, ref)) flows_.insert(hash, ref);
  }
  /// The flow of connection slot `index`.
  [[nodiscard]] static FlowRef connection_ref(std::uint32_t index) noexcept {
    return FlowRef{FlowRef::Kind::connection, index, 0};
  }
  // TIME-WAIT records
  /// The user has closed a connection in TIME-WAIT with nothing to send: keep a record instead.
  void compact_time_wait(std::uint32_t index);
  /// Rebuilds a connection from record `record` to process a segment; nullopt when the pool is full.
  [[nodiscard]] std::optional<std::uint32_t> rebuild_time_wait(Instant now, std::uint32_t record,
                                                               std::uint32_t hash);
  void append_time_wait(std::uint32_t record) noexcept;  ///< at the expiry FIFO's tail
  void expire_time_wait(Instant now);
  /// Buffer memory pressure ended: every connection may take memory again (writable, window updates).
  void relieve_memory_pressure();
  [[nodiscard]] tcp::Listener* listener_at(std::uint32_t owner) noexcept;
  [[nodiscard]] const tcp::Listener* listener_at(std::uint32_t owner) const noexcept;
  /// Removes the flow of half-open entry `slot` of listener `owner` after the entry was freed.
  void erase_half_open_flow(std::uint32_t hash, std::uint32_t slot, std::uint32_t owner) noexcept;
  [[nodiscard]] std::optional<std::uint32_t> find_listener(const wire::Endpoint& local) const noexcept;
  /// RFC 1122 §3.2.1.3, RFC 1812 §5.3.7: a martian source or destination, counted by reason in
  /// stats_.martian; the datagram is then discarded before any lookup.
  [[nodiscard]] bool is_martian(const wire::FourTuple& tuple) noexcept {
    std::uint64_t* counter = martian_counter(tuple);
    if (counter != nullptr) ++*counter;
    return counter != nullptr;
  }
  /// The stats_.martian counter of the reason `tuple` is martian, or nullptr; counts nothing.
  [[nodiscard]] std::uint64_t* martian_counter(const wire::FourTuple& tuple) noexcept;
  /// Whether a received datagram's `tuple` is neither martian nor to an address this host does not own:
  /// martian_counter() == nullptr && owns(local), in one pass over the owned addresses for the common
  /// case (IPv4, ordinary addresses, a handful owned) and through those two otherwise.
  [[nodiscard]] bool ordinary_and_ours(const wire::FourTuple& tuple) noexcept;
  /// Adds what listener stats `l` counted to `s` (stats() for live listeners; close_listener folds a
  /// closing listener's counts into stats_ for good).
  static void add_listener_counters(const tcp::ListenerStats& l, StackStats& s) noexcept;
  /// Adds what a connection counted during one call (after - before) to the stack's totals.
  void add_connection_counters(const tcp::ConnectionCounters& before,
                               const tcp::ConnectionCounters& after) noexcept;

  // stack_io.cpp
  /// on_packet() with the flow hash of the datagram's peeked tuple when on_packets() computed it.
  void on_packet_hashed(Instant now, wire::Bytes datagram, std::optional<std::uint32_t> peeked_hash);
  /// A datagram for a tuple the flow table knows (`ref`): TIME-WAIT, connection, half-open or offer.
  /// `ip_ecn`: the datagram's IP ECN field (RFC 3168), for the connection.
  void on_flow_segment(Instant now, const wire::FourTuple& tuple, std::uint32_t hash, FlowRef ref,
                       const wire::TcpHeader& h, wire::Bytes payload, std::uint8_t ip_ecn);
  /// A plain SYN for a listener taken into its SYN queue before the flow lookup, the lookup after
  /// (Listener::take_syn). False when the SYN takes the usual way; true when it was taken and looked up:
  /// `ref` empty, it is queued and its SYN-ACK too; else it was withdrawn and `ref` is its flow.
  bool syn_before_lookup(Instant now, const wire::FourTuple& tuple, std::uint32_t hash,
                         const wire::TcpHeader& h, wire::Bytes payload, std::uint8_t ip_ecn,
                         std::optional<FlowRef>& ref);
  /// A datagram no flow knows: a listener's, the forwarder's, or answered as closed (`ip_ecn` for an
  /// AccECN SYN-ACK, RFC 9768 Table 2).
  void on_segment_no_flow(Instant now, const wire::FourTuple& tuple, std::uint32_t hash,
                          const wire::TcpHeader& h, wire::Bytes payload, std::uint8_t ip_ecn = 0);
  void on_half_open(Instant now, const wire::FourTuple& tuple, std::uint32_t hash, FlowRef ref,
                    const wire::TcpHeader& h, wire::Bytes payload);
  void reply_closed(const wire::FourTuple& tuple, const wire::TcpHeader& h, std::size_t payload_len);
  void push_control(const Control& c);
  /// The control queue's next slot, queued (its old contents in it), or nullptr when the queue is full
  /// (counted as a drop). The caller sets every field that its kind's transmission reads.
  [[nodiscard]] Control* push_control_slot();
  /// Queues <SEQ=seq><CTL=RST>, or <SEQ=seq><ACK=ack><CTL=RST,ACK> when `ack` is given.
  void push_rst(const wire::FourTuple& tuple, wire::SeqNum seq,
                std::optional<wire::SeqNum> ack = std::nullopt);
  void push_syn_ack(const wire::FourTuple& tuple, std::uint32_t owner, std::uint32_t slot,
                    std::uint8_t fast_open = 0);
  // stack_fast_open.cpp (RFC 7413)
  /// connect() with data or Fast Open: queue the data; put a cookie (or a request) and data in the SYN.
  void fast_open_connect(Instant now, tcp::Connection& c, const ConnectOptions& options);
  /// A listener's fast_open reply: the connection is made now, readable at once, and queued for accept.
  void fast_open_accept(Instant now, const wire::FourTuple& tuple, std::uint32_t hash, std::uint32_t owner,
                        const tcp::ListenerReply& r, const wire::TcpHeader& h, wire::Bytes payload);
  /// A client connection that used Fast Open was established or failed: update the cookie cache.
  void fast_open_learn(const tcp::Connection& c);
  /// The Fast Open option a SYN-ACK carries for Control::fast_open (its storage is `cookie`).
  void add_fast_open_cookie(const Control& c, wire::SendHeader& h,
                            wire::FastOpenCookie& cookie) const noexcept;
  /// A connection of listener `owner` is in slot `index`: queue it for accept(), report it, and process
  /// data or FIN its final ACK carried.
  void accept_passive(Instant now, std::uint32_t index, std::uint32_t owner, const wire::TcpHeader& h,
                      wire::Bytes payload);
  /// Writes one datagram. Defined in stack_io.cpp and in line in poll_transmit_queued(), its only caller:
  /// as a call its frame cost ≈ 10 instructions a datagram sent (callgrind, BENCHMARKS.md round 18).
  [[nodiscard, gnu::always_inline]] inline std::optional<std::size_t> emit(
      Instant now, ConnectionId id, const wire::FourTuple& tuple, const wire::SendHeader& h,
      wire::Bytes payload, wire::MutableBytes out, std::uint8_t ecn = 0);
  void observe(Instant now, ConnectionId id, Direction dir, const wire::FourTuple& tuple,
               const wire::TcpHeader& h, std::size_t payload_len) const;
  /// observe() of a segment emit() sent (its full header is built only here, while an observer is set).
  [[gnu::noinline]] void observe_out(Instant now, ConnectionId id, const wire::FourTuple& tuple,
                                     const wire::SendHeader& h, std::size_t payload_len) const;
  void expire_offers(Instant now);
  /// Forwarder: a new offer for offer.tuple (its flow, timer and syn_offer event); nullopt when max_pending
  /// offers are undecided.
  std::optional<std::uint32_t> add_offer(Instant now, std::uint32_t hash, const SynOffer& offer);
  /// Forwarder: a SYN answered per ForwarderConfig::syn_cookies, or a cookie's final ACK.
  void forwarder_syn(Instant now, const wire::FourTuple& tuple, std::uint32_t hash, const wire::TcpHeader& h);
  void forwarder_cookie_ack(Instant now, const wire::FourTuple& tuple, std::uint32_t hash,
                            const wire::TcpHeader& h, wire::Bytes payload);
  std::error_code decide_after_handshake(Instant now, const PendingOffer& p, Verdict verdict);
  void free_offer(std::uint32_t index, bool expired = false);
  [[nodiscard]] std::uint64_t next_random() noexcept;
  /// A port drawn at random from [ephemeral_low, ephemeral_high], for connect() with port 0.
  [[nodiscard]] std::uint16_t ephemeral_port() noexcept;
  /// After a busy first draw, connect() draws kEphemeralBatch ports at a time, their flow-table lookups
  /// started together so that their misses overlap, kEphemeralBatches times before address_in_use.
  static constexpr int kEphemeralBatch = 4;
  static constexpr int kEphemeralBatches = 16;
  /// Sets `tuple`'s local port to a free one of kEphemeralBatch * kEphemeralBatches drawn and `hash` to
  /// its hash; false when every one drawn was busy.
  [[nodiscard]] bool redraw_ephemeral(wire::FourTuple& tuple, std::uint32_t& hash);

  StackConfig config_;
  tcp::BufferPool pool_;  ///< before the slots: connections give their memory back to it when destroyed
  tcp::IsnGenerator isn_;
  tcp::SynCookies cookies_;             ///< shared by every listener, as Linux's syncookie_secret
  tcp::FastOpenKeys fast_open_keys_;    ///< RFC 7413 server cookies, shared by every listener
  tcp::FastOpenCache fast_open_cache_;  ///< RFC 7413 client cookies per server address
  std::uint64_t rng_state_;
  /// make_offer(config_.tcp, version) for IPv4 and IPv6, once: connect() without overrides uses them.
  tcp::Offer default_offer_v4_;
  tcp::Offer default_offer_v6_;
  std::vector<wire::IpAddress> owned_list_;  ///< config_.addresses without unspecified ones
  std::vector<wire::IpAddress> owned_;  ///< open-addressed set of config_.addresses (unspecified = empty)
  FlowTable flows_;
  std::vector<Slot> slots_;
  std::vector<std::uint32_t> free_slots_;
  std::size_t live_connections_ = 0;
  TimerWheel timers_;  ///< one timer per connection slot: its next deadline (after flush_timers)
  std::vector<std::uint32_t> timer_pending_;  ///< slots whose deadline may have moved (capacity: slots_')
  TimerWheel offer_timers_;                   ///< one per pending forwarder offer
  TimeWaitTable time_wait_;  ///< records (IPv4 ones in 40 bytes); free ones chained through `link`
  std::uint32_t time_wait_head_ = kNone;  ///< expiry FIFO (appended in expiry order) through `link`
  std::uint32_t time_wait_tail_ = kNone;
  std::size_t time_wait_count_ = 0;  ///< live and rebuilt records
  std::vector<std::optional<tcp::Listener>> listeners_;
  std::optional<ForwarderConfig> forwarder_;
  tcp::Config forwarder_tcp_;  ///< config_.tcp with the forwarder's SYN-queue size
  std::optional<tcp::Listener> forwarder_listener_;
  std::vector<PendingOffer> offers_;
  struct AcceptedOffer {
    OfferId offer;
    std::uint64_t user = 0;
  };
  std::vector<AcceptedOffer> offer_of_half_open_;  ///< forwarder half-open slot -> the offer it answers
  std::vector<std::uint32_t> free_offers_;         ///< offers_[0, max_pending): from a SYN
  std::vector<std::uint32_t> free_cookie_offers_;  ///< offers_[max_pending, 2 max_pending): handshake_done
  std::size_t pending_offers_ = 0;
  std::vector<Control> control_;  ///< ring
  std::size_t control_head_ = 0;
  std::size_t control_count_ = 0;
  Ring<std::uint32_t> ready_;
  Ring<Event> events_;
  /// detail::kTransmitDue while a control segment, a ready connection or memory relief may wait;
  /// detail::kEventsDue while an event or memory relief may (the pool sets both: BufferPool::signal_relief).
  std::uint8_t due_ = 0;
  SegmentObserver observer_;
  std::unique_ptr<StackLog> log_;  ///< set while a log hook is installed
  StackStats stats_;               ///< counted by the stack itself (and by listeners since closed)
  mutable StackStats reported_;    ///< stats(): stats_, the pool's counters and the live listeners' counts
};

}  // namespace synack::stack
