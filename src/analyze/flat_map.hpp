// The flow table's map: open addressing with linear probing in one array of slots, a power-of-two
// capacity kept at most half full. A lookup is a hash, a mask and (nearly always) one slot's key compare in
// the same cache line as its value — no bucket array, no node to chase, no allocation per entry (what
// std::unordered_map costs on every packet). Entries are removed only by erase_if() (the flow table's
// sweeps), which rebuilds the array into a second one kept for it: no tombstones, no fresh pages.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace synack::analyze::detail {

template <typename Key, typename Value, typename Hash>
class FlatMap {
 public:
  /// The entry for `key` (nullptr when absent). Valid until the next try_emplace() or erase_if().
  [[nodiscard]] Value* find(const Key& key) noexcept {
    if (slots_.empty()) return nullptr;
    for (std::size_t i = Hash{}(key)&mask_;; i = (i + 1) & mask_) {
      Slot& s = slots_[i];
      if (!s.used) return nullptr;
      if (s.key == key) return &s.value;
    }
  }

  /// The entry for `key`, value-initialised when it was absent (then `second` is true). The reference is
  /// valid until the next try_emplace() or erase_if().
  std::pair<Value&, bool> try_emplace(const Key& key) {
    if ((size_ + 1) * 2 > slots_.size()) grow();
    std::size_t i = Hash{}(key)&mask_;
    for (;; i = (i + 1) & mask_) {
      Slot& s = slots_[i];
      if (!s.used) break;
      if (s.key == key) return {s.value, false};
    }
    Slot& s = slots_[i];
    s.used = true;
    s.key = key;
    s.value = Value{};
    ++size_;
    return {s.value, true};
  }

  /// Calls `f(key, value)` for every entry, in slot order.
  template <typename F>
  void for_each(F&& f) {
    for (Slot& s : slots_) {
      if (s.used) f(s.key, s.value);
    }
  }

  /// Removes every entry for which `remove(key, value)` returns true (it may act on the value first).
  template <typename F>
  void erase_if(F&& remove) {
    // Into a second array kept for the purpose: a sweep allocates (and faults in) no new pages.
    spare_.resize(slots_.size());
    for (Slot& s : spare_) s.used = false;
    spare_.swap(slots_);
    size_ = 0;
    for (Slot& s : spare_) {
      if (s.used && !remove(s.key, s.value)) place(std::move(s));
    }
  }

  void clear() {
    slots_.clear();
    spare_.clear();
    mask_ = 0;
    size_ = 0;
  }
  [[nodiscard]] std::size_t size() const noexcept { return size_; }

 private:
  struct Slot {
    Key key{};
    Value value{};
    bool used = false;
  };

  void place(Slot&& slot) {
    std::size_t i = Hash{}(slot.key) & mask_;
    while (slots_[i].used) i = (i + 1) & mask_;
    slots_[i] = std::move(slot);
    ++size_;
  }

  void grow() {
    std::vector<Slot> old(slots_.empty() ? kInitialSlots : slots_.size() * 2);
    old.swap(slots_);
    mask_ = slots_.size() - 1;
    size_ = 0;
    for (Slot& s : old) {
      if (s.used) place(std::move(s));
    }
  }

  static constexpr std::size_t kInitialSlots = 1024;
  std::vector<Slot> slots_;
  std::vector<Slot> spare_;  ///< erase_if()'s second array
  std::size_t mask_ = 0;
  std::size_t size_ = 0;
};

}  // namespace synack::analyze::detail
