// A FIFO over one growable power-of-two array: push at the back, pop at the front, no allocation once it
// has reached its peak size (std::deque allocates and frees a block every few dozen elements).
#pragma once

#include <cstddef>
#include <utility>
#include <vector>

namespace synack::stack {

template <typename T>
class Ring {
 public:
  [[nodiscard]] bool empty() const noexcept { return count_ == 0; }
  [[nodiscard]] std::size_t size() const noexcept { return count_; }
  [[nodiscard]] T& front() noexcept { return items_[head_]; }
  void push_back(T value) {
    if (count_ == items_.size()) grow();
    items_[(head_ + count_) & (items_.size() - 1)] = std::move(value);
    ++count_;
  }
  void pop_front() noexcept {
    head_ = (head_ + 1) & (items_.size() - 1);
    --count_;
  }

 private:
  void grow() {
    std::vector<T> bigger(items_.empty() ? 16 : items_.size() * 2);
    for (std::size_t i = 0; i < count_; ++i) bigger[i] = std::move(items_[(head_ + i) & (items_.size() - 1)]);
    items_.swap(bigger);
    head_ = 0;
  }
  std::vector<T> items_;
  std::size_t head_ = 0;
  std::size_t count_ = 0;
};

}  // namespace synack::stack
