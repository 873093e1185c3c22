#include "synack/stack/flow_table.hpp"

#include <sys/mman.h>

#include <algorithm>
#include <bit>
#include <new>
#include <vector>

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
std::uint64_t FlowTable::empty_tags_ = 0;

void FlowTable::Unmap::operator()(Line* p) const noexcept {
  ::munmap(p, bytes);
}

FlowTable::Storage FlowTable::allocate(std::size_t lines) {
  constexpr std::size_t kHugePage = std::size_t{2} << 20U;
  const std::size_t bytes = lines * (sizeof(Line) + sizeof(std::uint64_t));
  void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  // A hint (ignored where huge pages are off); asked before the first write so the pages start huge.
  if (bytes >= kHugePage) (void)::madvise(p, bytes, MADV_HUGEPAGE);
  // Every tag word 0: no slot used, no overflow. No slot of a line is read before a tag says it is used
  // (nor its overflow before its count saturates), so the lines are not written here.
  auto* first = static_cast<Line*>(p);
  std::uninitialized_default_construct_n(first, lines);
  std::uninitialized_value_construct_n(reinterpret_cast<std::uint64_t*>(first + lines), lines);
  return Storage(first, Unmap{bytes});
}

std::size_t FlowTable::overflow_of(const Part& part, std::size_t i) noexcept {
  const std::uint64_t count = part.tags[i] >> kCountShift;
  return count < kSaturated ? count : part.lines[i].overflow;
}

void FlowTable::add_overflow(Part& part, std::size_t i) noexcept {
  const std::uint64_t count = part.tags[i] >> kCountShift;
  if (count == kSaturated) {
    ++part.lines[i].overflow;  // past 254 the line keeps the count (a long chain: a table full of one hash)
    return;
  }
  if (count == kSaturated - 1) part.lines[i].overflow = kSaturated;
  part.tags[i] += std::uint64_t{1} << kCountShift;
}

void FlowTable::sub_overflow(Part& part, std::size_t i) noexcept {
  if (part.tags[i] >> kCountShift == kSaturated && --part.lines[i].overflow >= kSaturated) return;
  part.tags[i] -= std::uint64_t{1} << kCountShift;
}

void FlowTable::place(Part& part, std::uint32_t h, std::uint32_t word) noexcept {
  std::size_t i = h & part.mask;
  std::uint64_t free = ~part.tags[i] & kUsedBits;
  while (free == 0) {
    add_overflow(part, i);  // a lookup of h must read past this line
    i = (i + 1) & part.mask;
    free = ~part.tags[i] & kUsedBits;
  }
  // Stores only: the line is not read, so its miss (a new tuple's random line) does not stall.
  const auto slot = static_cast<unsigned>(std::countr_zero(free)) / 8U;
  Line& line = part.lines[i];
  line.hash[slot] = h;
  line.ref[slot] = word;
  part.tags[i] |= tag_of(h) << (8U * slot);
}

void FlowTable::insert(std::uint32_t h, FlowRef ref) {
  if (young_storage_) {
    // A new flow's entry goes to the cached young lines: its main line (a random one of megabytes) is
    // written only if the flow outlives kYoungMoveAt more inserts, together with the other survivors.
    // Counted in inserts, not in entries present: a young part holding just under kYoungMoveAt long-lived
    // entries (a stack filled with idle connections, then churning a few) would otherwise never move
    // them, and every lookup would walk its nearly full lines first (+163 instructions a handshake at
    // 10^6 idle connections, BENCHMARKS.md round 12).
    if (young_inserts_ >= kYoungMoveAt) move_young();
    place(young_, h, word_of(ref));
    ++young_size_;
    ++young_inserts_;
    ++size_;
    return;
  }
  if (size_ >= grow_at_) resize(std::max(kMinLines, line_count() * 2));
  place(main_, h, word_of(ref));
  ++size_;
}

void FlowTable::move_young() {
  young_inserts_ = 0;
  if (young_size_ == 0) return;  // every young entry was erased: nothing to move, no tag to clear
  while (size_ > grow_at_) resize((main_.mask + 1) * 2);  // room for every entry in the main lines
  constexpr std::size_t kAhead = 8;                       // main lines in flight at once
  std::array<std::pair<std::uint32_t, std::uint32_t>, kAhead> ring{};
  std::size_t n = 0;
  for (std::size_t k = 0; k < kYoungLines; ++k) {
    for (std::uint64_t m = young_.tags[k] & kUsedBits; m != 0; m &= m - 1) {
      const auto slot = static_cast<unsigned>(std::countr_zero(m)) / 8U;
      const std::uint32_t h = young_.lines[k].hash[slot];
      prefetch(h);
      auto& [old_h, old_word] = ring[n % kAhead];
      if (n >= kAhead) place(main_, old_h, old_word);
      old_h = h;
      old_word = young_.lines[k].ref[slot];
      ++n;
    }
  }
  for (std::size_t j = n > kAhead ? n - kAhead : 0; j < n; ++j)
    place(main_, ring[j % kAhead].first, ring[j % kAhead].second);
  std::fill_n(young_.tags, kYoungLines, std::uint64_t{0});
  young_size_ = 0;
  last_found_ = kNowhere;
}

FlowTable::Position FlowTable::locate_exact(std::uint32_t h, std::uint32_t want) const noexcept {
  if (const Position p = last_found_; p != kNowhere) {
    const Part& part = part_of(p);
    const Line& line = part.lines[(p & ~kYoung) >> kSlotBits];
    const auto slot = static_cast<unsigned>(p & ((1U << kSlotBits) - 1));
    if (line.hash[slot] == h && line.ref[slot] == want) return p;
  }
  return locate(h, [want](std::uint32_t word) { return word == want; });
}

bool FlowTable::replace_exact(std::uint32_t h, FlowRef old_ref, FlowRef ref) noexcept {
  const Position p = locate_exact(h, word_of(old_ref));
  if (p == kNowhere) return false;
  ref_at(p) = word_of(ref);
  return true;
}

bool FlowTable::erase_exact(std::uint32_t h, FlowRef old_ref) noexcept {
  const Position p = locate_exact(h, word_of(old_ref));
  if (p == kNowhere) return false;
  remove_at(p);
  return true;
}

void FlowTable::remove_at(Position p) noexcept {
  last_found_ = kNowhere;  // its slot is free from here on
  const bool young = (p & kYoung) != 0;
  Part& part = young ? young_ : main_;
  const std::size_t at = (p & ~kYoung) >> kSlotBits;
  const auto slot = static_cast<unsigned>(p & ((1U << kSlotBits) - 1));
  part.tags[at] &= ~(std::uint64_t{0xFF} << (8U * slot));
  // The lines from its home to this one counted it as passing over them (the lookup read each of them).
  for (std::size_t i = part.lines[at].hash[slot] & part.mask; i != at; i = (i + 1) & part.mask) {
    sub_overflow(part, i);
  }
  young_size_ -= young ? 1U : 0U;
  --size_;
}

std::size_t FlowTable::lines_probed(std::uint32_t h) const noexcept {
  if (!storage_) return 0;
  std::size_t lines = 1;
  for (std::size_t i = h & main_.mask; overflowed(main_.tags[i]) && lines <= main_.mask;
       i = (i + 1) & main_.mask) {
    ++lines;
  }
  return lines;
}

std::size_t FlowTable::lines_read(std::uint32_t h) const noexcept {
  std::size_t lines = 0;
  const std::size_t probed = lines_probed(h);
  for (std::size_t k = 0, i = h & main_.mask; k < probed; ++k, i = (i + 1) & main_.mask) {
    lines += tag_matches(main_.tags[i], h) != 0 ? 1U : 0U;
  }
  return lines;
}

bool FlowTable::part_agrees(const Part& part, std::size_t lines, std::size_t size) noexcept {
  std::vector<std::size_t> passed(lines, 0);  // entries placed past each line, counted from the entries
  std::size_t used = 0;
  for (std::size_t at = 0; at < lines; ++at) {
    for (std::uint64_t m = part.tags[at] & kUsedBits; m != 0; m &= m - 1) {
      const auto slot = static_cast<unsigned>(std::countr_zero(m)) / 8U;
      const std::uint32_t h = part.lines[at].hash[slot];
      if ((part.tags[at] >> (8U * slot) & 0xFFU) != tag_of(h)) return false;
      for (std::size_t i = h & part.mask; i != at; i = (i + 1) & part.mask) ++passed[i];
      ++used;
    }
  }
  for (std::size_t i = 0; i < lines; ++i) {
    const std::uint64_t count = part.tags[i] >> kCountShift;
    if (overflow_of(part, i) != passed[i] || count != std::min<std::uint64_t>(passed[i], kSaturated)) {
      return false;
    }
  }
  return used == size;
}

bool FlowTable::tags_agree() const noexcept {
  const std::size_t young_lines = young_storage_ ? kYoungLines : 0;
  return part_agrees(main_, storage_ ? main_.mask + 1 : 0, size_ - young_size_) &&
         part_agrees(young_, young_lines, young_size_);
}

void FlowTable::resize(std::size_t lines) {
  const std::size_t old_lines = storage_ ? main_.mask + 1 : 0;
  const Part old_part = main_;
  lines = std::bit_ceil(lines);
  Storage old = allocate(lines);
  old.swap(storage_);
  last_found_ = kNowhere;
  main_ = part_over(storage_, lines);
  grow_at_ = lines * kGrowAtPerTwoLines / 2;
  for (std::size_t k = 0; k < old_lines; ++k) {
    const Line& line = old_part.lines[k];
    for (std::uint64_t m = old_part.tags[k] & kUsedBits; m != 0; m &= m - 1) {
      const auto slot = static_cast<unsigned>(std::countr_zero(m)) / 8U;
      place(main_, line.hash[slot], line.ref[slot]);
    }
  }
  if (lines >= kYoungFrom && !young_storage_) {
    young_storage_ = allocate(kYoungLines);
    young_ = part_over(young_storage_, kYoungLines);
  }
}

}  // namespace synack::stack
