// TimerWheel: see the header for the layout and the costs. Invariants the code below keeps:
//  - a node is in exactly one list (a slot, the overflow list or the pending list) iff it is armed;
//  - a slot's occupancy bit is set iff its list is non-empty;
//  - a timer of tick t is in the current level-0 slot if t <= cur_tick_, else at level L where
//    64^L <= (t ^ cur_tick_) < 64^(L+1), else (t ^ cur_tick_ >= 64^kLevels) in the overflow list.
//    Hence no occupied slot lies behind the current one at any level, and levels are in time order;
//  - a sorted list is in strictly increasing (key, id) order; an unsorted one knows its minimum key
//    unless `dirty`.
#include "synack/stack/timer_wheel.hpp"

#include <algorithm>
#include <bit>
#include <cassert>

namespace synack::stack {

namespace {
constexpr unsigned kHorizonBits = TimerWheel::kLevels * TimerWheel::kLevelBits;  // in ticks
}  // namespace

TimerWheel::TimerWheel(Instant origin) : cur_tick_(key_of(origin) >> kTickShift), now_(origin) {}

void TimerWheel::reserve(std::size_t ids) {
  nodes_.reserve(ids);
}

bool TimerWheel::armed(Id id) const noexcept {
  return id < nodes_.size() && nodes_[id].list != kNil;
}

Instant TimerWheel::deadline(Id id) const noexcept {
  return armed(id) ? instant_of(nodes_[id].key) : Instant::max();
}

void TimerWheel::schedule(Id id, Instant deadline) {
  if (deadline == Instant::max()) {
    cancel(id);
    return;
  }
  assert(id <= kMaxId);
  if (id >= nodes_.size()) nodes_.resize(std::size_t{id} + 1);  // geometric growth: amortised O(1)
  Node& n = nodes_[id];
  if (n.list != kNil) {
    unlink(id);
  } else {
    ++size_;
  }
  n.key = key_of(deadline);
  file(id);
}

void TimerWheel::cancel(Id id) noexcept {
  if (!armed(id)) return;
  unlink(id);
  nodes_[id].list = kNil;
  --size_;
}

Instant TimerWheel::next_deadline() const noexcept {
  if (size_ == 0) return Instant::max();
  // The lowest occupied level's lowest occupied slot holds the earliest timers (see the invariants).
  std::uint64_t best = std::numeric_limits<std::uint64_t>::max();
  bool found = false;
  for (std::uint32_t level = 0; level < kLevels && !found; ++level) {
    if (occupied_[level] != 0) {
      const auto slot = static_cast<std::uint32_t>(std::countr_zero(occupied_[level]));
      best = list_min(level * kSlots + slot);
      found = true;
    }
  }
  if (!found && lists_[kOverflow].head != kNil) best = list_min(kOverflow);
  // Due timers still being handed out by expire() (only while its callbacks run); a callback may have
  // armed an earlier one since.
  if (lists_[kPending].head != kNil) best = std::min(best, list_min(kPending));
  return instant_of(best);
}

void TimerWheel::file(Id id) noexcept {
  const std::uint64_t tick = nodes_[id].key >> kTickShift;
  if (tick <= cur_tick_) {
    push(static_cast<std::uint32_t>(cur_tick_ % kSlots), id);
    return;
  }
  const std::uint64_t differ = tick ^ cur_tick_;
  if ((differ >> kHorizonBits) != 0) {
    push(kOverflow, id);
    return;
  }
  const auto level = static_cast<std::uint32_t>((std::bit_width(differ) - 1) / kLevelBits);
  const auto slot = static_cast<std::uint32_t>((tick >> (level * kLevelBits)) % kSlots);
  push(level * kSlots + slot, id);
}

void TimerWheel::push(std::uint32_t list, Id id) noexcept {
  Node& n = nodes_[id];
  List& l = lists_[list];
  n.list = list;
  const auto before = [this](std::uint32_t a, std::uint32_t b) {
    return nodes_[a].key < nodes_[b].key || (nodes_[a].key == nodes_[b].key && a < b);
  };
  if (l.head == kNil) {
    n.prev = n.next = kNil;
    l.head = l.tail = id;
    l.sorted = true;
    l.dirty = false;
    if (list < kOverflow) occupied_[list / kSlots] |= std::uint64_t{1} << (list % kSlots);
    return;
  }
  if (l.sorted) {
    if (before(id, l.head)) {  // a new minimum: the front keeps the list sorted
      n.prev = kNil;
      n.next = l.head;
      nodes_[l.head].prev = id;
      l.head = id;
      return;
    }
    if (!before(l.tail, id)) {  // out of order: unsorted from now on, its minimum still the head's
      l.sorted = false;
      l.dirty = false;
      l.min = nodes_[l.head].key;
    }
  } else if (!l.dirty && n.key < l.min) {
    l.min = n.key;
  }
  n.prev = l.tail;
  n.next = kNil;
  nodes_[l.tail].next = id;
  l.tail = id;
}

void TimerWheel::unlink(Id id) noexcept {
  Node& n = nodes_[id];
  List& l = lists_[n.list];
  if (n.prev != kNil) {
    nodes_[n.prev].next = n.next;
  } else {
    l.head = n.next;
  }
  if (n.next != kNil) {
    nodes_[n.next].prev = n.prev;
  } else {
    l.tail = n.prev;
  }
  if (l.head == kNil) {
    l.sorted = true;
    l.dirty = false;
    if (n.list < kOverflow) occupied_[n.list / kSlots] &= ~(std::uint64_t{1} << (n.list % kSlots));
  } else if (l.head == l.tail) {
    l.sorted = true;  // one node is sorted
    l.dirty = false;
  } else if (!l.sorted && n.key == l.min) {
    l.dirty = true;  // the minimum left an unsorted list: sort it when the minimum is next needed
  }
}

std::uint64_t TimerWheel::list_min(std::uint32_t list) const noexcept {
  const List& l = lists_[list];
  assert(l.head != kNil);
  if (l.sorted) return nodes_[l.head].key;
  if (!l.dirty) return l.min;
  sort_list(list);
  return nodes_[l.head].key;
}

// Bottom-up merge sort of the intrusive list by (key, id): O(k log k), no allocation. bins[i] holds a
// sorted run of 2^i nodes (singly linked through `next`), as in a binary counter.
void TimerWheel::sort_list(std::uint32_t list) const noexcept {
  const auto before = [this](std::uint32_t a, std::uint32_t b) {
    return nodes_[a].key < nodes_[b].key || (nodes_[a].key == nodes_[b].key && a < b);
  };
  const auto merge = [&](std::uint32_t a, std::uint32_t b) {
    std::uint32_t head = kNil;
    std::uint32_t tail = kNil;
    while (a != kNil && b != kNil) {
      std::uint32_t take = 0;
      if (before(a, b)) {
        take = a;
        a = nodes_[a].next;
      } else {
        take = b;
        b = nodes_[b].next;
      }
      if (tail == kNil) {
        head = take;
      } else {
        nodes_[tail].next = take;
      }
      tail = take;
    }
    const std::uint32_t rest = a != kNil ? a : b;
    if (tail == kNil) return rest;
    nodes_[tail].next = rest;
    return head;
  };
  std::array<std::uint32_t, 64> bins{};
  bins.fill(kNil);
  std::uint32_t x = lists_[list].head;
  while (x != kNil) {
    const std::uint32_t following = nodes_[x].next;
    nodes_[x].next = kNil;
    std::uint32_t carry = x;
    std::size_t i = 0;
    for (; bins[i] != kNil; ++i) {
      carry = merge(bins[i], carry);  // bins[i] holds earlier-pushed nodes; the order is total anyway
      bins[i] = kNil;
    }
    bins[i] = carry;
    x = following;
  }
  std::uint32_t sorted = kNil;
  for (const std::uint32_t run : bins) {
    if (run != kNil) sorted = merge(run, sorted);
  }
  List& l = lists_[list];
  l.head = sorted;
  std::uint32_t prev = kNil;
  for (std::uint32_t i = sorted; i != kNil; i = nodes_[i].next) {
    nodes_[i].prev = prev;
    prev = i;
  }
  l.tail = prev;
  l.sorted = true;
  l.dirty = false;
}

void TimerWheel::take_all(std::uint32_t list) noexcept {
  while (lists_[list].head != kNil) {
    const Id id = lists_[list].head;
    unlink(id);
    push(kPending, id);
  }
}

void TimerWheel::take_due(std::uint32_t list, std::uint64_t now_key) noexcept {
  if (lists_[list].head == kNil || list_min(list) > now_key) return;
  if (!lists_[list].sorted) sort_list(list);
  while (lists_[list].head != kNil && nodes_[lists_[list].head].key <= now_key) {
    const Id id = lists_[list].head;
    unlink(id);
    push(kPending, id);
  }
}

void TimerWheel::refile(std::uint32_t list) noexcept {
  // Detach the whole chain first: refiling the overflow list may put nodes back into it.
  List& l = lists_[list];
  std::uint32_t x = l.head;
  l = List{};
  if (list < kOverflow) occupied_[list / kSlots] &= ~(std::uint64_t{1} << (list % kSlots));
  while (x != kNil) {
    const std::uint32_t following = nodes_[x].next;
    file(x);
    x = following;
  }
}

void TimerWheel::collect_due(Instant now) noexcept {
  const std::uint64_t now_key = key_of(now);
  if (now > now_) now_ = now;
  const std::uint64_t target = std::max(now_key >> kTickShift, cur_tick_);
  for (;;) {
    // Everything in the current slot is due unless the current tick is the target's.
    const auto current = static_cast<std::uint32_t>(cur_tick_ % kSlots);
    if (cur_tick_ < target) {
      take_all(current);
    } else {
      take_due(current, now_key);
    }
    // The next tick at which something happens: the next occupied slot ahead at the lowest level that
    // has one (a level-0 slot fires, a higher one cascades), else the 64^kLevels-tick group holding the
    // overflow list's earliest deadline (which then enters the wheel).
    std::uint64_t event = 0;
    std::uint32_t list = kNil;
    for (std::uint32_t level = 0; level < kLevels && list == kNil; ++level) {
      const unsigned shift = level * kLevelBits;
      const auto index = static_cast<unsigned>((cur_tick_ >> shift) % kSlots);
      const std::uint64_t ahead =
          index == kSlots - 1 ? 0 : occupied_[level] & (~std::uint64_t{0} << (index + 1));
      if (ahead == 0) continue;
      const auto slot = static_cast<unsigned>(std::countr_zero(ahead));
      const unsigned group_shift = shift + kLevelBits;
      event = ((cur_tick_ >> group_shift) << group_shift) | (std::uint64_t{slot} << shift);
      list = level * kSlots + slot;
    }
    if (list == kNil && lists_[kOverflow].head != kNil) {
      event = ((list_min(kOverflow) >> kTickShift) >> kHorizonBits) << kHorizonBits;
      list = kOverflow;
    }
    if (list == kNil || event > target) break;
    cur_tick_ = event;
    if (list >= kSlots) refile(list);  // a level-0 slot is taken at the top of the loop
  }
  cur_tick_ = target;
  if (!lists_[kPending].sorted) sort_list(kPending);
}

TimerWheel::Id TimerWheel::pop_pending() noexcept {
  const Id id = lists_[kPending].head;
  unlink(id);
  nodes_[id].list = kNil;
  --size_;
  return id;
}

}  // namespace synack::stack
