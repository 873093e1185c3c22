#include "synack/tcp/recv_buffer.hpp"

#include <algorithm>
#include <cstring>

namespace synack::tcp {

RecvBuffer::RecvBuffer(std::size_t capacity, std::size_t max_ranges)
    : data_(capacity), max_ranges_(max_ranges) {
  ranges_.reserve(max_ranges + 1);
}

void RecvBuffer::copy_in(std::uint64_t stream_offset, wire::Bytes data) noexcept {
  const std::size_t cap = data_.size();
  auto pos = static_cast<std::size_t>(stream_offset % cap);
  std::size_t done = 0;
  while (done < data.size()) {
    const std::size_t n = std::min(data.size() - done, cap - pos);
    std::memcpy(data_.data() + pos, data.data() + done, n);
    done += n;
    pos = 0;
  }
}

std::size_t RecvBuffer::insert(std::size_t offset, wire::Bytes data) noexcept {
  const std::size_t wnd = window();
  if (offset >= wnd || data.empty()) return 0;
  data = data.first(std::min(data.size(), wnd - offset));
  const std::uint64_t begin = in_order_end_ + offset;
  const std::uint64_t end = begin + data.size();

  if (offset > 0) {
    // Out of order: merge into the sorted range list, or drop when it would need one range too many.
    auto it = std::lower_bound(ranges_.begin(), ranges_.end(), begin,
                               [](const Range& r, std::uint64_t b) { return r.end < b; });
    if (it == ranges_.end() || end < it->begin) {
      if (ranges_.size() >= max_ranges_) return 0;
      copy_in(begin, data);
      ranges_.insert(it, Range{begin, end});
      note_recent(begin);
      return 0;
    }
    copy_in(begin, data);
    note_recent(begin);
    it->begin = std::min(it->begin, begin);
    it->end = std::max(it->end, end);
    auto next = it + 1;
    while (next != ranges_.end() && next->begin <= it->end) {
      it->end = std::max(it->end, next->end);
      next = ranges_.erase(next);
    }
    return 0;
  }

  copy_in(begin, data);
  std::uint64_t new_end = end;
  while (!ranges_.empty() && ranges_.front().begin <= new_end) {
    new_end = std::max(new_end, ranges_.front().end);
    ranges_.erase(ranges_.begin());
  }
  const auto advanced = static_cast<std::size_t>(new_end - in_order_end_);
  in_order_end_ = new_end;
  ready_ += advanced;
  return advanced;
}

void RecvBuffer::note_recent(std::uint64_t stream_offset) noexcept {
  // Move to the front; the oldest entry falls off.
  std::size_t i = 0;
  while (i < recent_count_ && recent_[i] != stream_offset) ++i;
  if (i == recent_count_) {
    if (recent_count_ < recent_.size()) ++recent_count_;
    i = recent_count_ - 1;
  }
  for (; i > 0; --i) recent_[i] = recent_[i - 1];
  recent_[0] = stream_offset;
}

std::size_t RecvBuffer::sack_ranges(std::span<Held> out) const noexcept {
  std::size_t n = 0;
  const auto held = [&](const Range& r) {
    return Held{static_cast<std::size_t>(r.begin - in_order_end_),
                static_cast<std::size_t>(r.end - in_order_end_)};
  };
  const auto taken = [&](const Range& r) {
    for (std::size_t k = 0; k < n; ++k) {
      if (out[k].begin == r.begin - in_order_end_) return true;
    }
    return false;
  };
  for (std::size_t i = 0; i < recent_count_ && n < out.size(); ++i) {
    const std::uint64_t s = recent_[i];
    if (s < in_order_end_) continue;  // since delivered in order
    const auto it = std::lower_bound(ranges_.begin(), ranges_.end(), s,
                                     [](const Range& r, std::uint64_t b) { return r.end <= b; });
    if (it == ranges_.end() || it->begin > s || taken(*it)) continue;
    out[n++] = held(*it);
  }
  for (const Range& r : ranges_) {
    if (n == out.size()) break;
    if (!taken(r)) out[n++] = held(r);
  }
  return n;
}

std::size_t RecvBuffer::copy_out(wire::MutableBytes out) noexcept {
  const std::size_t n = std::min(out.size(), ready_);
  const std::size_t cap = data_.size();
  auto pos = static_cast<std::size_t>(read_offset_ % cap);
  std::size_t done = 0;
  while (done < n) {
    const std::size_t chunk = std::min(n - done, cap - pos);
    std::memcpy(out.data() + done, data_.data() + pos, chunk);
    done += chunk;
    pos = 0;
  }
  read_offset_ += n;
  ready_ -= n;
  return n;
}

}  // namespace synack::tcp
