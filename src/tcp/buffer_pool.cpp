// Chunk and block pool with a memory budget (see buffer_pool.hpp).
#include "synack/tcp/buffer_pool.hpp"

#include <new>

namespace synack::tcp {

BufferPool::BufferPool(Limits limits)
    : limits_(limits),
      pressure_mark_(limits.memory_limit - limits.memory_limit / 8),
      relief_mark_(limits.memory_limit - limits.memory_limit / 4) {}

BufferPool::~BufferPool() {
  while (free_chunks_list_ != nullptr) {
    BufferChunk* c = free_chunks_list_;
    free_chunks_list_ = c->next;
    delete c;
  }
  while (free_blocks_list_ != nullptr) {
    FreeBlock* b = free_blocks_list_;
    free_blocks_list_ = b->next;
    b->~FreeBlock();
    ::operator delete(static_cast<void*>(b));
  }
}

BufferChunk* BufferPool::acquire_chunk() {
  if (limits_.memory_limit < kChunkSize || chunks_in_use_ > (limits_.memory_limit - kChunkSize) / kChunkSize)
    return nullptr;  // the hard limit
  BufferChunk* c = free_chunks_list_;
  if (c != nullptr) {
    free_chunks_list_ = c->next;
    --free_chunk_count_;
  } else {
    c = new BufferChunk;  // default-initialized: the 16 KiB are not zeroed
    ++stats_.chunks_allocated;
  }
  c->next = nullptr;
  ++chunks_in_use_;
  if (!pressure_ && bytes_in_use() > pressure_mark_) {
    pressure_ = true;
    ++stats_.pressure_entered;
  }
  return c;
}

void BufferPool::release_chunk(BufferChunk* chunk) noexcept {
  --chunks_in_use_;
  if (pressure_ && bytes_in_use() <= relief_mark_) {
    pressure_ = false;
    relief_ = true;
    if (relief_word_ != nullptr) *relief_word_ |= relief_bits_;
  }
  if (free_chunk_count_ < limits_.free_chunks) {
    chunk->next = free_chunks_list_;
    free_chunks_list_ = chunk;
    ++free_chunk_count_;
    return;
  }
  delete chunk;
  ++stats_.chunks_released;
}

void* BufferPool::acquire_block() {
  ++blocks_in_use_;
  if (FreeBlock* b = free_blocks_list_; b != nullptr) {
    free_blocks_list_ = b->next;
    --free_block_count_;
    b->~FreeBlock();
    return b;
  }
  return ::operator new(kBlockSize);
}

void BufferPool::release_block(void* block) noexcept {
  --blocks_in_use_;
  if (free_block_count_ < limits_.free_blocks) {
    free_blocks_list_ = ::new (block) FreeBlock{free_blocks_list_};
    ++free_block_count_;
    return;
  }
  ::operator delete(block);
}

bool BufferPool::take_relief() noexcept {
  const bool r = relief_;
  relief_ = false;
  return r;
}

BufferChunk* acquire_chunk(BufferPool* pool) {
  if (pool != nullptr) return pool->acquire_chunk();
  auto* c = new BufferChunk;
  c->next = nullptr;
  return c;
}

void release_chunk(BufferPool* pool, BufferChunk* chunk) noexcept {
  if (pool != nullptr) {
    pool->release_chunk(chunk);
  } else {
    delete chunk;
  }
}

}  // namespace synack::tcp
