#include "synack/stack/flow_table.hpp"

#include <algorithm>
#include <bit>

namespace synack::stack {

std::uint32_t FlowTable::hash(const wire::FourTuple& tuple) const noexcept {
  // wire::hash_value keyed with the secret seed, then a final avalanche (splitmix64's finalizer).
  std::uint64_t h = static_cast<std::uint64_t>(wire::hash_value(tuple, seed_)) ^ seed_;
  h ^= h >> 30U;
  h *= 0xBF58476D1CE4E5B9ULL;
  h ^= h >> 27U;
  h *= 0x94D049BB133111EBULL;
  h ^= h >> 31U;
  return static_cast<std::uint32_t>(h);
}

void FlowTable::insert(std::uint32_t h, FlowRef ref) {
  if (entries_.empty() || (size_ + 1) * 4 > entries_.size() * 3) {
    resize(std::max(kMinCapacity, entries_.size() * 2));
  }
  const std::size_t mask = entries_.size() - 1;
  std::size_t i = h & mask;
  while (entries_[i].ref != kEmpty) i = (i + 1) & mask;
  entries_[i] = entry_of(h, ref);
  ++size_;
}

void FlowTable::remove_at(std::size_t i) noexcept {
  // Backward-shift deletion: pull later members of the probe chain into the hole.
  const std::size_t mask = entries_.size() - 1;
  std::size_t hole = i;
  for (std::size_t j = (hole + 1) & mask; entries_[j].ref != kEmpty; j = (j + 1) & mask) {
    const std::size_t home = entries_[j].hash & mask;
    // Move j into the hole when its home is not in (hole, j] cyclically.
    const bool home_between = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
    if (!home_between) {
      entries_[hole] = entries_[j];
      hole = j;
    }
  }
  entries_[hole].ref = kEmpty;
  --size_;
}

void FlowTable::resize(std::size_t capacity) {
  std::vector<Entry> old(std::bit_ceil(capacity));
  old.swap(entries_);
  const std::size_t mask = entries_.size() - 1;
  for (const Entry& e : old) {
    if (e.ref == kEmpty) continue;
    std::size_t i = e.hash & mask;
    while (entries_[i].ref != kEmpty) i = (i + 1) & mask;
    entries_[i] = e;
  }
}

}  // namespace synack::stack
