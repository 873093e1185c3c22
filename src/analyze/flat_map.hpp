// The flow table's map: the entries (key and value) packed in one dense array, found through an index of
// small slots — open addressing with linear probing, a power-of-two capacity kept at most half full, each
// slot the entry's place and 32 bits of its key's hash. A lookup is a hash, a mask, one 8-byte slot and
// (nearly always) one entry's key compare: no bucket array, no node to chase, no allocation per entry (what
// std::unordered_map costs on every packet). The index is 8 bytes a slot and the entries are as many as
// there are keys, so growing touches a fraction of the memory a table of whole entries at half load would
// (a fresh analyzer faulting its pages in again was most of what the table cost). Entries are removed only
// by erase_if() (the flow table's sweeps), which packs the array and rebuilds the index: no tombstones.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "huge_pages.hpp"

namespace synack::analyze::detail {

template <typename Key, typename Value, typename Hash>
class FlatMap {
 public:
  /// The entry for `key` (nullptr when absent). Valid until the next try_emplace() or erase_if().
  [[nodiscard]] Value* find(const Key& key) noexcept {
    if (slots_.empty()) return nullptr;
    const std::uint64_t h = Hash{}(key);
    for (std::size_t i = h & mask_;; i = (i + 1) & mask_) {
      const Slot s = slots_[i];
      if (s.entry == 0) return nullptr;
      if (s.tag == tag_of(h) && entries_[s.entry - 1].key == key) return &entries_[s.entry - 1].value;
    }
  }

  /// The entry for `key`, value-initialised when it was absent (then `second` is true). The reference is
  /// valid until the next try_emplace() or erase_if().
  std::pair<Value&, bool> try_emplace(const Key& key) {
    if ((entries_.size() + 1) * 2 > slots_.size()) grow();
    const std::uint64_t h = Hash{}(key);
    std::size_t i = h & mask_;
    for (;; i = (i + 1) & mask_) {
      const Slot s = slots_[i];
      if (s.entry == 0) break;
      if (s.tag == tag_of(h) && entries_[s.entry - 1].key == key) return {entries_[s.entry - 1].value, false};
    }
    entries_.push_back(Entry{key, Value{}});
    slots_[i] = Slot{static_cast<std::uint32_t>(entries_.size()), tag_of(h)};
    return {entries_.back().value, true};
  }

  /// Calls `f(key, value)` for every entry, in the order they were added (sweeps keep that order).
  template <typename F>
  void for_each(F&& f) {
    for (Entry& e : entries_) f(e.key, e.value);
  }

  /// Removes every entry for which `remove(key, value)` returns true (it may act on the value first).
  template <typename F>
  void erase_if(F&& remove) {
    std::size_t kept = 0;
    for (Entry& e : entries_) {
      if (remove(e.key, e.value)) continue;
      if (&entries_[kept] != &e) entries_[kept] = std::move(e);
      ++kept;
    }
    entries_.resize(kept);
    reindex();
  }

  /// Room for `entries` without moving them (the index still grows as they come).
  void reserve(std::size_t entries) {
    entries_.reserve(entries);
    advise_huge_pages(entries_.data(), entries * sizeof(Entry));
  }

  void clear() {
    entries_.clear();
    slots_.clear();
    mask_ = 0;
  }
  [[nodiscard]] std::size_t size() const noexcept { return entries_.size(); }

 private:
  struct Entry {
    Key key;
    Value value;
  };
  /// An index slot: the entry's place in entries_ plus one (0: empty), and the high half of its hash.
  struct Slot {
    std::uint32_t entry = 0;
    std::uint32_t tag = 0;
  };
  static std::uint32_t tag_of(std::uint64_t hash) noexcept { return static_cast<std::uint32_t>(hash >> 32U); }

  void grow() {
    slots_.resize(slots_.empty() ? kInitialSlots : slots_.size() * 2);
    mask_ = slots_.size() - 1;
    reindex();
  }

  /// Fills the index afresh from the entries.
  void reindex() {
    std::fill(slots_.begin(), slots_.end(), Slot{});
    for (std::size_t n = 0; n < entries_.size(); ++n) {
      const std::uint64_t h = Hash{}(entries_[n].key);
      std::size_t i = h & mask_;
      while (slots_[i].entry != 0) i = (i + 1) & mask_;
      slots_[i] = Slot{static_cast<std::uint32_t>(n + 1), tag_of(h)};
    }
  }

  static constexpr std::size_t kInitialSlots = 1024;
  std::vector<Entry> entries_;
  std::vector<Slot> slots_;
  std::size_t mask_ = 0;
};

}  // namespace synack::analyze::detail
