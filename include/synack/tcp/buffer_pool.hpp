/// @file
/// Memory for connection buffers: fixed-size chunks handed out on demand and taken back when drained, a
/// bounded free list so a busy stack does not go to malloc per segment, and a byte budget with a pressure
/// mark, like Linux tcp_mem. One pool per Stack; a connection reaches it through Config::buffer_pool.
/// A null pool (a Connection built without a Stack, as in unit tests) means plain new/delete, no budget.
///
/// Chunks are 16 KiB: a full segment (MSS up to ~9 KB) crosses a chunk boundary once every ~11 segments
/// at 1448 bytes, so the send side copies into its staging chunk for under 10 % of segments, a 256 KiB
/// buffer is a list of at most 17 chunks, and a connection holding a few bytes costs one chunk.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>

namespace synack::tcp {

/// A piece of a send or receive buffer. Its bytes are never zeroed: only bytes written are read.
struct BufferChunk {
  static constexpr std::size_t kSize = std::size_t{16} * 1024U;  ///< bytes per chunk: 16 KiB
  BufferChunk* next;    ///< the next chunk in its owner's list (the buffer's FIFO or the pool's free list)
  std::uint64_t index;  ///< receive side: stream offset / kSize of its first byte
  std::array<std::byte, kSize> data;  ///< the bytes (uninitialized until written)
};

/// What the pool and the connections using it counted (StackStats::memory).
struct BufferPoolStats {
  std::uint64_t chunks_allocated = 0;  ///< chunks obtained from the system allocator
  std::uint64_t chunks_released = 0;   ///< chunks given back to the system allocator
  std::uint64_t pressure_entered = 0;  ///< times the bytes in use passed the pressure mark
  std::uint64_t windows_clamped = 0;   ///< ACKs whose window was held at the old right edge
  std::uint64_t sends_held_back = 0;   ///< send() calls cut short for memory (pressure or limit)
  std::uint64_t memory_drops = 0;      ///< received segments (or their tails) dropped at the hard limit
};

/// The memory behind every connection buffer of a Stack (see the file comment): chunks under a byte budget,
/// control blocks, and free lists. Single-threaded, not copyable; it must outlive every buffer using it.
class BufferPool {
 public:
  /// Bytes per chunk (BufferChunk::kSize).
  static constexpr std::size_t kChunkSize = BufferChunk::kSize;
  /// Size of a connection's control extension block (Connection keeps stats and buffer heads there).
  static constexpr std::size_t kBlockSize = 256;
  /// "No limit" for Limits::memory_limit.
  static constexpr std::size_t kUnlimited = std::numeric_limits<std::size_t>::max();

  /// The pool's bounds.
  struct Limits {
    std::size_t memory_limit = kUnlimited;  ///< chunk bytes held by connections, at most
    std::size_t free_chunks = 64;           ///< chunks kept for reuse; more go back to the system
    std::size_t free_blocks = 1024;         ///< control blocks kept for reuse
  };

  /// A pool with `limits`; it starts empty (chunks are allocated on first use).
  explicit BufferPool(Limits limits);
  /// A pool with no memory limit and the default free-list bounds.
  BufferPool() : BufferPool(Limits{}) {}
  BufferPool(const BufferPool&) = delete;
  BufferPool& operator=(const BufferPool&) = delete;
  ~BufferPool();

  /// A chunk (uninitialized bytes), or nullptr when it would take the bytes in use past the limit.
  [[nodiscard]] BufferChunk* acquire_chunk();
  /// Gives `chunk` back: onto the free list, or to the system when the list is full.
  void release_chunk(BufferChunk* chunk) noexcept;
  /// A kBlockSize-byte block, suitably aligned for any object (not counted in the budget: there is one
  /// per connection, bounded by the connection count).
  [[nodiscard]] void* acquire_block();
  /// Gives a block from acquire_block() back.
  void release_block(void* block) noexcept;

  /// Above the pressure mark (7/8 of the limit) until the bytes in use fall to 3/4 of it.
  [[nodiscard]] bool under_pressure() const noexcept { return pressure_; }
  /// Whether pressure ended since the last call (the Stack then wakes the senders held back).
  [[nodiscard]] bool take_relief() noexcept;
  /// Whether take_relief() would return true, without taking it.
  [[nodiscard]] bool relief_pending() const noexcept { return relief_; }
  /// From now on, pressure ending also sets `bits` in `*word` (the Stack's "due" word, so that its
  /// in-line "nothing due" answers see the relief); `word` must outlive the pool or be replaced.
  void signal_relief(std::uint8_t* word, std::uint8_t bits) noexcept {
    relief_word_ = word;
    relief_bits_ = bits;
  }
  [[nodiscard]] std::size_t bytes_in_use() const noexcept {
    return chunks_in_use_ * kChunkSize;
  }  ///< bytes of chunks held by buffers (what the limit counts)
  [[nodiscard]] std::size_t chunks_in_use() const noexcept {
    return chunks_in_use_;
  }  ///< chunks held by buffers
  [[nodiscard]] std::size_t free_chunks() const noexcept {
    return free_chunk_count_;
  }  ///< chunks on the free list, ready for reuse
  [[nodiscard]] std::size_t blocks_in_use() const noexcept {
    return blocks_in_use_;
  }  ///< control blocks held by connections
  [[nodiscard]] const Limits& limits() const noexcept {
    return limits_;
  }  ///< the bounds the pool was made with
  [[nodiscard]] const BufferPoolStats& stats() const noexcept { return stats_; }  ///< the counters so far
  /// For the connections' own counters (windows clamped, sends held back, drops).
  [[nodiscard]] BufferPoolStats& counters() noexcept { return stats_; }

 private:
  struct FreeBlock {
    FreeBlock* next;
  };
  Limits limits_;
  std::size_t pressure_mark_;
  std::size_t relief_mark_;
  BufferChunk* free_chunks_list_ = nullptr;
  FreeBlock* free_blocks_list_ = nullptr;
  std::size_t free_chunk_count_ = 0;
  std::size_t free_block_count_ = 0;
  std::size_t chunks_in_use_ = 0;
  std::size_t blocks_in_use_ = 0;
  BufferPoolStats stats_;
  std::uint8_t* relief_word_ = nullptr;  ///< signal_relief()
  std::uint8_t relief_bits_ = 0;
  bool pressure_ = false;
  bool relief_ = false;
};

/// Null-tolerant forms for the buffers: without a pool, plain new/delete and no limit.
/// @{
[[nodiscard]] BufferChunk* acquire_chunk(BufferPool* pool);
void release_chunk(BufferPool* pool, BufferChunk* chunk) noexcept;
/// @}
/// Whether `pool` is under pressure; false without a pool.
[[nodiscard]] inline bool under_pressure(const BufferPool* pool) noexcept {
  return pool != nullptr && pool->under_pressure();
}

}  // namespace synack::tcp
