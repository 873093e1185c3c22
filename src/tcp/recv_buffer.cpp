#include "synack/tcp/recv_buffer.hpp"

#include <algorithm>
#include <cstring>
#include <utility>

namespace synack::tcp {

namespace {
constexpr std::size_t kChunk = BufferChunk::kSize;
}  // namespace

RecvBuffer::RecvBuffer(std::size_t capacity, std::size_t max_ranges, BufferPool* pool) noexcept
    : pool_(pool),
      capacity_(static_cast<std::uint32_t>(std::min<std::size_t>(capacity, 0x7FFFFFFFU))),
      max_ranges_(static_cast<std::uint32_t>(std::min<std::size_t>(max_ranges, 0xFFFFU))) {}

RecvBuffer::RecvBuffer(RecvBuffer&& other) noexcept
    : pool_(other.pool_),
      chunks_(std::exchange(other.chunks_, nullptr)),
      ooo_(std::move(other.ooo_)),
      capacity_(other.capacity_),
      max_ranges_(other.max_ranges_),
      read_offset_(other.read_offset_),
      in_order_end_(other.in_order_end_),
      ready_(std::exchange(other.ready_, 0U)) {}

RecvBuffer& RecvBuffer::operator=(RecvBuffer&& other) noexcept {
  if (this != &other) {
    release_all();
    pool_ = other.pool_;
    chunks_ = std::exchange(other.chunks_, nullptr);
    ooo_ = std::move(other.ooo_);
    capacity_ = other.capacity_;
    max_ranges_ = other.max_ranges_;
    read_offset_ = other.read_offset_;
    in_order_end_ = other.in_order_end_;
    ready_ = std::exchange(other.ready_, 0U);
  }
  return *this;
}

RecvBuffer::~RecvBuffer() {
  release_all();
}

void RecvBuffer::release_all() noexcept {
  while (chunks_ != nullptr) release_chunk(pool_, std::exchange(chunks_, chunks_->next));
}

std::size_t RecvBuffer::chunks_held() const noexcept {
  std::size_t n = 0;
  for (const BufferChunk* c = chunks_; c != nullptr; c = c->next) ++n;
  return n;
}

std::size_t RecvBuffer::side_bytes() const noexcept {
  return ooo_ ? sizeof(OutOfOrder) + ooo_->ranges.capacity() * sizeof(Range) : 0U;
}

std::size_t RecvBuffer::store(std::uint64_t begin, wire::Bytes data) {
  std::size_t done = 0;
  BufferChunk** link = &chunks_;
  while (done < data.size()) {
    const std::uint64_t at = begin + done;
    const std::uint64_t index = at / kChunk;
    while (*link != nullptr && (*link)->index < index) link = &(*link)->next;
    if (*link == nullptr || (*link)->index != index) {
      BufferChunk* c = acquire_chunk(pool_);
      if (c == nullptr) {
        if (pool_ != nullptr) ++pool_->counters().memory_drops;
        break;
      }
      c->index = index;
      c->next = *link;
      *link = c;
    }
    const auto pos = static_cast<std::size_t>(at % kChunk);
    const std::size_t n = std::min(data.size() - done, kChunk - pos);
    std::memcpy((*link)->data.data() + pos, data.data() + done, n);
    done += n;
  }
  return done;
}

std::size_t RecvBuffer::insert(std::size_t offset, wire::Bytes data) {
  const std::size_t wnd = window();
  if (offset >= wnd || data.empty()) return 0;
  data = data.first(std::min(data.size(), wnd - offset));
  const std::uint64_t begin = in_order_end_ + offset;

  if (offset > 0) {
    // Out of order: merge into the sorted range list, or drop when it would need one range too many.
    if (!ooo_) {
      if (max_ranges_ == 0) return 0;
      ooo_ = std::make_unique<OutOfOrder>();
      ooo_->ranges.reserve(max_ranges_ + 1U);
    }
    std::vector<Range>& ranges = ooo_->ranges;
    const auto find = [&](std::uint64_t b) {
      return std::lower_bound(ranges.begin(), ranges.end(), b,
                              [](const Range& r, std::uint64_t x) { return r.end < x; });
    };
    auto it = find(begin);
    if ((it == ranges.end() || begin + data.size() < it->begin) && ranges.size() >= max_ranges_) return 0;
    const std::uint64_t end = begin + store(begin, data);
    if (end == begin) {
      if (ranges.empty()) ooo_.reset();
      return 0;
    }
    if (it == ranges.end() || end < it->begin) {
      if (ranges.size() >= max_ranges_) return 0;  // the stored part no longer reaches its neighbour
      ranges.insert(it, Range{begin, end});
      note_recent(begin);
      return 0;
    }
    note_recent(begin);
    it->begin = std::min(it->begin, begin);
    it->end = std::max(it->end, end);
    auto next = it + 1;
    while (next != ranges.end() && next->begin <= it->end) {
      it->end = std::max(it->end, next->end);
      next = ranges.erase(next);
    }
    return 0;
  }

  std::uint64_t new_end = begin + store(begin, data);
  if (ooo_) {
    std::vector<Range>& ranges = ooo_->ranges;
    auto covered = ranges.begin();
    while (covered != ranges.end() && covered->begin <= new_end) {
      new_end = std::max(new_end, covered->end);
      ++covered;
    }
    ranges.erase(ranges.begin(), covered);
    if (ranges.empty()) ooo_.reset();  // the last hole filled: the list's memory goes back
  }
  const auto advanced = static_cast<std::size_t>(new_end - in_order_end_);
  in_order_end_ = new_end;
  ready_ += advanced;
  return advanced;
}

void RecvBuffer::note_recent(std::uint64_t stream_offset) noexcept {
  // Move to the front; the oldest entry falls off.
  auto& recent = ooo_->recent;
  std::size_t& count = ooo_->recent_count;
  std::size_t i = 0;
  while (i < count && recent[i] != stream_offset) ++i;
  if (i == count) {
    if (count < recent.size()) ++count;
    i = count - 1;
  }
  for (; i > 0; --i) recent[i] = recent[i - 1];
  recent[0] = stream_offset;
}

std::size_t RecvBuffer::sack_ranges(std::span<Held> out) const noexcept {
  if (!ooo_) return 0;
  const std::vector<Range>& ranges = ooo_->ranges;
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
  for (std::size_t i = 0; i < ooo_->recent_count && n < out.size(); ++i) {
    const std::uint64_t s = ooo_->recent[i];
    if (s < in_order_end_) continue;  // since delivered in order
    const auto it = std::lower_bound(ranges.begin(), ranges.end(), s,
                                     [](const Range& r, std::uint64_t b) { return r.end <= b; });
    if (it == ranges.end() || it->begin > s || taken(*it)) continue;
    out[n++] = held(*it);
  }
  for (const Range& r : ranges) {
    if (n == out.size()) break;
    if (!taken(r)) out[n++] = held(r);
  }
  return n;
}

std::size_t RecvBuffer::copy_out(wire::MutableBytes out) noexcept {
  const std::size_t n = std::min(out.size(), ready_);
  std::size_t done = 0;
  const BufferChunk* c = chunks_;
  while (done < n) {
    const std::uint64_t at = read_offset_ + done;
    while (c->index < at / kChunk) c = c->next;
    const auto pos = static_cast<std::size_t>(at % kChunk);
    const std::size_t k = std::min(n - done, kChunk - pos);
    std::memcpy(out.data() + done, c->data.data() + pos, k);
    done += k;
  }
  read_offset_ += n;
  ready_ -= n;
  // Chunks wholly read go back; so does the one at the read point once nothing is left to read in it
  // and no out-of-order data sits in it.
  const std::uint64_t read_index = read_offset_ / kChunk;
  while (chunks_ != nullptr && chunks_->index < read_index)
    release_chunk(pool_, std::exchange(chunks_, chunks_->next));
  if (ready_ == 0 && chunks_ != nullptr && chunks_->index == read_index) {
    const bool ooo_here = ooo_ && !ooo_->ranges.empty() && ooo_->ranges.front().begin / kChunk == read_index;
    if (!ooo_here) release_chunk(pool_, std::exchange(chunks_, chunks_->next));
  }
  return n;
}

}  // namespace synack::tcp
