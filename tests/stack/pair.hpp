// The engine tests' two Stacks back to back: sim::StackPair (the one two-stack harness) over two links with
// a fixed one-way latency and seeded loss, in virtual time, plus a filter and a rewriter for datagrams.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <vector>

#include <gtest/gtest.h>

#include "synack/sim/pair.hpp"
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

/// The links' impairments: a fixed one-way latency and seeded random loss, the same both ways.
inline sim::Impairments path(double loss, Duration latency) {
  sim::Impairments i;
  i.delay = latency;
  i.loss = loss;
  return i;
}

/// The two links a Pair owns (constructed before the StackPair that refers to them).
struct PairLinks {
  sim::Link a_to_b;
  sim::Link b_to_a;
};

/// sim::StackPair with links of its own: `filter` drops a datagram before its link (and before the random
/// loss), `mutate` rewrites one on the way (a router's CE mark). `to_b` says which way it travels.
class Pair : private PairLinks, public sim::StackPair {
 public:
  Pair(Stack& a, Stack& b, double loss = 0.0, std::uint64_t seed = 1, Duration latency = 10ms)
      : PairLinks{sim::Link(path(loss, latency), seed, 1), sim::Link(path(loss, latency), seed, 2)},
        sim::StackPair(&a, &b, a_to_b, b_to_a) {
    hooks.before_send = [this](sim::Side from, std::span<std::byte> datagram) {
      const bool to_b = from == sim::Side::a;
      if (filter) {
        const auto view = wire::TcpPacketView::parse(datagram);
        if (view && filter(to_b, *view)) return false;
      }
      if (mutate) mutate(to_b, datagram);
      return true;
    };
  }

  /// Drops the datagram (returns true) when set; sees every datagram before the random loss.
  std::function<bool(bool to_b, const wire::TcpPacketView&)> filter;
  /// Rewrites a datagram on the way (after filter), e.g. a router's CE mark.
  std::function<void(bool to_b, std::span<std::byte> datagram)> mutate;

  /// Datagrams both stacks emitted.
  [[nodiscard]] std::uint64_t sent() const noexcept { return stats().transmitted; }
  /// Of those, dropped by the filter or the random loss.
  [[nodiscard]] std::uint64_t lost() const noexcept {
    return stats().withheld + a_to_b.stats().dropped + b_to_a.stats().dropped;
  }
  /// Collects what both sides want to send now.
  void flush() { transmit(); }
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
