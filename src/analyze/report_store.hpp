// The flow table's finished reports, by place (connection number - 1), in storage that never moves a
// report once made: a growing std::vector<ConnectionReport> would move every report each time it doubles,
// and the fresh pages of each larger copy are faulted in (with ~500-byte reports, a million-packet
// capture's reports were written three times over).
//
// Two parts: a vector reserved once (reserve(): the file reader's estimate of the capture's connections,
// made when a share of the file is read) and, past its capacity (or without an estimate), blocks of 1,024.
// take() hands the reserved vector over as it is when everything fitted in it (the reports are written
// once, in their final place); otherwise it moves them once into a vector of exactly their number.
#pragma once

#include <algorithm>
#include <cstddef>
#include <iterator>
#include <vector>

#include "huge_pages.hpp"
#include "synack/analyze/analyzer.hpp"

namespace synack::analyze::detail {

class ReportStore {
 public:
  /// The report at `place`, value-initialised when new; the places below it are made too.
  ConnectionReport& at(std::size_t place) {
    while (place >= size_) {
      if (size_ < head_.capacity()) {
        head_.emplace_back();  // within the capacity reserved: never moves
      } else {
        if ((size_ - head_.capacity()) % kBlock == 0) {
          blocks_.emplace_back();
          blocks_.back().reserve(kBlock);  // never grown past it: its reports never move
        }
        blocks_.back().emplace_back();
      }
      ++size_;
    }
    return (*this)[place];
  }
  /// The report at `place` < size().
  [[nodiscard]] ConnectionReport& operator[](std::size_t place) noexcept {
    if (place < head_.size()) return head_[place];
    place -= head_.capacity();
    return blocks_[place / kBlock][place % kBlock];
  }
  [[nodiscard]] std::size_t size() const noexcept { return size_; }

  /// Makes room for `reports` in all (an estimate: more still fit, in blocks), moving the reports made so
  /// far once. Only the pages written are faulted in, so a generous estimate costs address space only. Does
  /// nothing once room was made, or when `reports` are no more than there are.
  void reserve(std::size_t reports) {
    if (head_.capacity() > 0 || reports <= size_) return;
    std::vector<ConnectionReport> head;
    head.reserve(reports);
    advise_huge_pages(head.data(), reports * sizeof(ConnectionReport));
    move_blocks_into(head);
    head_ = std::move(head);
  }

  /// Every report, in place order, moved out; the store is empty afterwards.
  [[nodiscard]] std::vector<ConnectionReport> take() {
    std::vector<ConnectionReport> out;
    if (blocks_.empty()) {
      out = std::move(head_);  // everything is in its final place already
    } else {
      out.reserve(size_);
      std::move(head_.begin(), head_.end(), std::back_inserter(out));
      move_blocks_into(out);
    }
    head_ = {};
    size_ = 0;
    return out;
  }

 private:
  /// Moves the blocks' reports to the end of `out` and frees the blocks.
  void move_blocks_into(std::vector<ConnectionReport>& out) {
    for (auto& block : blocks_) {
      std::move(block.begin(), block.end(), std::back_inserter(out));
      block = {};  // freed as soon as moved
    }
    blocks_.clear();
  }

  static constexpr std::size_t kBlock = 1024;
  std::vector<ConnectionReport> head_;  ///< places [0, head_.capacity()) once reserved
  std::vector<std::vector<ConnectionReport>> blocks_;
  std::size_t size_ = 0;
};

}  // namespace synack::analyze::detail
