// RFC 6675 scoreboard (see sack_scoreboard.hpp).
#include "synack/tcp/sack_scoreboard.hpp"

#include <algorithm>

namespace synack::tcp {

using wire::SeqNum;

namespace {
std::uint32_t distance(SeqNum from, SeqNum to) noexcept {
  const std::int32_t d = to - from;
  return d > 0 ? static_cast<std::uint32_t>(d) : 0U;
}
}  // namespace

void SackScoreboard::insert(Range r) noexcept {
  // Merge with every overlapping or adjacent range, keep the order.
  std::size_t i = 0;
  while (i < count_ && ranges_[i].right < r.left) ++i;
  std::size_t j = i;
  while (j < count_ && ranges_[j].left <= r.right) {
    if (ranges_[j].left < r.left) r.left = ranges_[j].left;
    if (r.right < ranges_[j].right) r.right = ranges_[j].right;
    ++j;
  }
  if (j == i) {
    // No overlap: a new range at i (the highest one is given up when full).
    if (count_ == kMaxRanges) {
      if (i == count_) return;
      --count_;
    }
    for (std::size_t k = count_; k > i; --k) ranges_[k] = ranges_[k - 1];
    ranges_[i] = r;
    ++count_;
    return;
  }
  ranges_[i] = r;
  const std::size_t removed = j - i - 1;
  for (std::size_t k = i + 1; k + removed < count_; ++k) ranges_[k] = ranges_[k + removed];
  count_ -= removed;
}

bool SackScoreboard::update(SeqNum una, SeqNum max, std::span<const wire::SackBlock> blocks) noexcept {
  // Prune what the cumulative ACK covers.
  std::size_t drop = 0;
  while (drop < count_ && ranges_[drop].right <= una) ++drop;
  if (drop > 0) {
    for (std::size_t k = drop; k < count_; ++k) ranges_[k - drop] = ranges_[k];
    count_ -= drop;
  }
  if (count_ > 0 && ranges_[0].left < una) ranges_[0].left = una;

  const std::uint32_t before = sacked_bytes();
  for (const wire::SackBlock& b : blocks) {
    if (!(b.left < b.right) || b.right <= una || max < b.right) continue;
    insert(Range{b.left < una ? una : b.left, b.right});
  }
  return sacked_bytes() > before;
}

std::uint32_t SackScoreboard::sacked_bytes() const noexcept {
  std::uint32_t n = 0;
  for (std::size_t i = 0; i < count_; ++i) n += distance(ranges_[i].left, ranges_[i].right);
  return n;
}

std::uint32_t SackScoreboard::sacked_bytes_below(SeqNum seq) const noexcept {
  std::uint32_t n = 0;
  for (std::size_t i = 0; i < count_ && ranges_[i].left < seq; ++i) {
    n += distance(ranges_[i].left, ranges_[i].right < seq ? ranges_[i].right : seq);
  }
  return n;
}

std::optional<SeqNum> SackScoreboard::sacked_until(SeqNum seq) const noexcept {
  for (std::size_t i = 0; i < count_; ++i) {
    if (ranges_[i].left <= seq && seq < ranges_[i].right) return ranges_[i].right;
  }
  return std::nullopt;
}

std::optional<SeqNum> SackScoreboard::next_sacked_after(SeqNum seq) const noexcept {
  for (std::size_t i = 0; i < count_; ++i) {
    if (seq < ranges_[i].left) return ranges_[i].left;
  }
  return std::nullopt;
}

bool SackScoreboard::lost_given(std::uint32_t ranges_above, std::uint64_t bytes_above,
                                std::uint32_t smss) noexcept {
  return ranges_above >= kDupThresh || bytes_above > static_cast<std::uint64_t>(kDupThresh - 1) * smss;
}

bool SackScoreboard::is_lost(SeqNum seq, std::uint32_t smss) const noexcept {
  std::uint32_t ranges_above = 0;
  std::uint64_t bytes_above = 0;
  for (std::size_t i = 0; i < count_; ++i) {
    if (ranges_[i].right <= seq) continue;
    ++ranges_above;
    bytes_above += distance(seq < ranges_[i].left ? ranges_[i].left : seq, ranges_[i].right);
  }
  return lost_given(ranges_above, bytes_above, smss);
}

template <typename F>
void SackScoreboard::for_each_hole(SeqNum una, std::uint32_t smss, F&& f) const {
  // Walks the holes from the highest down so IsLost of each hole's first octet comes from running
  // totals of what lies above it: one pass instead of one IsLost() scan per hole.
  std::uint32_t ranges_above = 0;
  std::uint64_t bytes_above = 0;
  for (std::size_t i = count_; i-- > 0;) {
    ++ranges_above;
    bytes_above += distance(ranges_[i].left, ranges_[i].right);
    const SeqNum hole_start = i == 0 ? una : ranges_[i - 1].right;
    if (hole_start < ranges_[i].left)
      f(hole_start, ranges_[i].left, lost_given(ranges_above, bytes_above, smss));
  }
}

std::uint32_t SackScoreboard::pipe(SeqNum una, SeqNum max, SeqNum high_rxt,
                                   std::uint32_t smss) const noexcept {
  std::uint64_t pipe = 0;
  // Holes: lost ones count only as far as they were retransmitted (below high_rxt).
  for_each_hole(una, smss, [&](SeqNum from, SeqNum to, bool lost) {
    pipe += lost ? distance(from, high_rxt < to ? high_rxt : to) : distance(from, to);
  });
  pipe += distance(count_ > 0 && una < ranges_[count_ - 1].right ? ranges_[count_ - 1].right : una, max);
  return static_cast<std::uint32_t>(std::min<std::uint64_t>(pipe, UINT32_MAX));
}

std::optional<SackScoreboard::Hole> SackScoreboard::next_lost(SeqNum una, SeqNum high_rxt,
                                                              std::uint32_t smss) const noexcept {
  std::optional<Hole> lowest;  // the walk goes downward: the last match is the lowest
  for_each_hole(una, smss, [&](SeqNum from, SeqNum to, bool lost) {
    if (!lost) return;
    const SeqNum start = from < high_rxt ? high_rxt : from;
    if (start < to) lowest = Hole{start, std::min(distance(start, to), smss)};
  });
  return lowest;
}

}  // namespace synack::tcp
