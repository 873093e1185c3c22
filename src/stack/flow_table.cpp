#include "synack/stack/flow_table.hpp"

#include <sys/mman.h>

#include <algorithm>
#include <bit>
#include <new>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

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

FlowTable::Line FlowTable::empty_line_{};

void FlowTable::Unmap::operator()(Line* p) const noexcept {
  ::munmap(p, bytes);
}

FlowTable::Storage FlowTable::allocate(std::size_t lines) {
  constexpr std::size_t kHugePage = std::size_t{2} << 20U;
  const std::size_t bytes = lines * sizeof(Line);
  void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  // A hint (ignored where huge pages are off); asked before the first write so the pages start huge.
  if (bytes >= kHugePage) (void)::madvise(p, bytes, MADV_HUGEPAGE);
  auto* first = static_cast<Line*>(p);
  std::uninitialized_value_construct_n(first, lines);  // all zero: no slot used, no overflow
  return Storage(first, Unmap{bytes});
}

std::uint32_t FlowTable::hash_matches(const Line& line, std::uint32_t h) noexcept {
#if defined(__SSE2__)
  // The 7 hashes and `used` as two 16-byte lanes of four words, each compared with h at once.
  const __m128i want = _mm_set1_epi32(static_cast<int>(h));
  const auto* words = reinterpret_cast<const __m128i*>(line.hash.data());  // 64-byte aligned
  const auto low =
      static_cast<std::uint32_t>(_mm_movemask_ps(_mm_castsi128_ps(_mm_cmpeq_epi32(words[0], want))));
  const auto high =
      static_cast<std::uint32_t>(_mm_movemask_ps(_mm_castsi128_ps(_mm_cmpeq_epi32(words[1], want))));
  return (low | (high << 4U)) & line.used;
#else
  std::uint32_t m = 0;
  for (std::size_t i = 0; i < kLineSlots; ++i) m |= static_cast<std::uint32_t>(line.hash[i] == h) << i;
  return m & line.used;
#endif
}

void FlowTable::place(std::uint32_t h, std::uint32_t word) noexcept {
  std::size_t i = h & mask_;
  while (lines_[i].used == kFull) {
    ++lines_[i].overflow;  // a lookup of h must read past this line
    i = (i + 1) & mask_;
  }
  Line& line = lines_[i];
  const auto slot = static_cast<unsigned>(std::countr_one(line.used));
  line.hash[slot] = h;
  line.ref[slot] = word;
  line.used |= 1U << slot;
}

void FlowTable::insert(std::uint32_t h, FlowRef ref) {
  if (size_ >= grow_at_) resize(std::max(kMinLines, line_count() * 2));
  place(h, word_of(ref));
  ++size_;
}

bool FlowTable::replace_exact(std::uint32_t h, FlowRef old_ref, FlowRef ref) noexcept {
  const std::uint32_t want = word_of(old_ref);
  const auto p = locate(h, [want](std::uint32_t word) { return word == want; });
  if (p == kNowhere) return false;
  ref_at(p) = word_of(ref);
  return true;
}

bool FlowTable::erase_exact(std::uint32_t h, FlowRef old_ref) noexcept {
  const std::uint32_t want = word_of(old_ref);
  const auto p = locate(h, [want](std::uint32_t word) { return word == want; });
  if (p == kNowhere) return false;
  remove_at(p);
  return true;
}

void FlowTable::remove_at(Position p) noexcept {
  const std::size_t at = p >> kSlotBits;
  const auto slot = static_cast<unsigned>(p & ((1U << kSlotBits) - 1));
  Line& line = lines_[at];
  line.used &= ~(1U << slot);
  // The lines from its home to this one counted it as passing over them (the lookup read each of them).
  for (std::size_t i = line.hash[slot] & mask_; i != at; i = (i + 1) & mask_) --lines_[i].overflow;
  --size_;
}

std::size_t FlowTable::lines_probed(std::uint32_t h) const noexcept {
  if (!storage_) return 0;
  std::size_t lines = 1;
  for (std::size_t i = h & mask_; lines_[i].overflow != 0 && lines <= mask_; i = (i + 1) & mask_) ++lines;
  return lines;
}

void FlowTable::resize(std::size_t lines) {
  const std::size_t old_lines = line_count();
  Storage old = allocate(std::bit_ceil(lines));
  old.swap(storage_);
  lines_ = storage_.get();
  mask_ = std::bit_ceil(lines) - 1;
  grow_at_ = (mask_ + 1) * kGrowAtPerLine;
  for (std::size_t k = 0; k < old_lines; ++k) {
    const Line& line = old[k];
    for (std::uint32_t m = line.used; m != 0; m &= m - 1) {
      const auto slot = static_cast<unsigned>(std::countr_zero(m));
      place(line.hash[slot], line.ref[slot]);
    }
  }
}

}  // namespace synack::stack
