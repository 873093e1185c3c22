/// @file
/// The sender's SACK scoreboard (RFC 6675 §4): which sequence ranges above SND.UNA the peer reported
/// holding, and the loss-recovery questions asked of it — IsLost(), SetPipe() and NextSeg() rule 1.
/// Fixed capacity; a connection allocates one only while the peer reports SACKed data.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "synack/wire/seq.hpp"
#include "synack/wire/tcp_options.hpp"

namespace synack::tcp {

/// The sender's SACK scoreboard (see the file comment): up to kMaxRanges disjoint SACKed ranges above
/// SND.UNA, kept sorted.
class SackScoreboard {
 public:
  /// The most ranges recorded; ranges past it (the highest) are forgotten.
  static constexpr std::size_t kMaxRanges = 32;
  static constexpr std::uint32_t kDupThresh = 3;  ///< RFC 6675 §2 DupThresh

  /// A SACKed range of sequence space, [left, right).
  struct Range {
    wire::SeqNum left;   ///< first SACKed octet
    wire::SeqNum right;  ///< one past the last octet
  };
  /// A stretch to retransmit: NextSeg() rule 1.
  struct Hole {
    wire::SeqNum seq;   ///< first octet to retransmit
    std::uint32_t len;  ///< octets to retransmit, at most the SMSS asked for
  };

  /// Forgets every range.
  void clear() noexcept { count_ = 0; }
  /// Drops what SND.UNA now covers and merges the blocks of an ACK that lie within (una, max]; blocks
  /// below SND.UNA (D-SACK, RFC 2883) or past SND.MAX are ignored. Returns whether new octets were
  /// SACKed. Past kMaxRanges ranges the highest are not recorded.
  bool update(wire::SeqNum una, wire::SeqNum max, std::span<const wire::SackBlock> blocks) noexcept;

  /// True when nothing is SACKed.
  [[nodiscard]] bool empty() const noexcept { return count_ == 0; }
  /// The SACKed ranges, in sequence order.
  [[nodiscard]] std::span<const Range> ranges() const noexcept { return {ranges_.data(), count_}; }
  /// SACKed octets in total.
  [[nodiscard]] std::uint32_t sacked_bytes() const noexcept;
  /// SACKed octets below `seq`.
  [[nodiscard]] std::uint32_t sacked_bytes_below(wire::SeqNum seq) const noexcept;
  /// The end of the SACKed range holding `seq`, if any.
  [[nodiscard]] std::optional<wire::SeqNum> sacked_until(wire::SeqNum seq) const noexcept;
  /// The start of the first SACKed range above `seq`, if any.
  [[nodiscard]] std::optional<wire::SeqNum> next_sacked_after(wire::SeqNum seq) const noexcept;
  /// RFC 6675 IsLost(seq): DupThresh discontiguous SACKed ranges above it, or more than
  /// (DupThresh - 1) * SMSS SACKed bytes above it.
  [[nodiscard]] bool is_lost(wire::SeqNum seq, std::uint32_t smss) const noexcept;
  /// RFC 6675 SetPipe(): octets in flight between `una` and `max` — neither SACKed nor lost, plus those
  /// of lost holes already retransmitted (below `high_rxt`). Evaluated per hole at its first octet.
  [[nodiscard]] std::uint32_t pipe(wire::SeqNum una, wire::SeqNum max, wire::SeqNum high_rxt,
                                   std::uint32_t smss) const noexcept;
  /// RFC 6675 NextSeg() rule 1: the first lost, unSACKed stretch at or above `high_rxt`, at most `smss`.
  [[nodiscard]] std::optional<Hole> next_lost(wire::SeqNum una, wire::SeqNum high_rxt,
                                              std::uint32_t smss) const noexcept;

 private:
  void insert(Range r) noexcept;
  [[nodiscard]] static bool lost_given(std::uint32_t ranges_above, std::uint64_t bytes_above,
                                       std::uint32_t smss) noexcept;
  /// f(from, to, lost) for every hole between `una` and the highest SACKed octet, highest first.
  template <typename F>
  void for_each_hole(wire::SeqNum una, std::uint32_t smss, F&& f) const;
  std::array<Range, kMaxRanges> ranges_{};  ///< sorted, disjoint, non-adjacent
  std::size_t count_ = 0;
};

}  // namespace synack::tcp
