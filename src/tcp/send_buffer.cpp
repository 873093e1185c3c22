#include "synack/tcp/send_buffer.hpp"

#include <algorithm>
#include <cstring>
#include <utility>

namespace synack::tcp {

namespace {
constexpr std::size_t kChunk = BufferChunk::kSize;
}  // namespace

SendBuffer::SendBuffer(std::size_t capacity, BufferPool* pool) noexcept
    : pool_(pool), capacity_(static_cast<std::uint32_t>(std::min<std::size_t>(capacity, 0x7FFFFFFFU))) {}

SendBuffer::SendBuffer(SendBuffer&& other) noexcept
    : pool_(other.pool_),
      head_(std::exchange(other.head_, nullptr)),
      tail_(std::exchange(other.tail_, nullptr)),
      staging_(std::exchange(other.staging_, nullptr)),
      capacity_(other.capacity_),
      head_off_(std::exchange(other.head_off_, 0U)),
      size_(std::exchange(other.size_, 0U)) {}

SendBuffer& SendBuffer::operator=(SendBuffer&& other) noexcept {
  if (this != &other) {
    clear();
    pool_ = other.pool_;
    head_ = std::exchange(other.head_, nullptr);
    tail_ = std::exchange(other.tail_, nullptr);
    staging_ = std::exchange(other.staging_, nullptr);
    capacity_ = other.capacity_;
    head_off_ = std::exchange(other.head_off_, 0U);
    size_ = std::exchange(other.size_, 0U);
  }
  return *this;
}

SendBuffer::~SendBuffer() {
  clear();
}

void SendBuffer::release_chunks() noexcept {
  while (head_ != nullptr) {
    BufferChunk* next = head_->next;
    release_chunk(pool_, head_);
    head_ = next;
  }
  if (staging_ != nullptr) release_chunk(pool_, std::exchange(staging_, nullptr));
}

std::size_t SendBuffer::chunks_held() const noexcept {
  std::size_t n = staging_ != nullptr ? 1U : 0U;
  for (const BufferChunk* c = head_; c != nullptr; c = c->next) ++n;
  return n;
}

std::size_t SendBuffer::append(wire::Bytes data) {
  const std::size_t want = std::min(data.size(), free_space());
  std::size_t done = 0;
  while (done < want) {
    const std::size_t end = head_off_ + size_;  // offset of the tail from the head chunk's start
    std::size_t room = tail_ != nullptr && end % kChunk != 0 ? kChunk - end % kChunk : 0;
    if (room == 0) {
      // A new chunk. Under pressure only a buffer that holds nothing may take one.
      if (head_ != nullptr && under_pressure(pool_)) break;
      BufferChunk* c = acquire_chunk(pool_);
      if (c == nullptr) break;
      if (tail_ == nullptr) {
        head_ = tail_ = c;
        head_off_ = 0;
      } else {
        tail_->next = c;
        tail_ = c;
      }
      room = kChunk;
    }
    const std::size_t n = std::min(want - done, room);
    std::memcpy(tail_->data.data() + (kChunk - room), data.data() + done, n);
    done += n;
    size_ += static_cast<std::uint32_t>(n);
  }
  return done;
}

wire::Bytes SendBuffer::peek(std::size_t offset, std::size_t max) {
  if (offset >= size_) return {};
  std::size_t n = std::min(max, size_ - offset);
  std::size_t pos = head_off_ + offset;
  const BufferChunk* c = head_;
  for (; pos >= kChunk; pos -= kChunk) c = c->next;
  if (pos + n <= kChunk) return {c->data.data() + pos, n};
  // Across a chunk boundary: one copy into the staging chunk keeps the payload a single span.
  if (staging_ == nullptr) staging_ = acquire_chunk(pool_);
  if (staging_ == nullptr) return {c->data.data() + pos, kChunk - pos};
  n = std::min(n, kChunk);
  std::size_t done = 0;
  while (done < n) {
    const std::size_t k = std::min(n - done, kChunk - pos);
    std::memcpy(staging_->data.data() + done, c->data.data() + pos, k);
    done += k;
    pos = 0;
    c = c->next;
  }
  return {staging_->data.data(), n};
}

void SendBuffer::consume(std::size_t count) noexcept {
  count = std::min<std::size_t>(count, size_);
  if (count == size_) {
    clear();  // drained: every chunk goes back
    return;
  }
  size_ -= static_cast<std::uint32_t>(count);
  std::size_t off = head_off_ + count;
  for (; off >= kChunk; off -= kChunk) release_chunk(pool_, std::exchange(head_, head_->next));
  head_off_ = static_cast<std::uint32_t>(off);
}

}  // namespace synack::tcp
