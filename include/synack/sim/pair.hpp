/// @file
/// Two Stacks joined by two simulated Links (one per direction) in virtual time: the one two-stack harness
/// that the simulator's batches, the engine's tests and the stack fuzzer drive.
///
/// A round at the current instant takes the arrivals that are due on both links (a→b first), fires the
/// timers that are due, collects what both stacks have to send (a first) into their links, and drains
/// both stacks' events (when PairHooks::on_event is set); settle() repeats rounds until one changes
/// nothing. step() moves virtual time to the next thing due (an arrival or a stack deadline) and settles
/// there. Hooks see every datagram before and after its link, and every arrival: that is where the
/// simulator records segments and a test drops, rewrites or counts them. A caller with its own network
/// (the fuzzer, which chooses the order of delivery itself) withholds datagrams in before_send and hands
/// them over with deliver().
///
/// The pair owns nothing: the stacks and links must outlive it. Side b may have no stack (a dead host):
/// what arrives for it is discarded.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "synack/sim/link.hpp"
#include "synack/stack/stack.hpp"
#include "synack/time.hpp"
#include "synack/wire/bytes.hpp"

namespace synack::sim {

/// One of the pair's two hosts. In the simulator, a is the client and b the server.
enum class Side : std::uint8_t { a, b };

/// The other host.
[[nodiscard]] constexpr Side peer_of(Side s) noexcept {
  return s == Side::a ? Side::b : Side::a;
}

/// Callbacks into the pair's loop; each may be empty.
struct PairHooks {
  /// Every datagram a stack emits, before its link. It may rewrite the datagram in place (same length);
  /// returning false keeps it off the link (counted in PairStats::withheld).
  std::function<bool(Side from, std::span<std::byte> datagram)> before_send;
  /// Every datagram put on a link, with what the link decided for it.
  std::function<void(Side from, wire::Bytes datagram, const SendOutcome& outcome)> after_send;
  /// Every arrival, after the receiving stack took it (not called for a side without a stack).
  std::function<void(Side to, wire::Bytes datagram)> after_delivery;
  /// Stack events, drained every round when set; otherwise they stay queued for the caller's poll_event().
  std::function<void(Side side, const stack::Event& event)> on_event;
};

/// What a StackPair counted since construction (monotonic).
struct PairStats {
  std::uint64_t transmitted = 0;  ///< datagrams the stacks emitted
  std::uint64_t withheld = 0;     ///< of those, kept off the links by PairHooks::before_send
  std::uint64_t delivered = 0;    ///< datagrams handed to a stack (by a link or deliver())
  std::uint64_t discarded = 0;    ///< arrivals for a side without a stack
  std::uint64_t timeouts = 0;     ///< Stack::on_timeout calls
};

/// Two stacks and the two links between them, in virtual time (see the file comment).
class StackPair {
 public:
  /// `a` must not be null; `b` may be (nobody there). `a_to_b` carries what a sends, `b_to_a` the rest.
  StackPair(stack::Stack* a, stack::Stack* b, Link& a_to_b, Link& b_to_a,
            Instant start = Instant::from_nanoseconds(1'000'000'000));
  StackPair(const StackPair&) = delete;
  StackPair& operator=(const StackPair&) = delete;

  PairHooks hooks;  ///< set before the first call that moves datagrams

  /// The pair's virtual time.
  [[nodiscard]] Instant now() const noexcept { return now_; }
  /// Moves virtual time to `t` (callers move it forward; the stacks never see it go back).
  void set_now(Instant t) noexcept { now_ = t; }
  /// Moves virtual time forward by `d` without running anything.
  void advance(Duration d) noexcept { now_ += d; }

  /// The stack on `side` (b may be null).
  [[nodiscard]] stack::Stack* stack(Side side) const noexcept { return side == Side::a ? a_ : b_; }
  /// The link carrying what `from` sends.
  [[nodiscard]] Link& link_from(Side from) const noexcept { return from == Side::a ? a_to_b_ : b_to_a_; }
  /// What the pair counted so far.
  [[nodiscard]] const PairStats& stats() const noexcept { return stats_; }

  /// Collects what both stacks have to send now (a first) into their links. True when anything was sent.
  bool transmit();
  /// Hands one datagram to the stack on side `to` at now() (for a caller's own network).
  void deliver(Side to, wire::Bytes datagram);
  /// Fires the timers due at now(). True when any stack's on_timeout ran.
  bool fire_timers();
  /// Drains both stacks' events into PairHooks::on_event (nothing when it is unset). True when any came.
  bool drain_events();
  /// Rounds at now() (arrivals, timers, transmissions, events) until one changes nothing, at most
  /// `max_rounds`. Returns the earliest stack deadline as read in the last round.
  Instant settle(int max_rounds = kMaxRounds);
  /// The next instant something is due: an arrival on either link or a stack's deadline (Instant::max()
  /// when nothing is).
  [[nodiscard]] Instant next_wakeup() const;
  /// Transmits, then moves to next_wakeup() and settles there. False (time unchanged) when nothing is due
  /// by `limit`.
  bool step(Instant limit = Instant::max());
  /// Steps until `done()` or until virtual time would pass now() + `limit`; returns done().
  bool run_until(const std::function<bool()>& done, Duration limit = std::chrono::seconds(600));
  /// Steps through everything due in the next `d`, then sets the time to now() + `d`.
  void run_for(Duration d);

  /// Rounds settle() runs at one instant by default: far more than any exchange needs.
  static constexpr int kMaxRounds = 10000;

 private:
  bool take_arrivals(Side to);
  bool transmit_from(Side from);

  stack::Stack* a_;
  stack::Stack* b_;
  Link& a_to_b_;
  Link& b_to_a_;
  Instant now_;
  std::vector<std::byte> buffer_;  ///< one datagram being emitted
  PairStats stats_;
};

}  // namespace synack::sim
