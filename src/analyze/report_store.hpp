// The flow table's finished reports, by place (connection number - 1), in blocks that never move: a
// growing std::vector<ConnectionReport> would move every report each time it doubles, and the fresh pages
// of each larger copy are faulted in (with ~500-byte reports, a million-packet capture's reports were
// written three times over). take() moves them once into a vector of exactly their number.
#pragma once

#include <algorithm>
#include <cstddef>
#include <iterator>
#include <vector>

#include "synack/analyze/analyzer.hpp"

namespace synack::analyze::detail {

class ReportStore {
 public:
  /// The report at `place`, value-initialised when new; the places below it are made too.
  ConnectionReport& at(std::size_t place) {
    while (place >= size_) {
      if (size_ % kBlock == 0) {
        blocks_.emplace_back();
        blocks_.back().reserve(kBlock);  // never grown past it: its reports never move
      }
      blocks_.back().emplace_back();
      ++size_;
    }
    return (*this)[place];
  }
  /// The report at `place` < size().
  [[nodiscard]] ConnectionReport& operator[](std::size_t place) noexcept {
    return blocks_[place / kBlock][place % kBlock];
  }
  [[nodiscard]] std::size_t size() const noexcept { return size_; }

  /// Every report, in place order, moved out; the store is empty afterwards.
  [[nodiscard]] std::vector<ConnectionReport> take() {
    std::vector<ConnectionReport> out;
    out.reserve(size_);
    for (auto& block : blocks_) {
      std::move(block.begin(), block.end(), std::back_inserter(out));
      block = {};  // freed as soon as moved
    }
    blocks_.clear();
    size_ = 0;
    return out;
  }

 private:
  static constexpr std::size_t kBlock = 1024;
  std::vector<std::vector<ConnectionReport>> blocks_;
  std::size_t size_ = 0;
};

}  // namespace synack::analyze::detail
