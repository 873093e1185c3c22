/// @file
/// The send buffer: bytes written by the user and not yet acknowledged, in a FIFO of pool chunks taken
/// on the first byte and given back as ACKs drain them. The capacity is a bound, not an allocation.
/// A segment's payload is one span: within a chunk it points into it (no copy); across a chunk boundary
/// the bytes are copied into a staging chunk (at most one segment per 16 KiB of stream).
#pragma once

#include <cstddef>
#include <cstdint>

#include "synack/tcp/buffer_pool.hpp"
#include "synack/wire/bytes.hpp"

namespace synack::tcp {

/// A connection's send buffer (see the file comment): at most `capacity` bytes, memory from a BufferPool.
/// Move-only.
class SendBuffer {
 public:
  /// An empty buffer that accepts up to `capacity` bytes, with chunks from `pool` (not owned; it must outlive
  /// the buffer). Without a pool, chunks come from plain new/delete with no memory budget.
  explicit SendBuffer(std::size_t capacity, BufferPool* pool = nullptr) noexcept;
  /// @{
  /// Takes over `other`'s chunks; `other` is left empty.
  SendBuffer(SendBuffer&& other) noexcept;
  SendBuffer& operator=(SendBuffer&& other) noexcept;
  /// @}
  SendBuffer(const SendBuffer&) = delete;
  SendBuffer& operator=(const SendBuffer&) = delete;
  ~SendBuffer();

  /// Appends as much of `data` as fits; returns the count appended. Under memory pressure only the room
  /// left in chunks already held is used (a buffer holding nothing may still take one chunk, as Linux
  /// keeps tcp_wmem[0] per socket); at the pool's hard limit no new chunk is taken at all.
  std::size_t append(wire::Bytes data);
  /// Up to `max` bytes starting `offset` bytes past the oldest unacknowledged byte, as one span (valid
  /// until the next call on this buffer); shorter than asked only at the end of the data, or when a
  /// chunk boundary falls inside it and no staging chunk could be had.
  [[nodiscard]] wire::Bytes peek(std::size_t offset, std::size_t max);
  /// Drops `count` acknowledged bytes from the front; drained chunks go back to the pool.
  void consume(std::size_t count) noexcept;
  /// Drops everything and gives all memory back. In line: most buffers cleared (a connection closing)
  /// hold no chunk, and then there is nothing to call.
  void clear() noexcept {
    if (head_ != nullptr || staging_ != nullptr) release_chunks();
    tail_ = nullptr;
    head_off_ = 0;
    size_ = 0;
  }

  [[nodiscard]] std::size_t size() const noexcept {
    return size_;
  }  ///< bytes held (written, not yet acknowledged)
  [[nodiscard]] std::size_t capacity() const noexcept {
    return capacity_;
  }  ///< the most bytes the buffer accepts
  [[nodiscard]] std::size_t free_space() const noexcept {
    return capacity_ - size_;
  }  ///< capacity() - size(): what append() accepts at most
  /// Chunks held, the staging chunk included.
  [[nodiscard]] std::size_t chunks_held() const noexcept;

 private:
  /// clear()'s part when chunks are held: every chunk back to the pool.
  void release_chunks() noexcept;
  BufferPool* pool_;
  BufferChunk* head_ = nullptr;  ///< oldest chunk; head_off_ is the first unacknowledged byte in it
  BufferChunk* tail_ = nullptr;
  BufferChunk* staging_ = nullptr;
  std::uint32_t capacity_;
  std::uint32_t head_off_ = 0;
  std::uint32_t size_ = 0;
};

}  // namespace synack::tcp
