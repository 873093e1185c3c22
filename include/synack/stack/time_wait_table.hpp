/// @file
/// The Stack's TIME-WAIT records in two pools: IPv6 records as tcp::TimeWaitRecord (64 bytes), IPv4
/// records packed into 40 bytes (4-byte addresses), since most of a server's TIME-WAIT is IPv4 and a
/// record per closed connection is the whole cost of TIME-WAIT. An id names the pool (bit 28) and the
/// slot; free slots are chained through `link`. Everything else about TIME-WAIT — the rules, the expiry
/// FIFO — stays with tcp::TimeWaitRecord and the Stack.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "synack/tcp/time_wait.hpp"

namespace synack::stack {

/// The TIME-WAIT records of one Stack (see the file comment), addressed by id. Records are stored by value;
/// alloc() and free() recycle slots and never shrink the pools.
class TimeWaitTable {
 public:
  /// "No record": the end of a link chain.
  static constexpr std::uint32_t kNone = 0xFFFFFFFFU;
  static constexpr std::uint32_t kV6Bit = 1U << 28U;  ///< ids stay below 2^29 (the flow table's bound)

  /// Stores `r` (its family decides the pool); returns its id.
  [[nodiscard]] std::uint32_t alloc(const tcp::TimeWaitRecord& r) {
    if ((r.flags & tcp::TimeWaitRecord::kV6) != 0) return take(v6_, free6_, kV6Bit, r);
    return take(v4_, free4_, 0, pack(r));
  }
  /// Frees the record `id`; its slot goes on the free list of its pool.
  void free(std::uint32_t id) noexcept {
    visit(id, [&](auto& rec) { rec.flags = 0; });
    set_link(id, is_v6(id) ? free6_ : free4_);
    (is_v6(id) ? free6_ : free4_) = id;
  }
  /// The full record (IPv4 ones unpacked).
  [[nodiscard]] tcp::TimeWaitRecord get(std::uint32_t id) const noexcept {
    if (is_v6(id)) return v6_[slot(id)];
    return unpack(v4_[slot(id)]);
  }
  /// Replaces the record's contents, keeping its link (its place in the owner's FIFO).
  void put(std::uint32_t id, const tcp::TimeWaitRecord& r) noexcept {
    const std::uint32_t keep = link(id);
    if (is_v6(id)) {
      v6_[slot(id)] = r;
    } else {
      v4_[slot(id)] = pack(r);
    }
    set_link(id, keep);
  }
  /// Whether `id` names a slot that exists (live or free).
  [[nodiscard]] bool contains(std::uint32_t id) const noexcept {
    return is_v6(id) ? slot(id) < v6_.size() : id < v4_.size();
  }
  /// Whether record `id` holds the tuple `t` (compares bytes without unpacking).
  [[nodiscard]] bool matches(std::uint32_t id, const wire::FourTuple& t) const noexcept {
    if (is_v6(id)) return v6_[slot(id)].matches(t);
    const V4& r = v4_[slot(id)];
    if (t.local.port != r.local_port || t.remote.port != r.remote_port || t.local.address.is_v6())
      return false;
    const wire::Bytes l = t.local.address.bytes();
    const wire::Bytes m = t.remote.address.bytes();
    return std::equal(m.begin(), m.end(), r.remote_addr.begin()) &&
           std::equal(l.begin(), l.end(), r.local_addr.begin());
  }
  /// @{
  /// The owner's byte and link word of record `id` (tcp::TimeWaitRecord's `owner` and `link`), to read and
  /// to write.
  [[nodiscard]] std::uint8_t owner(std::uint32_t id) const noexcept {
    return is_v6(id) ? v6_[slot(id)].owner : v4_[slot(id)].owner;
  }
  void set_owner(std::uint32_t id, std::uint8_t o) noexcept {
    visit(id, [&](auto& rec) { rec.owner = o; });
  }
  [[nodiscard]] std::uint32_t link(std::uint32_t id) const noexcept {
    return is_v6(id) ? v6_[slot(id)].link : v4_[slot(id)].link;
  }
  void set_link(std::uint32_t id, std::uint32_t l) noexcept {
    visit(id, [&](auto& rec) { rec.link = l; });
  }
  /// @}
  /// When record `id` expires, in nanoseconds since the origin.
  [[nodiscard]] std::int64_t expiry_ns(std::uint32_t id) const noexcept {
    return is_v6(id) ? v6_[slot(id)].expiry_ns : v4_[slot(id)].expiry_ns;
  }
  /// When record `id` expires.
  [[nodiscard]] Instant expiry(std::uint32_t id) const noexcept {
    return Instant::from_nanoseconds(expiry_ns(id));
  }

 private:
  /// An IPv4 record: what tcp::TimeWaitRecord holds, with 4-byte addresses.
  struct V4 {
    std::array<std::byte, 4> local_addr{};
    std::array<std::byte, 4> remote_addr{};
    std::uint16_t local_port = 0;
    std::uint16_t remote_port = 0;
    std::uint8_t flags = 0;
    std::uint8_t shifts = 0xFF;
    std::uint8_t challenge = 0;
    std::uint8_t owner = 0;
    std::int64_t expiry_ns = 0;
    std::uint32_t snd_nxt = 0;
    std::uint32_t rcv_nxt = 0;
    std::uint32_t ts_recent = 0;
    std::uint32_t link = kNone;
  };
  static_assert(sizeof(V4) == 40, "an IPv4 TIME-WAIT record is 40 bytes");
  static_assert(sizeof(tcp::TimeWaitRecord) <= 64);

  [[nodiscard]] static bool is_v6(std::uint32_t id) noexcept { return (id & kV6Bit) != 0; }
  [[nodiscard]] static std::uint32_t slot(std::uint32_t id) noexcept { return id & ~kV6Bit; }
  template <typename F>
  void visit(std::uint32_t id, F&& f) noexcept {
    if (is_v6(id)) {
      f(v6_[slot(id)]);
    } else {
      f(v4_[slot(id)]);
    }
  }
  template <typename T>
  static std::uint32_t take(std::vector<T>& pool, std::uint32_t& free_head, std::uint32_t bit, const T& r) {
    std::uint32_t id = free_head;
    if (id != kNone) {
      free_head = pool[slot(id)].link;
    } else {
      id = static_cast<std::uint32_t>(pool.size()) | bit;
      pool.emplace_back();
    }
    pool[slot(id)] = r;
    return id;
  }
  [[nodiscard]] static V4 pack(const tcp::TimeWaitRecord& r) noexcept {
    V4 p;
    std::copy_n(r.addr.local_addr.begin(), 4, p.local_addr.begin());
    std::copy_n(r.addr.remote_addr.begin(), 4, p.remote_addr.begin());
    p.local_port = r.addr.local_port;
    p.remote_port = r.addr.remote_port;
    p.flags = r.flags;
    p.shifts = r.shifts;
    p.challenge = r.challenge;
    p.owner = r.owner;
    p.expiry_ns = r.expiry_ns;
    p.snd_nxt = r.snd_nxt;
    p.rcv_nxt = r.rcv_nxt;
    p.ts_recent = r.ts_recent;
    p.link = r.link;
    return p;
  }
  [[nodiscard]] static tcp::TimeWaitRecord unpack(const V4& p) noexcept {
    tcp::TimeWaitRecord r;
    std::copy_n(p.local_addr.begin(), 4, r.addr.local_addr.begin());
    std::copy_n(p.remote_addr.begin(), 4, r.addr.remote_addr.begin());
    r.addr.local_port = p.local_port;
    r.addr.remote_port = p.remote_port;
    r.flags = p.flags;
    r.shifts = p.shifts;
    r.challenge = p.challenge;
    r.owner = p.owner;
    r.expiry_ns = p.expiry_ns;
    r.snd_nxt = p.snd_nxt;
    r.rcv_nxt = p.rcv_nxt;
    r.ts_recent = p.ts_recent;
    r.link = p.link;
    return r;
  }

  std::vector<V4> v4_;
  std::vector<tcp::TimeWaitRecord> v6_;
  std::uint32_t free4_ = kNone;
  std::uint32_t free6_ = kNone;
};

}  // namespace synack::stack
