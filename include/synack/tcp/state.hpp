// TCP connection states with their RFC 9293 §3.3.2 names.
#pragma once

#include <cstdint>
#include <string_view>

namespace synack::tcp {

enum class State : std::uint8_t {
  closed,
  listen,
  syn_sent,
  syn_received,
  established,
  fin_wait_1,
  fin_wait_2,
  close_wait,
  closing,
  last_ack,
  time_wait,
};

/// "CLOSED", "SYN-SENT", ... as RFC 9293 spells them.
[[nodiscard]] std::string_view to_string(State state) noexcept;

/// ESTABLISHED and every state after it (RFC 9293 §3.10.7.4 "synchronized states"). SYN-RECEIVED is not
/// included: it has its own ACK rule.
[[nodiscard]] constexpr bool is_synchronized(State s) noexcept {
  return s >= State::established;
}

}  // namespace synack::tcp
