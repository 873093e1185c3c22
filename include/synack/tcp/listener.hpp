/// @file
/// LISTEN and the passive half of the handshake (RFC 9293 §3.5, §3.10.7.2): a listener owns a bounded
/// SYN queue of compact half-open entries (SYN-RECEIVED without a full connection) and a bounded accept
/// queue of completed connections. A SYN allocates nothing of its own: its entry is a 42-byte slot (IPv4;
/// an IPv6 entry keeps its two addresses in a 32-byte side record) in a queue stored in fixed chunks of
/// kChunk slots, allocated as the queue first reaches them (up to Config::syn_queue_capacity) and reused
/// through a free list, so memory follows the peak number of half-open entries, not the configured bound,
/// and never holds a doubling's unused half. The FIFO links, retransmission count, generation and flags
/// share one 64-bit word of the slot.
///
/// Timers without a scan: an entry's SYN-ACK deadline depends only on when its SYN arrived and how many
/// times the SYN-ACK went out (1, 3, 7, ... s). Entries with the same retransmission count therefore expire
/// in the order they were created, so the listener keeps one FIFO list per count (intrusive links beside
/// the entries) and next_deadline()/on_timeout() look only at the heads: O(synack_retries), independent of
/// the number of entries.
///
/// Linux comparison (docs/engine.md): `backlog` bounds the accept queue, as listen(2) does; the SYN queue
/// is bounded separately (Config::syn_queue_capacity, like tcp_max_syn_backlog). As in Linux, a SYN is
/// dropped when either queue is full, and a final ACK that finds the accept queue full is dropped while
/// the half-open entry stays (its SYN-ACK retransmission gives the peer another try).
///
/// SYN cookies (tcp/syn_cookie.hpp, RFC 4987 §3.6) are a policy of the listener (Config::syn_cookies):
/// `when_full` answers a SYN with a cookie only when the SYN queue is full, `always` answers every SYN with
/// one, `never` drops past the bound. A cookie SYN-ACK leaves no state; a final ACK with no half-open
/// entry is checked as a cookie (while cookies were sent in the last kValidTicks ticks, as Linux's
/// tcp_synq_no_recent_overflow) and, when valid, completes exactly like a SYN-queue entry: the listener
/// rebuilds a HalfOpen value from the cookie and the same passive_open() builds the connection.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
#include <optional>
#include <type_traits>
#include <vector>

#include "synack/tcp/config.hpp"
#include "synack/tcp/connection.hpp"
#include "synack/tcp/fast_open.hpp"
#include "synack/tcp/isn.hpp"
#include "synack/tcp/listener_stats.hpp"
#include "synack/tcp/options.hpp"
#include "synack/tcp/packed_tuple.hpp"
#include "synack/tcp/syn_cookie.hpp"
#include "synack/time.hpp"
#include "synack/wire/ip_address.hpp"
#include "synack/wire/seq.hpp"
#include "synack/wire/tcp.hpp"

namespace synack::tcp {

/// A half-open connection: everything needed to retransmit the SYN-ACK and to build the connection when
/// the final ACK arrives, as a value (64 bytes). The SYN queue stores it packed (Listener: 42 bytes).
struct HalfOpen {
  PackedTuple addr;                 ///< the 4-tuple (local = our side), family in kV6
  std::uint16_t peer_mss = 0;       ///< 0 = absent
  std::uint8_t peer_wscale = 0xFF;  ///< 0xFF = absent
  std::uint8_t flags = 0;        ///< kV6 | kSack | kTimestamps | kInUse | kCookie | kNoRtt | kEcn | kAccEcn
  std::uint8_t retransmits = 0;  ///< SYN-ACKs retransmitted so far (its FIFO level)
  /// Bumped on free (modulo 16, as stored): a stale reference to the slot is detected.
  std::uint8_t generation = 0;
  std::uint8_t syn_ecn = 0;     ///< the SYN's IP-ECN field, fed back in an AccECN SYN-ACK (kAccEcn)
  std::uint32_t iss = 0;        ///< our ISN (the SYN-ACK's sequence number)
  std::uint32_t irs = 0;        ///< the peer's ISN (from its SYN)
  std::uint32_t ts_recent = 0;  ///< the peer's TSval from its SYN
  /// When the SYN arrived and the first SYN-ACK left: microseconds after the listener's epoch
  /// (Listener::syn_received_at() gives the Instant). 32 bits, so that the timestamp offset fits.
  std::uint32_t syn_received_us = 0;
  /// Our timestamp offset for the tuple (IsnGenerator::timestamp_offset, from the same hash as the ISN),
  /// kept so that SYN-ACK retransmissions and the final ACK need no second hash (0, unused, in an entry
  /// rebuilt from a cookie without timestamps).
  std::uint32_t ts_offset = 0;

  static constexpr std::uint8_t kV6 = 0x01;          ///< flags: an IPv6 tuple
  static constexpr std::uint8_t kSack = 0x02;        ///< flags: the SYN carried SACK-permitted
  static constexpr std::uint8_t kTimestamps = 0x04;  ///< flags: the SYN carried Timestamps
  static constexpr std::uint8_t kInUse = 0x08;  ///< flags: the slot holds a live entry (not on the free list)
  static constexpr std::uint8_t kCookie = 0x10;  ///< rebuilt from a SYN cookie, never stored
  static constexpr std::uint8_t kNoRtt = 0x20;   ///< when the SYN-ACK left is unknown: no RTT sample
  static constexpr std::uint8_t kEcn = 0x40;     ///< the SYN asked for ECN and we agree (RFC 3168 §6.1.1)
  static constexpr std::uint8_t kAccEcn = 0x80;  ///< the SYN asked for AccECN and we agree (RFC 9768 §3.1.1)

  /// Whether the slot holds a live entry.
  [[nodiscard]] bool in_use() const noexcept { return (flags & kInUse) != 0; }
  /// The 4-tuple (local = our side).
  [[nodiscard]] wire::FourTuple tuple() const noexcept { return addr.unpack((flags & kV6) != 0); }
  /// Whether `tuple` is this entry's (compares bytes without building a FourTuple).
  [[nodiscard]] bool matches(const wire::FourTuple& tuple) const noexcept {
    return addr.matches(tuple, (flags & kV6) != 0);
  }
  /// The SYN's options as a SynOptions (as the forwarder's offer carries them).
  [[nodiscard]] SynOptions peer_options() const noexcept;
  /// The SYN's options as negotiate() takes them, straight from the fields.
  [[nodiscard]] PeerSyn peer_syn() const noexcept {
    return PeerSyn{peer_mss,
                   peer_wscale,
                   (flags & kSack) != 0,
                   (flags & kTimestamps) != 0,
                   (flags & kEcn) != 0,
                   (flags & kAccEcn) != 0};
  }
};
static_assert(sizeof(HalfOpen) <= 64, "a half-open entry must stay within 64 bytes");

/// What the listener wants done after a segment.
struct ListenerReply {
  /// The action, with the fields below it uses.
  enum class Kind : std::uint8_t {
    none,                 ///< drop silently
    send_syn_ack,         ///< (re)send the SYN-ACK of entry `slot`
    send_rst,             ///< send an RST (`rst_seq`, `rst_ack` filled in)
    complete,             ///< the final ACK arrived: build the connection from entry `slot` (then free it)
    send_cookie_syn_ack,  ///< answer statelessly: syn_ack(cookie, cookie_ts_val); nothing was stored
    complete_cookie,      ///< a valid cookie ACK: build the connection from passive_open(cookie, ...)
    /// RFC 7413 §4.2.2, a SYN with a valid Fast Open cookie and data: build the connection now from
    /// Connection::open_fast_open(passive_open(cookie, syn), data); nothing was stored.
    fast_open,
  };
  Kind kind = Kind::none;               ///< what to do
  std::uint32_t slot = 0;               ///< the SYN-queue slot for send_syn_ack and complete
  wire::SeqNum rst_seq;                 ///< send_rst: the RST's sequence number
  std::optional<wire::SeqNum> rst_ack;  ///< RST carries ACK with this value when set
  std::uint32_t cookie_ts_val = 0;      ///< send_cookie_syn_ack: our TSval (options in its low bits)
  HalfOpen cookie;                      ///< send_cookie_syn_ack / complete_cookie: the entry it stands for
  /// send_syn_ack into a full queue: the entry pruned to make room (its tuple and former slot), whose
  /// flow-table entry the owner removes before adding the new one.
  std::optional<wire::FourTuple> pruned;
  std::uint32_t pruned_slot = 0;  ///< the slot `pruned` held
  /// send_syn_ack / send_cookie_syn_ack: the SYN-ACK carries a Fast Open cookie for the client
  /// (kFastOpenCookie, or kFastOpenExperimental in option 254 as the SYN asked; RFC 7413 §4.2.2).
  std::uint8_t fast_open_cookie = 0;
  static constexpr std::uint8_t kFastOpenCookie = 1;        ///< fast_open_cookie: option kind 34
  static constexpr std::uint8_t kFastOpenExperimental = 2;  ///< fast_open_cookie: option 254, magic 0xF989
};

/// A listening endpoint's SYN queue and accept queue (see the file comment). The owner (a Stack) routes
/// segments to it, sends what the ListenerReply asks for and builds connections from completed entries; the
/// listener itself never sends or allocates per SYN. Keeps a pointer to the Config it was built with, which
/// must outlive it.
class Listener {
 public:
  static constexpr std::uint32_t kMaxSynQueue = tcp::kMaxSynQueue;  ///< the bound on syn_queue_capacity

  /// `backlog` bounds the accept queue (0 = Config::default_backlog).
  Listener(const Config& config, wire::Endpoint local, std::uint32_t backlog);

  /// The address and port it listens on (address may be unspecified: any local address).
  [[nodiscard]] const wire::Endpoint& local() const noexcept { return local_; }

  /// RFC 9293 §3.10.7.2: a segment for this listener with no half-open entry for its tuple. A SYN with
  /// room takes a SYN-queue slot (its index in reply.slot) and asks for a SYN-ACK.
  [[nodiscard]] ListenerReply on_segment(Instant now, const wire::FourTuple& tuple,
                                         const wire::TcpHeader& header, wire::Bytes payload,
                                         const IsnGenerator& isn, std::uint8_t ip_ecn = 0);
  /// on_segment() for a SYN the SYN queue takes as it comes — no cookie, no Fast Open, room in both queues
  /// without pruning — which is what nearly every SYN is: the slot of its new entry. nullopt, with
  /// nothing changed, for any other segment (on_segment() then takes it). For an owner that looks the
  /// SYN's tuple up in its flow table after this work rather than before, so that the work overlaps the
  /// lookup's cache miss in a large table; withdraw_syn() undoes it when the lookup finds a flow.
  [[nodiscard]] std::optional<std::uint32_t> take_syn(Instant now, const wire::FourTuple& tuple,
                                                      const wire::TcpHeader& header, const IsnGenerator& isn,
                                                      std::uint8_t ip_ecn = 0);
  /// Undoes take_syn(): the SYN belonged to an existing flow, so its entry is freed and it is not
  /// counted as received here.
  void withdraw_syn(std::uint32_t slot) noexcept;
  /// Creates a half-open entry as if `header` (a SYN) had arrived; used by on_segment and by the
  /// forwarder once the embedder accepted. nullopt when the SYN queue is full. The entry keeps its
  /// timestamp offset (HalfOpen::ts_offset), computed with its ISN by one hash.
  [[nodiscard]] std::optional<std::uint32_t> add_half_open(Instant now, const wire::FourTuple& tuple,
                                                           wire::SeqNum peer_isn, const SynOptions& peer,
                                                           const IsnGenerator& isn);
  /// RFC 9293 §3.10.7.4 for a half-open entry (SYN-RECEIVED): duplicate SYN, RST, bad or final ACK.
  [[nodiscard]] ListenerReply on_half_open_segment(Instant now, std::uint32_t slot,
                                                   const wire::TcpHeader& header);

  /// The SYN-ACK for `e` (a queue entry or a cookie) with TSval `ts_val`.
  [[nodiscard]] wire::TcpHeader syn_ack(const HalfOpen& e, std::uint32_t ts_val) const;
  /// The SYN-ACK for entry `slot` with timestamps taken at `now` (the entry keeps its timestamp offset).
  [[nodiscard]] wire::TcpHeader syn_ack(Instant now, std::uint32_t slot) const;
  /// syn_ack(e, ts_val) as the compact header the Stack emits straight into its output buffer.
  [[nodiscard]] wire::SendHeader send_syn_ack(const HalfOpen& e, std::uint32_t ts_val) const;
  /// syn_ack(now, slot) as the compact header the Stack emits (the entry keeps its timestamp offset).
  [[nodiscard]] wire::SendHeader send_syn_ack(Instant now, std::uint32_t slot) const;
  /// The facts a completed entry hands to Connection::open_passive.
  [[nodiscard]] PassiveOpen passive_open(std::uint32_t slot, const wire::TcpHeader& final_ack) const;
  /// passive_open(slot, final_ack) for a caller that holds the entry's tuple (its flow matched it): the
  /// entry's addresses are not unpacked.
  [[nodiscard]] PassiveOpen passive_open(std::uint32_t slot, const wire::TcpHeader& final_ack,
                                         const wire::FourTuple& tuple) const;
  /// The same for a half-open value: a queue entry or one rebuilt from a cookie (ListenerReply::cookie).
  [[nodiscard]] PassiveOpen passive_open(const HalfOpen& e, const wire::TcpHeader& final_ack) const;
  /// negotiate() of the passive offer and the entry's SYN options, read from its fields.
  [[nodiscard]] Negotiated negotiated(const HalfOpen& e) const noexcept;
  /// The half-open entry in `slot` (slot < syn_queue_slots()), unpacked.
  [[nodiscard]] HalfOpen entry(std::uint32_t slot) const noexcept;
  /// Whether `slot` (< syn_queue_slots()) holds a live entry for `tuple`, without unpacking it.
  [[nodiscard]] bool entry_matches(std::uint32_t slot, const wire::FourTuple& tuple) const noexcept {
    const Stored& st = at(slot);
    const std::uint64_t w = st.word();
    const bool v6 = ((w >> Stored::kFlagsShift) & 1U) != 0;
    if ((w & Stored::kInUseBit) == 0 || tuple.local.address.is_v6() != v6 ||
        st.get<std::uint32_t>(Stored::kLocalPort) !=
            (std::uint32_t{tuple.local.port} | (std::uint32_t{tuple.remote.port} << 16U))) {
      return false;
    }
    if (v6) return v6_matches(st, tuple);
    // Both IPv4 addresses in one compare (an address's first 4 bytes are the low half of its first word).
    return st.get<std::uint64_t>(Stored::kLocal) ==
           ((tuple.local.address.words()[0] & 0xFFFFFFFFU) | (tuple.remote.address.words()[0] << 32U));
  }
  /// The generation (modulo 16) of `slot` (< syn_queue_slots()).
  [[nodiscard]] std::uint8_t entry_generation(std::uint32_t slot) const noexcept {
    return Stored::generation_of(at(slot).word());
  }
  /// Whether `slot` (< syn_queue_slots()) holds a live entry of generation `generation` (modulo 16).
  [[nodiscard]] bool entry_live(std::uint32_t slot, std::uint8_t generation) const noexcept {
    const std::uint64_t w = at(slot).word();
    return (w & Stored::kInUseBit) != 0 && Stored::generation_of(w) == (generation & Stored::kGenerationMask);
  }
  /// When entry `e` (of this listener, or one it rebuilt from a cookie) saw its SYN.
  [[nodiscard]] Instant syn_received_at(const HalfOpen& e) const noexcept {
    return epoch_ + std::chrono::microseconds(e.syn_received_us);
  }
  /// Frees `slot` (its generation is bumped so stale references are detected).
  void free_half_open(std::uint32_t slot) noexcept;

  /// Earliest SYN-ACK retransmission or expiry; Instant::max() when the SYN queue is empty. O(levels).
  [[nodiscard]] Instant next_deadline() const noexcept;
  /// Slots whose SYN-ACK is due at `now`: each is either retransmitted (`retransmit` gets the slot) or,
  /// past synack_retries, freed (`expired` gets the slot before it is freed). A `retransmit` that
  /// returns bool may refuse (false: the owner cannot send now, e.g. its output queue is full): that
  /// entry and every later one stay due, untouched, for the next call.
  template <typename Retransmit, typename Expired>
  void on_timeout(Instant now, Retransmit&& retransmit, Expired&& expired);

  // --- accept queue (opaque handles chosen by the owner, e.g. connection ids) ---------------------
  /// Whether the accept queue holds `backlog()` completed connections.
  [[nodiscard]] bool accept_queue_full() const noexcept { return accept_count_ == accept_queue_.size(); }
  /// Queues a completed connection's handle for accept; false (nothing queued) when full.
  bool push_accept(std::uint64_t handle) noexcept;
  /// The oldest completed connection's handle; nullopt when none is waiting.
  [[nodiscard]] std::optional<std::uint64_t> pop_accept() noexcept;
  /// Completed connections waiting to be accepted.
  [[nodiscard]] std::size_t accept_queue_size() const noexcept { return accept_count_; }
  /// Half-open entries in the SYN queue.
  [[nodiscard]] std::size_t syn_queue_size() const noexcept { return half_open_count_; }
  /// The configured bound on half-open entries.
  [[nodiscard]] std::size_t syn_queue_capacity() const noexcept { return capacity_; }
  /// Slots handed out so far (valid indices for entry()): grows with use up to syn_queue_capacity().
  [[nodiscard]] std::size_t syn_queue_slots() const noexcept { return slots_; }
  /// Heap bytes the SYN queue's chunks and IPv6 side records occupy.
  [[nodiscard]] std::size_t syn_queue_memory_bytes() const noexcept {
    return chunks_.size() * kChunk * sizeof(Stored) + v6_addrs_.capacity() * sizeof(V6Addresses);
  }
  /// Slots per chunk of the SYN queue's storage: 2048 x 42 bytes is exactly 21 pages.
  static constexpr std::uint32_t kChunk = 2048;
  /// The accept queue's bound.
  [[nodiscard]] std::size_t backlog() const noexcept { return accept_queue_.size(); }

  /// The cookie generator (shared by the owner's listeners, not owned); null = no cookies whatever the
  /// Config says. The mode is Config::syn_cookies unless set_syn_cookie_mode() overrides it.
  void set_syn_cookies(SynCookies* cookies) noexcept { cookies_ = cookies; }
  /// Overrides Config::syn_cookies for this listener.
  void set_syn_cookie_mode(SynCookieMode mode) noexcept { cookie_mode_ = mode; }
  /// The SYN cookie mode in effect.
  [[nodiscard]] SynCookieMode syn_cookie_mode() const noexcept { return cookie_mode_; }
  /// What the listener counted so far.
  [[nodiscard]] const ListenerStats& stats() const noexcept { return stats_; }
  /// RFC 7413 server side: cookies from `keys` (the owner's, not owned), at most `queue_length` pending
  /// Fast Open connections (0 turns Fast Open off); `still_pending` tells which of the owner's handles
  /// are still in SYN-RECEIVED.
  void enable_fast_open(const FastOpenKeys* keys, std::uint32_t queue_length,
                        std::function<bool(std::uint64_t)> still_pending);
  /// @{
  /// The Fast Open state; null when Fast Open is off for this listener.
  [[nodiscard]] FastOpenListener* fast_open() noexcept { return fast_open_.get(); }
  [[nodiscard]] const FastOpenListener* fast_open() const noexcept { return fast_open_.get(); }
  /// @}
  /// The Fast Open cookie flag (ListenerReply::fast_open_cookie) for a SYN's SYN-ACK: the SYN carried the
  /// option and this listener does Fast Open.
  [[nodiscard]] std::uint8_t fast_open_cookie_for(const wire::TcpHeader& syn) const noexcept;
  /// A cookie SYN-ACK for a SYN (send_cookie_syn_ack, counted), or false when the SYN cannot be encoded
  /// or no generator is set. on_segment calls it per the mode; the forwarder calls it when its offers
  /// are full.
  bool answer_with_cookie(Instant now, const wire::FourTuple& tuple, const wire::TcpHeader& syn,
                          const SynOptions& peer, const IsnGenerator& isn, ListenerReply& r);
  /// Whether an ACK with no half-open entry is checked as a cookie: cookies are on and one was sent
  /// recently enough to be still valid (as Linux's tcp_synq_no_recent_overflow).
  [[nodiscard]] bool cookie_ack_possible(Instant now) const noexcept;

 private:
  /// The SYN's options as the entry keeps them, with its ECN (RFC 3168 §6.1.1) or AccECN setup.
  [[nodiscard]] SynOptions peer_options(const wire::TcpHeader& h, std::uint8_t ip_ecn) const noexcept;
  static constexpr std::uint32_t kNil = 0xFFFFFFFFU;
  static constexpr std::uint32_t kChunkShift = 11;
  /// The head and tail of one retransmission count's FIFO of in-use slots.
  struct Fifo {
    std::uint32_t head = kNil;
    std::uint32_t tail = kNil;
  };
  static_assert(kChunk == 1U << kChunkShift);
  /// A half-open entry as the queue stores it, 42 bytes with 2-byte alignment: the IPv4 addresses (or,
  /// for IPv6, the index of its V6Addresses record in the first 4 bytes), ports, iss, irs, ts_recent,
  /// syn_received_us, ts_offset, peer_mss, then one 64-bit word: FIFO prev (21 bits) and next (21; the
  /// next free slot while free), retransmits (8), generation (4), in use (1), flags (5: IPv6, SACK,
  /// timestamps, no RTT, ECN) and the peer's window scale (4; 15 = absent).
  struct Stored {
    static constexpr std::size_t kLocal = 0;
    static constexpr std::size_t kRemote = 4;
    static constexpr std::size_t kLocalPort = 8;
    static constexpr std::size_t kRemotePort = 10;
    static constexpr std::size_t kIss = 12;
    static constexpr std::size_t kIrs = 16;
    static constexpr std::size_t kTsRecent = 20;
    static constexpr std::size_t kSynUs = 24;
    static constexpr std::size_t kTsOffset = 28;
    static constexpr std::size_t kMss = 32;
    static constexpr std::size_t kWord = 34;
    static constexpr std::uint64_t kLinkMask = (1U << 21U) - 1;  ///< also the nil link
    static constexpr unsigned kNextShift = 21;
    static constexpr unsigned kRetransmitsShift = 42;
    static constexpr std::uint64_t kRetransmitsMask = 0x3F;  ///< 6 bits: synack_retries is clamped to 63
    static constexpr unsigned kSynEcnShift = 48;             ///< 2 bits: HalfOpen::syn_ecn
    static constexpr unsigned kGenerationShift = 50;
    static constexpr std::uint8_t kGenerationMask = 0x0F;
    static constexpr std::uint64_t kInUseBit = 1ULL << 54U;
    static constexpr unsigned kFlagsShift = 55;
    static constexpr std::uint64_t kFlagsMask = 0x1F;
    static constexpr unsigned kWscaleShift = 60;

    std::array<std::byte, 42> bytes;

    template <typename T>
    [[nodiscard]] T get(std::size_t offset) const noexcept {
      T v;
      std::memcpy(&v, bytes.data() + offset, sizeof v);
      return v;
    }
    template <typename T>
    void put(std::size_t offset, T v) noexcept {
      std::memcpy(bytes.data() + offset, &v, sizeof v);
    }
    [[nodiscard]] std::uint64_t word() const noexcept { return get<std::uint64_t>(kWord); }
    void set_word(std::uint64_t w) noexcept { put(kWord, w); }
    [[nodiscard]] static std::uint8_t generation_of(std::uint64_t w) noexcept {
      return static_cast<std::uint8_t>((w >> kGenerationShift) & kGenerationMask);
    }
    [[nodiscard]] static std::uint8_t retransmits_of(std::uint64_t w) noexcept {
      return static_cast<std::uint8_t>((w >> kRetransmitsShift) & kRetransmitsMask);
    }
  };
  static_assert(sizeof(Stored) == 42 && alignof(Stored) == 1);
  /// A chunk is whole pages of its own (mmap): no page holds both queue entries and other allocations,
  /// and a page no entry has reached yet is never touched (what RSS counts per entry is the entries).
  static constexpr std::size_t kChunkBytes = kChunk * sizeof(Stored);
  static_assert(kChunkBytes % 4096 == 0);
  struct ChunkDelete {
    void operator()(Stored* p) const noexcept;
  };
  using Chunk = std::unique_ptr<Stored[], ChunkDelete>;
  using V6Addresses = std::array<std::byte, 32>;  ///< local then remote address of an IPv6 entry
  /// Links as stored in the word's 21-bit fields (kNil is kLinkMask there).
  [[nodiscard]] static std::uint32_t link_from(std::uint64_t bits) noexcept {
    return bits == Stored::kLinkMask ? kNil : static_cast<std::uint32_t>(bits);
  }
  [[nodiscard]] static std::uint64_t link_to(std::uint32_t slot) noexcept {
    return slot == kNil ? Stored::kLinkMask : slot;
  }
  [[nodiscard]] static std::uint32_t prev_of(std::uint64_t w) noexcept {
    return link_from(w & Stored::kLinkMask);
  }
  [[nodiscard]] static std::uint32_t next_of(std::uint64_t w) noexcept {
    return link_from((w >> Stored::kNextShift) & Stored::kLinkMask);
  }
  [[nodiscard]] Stored& at(std::uint32_t slot) noexcept {
    return chunks_[slot >> kChunkShift][slot & (kChunk - 1)];
  }
  [[nodiscard]] const Stored& at(std::uint32_t slot) const noexcept {
    return chunks_[slot >> kChunkShift][slot & (kChunk - 1)];
  }
  [[nodiscard]] bool v6_matches(const Stored& st, const wire::FourTuple& tuple) const noexcept;
  /// Into `e`, what a SYN-ACK needs of a slot: ports, ISS, IRS, TS.Recent, timestamp offset, flags and the
  /// peer's window scale (entry() adds the addresses, SYN time, MSS, count and generation).
  static void unpack_answer(const Stored& st, HalfOpen& e) noexcept;
  /// Into `e`, all of a slot but its addresses: unpack_answer() and the SYN time, MSS, count, generation.
  static void unpack_all_but_addresses(const Stored& st, HalfOpen& e) noexcept;
  /// passive_open() of `e` into `p`, but for its tuple (the caller's).
  void fill_passive_open(const HalfOpen& e, const wire::TcpHeader& final_ack, PassiveOpen& p) const;
  void set_prev(std::uint32_t slot, std::uint32_t prev) noexcept;
  void set_next(std::uint32_t slot, std::uint32_t next) noexcept;
  /// Writes `e` into `slot` (its links kept), allocating an IPv6 side record when needed.
  void store(std::uint32_t slot, const HalfOpen& e);
  /// The retransmission count of the entry in `slot`, and setting it.
  [[nodiscard]] std::uint8_t retransmits(std::uint32_t slot) const noexcept {
    return Stored::retransmits_of(at(slot).word());
  }
  void set_retransmits(std::uint32_t slot, std::uint8_t n) noexcept;

  /// Our TSval clock for a tuple: milliseconds plus its offset (IsnGenerator::timestamp_offset).
  [[nodiscard]] static std::uint32_t ts_clock(Instant now, std::uint32_t ts_offset) noexcept {
    return static_cast<std::uint32_t>(static_cast<std::uint64_t>(now.nanoseconds()) / 1'000'000U) + ts_offset;
  }
  [[nodiscard]] Instant entry_deadline(std::uint32_t slot) const noexcept;
  /// `now` as HalfOpen::syn_received_us (moving the epoch, and every entry with it, when `now` nears the
  /// end of the 32-bit range).
  [[nodiscard]] std::uint32_t since_epoch(Instant now) noexcept;
  /// The oldest entry whose SYN-ACK was retransmitted at least once (the head of the highest non-empty
  /// retransmission FIFO), or nullopt when every entry is fresh.
  [[nodiscard]] std::optional<std::uint32_t> oldest_retransmitted() const noexcept;
  void fifo_push(std::uint32_t slot) noexcept;    ///< at the tail of the FIFO of its retransmission count
  void fifo_remove(std::uint32_t slot) noexcept;  ///< from the FIFO of its retransmission count
  [[nodiscard]] std::size_t level_of(std::uint32_t slot) const noexcept;
  /// What every half-open entry holds from the SYN (a stored one, a cookie's, a Fast Open one): the
  /// tuple, both ISNs and the SYN's options (MSS, window scale, SACK, ECN, AccECN, TSval), with `flags`.
  [[nodiscard]] static HalfOpen half_open(const wire::FourTuple& tuple, std::uint32_t iss, std::uint32_t irs,
                                          const SynOptions& peer, std::uint8_t flags) noexcept;
  /// The half-open entry a SYN makes (not stored): tuple, ISN and timestamp offset, the SYN's options.
  [[nodiscard]] HalfOpen make_half_open(Instant now, const wire::FourTuple& tuple, wire::SeqNum peer_isn,
                                        const SynOptions& peer, const IsnGenerator& isn);
  /// on_segment for an ACK: the final ACK of a cookie SYN-ACK completes (RFC 4987 §3.6); any other gets
  /// an RST (RFC 9293 §3.10.7.2).
  ListenerReply on_ack(Instant now, const wire::FourTuple& tuple, const wire::TcpHeader& h,
                       const IsnGenerator& isn);
  /// The entry a valid cookie ACK stands for: our ISN and the peer's from SEG.ACK and SEG.SEQ, the
  /// options the cookie carried, the handshake's RTT from the echoed timestamp when there is one.
  [[nodiscard]] HalfOpen cookie_entry(Instant now, const wire::FourTuple& tuple, const wire::TcpHeader& h,
                                      const SynOptions& peer, const IsnGenerator& isn);
  /// A full SYN queue: frees the oldest entry whose SYN-ACK was retransmitted (ListenerReply::pruned);
  /// false when every entry is fresh.
  bool make_room(ListenerReply& r);
  /// RFC 7413 §4.2.2 for a SYN with the Fast Open option (fast_open.cpp): true when `r` is the answer
  /// (kind fast_open); otherwise the SYN goes on as a plain one, `r.fast_open_cookie` set as needed.
  bool fast_open_syn(Instant now, const wire::FourTuple& tuple, const wire::TcpHeader& h, wire::Bytes payload,
                     const SynOptions& peer, const IsnGenerator& isn, ListenerReply& r);

  const Config* config_;
  /// What we agree to on a SYN (passive_offer), per address family, taken from the Config once at
  /// construction instead of rebuilt for every SYN-ACK and final ACK.
  Offer passive_v4_;
  Offer passive_v6_;
  wire::Endpoint local_;
  std::size_t capacity_;
  std::vector<Chunk> chunks_;          ///< kChunk slots each, allocated as first reached
  std::uint32_t slots_ = 0;            ///< slots handed out so far (< chunks_.size() * kChunk)
  std::uint32_t free_head_ = kNil;     ///< free slots chained through their next links
  std::vector<V6Addresses> v6_addrs_;  ///< IPv6 entries' addresses; free ones chained
  std::uint32_t v6_free_ = kNil;
  std::vector<Fifo> levels_;  ///< FIFO of in-use entries per retransmission count (0..synack_retries)
  std::vector<std::uint64_t> accept_queue_;  ///< ring
  std::size_t accept_head_ = 0;
  std::size_t accept_count_ = 0;
  std::size_t half_open_count_ = 0;
  SynCookies* cookies_ = nullptr;
  SynCookieMode cookie_mode_;
  std::optional<Instant> last_cookie_sent_;
  std::unique_ptr<FastOpenListener> fast_open_;  ///< RFC 7413; null = off
  /// Entries' SYN times count from here (HalfOpen::syn_received_us); set kEpochLead before the first
  /// SYN, moved forward when `now` passes kEpochSpan after it.
  Instant epoch_{};
  bool epoch_set_ = false;
  static constexpr std::chrono::minutes kEpochLead{30};
  static constexpr std::chrono::minutes kEpochSpan{65};  // < 2^32 µs (71.6 min)
  ListenerStats stats_;
};

template <typename Retransmit, typename Expired>
void Listener::on_timeout(Instant now, Retransmit&& retransmit, Expired&& expired) {
  // Highest count first, so an entry moved up a level is not fired twice in one call.
  for (std::size_t level = levels_.size(); level > 0; --level) {
    Fifo& fifo = levels_[level - 1];
    while (fifo.head != kNil) {
      const std::uint32_t slot = fifo.head;
      if (entry_deadline(slot) > now) break;
      const std::uint8_t count = retransmits(slot);
      if (count + 1U >= levels_.size()) {  // synack_retries, at most 63
        ++stats_.half_open_timeouts;
        expired(slot);
        free_half_open(slot);
        continue;
      }
      if constexpr (std::is_same_v<std::invoke_result_t<Retransmit&, std::uint32_t>, bool>) {
        if (!retransmit(slot)) return;
      } else {
        retransmit(slot);
      }
      fifo_remove(slot);
      set_retransmits(slot, static_cast<std::uint8_t>(count + 1));
      fifo_push(slot);
      ++stats_.synack_retransmits;
    }
  }
}

}  // namespace synack::tcp
