// The receive buffer with reassembly: in-order bytes waiting for the user, and out-of-order segments
// held at their place in a fixed ring until the hole before them fills (RFC 9293 §3.10.7.4 "seventh").
// Offsets are relative to RCV.NXT; the window is the free space from RCV.NXT on.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "synack/wire/bytes.hpp"

namespace synack::tcp {

class RecvBuffer {
 public:
  RecvBuffer(std::size_t capacity, std::size_t max_ranges);

  /// Stores `data` at `offset` bytes past RCV.NXT (clipped to the window). Returns how far the in-order
  /// end advanced (bytes that became readable). A segment that would need more out-of-order ranges than
  /// allowed is dropped (returns 0 and stores nothing).
  std::size_t insert(std::size_t offset, wire::Bytes data) noexcept;
  /// Copies out up to out.size() in-order bytes; returns the count.
  std::size_t copy_out(wire::MutableBytes out) noexcept;

  [[nodiscard]] std::size_t readable() const noexcept { return ready_; }
  [[nodiscard]] std::size_t window() const noexcept { return data_.size() - ready_; }
  [[nodiscard]] std::size_t capacity() const noexcept { return data_.size(); }
  [[nodiscard]] std::size_t out_of_order_ranges() const noexcept { return ranges_.size(); }

  /// An out-of-order range as offsets past RCV.NXT: [begin, end).
  struct Held {
    std::size_t begin;
    std::size_t end;
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
  void copy_in(std::uint64_t stream_offset, wire::Bytes data) noexcept;

  std::vector<std::byte> data_;
  std::vector<Range> ranges_;  ///< sorted, disjoint, all past in_order_end_; capacity reserved once
  std::size_t max_ranges_;
  std::uint64_t read_offset_ = 0;   ///< stream offset of the next byte the user reads
  std::uint64_t in_order_end_ = 0;  ///< stream offset of RCV.NXT
  std::size_t ready_ = 0;
  /// Stream offsets of the latest out-of-order arrivals, most recent first (for sack_ranges).
  std::array<std::uint64_t, 4> recent_{};
  std::size_t recent_count_ = 0;
  void note_recent(std::uint64_t stream_offset) noexcept;
};

}  // namespace synack::tcp
