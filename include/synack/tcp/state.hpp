/// @file
/// TCP connection states with their RFC 9293 §3.3.2 names.
#pragma once

#include <cstdint>
#include <string_view>

namespace synack::tcp {

/// The state of a connection (RFC 9293 §3.3.2), in the order the standard lists them: every state from
/// `established` on is synchronized.
enum class State : std::uint8_t {
  closed,        ///< no connection (before open, after the end)
  listen,        ///< waiting for a SYN (a listener; connections never report it)
  syn_sent,      ///< our SYN sent, waiting for the SYN-ACK (active open)
  syn_received,  ///< SYN received and SYN-ACK sent, waiting for the final ACK
  established,   ///< open: data flows both ways
  fin_wait_1,    ///< we sent FIN, not yet acknowledged
  fin_wait_2,    ///< our FIN acknowledged, waiting for the peer's
  close_wait,    ///< the peer sent FIN; we may still send
  closing,       ///< both sides sent FIN at once; waiting for the ACK of ours
  last_ack,      ///< the peer closed first, we then sent FIN; waiting for its ACK
  time_wait,     ///< both FINs exchanged; waiting 2 × MSL before the tuple may be reused
};

/// "CLOSED", "SYN-SENT", ... as RFC 9293 spells them.
[[nodiscard]] std::string_view to_string(State state) noexcept;

/// ESTABLISHED and every state after it (RFC 9293 §3.10.7.4 "synchronized states"). SYN-RECEIVED is not
/// included: it has its own ACK rule.
[[nodiscard]] constexpr bool is_synchronized(State s) noexcept {
  return s >= State::established;
}

}  // namespace synack::tcp
