#include "synack/stack/flow_table.hpp"

#include <sys/mman.h>

#include <algorithm>
#include <bit>
#include <new>

namespace synack::stack {

std::uint32_t FlowTable::hash(const wire::FourTuple& tuple) const noexcept {
  if (tuple.local.address.is_v4() && tuple.remote.address.is_v4()) {
    // IPv4 (five times per handshake): both addresses in one word, both ports in another, each mixed in
    // by a keyed multiply-xorshift step (a bijection of the state, so tuples that differ in one word
    // never collide on 64 bits), then one avalanche (splitmix64's finalizer) — instead of
    // wire::hash_value's five word steps and a second finalizer. The secret seed enters first.
    constexpr std::uint64_t kMul = 0x9E3779B97F4A7C15ULL;
    // An IPv4 address is the first 4 of its 16 bytes (the rest zero): in one half of the first word,
    // so the remote one rotated into the other half sits beside the local one.
    const std::uint64_t addresses =
        tuple.local.address.words()[0] ^ std::rotl(tuple.remote.address.words()[0], 32);
    const std::uint64_t ports = (std::uint64_t{tuple.local.port} << 16U) | tuple.remote.port;
    std::uint64_t h = (seed_ ^ addresses) * kMul;
    h ^= h >> 32U;
    h = (h ^ ports) * 0xBF58476D1CE4E5B9ULL;
    h ^= h >> 27U;
    h *= 0x94D049BB133111EBULL;
    h ^= h >> 31U;
    return static_cast<std::uint32_t>(h);
  }
  // wire::hash_value keyed with the secret seed, then a final avalanche (splitmix64's finalizer).
  std::uint64_t h = static_cast<std::uint64_t>(wire::hash_value(tuple, seed_)) ^ seed_;
  h ^= h >> 30U;
  h *= 0xBF58476D1CE4E5B9ULL;
  h ^= h >> 27U;
  h *= 0x94D049BB133111EBULL;
  h ^= h >> 31U;
  return static_cast<std::uint32_t>(h);
}

void FlowTable::Unmap::operator()(Entry* p) const noexcept {
  ::munmap(p, bytes);
}

FlowTable::Storage FlowTable::allocate(std::size_t capacity) {
  constexpr std::size_t kHugePage = std::size_t{2} << 20U;
  const std::size_t bytes = capacity * sizeof(Entry);
  void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  // A hint (ignored where huge pages are off); asked before the first write so the pages start huge.
  if (bytes >= kHugePage) (void)::madvise(p, bytes, MADV_HUGEPAGE);
  auto* entries = static_cast<Entry*>(p);
  std::uninitialized_fill_n(entries, capacity, Entry{});
  return Storage(entries, Unmap{bytes});
}

void FlowTable::insert(std::uint32_t h, FlowRef ref) {
  if (capacity_ == 0 || (size_ + 1) * 4 > capacity_ * 3) resize(std::max(kMinCapacity, capacity_ * 2));
  const std::size_t mask = capacity_ - 1;
  std::size_t i = h & mask;
  while (entries_[i].ref != kEmpty) i = (i + 1) & mask;
  entries_[i] = entry_of(h, ref);
  ++size_;
}

std::optional<std::size_t> FlowTable::position_exact(std::uint32_t h, FlowRef ref) const noexcept {
  if (capacity_ == 0) return std::nullopt;
  const Entry want = entry_of(h, ref);
  const std::size_t mask = capacity_ - 1;
  for (std::size_t i = h & mask; entries_[i].ref != kEmpty; i = (i + 1) & mask) {
    if (entries_[i].hash == h && entries_[i].ref == want.ref) return i;
  }
  return std::nullopt;
}

bool FlowTable::replace_exact(std::uint32_t h, FlowRef old_ref, FlowRef ref) noexcept {
  const auto i = position_exact(h, old_ref);
  if (!i) return false;
  entries_[*i] = entry_of(h, ref);
  return true;
}

bool FlowTable::erase_exact(std::uint32_t h, FlowRef old_ref) noexcept {
  const auto i = position_exact(h, old_ref);
  if (!i) return false;
  remove_at(*i);
  return true;
}

void FlowTable::remove_at(std::size_t i) noexcept {
  // Backward-shift deletion: pull later members of the probe chain into the hole.
  const std::size_t mask = capacity_ - 1;
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
  const std::size_t old_capacity = capacity_;
  capacity_ = std::bit_ceil(capacity);
  Storage old = allocate(capacity_);
  old.swap(entries_);
  const std::size_t mask = capacity_ - 1;
  for (std::size_t k = 0; k < old_capacity; ++k) {
    const Entry& e = old[k];
    if (e.ref == kEmpty) continue;
    std::size_t i = e.hash & mask;
    while (entries_[i].ref != kEmpty) i = (i + 1) & mask;
    entries_[i] = e;
  }
}

}  // namespace synack::stack
