#include "synack/stack/flow_table.hpp"

#include <algorithm>
#include <bit>

namespace synack::stack {

FlowTable::FlowTable(std::size_t initial_capacity, std::uint64_t seed)
    : entries_(std::bit_ceil(std::max<std::size_t>(initial_capacity, 16))), seed_(seed) {}

std::size_t FlowTable::home(const wire::FourTuple& tuple) const noexcept {
  // wire::hash_value mixed with a secret seed, then a final avalanche (splitmix64's finalizer).
  std::uint64_t h = static_cast<std::uint64_t>(wire::hash_value(tuple, seed_)) ^ seed_;
  h ^= h >> 30U;
  h *= 0xBF58476D1CE4E5B9ULL;
  h ^= h >> 27U;
  h *= 0x94D049BB133111EBULL;
  h ^= h >> 31U;
  return static_cast<std::size_t>(h) & (entries_.size() - 1);
}

std::optional<FlowRef> FlowTable::find(const wire::FourTuple& tuple) const noexcept {
  const std::size_t mask = entries_.size() - 1;
  for (std::size_t i = home(tuple);; i = (i + 1) & mask) {
    const Entry& e = entries_[i];
    if (!e.used) return std::nullopt;
    if (e.tuple == tuple) return e.ref;
  }
}

void FlowTable::insert(const wire::FourTuple& tuple, FlowRef ref) {
  if ((size_ + 1) * 2 > entries_.size()) grow();
  const std::size_t mask = entries_.size() - 1;
  for (std::size_t i = home(tuple);; i = (i + 1) & mask) {
    Entry& e = entries_[i];
    if (!e.used) {
      e = Entry{tuple, ref, true};
      ++size_;
      return;
    }
    if (e.tuple == tuple) {
      e.ref = ref;
      return;
    }
  }
}

bool FlowTable::erase(const wire::FourTuple& tuple) noexcept {
  const std::size_t mask = entries_.size() - 1;
  std::size_t i = home(tuple);
  for (;; i = (i + 1) & mask) {
    if (!entries_[i].used) return false;
    if (entries_[i].tuple == tuple) break;
  }
  // Backward-shift deletion: pull later members of the probe chain into the hole.
  std::size_t hole = i;
  for (std::size_t j = (hole + 1) & mask; entries_[j].used; j = (j + 1) & mask) {
    const std::size_t h = home(entries_[j].tuple);
    // Move j into the hole when its home is not in (hole, j] cyclically.
    const bool home_between = hole <= j ? (hole < h && h <= j) : (hole < h || h <= j);
    if (!home_between) {
      entries_[hole] = entries_[j];
      hole = j;
    }
  }
  entries_[hole].used = false;
  --size_;
  return true;
}

void FlowTable::grow() {
  std::vector<Entry> old(entries_.size() * 2);
  old.swap(entries_);
  size_ = 0;
  for (const Entry& e : old) {
    if (e.used) insert(e.tuple, e.ref);
  }
}

}  // namespace synack::stack
