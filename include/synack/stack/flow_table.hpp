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
/// One line per lookup: a 64-byte line holds the hashes of its 7 entries, their 7 owner words, and the
/// exact overflow count when it is large (below). A lookup reads the home line and goes on to the next only
/// while that line's overflow count — how many entries whose home is this line or an earlier one were
/// placed past it because it was full — is not 0. An erase clears its slot in the line the lookup just
/// found (and decrements the counts of the lines it crossed), and never moves other entries.
///
/// Tags in front of the lines: at 10^6 flows the lines are 16 MiB per table, far more than a core's
/// caches, so the line of a new tuple (a SYN, a connect: a lookup that finds nothing, then an insert) was
/// a cache miss that its prefetch, a few hundred instructions ahead, could not hide. Each line therefore
/// has one 8-byte tag word in an array of its own (2 MiB at 10^6 flows, which the L2/L3 keeps): byte i
/// (i < 7) is 0 for a free slot, else 0x80 | 7 bits of the entry's hash taken from bits that do not pick
/// the line (the top ones); byte 7 is the line's overflow count, saturating at 255, past which the exact
/// count is kept in the line. So a lookup compares the wanted tag with the 7 bytes of one word and reads
/// the 64-byte line only for a slot whose tag matches (a hit, or a false positive: ≈ 5 % of lookups at 6
/// entries of 128 tag values, resolved by the full hash in the line); the word's count says whether to go
/// on. An insert picks a free slot from the tag word and only stores into the line (hash, owner word),
/// so it never waits for the line: the store goes to the store buffer. Which slots are used lives only in
/// the tags; the hashes of free slots in the line are stale and never read.
///
/// Young lines for new entries: the tags make a lookup that finds nothing cheap, but the insert that
/// follows it (a connect, a SYN's half-open entry) still stored into a random line of the main ones, and
/// that store's miss held the store buffer up. So once the main lines reach kYoungFrom (2^15: a table
/// whose lines no longer stay cached), new entries go to kYoungLines more lines (with their own tags and
/// counts, 18 KiB, which stay cached), and a lookup reads them first. Every kYoungMoveAt inserts, insert()
/// moves the entries still there to the main lines at once, each one's main line prefetched a few
/// entries ahead, so the misses overlap; an entry erased before then (a short connection's) never writes
/// its main line at all.
///
/// Memory follows use: nothing up front; the table starts at 2 lines and doubles past 6.5 entries per line
/// on average (13/14 load: a lookup passing over a full line reads the next line's tag word, not its 64
/// bytes, so a fuller table costs little), so with its tags (72 bytes a line) it costs 11-22 bytes per flow
/// at its peak, and 18 KiB more for the young lines from 2^15 main lines on. From 2 MiB on its pages are
/// transparent huge pages where the kernel offers them (the probes of 10^6 flows would otherwise miss the TLB
/// at every datagram). It does not shrink (as Linux's established hash does not): a stack that once held N
/// flows keeps room for N, and churn below that peak never allocates.
#pragma once

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <utility>

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
  /// What find_word() answers when no entry matches (no owner word has all bits set).
  static constexpr std::uint32_t kNoWord = ~std::uint32_t{0};
  /// find() answering with the matched entry's owner word (decode() makes it a FlowRef), or kNoWord: one
  /// register instead of an optional FlowRef, which the hot callers' frames passed through memory.
  template <typename Match>
  [[nodiscard]] std::uint32_t find_word(std::uint32_t h, Match&& match) const;
  /// The FlowRef an owner word stands for.
  [[nodiscard]] static FlowRef decode(std::uint32_t word) noexcept { return ref_of(word); }
  /// Points the entry with hash `h` for which match(ref) holds at `ref`; false when there is none.
  template <typename Match>
  bool replace(std::uint32_t h, Match&& match, FlowRef ref);
  /// Removes the entry with hash `h` for which match(ref) holds; false when there is none.
  template <typename Match>
  bool erase(std::uint32_t h, Match&& match);
  /// Whether some entry has hash `h`, asking no owner: an entry of another tuple with the same hash
  /// answers yes too. For a caller to whom a rare false yes costs nothing — connect() drawing an
  /// ephemeral port skips that port — and who would otherwise read a cold owner to confirm a busy one.
  [[nodiscard]] bool holds_hash(std::uint32_t h) const {
    return locate(h, [](std::uint32_t) { return true; }) != kNowhere;
  }
  /// Adds an entry; the caller knows the tuple has none (find() said so).
  void insert(std::uint32_t h, FlowRef ref);
  /// @{
  /// replace() and erase() for the entry (h, `old_ref`) itself, found without asking its owner: one owner
  /// has one flow, so the encoded word names the entry (no tuple compare). False when there is none.
  /// The entry find() found last is tried first (no walk): a datagram's own flow is looked up when it
  /// arrives and then, as often as not, replaced (a handshake's final ACK, a TIME-WAIT compaction) or
  /// erased (an RST, the last ACK) before the table changes.
  bool replace_exact(std::uint32_t h, FlowRef old_ref, FlowRef ref) noexcept;
  bool erase_exact(std::uint32_t h, FlowRef old_ref) noexcept;
  /// @}

  /// Starts loading what a lookup of hash `h` reads first in the main lines — its home line's tag word,
  /// and the line itself, which a hit reads — so that work done before the lookup (parsing the rest of a
  /// datagram) overlaps the misses of a large table. (The young lines are small and stay cached.)
  void prefetch(std::uint32_t h) const noexcept {
    __builtin_prefetch(&main_.tags[h & main_.mask]);
    __builtin_prefetch(&main_.lines[h & main_.mask]);
  }

  /// The main lines a lookup of hash `h` that finds nothing walks (the tag words it reads): 1 unless
  /// entries passed over its home line because it was full (what the overflow counts are for).
  [[nodiscard]] std::size_t lines_probed(std::uint32_t h) const noexcept;
  /// Of those, the 64-byte lines it reads: the ones where a tag matches h's (a false positive, since
  /// nothing is found). Tests and benchmarks read both.
  [[nodiscard]] std::size_t lines_read(std::uint32_t h) const noexcept;
  /// Whether the tags agree with the lines, in both parts: every used slot's tag is its hash's, every
  /// line's overflow count is the number of entries placed past it, and the sizes the used slots (tests).
  [[nodiscard]] bool tags_agree() const noexcept;
  /// Entries in the young lines (0 until the main lines reach kYoungFrom).
  [[nodiscard]] std::size_t young_size() const noexcept { return young_size_; }

  /// Entries in the table.
  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  /// Entry slots allocated: kLineSlots per line, the lines a power of two (0 before the first insert).
  [[nodiscard]] std::size_t capacity() const noexcept { return line_count() * kLineSlots; }
  /// Heap bytes the lines and their tags occupy.
  [[nodiscard]] std::size_t memory_bytes() const noexcept {
    return line_count() * (sizeof(Line) + sizeof(std::uint64_t));
  }

  /// Main lines from which new entries go to the young lines first: 2^15 lines, 2.25 MiB with the tags,
  /// more than a core's L2 (2 MiB here). A smaller table stays cached, and there the young lines cost
  /// without saving a miss: where flows outlive the young lines (65,536 handshakes in flight) every
  /// entry is placed twice (+600 instructions a handshake with them from 2^12 lines).
  static constexpr std::size_t kYoungFrom = std::size_t{1} << 15U;
  static constexpr std::size_t kYoungLines = 256;  ///< 18 KiB: stays in L1/L2
  /// Inserts into the young lines after which insert() moves the entries still there to the main lines
  /// (at most 6 per line: the young lines stay below the main lines' 6.5, so their walks stay short). An
  /// entry stays young for fewer than kYoungMoveAt inserts, however few of them outlive it.
  static constexpr std::size_t kYoungMoveAt = kYoungLines * 6;

 private:
  static constexpr std::size_t kMinLines = 2;
  /// Entries per line, on average, that trigger a doubling, times 2: 6.5 of 7 slots (13/14 load). The tags
  /// make a full table's cost small — a lookup passing over a full line reads its neighbour's tag word,
  /// beside its own, not the 64-byte line — and the memory per flow right after a doubling is the 72 bytes
  /// of a line and its tags over 3.25 entries.
  static constexpr std::size_t kGrowAtPerTwoLines = 13;
  /// One cache line: the hashes and owner words of its slots (which ones are used: the tag word), and the
  /// exact overflow count while the tag word's count is saturated.
  struct alignas(64) Line {
    std::array<std::uint32_t, kLineSlots> hash;
    std::uint32_t overflow;  ///< the overflow count, kept only while the tag word's says kSaturated
    std::array<std::uint32_t, kLineSlots> ref;  ///< kind << 29 | index, or kind << 29 | owner << 20 | slot
  };
  static_assert(sizeof(Line) == 64);

  /// @{
  /// A tag word: bytes 0-6 the slots' tags (0: free, else 0x80 | the hash's top 7 bits), byte 7 the count.
  static constexpr std::uint64_t kBytes = 0x0101010101010101ULL;
  static constexpr std::uint64_t kUsedBits = 0x0080808080808080ULL;  ///< bit 7 of each slot's byte
  static constexpr unsigned kCountShift = 56;
  static constexpr std::uint64_t kSaturated = 255;  ///< count value meaning "the exact one is in the line"
  [[nodiscard]] static std::uint64_t tag_of(std::uint32_t h) noexcept { return 0x80U | (h >> 25U); }
  /// Bit 8i + 7 set: slot i's tag is h's (so the slot is used and may hold h; its hash decides).
  [[nodiscard]] static std::uint64_t tag_matches(std::uint64_t tags, std::uint32_t h) noexcept {
    const std::uint64_t x = tags ^ (tag_of(h) * kBytes);  // 0 in the bytes that match
    constexpr std::uint64_t kLow7 = kBytes * 0x7FU;
    // Bit 7 of a byte of ((x & 0x7F) + 0x7F) | x is set iff the byte is not 0 (no carry leaves a byte).
    return ~(((x & kLow7) + kLow7) | x) & kUsedBits;
  }
  [[nodiscard]] static bool overflowed(std::uint64_t tags) noexcept { return (tags >> kCountShift) != 0; }
  /// @}

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

  /// A set of lines and their tags: the main lines, or the young ones.
  struct Part {
    Line* lines;
    std::uint64_t* tags;
    std::size_t mask;  ///< lines - 1
  };
  /// Where an entry is: kYoung if in the young lines | its line << 3 | its slot (one word, so it stays in
  /// a register).
  using Position = std::size_t;
  static constexpr Position kNowhere = ~Position{0};  ///< what locate() returns when there is no entry
  static constexpr Position kYoung = Position{1} << 62U;
  static constexpr unsigned kSlotBits = 3;
  [[nodiscard]] const Part& part_of(Position p) const noexcept { return (p & kYoung) != 0 ? young_ : main_; }
  [[nodiscard]] std::uint32_t& ref_at(Position p) const noexcept {
    return part_of(p).lines[(p & ~kYoung) >> kSlotBits].ref[p & ((1U << kSlotBits) - 1)];
  }
  [[nodiscard]] std::size_t line_count() const noexcept {
    return (storage_ ? main_.mask + 1 : 0) + (young_storage_ ? kYoungLines : 0);
  }
  /// The slot of line `i` holding hash `h` whose owner word satisfies `is`, or -1. Reads the line only
  /// for a slot whose tag matches.
  template <typename IsWord>
  [[nodiscard]] static int slot_in(const Part& part, std::size_t i, std::uint64_t tags, std::uint32_t h,
                                   IsWord& is) {
    for (std::uint64_t m = tag_matches(tags, h); m != 0; m &= m - 1) {
      const auto slot = static_cast<unsigned>(std::countr_zero(m)) / 8U;
      const Line& line = part.lines[i];
      if (line.hash[slot] == h && is(line.ref[slot])) return static_cast<int>(slot);
    }
    return -1;
  }
  /// The position of the entry with hash `h` whose owner word satisfies `is` in `part`, or kNowhere.
  template <typename IsWord>
  [[nodiscard, gnu::always_inline]] static Position locate_in(const Part& part, std::uint32_t h, IsWord& is);
  /// locate_in() past the home line `home`, which overflowed (rare: kept out of the common path).
  template <typename IsWord>
  [[nodiscard, gnu::noinline]] static Position locate_past(const Part& part, std::size_t home,
                                                           std::uint32_t h, IsWord& is);
  /// The young lines first (a new flow's entry is there, and they are cached), then the main ones.
  /// (A table below kYoungFrom, or with no young entry, pays one compare for them.)
  template <typename IsWord>
  [[nodiscard]] Position locate(std::uint32_t h, IsWord&& is) const {
    if (young_size_ != 0) {
      if (const Position p = locate_young(h, is); p != kNowhere) return p;
    }
    return locate_in(main_, h, is);
  }
  /// locate_in() the young lines, out of line: the common path of a small table stays as short as it was.
  template <typename IsWord>
  [[nodiscard, gnu::noinline]] Position locate_young(std::uint32_t h, IsWord& is) const {
    const Position p = locate_in(young_, h, is);
    return p == kNowhere ? p : p | kYoung;
  }
  /// The exact overflow count of line `i` of `part`.
  [[nodiscard]] static std::size_t overflow_of(const Part& part, std::size_t i) noexcept;
  static void add_overflow(Part& part, std::size_t i) noexcept;
  static void sub_overflow(Part& part, std::size_t i) noexcept;
  static void place(Part& part, std::uint32_t h, std::uint32_t word) noexcept;
  [[nodiscard]] static bool part_agrees(const Part& part, std::size_t lines, std::size_t size) noexcept;
  void remove_at(Position p) noexcept;
  void resize(std::size_t lines);
  /// Moves the young entries to the main lines (prefetching each one's main line some entries ahead).
  /// Out of line: in line, its frame (six registers, a 128-byte ring) was set up by every insert().
  [[gnu::noinline]] void move_young();
  /// Lines and tags as mapped memory of their own (the tags after the lines): a table of 2 MiB or more
  /// asks for transparent huge pages (madvise), so that the random probes of a large table do not each
  /// cost a TLB miss.
  struct Unmap {
    std::size_t bytes;  // (no default member initializer: the enclosing class's constructor needs it)
    void operator()(Line* p) const noexcept;
  };
  using Storage = std::unique_ptr<Line[], Unmap>;
  [[nodiscard]] static Storage allocate(std::size_t lines);
  /// The Part over `storage`, which holds `lines` lines and then their tags (allocate()).
  [[nodiscard]] static Part part_over(const Storage& storage, std::size_t lines) noexcept {
    return Part{storage.get(), reinterpret_cast<std::uint64_t*>(storage.get() + lines), lines - 1};
  }

  /// What an empty part's lookups read: one tag word with no slot used and no overflow (so no lookup
  /// tests for "no table", nor reads a line). Never written: insert() allocates first.
  static Line empty_line_;
  static std::uint64_t empty_tags_;

  Storage storage_;        ///< the main lines and tags
  Storage young_storage_;  ///< the young lines and tags, from kYoungFrom main lines on
  Part main_{&empty_line_, &empty_tags_, 0};
  Part young_{&empty_line_, &empty_tags_, 0};
  std::size_t size_ = 0;
  std::size_t young_size_ = 0;
  std::size_t young_inserts_ = 0;  ///< inserts into the young lines since they were last moved
  std::size_t grow_at_ = 0;  ///< the main size at which the main lines double (kGrowAtPerTwoLines / 2 a line)
  /// Where find() last found an entry, or kNowhere: always a used slot, since every change that frees or
  /// moves slots (remove_at, move_young, resize) forgets it. A hint: the exact calls confirm its hash and
  /// owner word before they use it.
  mutable Position last_found_ = kNowhere;
  std::uint64_t seed_;
  /// The position of the entry (h, want): last_found_ when it holds it, else located.
  [[nodiscard]] Position locate_exact(std::uint32_t h, std::uint32_t want) const noexcept;
};

template <typename IsWord>
inline FlowTable::Position FlowTable::locate_in(const Part& part, std::uint32_t h, IsWord& is) {
  const std::size_t home = h & part.mask;
  const std::uint64_t tags = part.tags[home];
  if (const int slot = slot_in(part, home, tags, h, is); slot >= 0)
    return home << kSlotBits | static_cast<unsigned>(slot);
  // Nothing homed at or before this line lies past it: the entry is not in the part.
  if (!overflowed(tags)) [[likely]]
    return kNowhere;
  return locate_past(part, home, h, is);
}

template <typename IsWord>
FlowTable::Position FlowTable::locate_past(const Part& part, std::size_t home, std::uint32_t h, IsWord& is) {
  // The bound ends a walk around a part whose every line has a count (possible after churn).
  for (std::size_t i = (home + 1) & part.mask; i != home; i = (i + 1) & part.mask) {
    const std::uint64_t tags = part.tags[i];
    if (const int slot = slot_in(part, i, tags, h, is); slot >= 0)
      return i << kSlotBits | static_cast<unsigned>(slot);
    if (!overflowed(tags)) return kNowhere;
  }
  return kNowhere;
}

template <typename Match>
std::optional<FlowRef> FlowTable::find(std::uint32_t h, Match&& match) const {
  const std::uint32_t word = find_word(h, std::forward<Match>(match));
  if (word == kNoWord) return std::nullopt;
  return ref_of(word);
}

template <typename Match>
std::uint32_t FlowTable::find_word(std::uint32_t h, Match&& match) const {
  // The owner word that matched is the answer: kept from the match, not read back from its slot.
  std::uint32_t found = kNoWord;
  const auto p = locate(h, [&](std::uint32_t word) {
    found = word;
    return match(ref_of(word));
  });
  if (p == kNowhere) return kNoWord;
  last_found_ = p;
  return found;
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
