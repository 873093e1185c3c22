#include "synack/tcp/send_buffer.hpp"

#include <algorithm>
#include <cstring>

namespace synack::tcp {

SendBuffer::SendBuffer(std::size_t capacity) : data_(capacity) {}

std::size_t SendBuffer::append(wire::Bytes data) noexcept {
  const std::size_t n = std::min(data.size(), free_space());
  if (n == 0) return 0;
  if (tail_ + n > data_.size()) {
    // Compact: the unacknowledged bytes move to the front (amortized O(1) per byte).
    std::memmove(data_.data(), data_.data() + head_, size());
    tail_ -= head_;
    head_ = 0;
  }
  std::memcpy(data_.data() + tail_, data.data(), n);
  tail_ += n;
  return n;
}

wire::Bytes SendBuffer::peek(std::size_t offset, std::size_t max) const noexcept {
  if (offset >= size()) return {};
  const std::size_t n = std::min(max, size() - offset);
  return {data_.data() + head_ + offset, n};
}

void SendBuffer::consume(std::size_t count) noexcept {
  head_ += std::min(count, size());
  if (head_ == tail_) head_ = tail_ = 0;
}

}  // namespace synack::tcp
