// Two Stacks back to back through an in-memory pipe with a fixed one-way latency and seeded loss, in
// virtual time: deliver what is due, poll_transmit both sides, jump to the next deadline.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <vector>

#include <gtest/gtest.h>

#include "synack/random.hpp"
#include "synack/stack/stack.hpp"
#include "synack/tcp/error.hpp"
#include "synack/tcp/listener.hpp"  // Stack::listener() for SYN-queue details
#include "synack/wire/packet.hpp"

namespace synack::stack::testing {

using namespace std::chrono_literals;

inline std::array<std::byte, 16> key(unsigned char fill) {
  std::array<std::byte, 16> k{};
  for (auto& b : k) b = std::byte{fill};
  return k;
}

inline wire::IpAddress addr_a() {
  return wire::IpAddress::v4(0x0A000001U);
}
inline wire::IpAddress addr_b() {
  return wire::IpAddress::v4(0x0A000002U);
}
inline wire::IpAddress addr_c() {
  return wire::IpAddress::v4(0x0A000003U);
}

inline StackConfig config_for(wire::IpAddress a) {
  StackConfig c;
  c.addresses = {a};
  return c;
}

struct Datagram {
  Instant deliver_at;
  bool to_b = false;
  std::vector<std::byte> bytes;
};

class Pair {
 public:
  Pair(Stack& a, Stack& b, double loss = 0.0, std::uint64_t seed = 1, Duration latency = 10ms)
      : a_(a), b_(b), loss_(loss), prng_(seed), latency_(latency) {}

  Instant now = Instant::from_nanoseconds(1'000'000'000);
  /// Drops the datagram (returns true) when set; sees every datagram before the random loss.
  std::function<bool(bool to_b, const wire::TcpPacketView&)> filter;
  /// Rewrites a datagram on the way (after filter and loss), e.g. a router's CE mark.
  std::function<void(bool to_b, std::vector<std::byte>& datagram)> mutate;
  std::uint64_t sent = 0;
  std::uint64_t lost = 0;

  /// Collects what both sides want to send now.
  void flush() {
    collect(a_, true);
    collect(b_, false);
  }
  /// One step: flush, then advance to the next delivery or deadline and process it. False when idle.
  bool step(Instant limit = Instant::max()) {
    flush();
    Instant next = std::min(a_.next_deadline(), b_.next_deadline());
    if (!wire_.empty()) next = std::min(next, wire_.front().deliver_at);
    if (next == Instant::max() || next > limit) return false;
    if (next > now) now = next;
    while (!wire_.empty() && wire_.front().deliver_at <= now) {
      Datagram d = std::move(wire_.front());
      wire_.pop_front();
      (d.to_b ? b_ : a_).on_packet(now, d.bytes);
    }
    if (a_.next_deadline() <= now) a_.on_timeout(now);
    if (b_.next_deadline() <= now) b_.on_timeout(now);
    flush();
    return true;
  }
  /// Steps until `done()` or virtual time passes `limit`.
  bool run_until(const std::function<bool()>& done, Duration limit = 600s) {
    const Instant end = now + limit;
    while (!done()) {
      if (!step(end)) return done();
    }
    return true;
  }
  void run_for(Duration d) {
    const Instant end = now + d;
    while (step(end)) {
    }
    now = end;
  }

 private:
  void collect(Stack& from, bool to_b) {
    std::array<std::byte, 2048> buf{};
    while (auto n = from.poll_transmit(now, buf)) {
      ++sent;
      const wire::Bytes bytes(buf.data(), *n);
      if (filter) {
        const auto view = wire::TcpPacketView::parse(bytes);
        if (view && filter(to_b, *view)) {
          ++lost;
          continue;
        }
      }
      if (loss_ > 0 && prng_.chance(loss_)) {
        ++lost;
        continue;
      }
      // Constant latency keeps each direction in order; the deque stays sorted by delivery time.
      Datagram d{now + latency_, to_b, std::vector<std::byte>(bytes.begin(), bytes.end())};
      if (mutate) mutate(to_b, d.bytes);
      auto it = wire_.end();
      while (it != wire_.begin() && std::prev(it)->deliver_at > d.deliver_at) --it;
      wire_.insert(it, std::move(d));
    }
  }

  Stack& a_;
  Stack& b_;
  double loss_;
  synack::Rng prng_;  // the seeded loss draws
  Duration latency_;
  std::deque<Datagram> wire_;
};

/// Drains events of one stack into a vector.
inline std::vector<Event> events_of(Stack& s) {
  std::vector<Event> v;
  while (auto e = s.poll_event()) v.push_back(*e);
  return v;
}
inline bool has_event(const std::vector<Event>& v, EventKind k) {
  for (const Event& e : v) {
    if (e.kind == k) return true;
  }
  return false;
}

}  // namespace synack::stack::testing
