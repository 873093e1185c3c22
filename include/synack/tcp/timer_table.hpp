/// @file
/// A connection's timers as a small table indexed by kind (as quinn-proto's TimerTable): each kind has one
/// meaning in every state, and the connection's next deadline is the table's minimum. The Stack files
/// that minimum in its timer wheel; the connection never scans anything.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>

#include "synack/time.hpp"

namespace synack::tcp {

/// The kinds of timer a connection runs; each has one meaning in every state.
enum class TimerKind : std::uint8_t {
  retransmit,  ///< RFC 6298: SYN, SYN-ACK (simultaneous open), data or FIN outstanding
  persist,     ///< RFC 9293 §3.8.6.1 zero-window probe, and the §3.8.6.2.1 SWS override timeout
  fin_wait_2,  ///< an orphaned FIN-WAIT-2 ends (Linux tcp_fin_timeout)
  time_wait,   ///< 2 MSL after entering TIME-WAIT (or after the last retransmitted FIN)
};
/// How many TimerKind values there are (the table's size).
inline constexpr std::size_t kTimerKinds = 4;

/// One connection's deadlines, one per TimerKind; Instant::max() means "not armed".
class TimerTable {
 public:
  /// Arms (or re-arms) `kind` for `at`.
  void set(TimerKind kind, Instant at) noexcept { at_[index(kind)] = at; }
  /// Disarms `kind`.
  void stop(TimerKind kind) noexcept { at_[index(kind)] = Instant::max(); }
  /// Disarms every timer (the connection reached CLOSED).
  void stop_all() noexcept { at_.fill(Instant::max()); }
  /// The deadline of `kind`; Instant::max() when not armed.
  [[nodiscard]] Instant get(TimerKind kind) const noexcept { return at_[index(kind)]; }
  /// Whether `kind` is armed.
  [[nodiscard]] bool armed(TimerKind kind) const noexcept { return get(kind) != Instant::max(); }
  /// Armed and due at `now`: stops it and says so (the caller then acts on it).
  [[nodiscard]] bool take_due(TimerKind kind, Instant now) noexcept {
    if (get(kind) > now) return false;
    stop(kind);
    return true;
  }
  /// The earliest armed deadline; Instant::max() when none.
  [[nodiscard]] Instant next() const noexcept { return *std::min_element(at_.begin(), at_.end()); }

 private:
  [[nodiscard]] static constexpr std::size_t index(TimerKind kind) noexcept {
    return static_cast<std::size_t>(kind);
  }
  std::array<Instant, kTimerKinds> at_{Instant::max(), Instant::max(), Instant::max(), Instant::max()};
};

}  // namespace synack::tcp
