// The send buffer: bytes written by the user and not yet acknowledged, kept contiguous so a segment's
// payload is one span (no copy, no allocation per segment). Capacity is fixed at construction.
#pragma once

#include <cstddef>
#include <vector>

#include "synack/wire/bytes.hpp"

namespace synack::tcp {

class SendBuffer {
 public:
  explicit SendBuffer(std::size_t capacity);

  /// Appends as much of `data` as fits; returns the count appended.
  std::size_t append(wire::Bytes data) noexcept;
  /// Up to `max` bytes starting `offset` bytes past the oldest unacknowledged byte.
  [[nodiscard]] wire::Bytes peek(std::size_t offset, std::size_t max) const noexcept;
  /// Drops `count` acknowledged bytes from the front.
  void consume(std::size_t count) noexcept;

  [[nodiscard]] std::size_t size() const noexcept { return tail_ - head_; }
  [[nodiscard]] std::size_t capacity() const noexcept { return data_.size(); }
  [[nodiscard]] std::size_t free_space() const noexcept { return capacity() - size(); }

 private:
  std::vector<std::byte> data_;
  std::size_t head_ = 0;
  std::size_t tail_ = 0;
};

}  // namespace synack::tcp
