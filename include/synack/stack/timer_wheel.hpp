/// @file
/// TimerWheel: one timer per dense id (a connection's slot index), exact nanosecond deadlines, O(1)
/// schedule/cancel and next_deadline() without a scan of every id — the Stack's replacement for asking
/// each connection for its deadline.
///
/// Shape: a hierarchical timing wheel (Varghese & Lauck; the Linux timer wheel's layout) over ticks of
/// 2^20 ns (~1.05 ms). Five levels of 64 slots, level L's slot spanning 64^L ticks:
///   level 0: 1.05 ms slots, 67 ms span      level 3: 275 s slots, 4.9 h span
///   level 1: 67 ms slots, 4.3 s span        level 4: 4.9 h slots, 13 days span
///   level 2: 4.3 s slots, 275 s span        overflow: one list for deadlines beyond that horizon
/// A timer with tick t is filed at the level of the highest 6-bit group in which t differs from the
/// wheel's current tick (t XOR current), so every timer of level L is earlier than every timer of level
/// L+1, and a level's slots are in time order from the current one. Deadlines at or before the current
/// tick go to the current level-0 slot. When time reaches the start of a level-L slot, that slot is
/// cascaded (its timers filed again, now at lower levels). One 64-bit occupancy bitmap per level finds
/// the next non-empty slot with one count-trailing-zeros.
///
/// Exactness: nodes keep the exact deadline; slots are only a coarse index. Each slot is an intrusive
/// doubly-linked list of nodes (uint32 indices into one node vector: no allocation per timer) that knows
/// its minimum: kept on insert, and kept for free while the list is sorted (appends in order, prepends
/// of a new minimum, any removal keep it sorted). When an unsorted slot loses its minimum, the slot is
/// sorted the next time its minimum is needed. expire(now) fires exactly the timers with deadline <= now
/// and next_deadline() returns the exact minimum, never a slot boundary.
///
/// Cost (n = armed timers, k = timers in the one slot involved):
///   schedule, cancel, armed, deadline, size: O(1).
///   next_deadline: O(levels) bitmap tests + the earliest slot's minimum: O(1), except that after an
///     out-of-order insert into a slot that slot is sorted once (O(k log k)) when its minimum is next
///     needed; once sorted it stays sorted under removals, in-order appends and new minima.
///   expire: O(fired · log fired) (fired timers are handed out in deadline order) + O(levels) per
///     non-empty slot reached + each cascaded timer once per level it descends (at most 4 times in its
///     life), never a walk of empty slots or of the ids. A partly due current slot is sorted once.
///   Overflow (deadlines > ~13 days past the current tick): the list is refiled when time reaches the
///     13-day group holding its earliest deadline, O(overflow) each time; its minimum follows the slot rule.
///   Worst case, adversarial: alternating out-of-order inserts and minimum removals in one slot of k
///   timers costs O(k log k) per pair. Not a pattern TCP timers produce (a re-armed retransmission timer
///   leaves the earliest slot for a later one).
/// Memory: a 24-byte node per id up to the largest id used (vector growth, never per call), plus ~8 KB
/// of slot heads. Not thread-safe; next_deadline() is const but may sort a slot (mutable state).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

#include "synack/time.hpp"

namespace synack::stack {

/// Timers keyed by dense owner-chosen ids (a connection's slot index). Exact deadlines (Instant, ns).
class TimerWheel {
 public:
  /// A timer's id: dense, chosen by the owner (below kMaxId + 1).
  using Id = std::uint32_t;
  static constexpr unsigned kTickShift = 20;  ///< a tick is 2^20 ns
  static constexpr unsigned kLevelBits = 6;   ///< 64 slots per level
  static constexpr unsigned kLevels = 5;      ///< horizon 2^(20 + 30) ns, ~13 days
  /// The largest usable id (2^32 - 1 is reserved as "none").
  static constexpr Id kMaxId = std::numeric_limits<Id>::max() - 1;

  /// An empty wheel whose time starts at `origin` (deadlines before it fire at the first expire()).
  explicit TimerWheel(Instant origin = Instant{});

  /// Arms (or moves) timer `id` to `deadline`. Instant::max() cancels. Ids may be any value < 2^32-1;
  /// per-id storage grows to the largest id used (a node of at most 24 bytes per id) — never per call.
  void schedule(Id id, Instant deadline);
  /// Disarms timer `id` (nothing happens when it is not armed).
  void cancel(Id id) noexcept;
  /// Whether timer `id` is armed.
  [[nodiscard]] bool armed(Id id) const noexcept;
  [[nodiscard]] Instant deadline(Id id) const noexcept;  ///< Instant::max() when not armed
  /// The exact earliest armed deadline; Instant::max() when none. O(1) amortised, independent of size().
  [[nodiscard]] Instant next_deadline() const noexcept;
  /// Disarms every timer whose deadline <= now and calls f(id) for each, in (deadline, id) order. f may
  /// schedule/cancel other ids (a due timer cancelled or moved by an earlier callback does not fire) and
  /// may re-arm the id it was given; a timer armed during the callbacks with a deadline <= now fires at
  /// the next expire(), not in this one. f must not call expire(). `now` should not decrease between
  /// calls; if it does, only timers with deadline <= now fire and the wheel's time stays where it was.
  template <typename F>
  void expire(Instant now, F&& f);
  [[nodiscard]] std::size_t size() const noexcept { return size_; }  ///< armed timers
  /// Grows per-id storage to `ids` ids up front, so later schedule() calls do not allocate.
  void reserve(std::size_t ids);
  /// The wheel's current time: the latest `now` given to expire() (or the origin).
  [[nodiscard]] Instant now() const noexcept { return now_; }

 private:
  static constexpr std::uint32_t kNil = std::numeric_limits<std::uint32_t>::max();
  static constexpr std::uint32_t kSlots = 1U << kLevelBits;
  static constexpr std::uint32_t kOverflow = kLevels * kSlots;  ///< list index of the overflow list
  static constexpr std::uint32_t kPending = kOverflow + 1;      ///< due timers being handed out
  static constexpr std::uint32_t kLists = kPending + 1;

  struct Node {
    std::uint64_t key = 0;  ///< deadline as an order-preserving unsigned (ns ^ 2^63)
    std::uint32_t prev = kNil;
    std::uint32_t next = kNil;
    std::uint32_t list = kNil;  ///< which list holds it; kNil = not armed
  };
  static_assert(sizeof(Node) <= 24);

  struct List {
    std::uint32_t head = kNil;
    std::uint32_t tail = kNil;
    std::uint64_t min = 0;  ///< valid when !sorted && !dirty (sorted lists: the head's key)
    bool sorted = true;
    bool dirty = false;  ///< unsorted and its minimum was removed
  };

  [[nodiscard]] static std::uint64_t key_of(Instant t) noexcept {
    return static_cast<std::uint64_t>(t.nanoseconds()) ^ (std::uint64_t{1} << 63U);
  }
  [[nodiscard]] static Instant instant_of(std::uint64_t key) noexcept {
    return Instant::from_nanoseconds(static_cast<std::int64_t>(key ^ (std::uint64_t{1} << 63U)));
  }

  void file(Id id) noexcept;                      ///< puts an armed node in its list for cur_tick_
  void push(std::uint32_t list, Id id) noexcept;  ///< links at the end (or front if a new minimum)
  void unlink(Id id) noexcept;                    ///< takes it out of its list; list stays set
  [[nodiscard]] std::uint64_t list_min(std::uint32_t list) const noexcept;  ///< non-empty list
  void sort_list(std::uint32_t list) const noexcept;
  void collect_due(Instant now) noexcept;  ///< moves every due timer to the pending list, advances the wheel
  void take_all(std::uint32_t list) noexcept;                         ///< all of a slot to pending
  void take_due(std::uint32_t list, std::uint64_t now_key) noexcept;  ///< the due part of a slot to pending
  void refile(std::uint32_t list) noexcept;                           ///< cascades a slot / the overflow list
  Id pop_pending() noexcept;

  mutable std::vector<Node> nodes_;                ///< mutable: sorting a list relinks nodes
  mutable std::array<List, kLists> lists_{};       ///< same
  mutable std::vector<std::uint32_t> scratch_;     ///< sort buffer, grows to the largest list sorted
  std::array<std::uint64_t, kLevels> occupied_{};  ///< bit s of level L: slot L*64+s non-empty
  std::uint64_t cur_tick_ = 0;
  Instant now_;
  std::size_t size_ = 0;
};

template <typename F>
void TimerWheel::expire(Instant now, F&& f) {
  collect_due(now);
  while (lists_[kPending].head != kNil) f(pop_pending());
}

}  // namespace synack::stack
