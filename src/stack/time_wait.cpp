// Stack, TIME-WAIT: connections closed by their user are kept as compact records (tcp::TimeWaitRecord in
// stack::TimeWaitTable) in an expiry FIFO, and rebuilt into a connection when a segment needs an answer.
#include "stack_core.hpp"

namespace synack::stack {

void StackCore::append_time_wait(std::uint32_t record) noexcept {
  time_wait_.set_link(record, kNone);
  if (time_wait_tail_ != kNone) {
    time_wait_.set_link(time_wait_tail_, record);
  } else {
    time_wait_head_ = record;
  }
  time_wait_tail_ = record;
}

void StackCore::compact_time_wait(std::uint32_t index) {
  Slot& s = slots_[index];
  const tcp::TimeWaitRecord fresh = s.conn->time_wait_record();
  std::uint32_t record = s.time_wait;
  if (record != kNone && time_wait_.owner(record) == kTwRebuilt &&
      time_wait_.expiry_ns(record) == fresh.expiry_ns) {
    // Answered without restarting the timer: the record keeps its place in the expiry FIFO.
    time_wait_.put(record, fresh);
  } else {
    if (record != kNone) {
      // The 2 MSL timer restarted (a retransmitted FIN): a new record at the FIFO's tail, where the
      // latest expiry belongs; the old one is dropped when it reaches the head.
      if (time_wait_.owner(record) == kTwDetached) {
        time_wait_.free(record);
      } else {
        time_wait_.set_owner(record, kTwDead);
      }
    } else if (time_wait_count_ >= config_.max_time_wait) {
      // Linux: "time wait bucket table overflow" — the connection closes without TIME-WAIT.
      ++stats_.time_wait_overflows;
      s.time_wait = kNone;
      release(index);
      return;
    }
    record = time_wait_.alloc(fresh);
    append_time_wait(record);
  }
  time_wait_.set_owner(record, kTwLive);
  ++time_wait_count_;
  flow_replace_exact(s.flow_hash, connection_ref(index), FlowRef{FlowRef::Kind::time_wait, record, 0});
  s.in_flow = false;
  s.time_wait = kNone;
  release(index);
}

std::optional<std::uint32_t> StackCore::rebuild_time_wait(Instant now, std::uint32_t record,
                                                          std::uint32_t hash) {
  const auto index = alloc_slot();
  if (!index) return std::nullopt;
  --time_wait_count_;  // counted as a connection until it is compacted again or ends
  const tcp::TimeWaitRecord r = time_wait_.get(record);
  const wire::FourTuple tuple = r.tuple();
  Slot& s = slots_[*index];
  s.conn.emplace(tcp::Connection::from_time_wait(config_.tcp, r, isn_.timestamp_offset(tuple), now));
  s.released_by_user = true;
  s.time_wait = record;
  time_wait_.set_owner(record, kTwRebuilt);
  flow_replace_exact(hash, FlowRef{FlowRef::Kind::time_wait, record, 0}, connection_ref(*index));
  s.flow_hash = hash;
  s.in_flow = true;
  return index;
}

void StackCore::expire_time_wait(Instant now) {
  while (time_wait_head_ != kNone) {
    const std::uint32_t record = time_wait_head_;
    const std::uint8_t owner = time_wait_.owner(record);
    if ((owner == kTwLive || owner == kTwRebuilt) && time_wait_.expiry(record) > now) break;
    time_wait_head_ = time_wait_.link(record);
    if (time_wait_head_ == kNone) time_wait_tail_ = kNone;
    switch (owner) {
      case kTwLive:
        // 2 MSL have passed (RFC 9293 §3.10.7.4): TIME-WAIT ends, the tuple is free.
        flow_erase(time_wait_.get(record).tuple());
        --time_wait_count_;
        time_wait_.free(record);
        break;
      case kTwRebuilt:
        time_wait_.set_owner(record, kTwDetached);  // the connection's own timer ends it and frees it
        break;
      default:
        time_wait_.free(record);
        break;
    }
  }
}

}  // namespace synack::stack
