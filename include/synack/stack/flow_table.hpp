/// @file
/// The flow table: 4-tuple -> what owns it (a connection, a half-open entry, a pending forwarder offer or
/// a TIME-WAIT record). Buckets of one cache line each, probed linearly by line, with an overflow count
/// per line (as in Folly's F14 tables).
///
/// Compact: an entry is 8 bytes — the tuple's 32-bit keyed hash and one word holding the owner's kind and
/// index (for a half-open entry, its listener and slot) — and never the tuple itself: every owner already
/// holds its tuple, so a lookup compares hashes first and asks the caller's `match(FlowRef)` to confirm
/// against the owner only on a hash match. The hash is keyed with a secret seed so that an attacker choosing
/// tuples cannot aim at one line; it is computed once per datagram (hash()) and passed to every operation.
///
/// One line per lookup: a 64-byte line holds the hashes of its 7 entries side by side (compared with the
/// wanted one at once), a bitmap of the slots in use, their 7 owner words, and an overflow count — how
/// many entries whose home is this line or an earlier one were placed past it because it was full. A lookup
/// reads the home line and goes on to the next only while that count is not 0, so the negative probe of a
/// new tuple (a SYN, a connect) reads one line unless that line once filled up; an erase clears a bit in
/// the line the lookup just read (and decrements the counts of the lines it crossed, read by it too), and
/// never moves other entries or reads the line after.
///
/// Memory follows use: nothing up front; the table starts at 2 lines and doubles past 6 entries per line on
/// average (6/7 load, as F14's 12/14), so it costs 11-21 bytes per flow at its peak, as the 8-byte slots of
/// a linear-probing table at 3/8-3/4 load did. From 2 MiB on its pages are transparent huge pages where the
/// kernel offers them (the probes of 10^6 flows would otherwise miss the TLB at every datagram). It does not
/// shrink (as Linux's established hash does not): a stack that once held N flows keeps room for N, and churn
/// below that peak never allocates.
#pragma once

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>

#include "synack/wire/ip_address.hpp"

namespace synack::stack {

/// What owns a 4-tuple: the kind of owner and where to find it. A small value, decoded from an 8-byte entry.
struct FlowRef {
  /// The kind of owner: a connection slot, a listener's (or the forwarder's) half-open entry, a pending
  /// forwarder offer, or a TIME-WAIT record.
  enum class Kind : std::uint8_t { connection, half_open, offer, time_wait };
  Kind kind = Kind::connection;  ///< which table `index` (and `owner`) refer to
  /// Connection slot, offer slot or TIME-WAIT record (< 2^29); half_open: the SYN-queue slot (< 2^20).
  std::uint32_t index = 0;
  std::uint32_t owner = 0;  ///< half_open: the listener (< 511; kForwarderOwner = the forwarder's)
};

/// The flow table (see the file comment): 4-tuple hashes to FlowRefs. Not thread-safe.
class FlowTable {
 public:
  /// The `owner` of half-open entries that belong to the forwarder rather than a listener.
  static constexpr std::uint32_t kForwarderOwner = 511;
  static constexpr std::uint32_t kMaxIndex = (1U << 29U) - 1;         ///< connection, offer, TIME-WAIT
  static constexpr std::uint32_t kMaxHalfOpenSlot = (1U << 20U) - 1;  ///< half-open slots per listener
  static constexpr std::size_t kLineSlots = 7;                        ///< entries per 64-byte line

  /// An empty table (no allocation) whose hash is keyed with `seed` (secret: stack/entropy.hpp).
  explicit FlowTable(std::uint64_t seed) noexcept : seed_(seed) {}

  /// The keyed hash of `tuple`: compute once per datagram, pass to the calls below.
  [[nodiscard]] std::uint32_t hash(const wire::FourTuple& tuple) const noexcept;

  /// The entry with hash `h` for which match(ref) holds.
  template <typename Match>
  [[nodiscard]] std::optional<FlowRef> find(std::uint32_t h, Match&& match) const;
  /// Points the entry with hash `h` for which match(ref) holds at `ref`; false when there is none.
  template <typename Match>
  bool replace(std::uint32_t h, Match&& match, FlowRef ref);
  /// Removes the entry with hash `h` for which match(ref) holds; false when there is none.
  template <typename Match>
  bool erase(std::uint32_t h, Match&& match);
  /// Adds an entry; the caller knows the tuple has none (find() said so).
  void insert(std::uint32_t h, FlowRef ref);
  /// @{
  /// replace() and erase() for the entry (h, `old_ref`) itself, found without asking its owner: one owner
  /// has one flow, so the encoded word names the entry (no tuple compare). False when there is none.
  bool replace_exact(std::uint32_t h, FlowRef old_ref, FlowRef ref) noexcept;
  bool erase_exact(std::uint32_t h, FlowRef old_ref) noexcept;
  /// @}

  /// Starts loading the cache line a lookup of hash `h` reads first, so that work done before the
  /// lookup (parsing the rest of a datagram) overlaps the miss in a large table.
  void prefetch(std::uint32_t h) const noexcept { __builtin_prefetch(&lines_[h & mask_]); }

  /// The lines a lookup of hash `h` that finds nothing reads: 1 unless entries passed over its home line
  /// because it was full (what the overflow counts are for; tests and benchmarks read it).
  [[nodiscard]] std::size_t lines_probed(std::uint32_t h) const noexcept;

  /// Entries in the table.
  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  /// Entry slots allocated: kLineSlots per line, the lines a power of two (0 before the first insert).
  [[nodiscard]] std::size_t capacity() const noexcept { return line_count() * kLineSlots; }
  /// Heap bytes the lines occupy.
  [[nodiscard]] std::size_t memory_bytes() const noexcept { return line_count() * sizeof(Line); }

 private:
  static constexpr std::size_t kMinLines = 2;
  static constexpr std::size_t kGrowAtPerLine = 6;  ///< entries per line, on average, that trigger a doubling
  static constexpr std::uint32_t kFull = (1U << kLineSlots) - 1;  ///< `used` with every slot taken
  /// One cache line: the hashes first, so that two 16-byte loads compare all 7 (the 8th word, `used` and
  /// padding, is masked off), then the owner words and the overflow count.
  struct alignas(64) Line {
    std::array<std::uint32_t, kLineSlots> hash;
    std::uint32_t used;  ///< bit i: slot i holds an entry (the word the 8th compare lane reads)
    std::array<std::uint32_t, kLineSlots> ref;  ///< kind << 29 | index, or kind << 29 | owner << 20 | slot
    std::uint32_t overflow;  ///< entries homed here or earlier that were placed past this line
  };
  static_assert(sizeof(Line) == 64);

  [[nodiscard]] static FlowRef ref_of(std::uint32_t word) noexcept {
    const auto kind = static_cast<FlowRef::Kind>(word >> 29U);
    if (kind == FlowRef::Kind::half_open) {
      return FlowRef{kind, word & kMaxHalfOpenSlot, (word >> 20U) & kForwarderOwner};
    }
    return FlowRef{kind, word & kMaxIndex, 0};
  }
  [[nodiscard]] static std::uint32_t word_of(FlowRef r) noexcept {
    const std::uint32_t kind = static_cast<std::uint32_t>(r.kind) << 29U;
    if (r.kind == FlowRef::Kind::half_open) {
      return kind | ((r.owner & kForwarderOwner) << 20U) | (r.index & kMaxHalfOpenSlot);
    }
    return kind | (r.index & kMaxIndex);
  }
  /// Where an entry is: its line << 3 | its slot in the line (one word, so it stays in a register).
  using Position = std::size_t;
  static constexpr Position kNowhere = ~Position{0};  ///< what locate() returns when there is no entry
  static constexpr unsigned kSlotBits = 3;
  [[nodiscard]] std::uint32_t& ref_at(Position p) const noexcept {
    return lines_[p >> kSlotBits].ref[p & ((1U << kSlotBits) - 1)];
  }
  [[nodiscard]] std::size_t line_count() const noexcept { return storage_ ? mask_ + 1 : 0; }
  /// Bit i set: slot i of `line` is in use and holds hash `h`.
  [[nodiscard]] static std::uint32_t hash_matches(const Line& line, std::uint32_t h) noexcept;
  /// The slot of `line` holding hash `h` whose owner word satisfies `is`, or -1.
  template <typename IsWord>
  [[nodiscard]] static int slot_in(const Line& line, std::uint32_t h, IsWord& is) {
    for (std::uint32_t m = hash_matches(line, h); m != 0; m &= m - 1) {
      const int slot = std::countr_zero(m);
      if (is(line.ref[static_cast<unsigned>(slot)])) return slot;
    }
    return -1;
  }
  /// The position of the entry with hash `h` whose owner word satisfies `is`, or nullopt.
  template <typename IsWord>
  [[nodiscard]] Position locate(std::uint32_t h, IsWord&& is) const;
  /// locate() past the home line `home`, which overflowed (rare: kept out of the common path).
  template <typename IsWord>
  [[nodiscard, gnu::noinline]] Position locate_past(std::size_t home, std::uint32_t h, IsWord& is) const;
  void place(std::uint32_t h, std::uint32_t word) noexcept;
  void remove_at(Position p) noexcept;
  void resize(std::size_t lines);
  /// Lines as mapped memory of their own: a table of 2 MiB or more asks for transparent huge pages
  /// (madvise), so that the random probes of a large table do not each cost a TLB miss.
  struct Unmap {
    std::size_t bytes;  // (no default member initializer: the enclosing class's constructor needs it)
    void operator()(Line* p) const noexcept;
  };
  using Storage = std::unique_ptr<Line[], Unmap>;
  [[nodiscard]] static Storage allocate(std::size_t lines);

  /// What an empty table's lookups read: one line with nothing in it (so no lookup tests for "no table").
  /// Never written: insert() allocates first.
  static Line empty_line_;

  Storage storage_;
  Line* lines_ = &empty_line_;  ///< storage_, or empty_line_ before the first insert
  std::size_t mask_ = 0;        ///< lines - 1
  std::size_t size_ = 0;
  std::size_t grow_at_ = 0;  ///< the size at which insert() doubles the lines (kGrowAtPerLine per line)
  std::uint64_t seed_;
};

template <typename IsWord>
FlowTable::Position FlowTable::locate(std::uint32_t h, IsWord&& is) const {
  const std::size_t home = h & mask_;
  const Line& line = lines_[home];
  if (const int slot = slot_in(line, h, is); slot >= 0)
    return home << kSlotBits | static_cast<unsigned>(slot);
  // Nothing homed at or before this line lies past it: the entry is not in the table.
  if (line.overflow == 0) [[likely]]
    return kNowhere;
  return locate_past(home, h, is);
}

template <typename IsWord>
FlowTable::Position FlowTable::locate_past(std::size_t home, std::uint32_t h, IsWord& is) const {
  // The bound ends a walk around a table whose every line has a count (possible after churn).
  for (std::size_t i = (home + 1) & mask_; i != home; i = (i + 1) & mask_) {
    const Line& line = lines_[i];
    if (const int slot = slot_in(line, h, is); slot >= 0) return i << kSlotBits | static_cast<unsigned>(slot);
    if (line.overflow == 0) return kNowhere;
  }
  return kNowhere;
}

template <typename Match>
std::optional<FlowRef> FlowTable::find(std::uint32_t h, Match&& match) const {
  const auto p = locate(h, [&](std::uint32_t word) { return match(ref_of(word)); });
  if (p == kNowhere) return std::nullopt;
  return ref_of(ref_at(p));
}

template <typename Match>
bool FlowTable::replace(std::uint32_t h, Match&& match, FlowRef ref) {
  const auto p = locate(h, [&](std::uint32_t word) { return match(ref_of(word)); });
  if (p == kNowhere) return false;
  ref_at(p) = word_of(ref);
  return true;
}

template <typename Match>
bool FlowTable::erase(std::uint32_t h, Match&& match) {
  const auto p = locate(h, [&](std::uint32_t word) { return match(ref_of(word)); });
  if (p == kNowhere) return false;
  remove_at(p);
  return true;
}

}  // namespace synack::stack
