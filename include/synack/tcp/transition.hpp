/// @file
/// A connection's state transitions as values: old state, new state and why (the event of RFC 9293's
/// state diagram, §3.3.2 figure 5, that the connection was handling), reported through a TransitionSink the
/// owner of the Config installs (the Stack's log hook, docs/engine.md "Observing a stack").
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "synack/tcp/error.hpp"
#include "synack/tcp/state.hpp"
#include "synack/wire/tcp.hpp"

namespace synack::tcp {

class Connection;

/// The event a connection was handling when it changed state.
enum class Trigger : std::uint8_t {
  open,     ///< an active OPEN (CLOSED → SYN-SENT), or a SYN reopening TIME-WAIT (RFC 9293 §3.10.7.4)
  accept,   ///< a listener's handshake completed: the connection is born in its synchronized state
  segment,  ///< a segment arrived (Transition::flags are its flags)
  close,    ///< the user's CLOSE or shutdown (RFC 9293 §3.10.4)
  abort,    ///< the user's ABORT (RFC 9293 §3.10.5)
  timeout,  ///< a timer: retransmissions exhausted, FIN-WAIT-2's timer or 2 × MSL
};

/// One state change of one connection.
struct Transition {
  State from = State::closed;       ///< the state left
  State to = State::closed;         ///< the state entered
  Trigger trigger = Trigger::open;  ///< the event being handled
  wire::TcpFlags flags;             ///< the arriving segment's flags (Trigger::segment only)
  std::optional<Error> error;       ///< why the connection failed, when it did (refused, reset, timed_out …)
  /// Field by field.
  friend constexpr bool operator==(const Transition&, const Transition&) noexcept = default;
};

/// Why, in the words of RFC 9293's state diagram: "rcv SYN,ACK", "rcv FIN", "CLOSE", "ABORT", "timeout
/// 2MSL", "SYN retransmissions exhausted" …; with the error appended when there is one ("rcv RST (connection
/// reset)").
[[nodiscard]] std::string describe(const Transition& transition);

/// Receives every transition of every connection whose Config names it (Config::transition_sink). Called
/// inside the engine's call: must not call back into the connection or its owner, must not throw.
class TransitionSink {
 public:
  /// `connection` has already entered `transition.to`.
  virtual void on_transition(const Connection& connection, const Transition& transition) noexcept = 0;

 protected:
  TransitionSink() = default;
  /// @{
  /// Copyable as a base; never destroyed through a TransitionSink pointer.
  TransitionSink(const TransitionSink&) = default;
  TransitionSink& operator=(const TransitionSink&) = default;
  ~TransitionSink() = default;
  /// @}
};

}  // namespace synack::tcp
