#include "synack/sim/pair.hpp"

#include <algorithm>

namespace synack::sim {

namespace {
constexpr std::size_t kDatagramBuffer = 65536;  // the largest IP datagram a stack can emit
}  // namespace

StackPair::StackPair(stack::Stack* a, stack::Stack* b, Link& a_to_b, Link& b_to_a, Instant start)
    : a_(a), b_(b), a_to_b_(a_to_b), b_to_a_(b_to_a), now_(start), buffer_(kDatagramBuffer) {}

bool StackPair::transmit_from(Side from) {
  stack::Stack* host = stack(from);
  if (host == nullptr) return false;
  bool any = false;
  while (const auto n = host->poll_transmit(now_, buffer_)) {
    any = true;
    ++stats_.transmitted;
    const std::span<std::byte> datagram(buffer_.data(), *n);
    if (hooks.before_send && !hooks.before_send(from, datagram)) {
      ++stats_.withheld;
      continue;
    }
    const SendOutcome outcome = link_from(from).send(now_, datagram);
    if (hooks.after_send) hooks.after_send(from, datagram, outcome);
  }
  return any;
}

bool StackPair::transmit() {
  const bool from_a = transmit_from(Side::a);
  const bool from_b = transmit_from(Side::b);
  return from_a || from_b;
}

void StackPair::deliver(Side to, wire::Bytes datagram) {
  stack::Stack* host = stack(to);
  if (host == nullptr) {
    ++stats_.discarded;
    return;
  }
  ++stats_.delivered;
  host->on_packet(now_, datagram);
  if (hooks.after_delivery) hooks.after_delivery(to, datagram);
}

bool StackPair::take_arrivals(Side to) {
  bool any = false;
  while (auto d = link_from(peer_of(to)).pop_due(now_)) {
    any = true;
    deliver(to, *d);
  }
  return any;
}

bool StackPair::fire_timers() {
  bool any = false;
  for (stack::Stack* s : {a_, b_}) {
    if (s == nullptr || s->next_deadline() > now_) continue;
    s->on_timeout(now_);
    ++stats_.timeouts;
    any = true;
  }
  return any;
}

bool StackPair::drain_events() {
  if (!hooks.on_event) return false;
  bool any = false;
  for (const Side side : {Side::a, Side::b}) {
    stack::Stack* s = stack(side);
    if (s == nullptr) continue;
    while (const auto e = s->poll_event()) {
      any = true;
      hooks.on_event(side, *e);
    }
  }
  return any;
}

Instant StackPair::settle(int max_rounds) {
  Instant deadline = Instant::max();
  for (int round = 0; round < max_rounds; ++round) {
    bool progress = take_arrivals(Side::b);
    progress = take_arrivals(Side::a) || progress;
    deadline = std::min(a_->next_deadline(), b_ != nullptr ? b_->next_deadline() : Instant::max());
    progress = fire_timers() || progress;
    progress = transmit() || progress;
    progress = drain_events() || progress;
    if (!progress) break;
  }
  return deadline;
}

Instant StackPair::next_wakeup() const {
  Instant next = std::min(a_to_b_.next_delivery(), b_to_a_.next_delivery());
  next = std::min(next, a_->next_deadline());
  if (b_ != nullptr) next = std::min(next, b_->next_deadline());
  return next;
}

bool StackPair::step(Instant limit) {
  transmit();
  const Instant next = next_wakeup();
  if (next == Instant::max() || next > limit) return false;
  now_ = std::max(now_, next);
  settle();
  return true;
}

bool StackPair::run_until(const std::function<bool()>& done, Duration limit) {
  const Instant end = now_ + limit;
  while (!done()) {
    if (!step(end)) return done();
  }
  return true;
}

void StackPair::run_for(Duration d) {
  const Instant end = now_ + d;
  while (step(end)) {
  }
  now_ = end;
}

}  // namespace synack::sim
