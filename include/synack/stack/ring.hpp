/// @file
/// A FIFO over one growable power-of-two array: push at the back, pop at the front, no allocation once it
/// has reached its peak size (std::deque allocates and frees a block every few dozen elements).
#pragma once

#include <cstddef>
#include <utility>
#include <vector>

namespace synack::stack {

/// A FIFO of `T` (see the file comment). `T` must be default-constructible and copyable; the capacity is a
/// power of two that only grows.
template <typename T>
class Ring {
 public:
  /// True when nothing is queued.
  [[nodiscard]] bool empty() const noexcept { return count_ == 0; }
  /// How many elements are queued.
  [[nodiscard]] std::size_t size() const noexcept { return count_; }
  /// The oldest element; the ring must not be empty.
  [[nodiscard]] T& front() noexcept { return items_[head_]; }
  /// Appends a copy of `value` (not an element of this ring: growing would move it), doubling the array
  /// when it is full (the only allocation).
  void push_back(const T& value) {
    if (count_ == capacity_) grow();
    items_[(head_ + count_) & (capacity_ - 1)] = value;
    ++count_;
  }
  /// Drops the oldest element; the ring must not be empty. The slot keeps the moved-from value until reused.
  /// A ring that drains starts again at the first slot, so a queue that is usually short keeps using the
  /// same few (cached) slots instead of walking the whole array it once grew to, one cold line at a time.
  void pop_front() noexcept {
    --count_;
    head_ = count_ == 0 ? 0 : (head_ + 1) & (capacity_ - 1);
  }

 private:
  /// Out of line: the rare path, kept from making push_back() a call that saves registers.
  [[gnu::noinline]] void grow() {
    std::vector<T> bigger(capacity_ == 0 ? 16 : capacity_ * 2);
    for (std::size_t i = 0; i < count_; ++i) bigger[i] = std::move(items_[(head_ + i) & (capacity_ - 1)]);
    items_.swap(bigger);
    capacity_ = items_.size();
    head_ = 0;
  }
  std::vector<T> items_;
  /// items_.size(), kept: for an element whose size is not a power of two (Event), size() is a division.
  std::size_t capacity_ = 0;
  std::size_t head_ = 0;
  std::size_t count_ = 0;
};

}  // namespace synack::stack
