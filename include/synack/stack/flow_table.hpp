/// @file
/// The flow table: 4-tuple -> what owns it (a connection, a half-open entry, a pending forwarder offer or
/// a TIME-WAIT record). Open addressing with linear probing and backward-shift deletion.
///
/// Compact: an entry is 8 bytes — the tuple's 32-bit keyed hash and one word holding the owner's kind and
/// index (for a half-open entry, its listener and slot) — and never the tuple itself: every owner already
/// holds its tuple, so a lookup compares hashes first and asks the caller's `match(FlowRef)` to confirm
/// against the owner only on a hash match. The hash is keyed with a secret seed so that an attacker choosing
/// tuples cannot aim at one probe chain; it is computed once per datagram (hash()) and passed to every
/// operation.
///
/// Memory follows use: nothing up front; the table starts at 16 entries and doubles past 3/4 load, so it
/// costs 11-21 bytes per flow at its peak. From 2 MiB on its pages are transparent huge pages where the
/// kernel offers them (the probes of 10^6 flows would otherwise miss the TLB at every datagram). It does not
/// shrink (as Linux's established hash does not): a stack that once held N flows keeps room for N, and churn
/// below that peak never allocates.
#pragma once

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
  void prefetch(std::uint32_t h) const noexcept {
    if (capacity_ != 0) __builtin_prefetch(&entries_[h & (capacity_ - 1)]);
  }

  /// Entries in the table.
  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  /// Slots allocated (a power of two, 0 before the first insert).
  [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }
  /// Heap bytes the entries occupy.
  [[nodiscard]] std::size_t memory_bytes() const noexcept { return capacity_ * sizeof(Entry); }

 private:
  static constexpr std::uint32_t kEmpty = 0xFFFFFFFFU;  ///< a kind no flow has (7)
  static constexpr std::size_t kMinCapacity = 16;
  struct Entry {
    std::uint32_t hash = 0;
    std::uint32_t ref = kEmpty;  ///< kind << 29 | index, or (half_open) kind << 29 | owner << 20 | slot
  };
  static_assert(sizeof(Entry) == 8);

  [[nodiscard]] static FlowRef ref_of(const Entry& e) noexcept {
    const auto kind = static_cast<FlowRef::Kind>(e.ref >> 29U);
    if (kind == FlowRef::Kind::half_open) {
      return FlowRef{kind, e.ref & kMaxHalfOpenSlot, (e.ref >> 20U) & kForwarderOwner};
    }
    return FlowRef{kind, e.ref & kMaxIndex, 0};
  }
  [[nodiscard]] static Entry entry_of(std::uint32_t h, FlowRef r) noexcept {
    const std::uint32_t kind = static_cast<std::uint32_t>(r.kind) << 29U;
    if (r.kind == FlowRef::Kind::half_open) {
      return Entry{h, kind | ((r.owner & kForwarderOwner) << 20U) | (r.index & kMaxHalfOpenSlot)};
    }
    return Entry{h, kind | (r.index & kMaxIndex)};
  }
  /// The position of the matching entry, or nullopt.
  template <typename Match>
  [[nodiscard]] std::optional<std::size_t> position(std::uint32_t h, Match&& match) const;
  [[nodiscard]] std::optional<std::size_t> position_exact(std::uint32_t h, FlowRef ref) const noexcept;
  void remove_at(std::size_t i) noexcept;
  void resize(std::size_t capacity);
  /// Entries as mapped memory of their own: a table of 2 MiB or more asks for transparent huge pages
  /// (madvise), so that the random probes of a large table do not each cost a TLB miss.
  struct Unmap {
    std::size_t bytes;  // (no default member initializer: the enclosing class's constructor needs it)
    void operator()(Entry* p) const noexcept;
  };
  using Storage = std::unique_ptr<Entry[], Unmap>;
  [[nodiscard]] static Storage allocate(std::size_t capacity);

  Storage entries_;
  std::size_t capacity_ = 0;
  std::size_t size_ = 0;
  std::uint64_t seed_;
};

template <typename Match>
std::optional<std::size_t> FlowTable::position(std::uint32_t h, Match&& match) const {
  if (capacity_ == 0) return std::nullopt;
  const std::size_t mask = capacity_ - 1;
  for (std::size_t i = h & mask;; i = (i + 1) & mask) {
    const Entry& e = entries_[i];
    if (e.ref == kEmpty) return std::nullopt;
    if (e.hash == h && match(ref_of(e))) return i;
  }
}

template <typename Match>
std::optional<FlowRef> FlowTable::find(std::uint32_t h, Match&& match) const {
  const auto i = position(h, match);
  if (!i) return std::nullopt;
  return ref_of(entries_[*i]);
}

template <typename Match>
bool FlowTable::replace(std::uint32_t h, Match&& match, FlowRef ref) {
  const auto i = position(h, match);
  if (!i) return false;
  entries_[*i] = entry_of(h, ref);
  return true;
}

template <typename Match>
bool FlowTable::erase(std::uint32_t h, Match&& match) {
  const auto i = position(h, match);
  if (!i) return false;
  remove_at(*i);
  return true;
}

}  // namespace synack::stack
