/// @file
/// The receive buffer with reassembly: in-order bytes waiting for the user, and out-of-order segments
/// held at their place until the hole before them fills (RFC 9293 §3.10.7.4 "seventh"). Stream offsets
/// map onto pool chunks (offset / 16 KiB) taken when a byte first lands in one and given back once the
/// user has read past it, so an idle connection holds no chunk. The out-of-order range list exists only
/// while out-of-order data is held. Offsets are relative to RCV.NXT; the window is the capacity less the
/// unread bytes, whatever memory is held.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "synack/tcp/buffer_pool.hpp"
#include "synack/wire/bytes.hpp"

namespace synack::tcp {

/// A connection's receive buffer with reassembly (see the file comment): at most `capacity` bytes of window,
/// memory from a BufferPool. Move-only.
class RecvBuffer {
 public:
  /// An empty buffer with a window of `capacity` bytes that tracks at most `max_ranges` out-of-order ranges,
  /// with chunks from `pool` (not owned; it must outlive the buffer; nullptr = plain new/delete).
  RecvBuffer(std::size_t capacity, std::size_t max_ranges, BufferPool* pool = nullptr) noexcept;
  /// @{
  /// Takes over `other`'s chunks and ranges; `other` is left empty.
  RecvBuffer(RecvBuffer&& other) noexcept;
  RecvBuffer& operator=(RecvBuffer&& other) noexcept;
  /// @}
  RecvBuffer(const RecvBuffer&) = delete;
  RecvBuffer& operator=(const RecvBuffer&) = delete;
  ~RecvBuffer();

  /// Stores `data` at `offset` bytes past RCV.NXT (clipped to the window). Returns how far the in-order
  /// end advanced (bytes that became readable). A segment that would need more out-of-order ranges than
  /// allowed is dropped (returns 0 and stores nothing). At the pool's hard limit only the part that fits
  /// in chunks already held (or obtainable) is stored; the rest is dropped and counted.
  std::size_t insert(std::size_t offset, wire::Bytes data);
  /// Copies out up to out.size() in-order bytes; returns the count. Chunks read past go back to the pool.
  std::size_t copy_out(wire::MutableBytes out) noexcept;

  [[nodiscard]] std::size_t readable() const noexcept {
    return ready_;
  }  ///< in-order bytes waiting to be read
  [[nodiscard]] std::size_t window() const noexcept {
    return capacity_ - ready_;
  }  ///< the receive window: capacity less the unread bytes
  [[nodiscard]] std::size_t capacity() const noexcept {
    return capacity_;
  }  ///< the window with nothing unread
  [[nodiscard]] std::size_t out_of_order_ranges() const noexcept {
    return ooo_ ? ooo_->ranges.size() : 0U;
  }  ///< out-of-order ranges held (0 while there is no hole)
  /// Pool chunks held now (0 for an idle connection).
  [[nodiscard]] std::size_t chunks_held() const noexcept;
  /// Heap bytes held besides chunks (the out-of-order range list while there is one).
  [[nodiscard]] std::size_t side_bytes() const noexcept;

  /// An out-of-order range as offsets past RCV.NXT: [begin, end).
  struct Held {
    std::size_t begin;  ///< first offset of the range, past RCV.NXT
    std::size_t end;    ///< one past its last offset
  };
  /// The out-of-order ranges to report in SACK blocks (RFC 2018 §4), at most out.size(): first the one
  /// holding the most recently received out-of-order segment, then those of earlier ones by recency,
  /// then the rest in sequence order. Returns how many were written.
  std::size_t sack_ranges(std::span<Held> out) const noexcept;

 private:
  struct Range {
    std::uint64_t begin;  ///< stream offsets
    std::uint64_t end;
  };
  struct OutOfOrder {
    std::vector<Range> ranges;  ///< sorted, disjoint, all past in_order_end_; capacity reserved once
    /// Stream offsets of the latest out-of-order arrivals, most recent first (for sack_ranges).
    std::array<std::uint64_t, 4> recent{};
    std::size_t recent_count = 0;
  };
  /// Copies `data` to stream offset `begin`, taking chunks as needed; returns the bytes stored (fewer
  /// when the pool refuses a chunk).
  std::size_t store(std::uint64_t begin, wire::Bytes data);
  void note_recent(std::uint64_t stream_offset) noexcept;
  void release_all() noexcept;

  BufferPool* pool_;
  BufferChunk* chunks_ = nullptr;  ///< sorted by index
  std::unique_ptr<OutOfOrder> ooo_;
  std::uint32_t capacity_;
  std::uint32_t max_ranges_;
  std::uint64_t read_offset_ = 0;   ///< stream offset of the next byte the user reads
  std::uint64_t in_order_end_ = 0;  ///< stream offset of RCV.NXT
  std::size_t ready_ = 0;
};

}  // namespace synack::tcp
