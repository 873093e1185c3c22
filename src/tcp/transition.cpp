// A connection's state transitions described in RFC 9293's words (transition.hpp).
#include "synack/tcp/transition.hpp"

#include <array>
#include <utility>

namespace synack::tcp {
namespace {

/// "SYN,ACK", "FIN,ACK", "RST": the control flags of the arriving segment as RFC 9293's diagram names them.
std::string flag_names(wire::TcpFlags flags) {
  static constexpr std::array<std::pair<std::uint16_t, const char*>, 4> kNames{
      {{wire::TcpFlags::kSyn, "SYN"},
       {wire::TcpFlags::kFin, "FIN"},
       {wire::TcpFlags::kRst, "RST"},
       {wire::TcpFlags::kAck, "ACK"}}};
  std::string out;
  for (const auto& [bit, name] : kNames) {
    if (!flags.has(bit)) continue;
    if (!out.empty()) out += ',';
    out += name;
  }
  return out.empty() ? std::string{"segment"} : out;
}

/// What an arriving segment did, where the flags alone do not say it.
const char* segment_meaning(State from, State to) noexcept {
  if (from == State::syn_sent && to == State::syn_received) return " (simultaneous open)";
  if (from == State::syn_received && to == State::established) return " (ACK of SYN)";
  const bool fin_acked = (from == State::fin_wait_1 && to == State::fin_wait_2) ||
                         (from == State::closing && to == State::time_wait) ||
                         (from == State::last_ack && to == State::closed);
  return fin_acked ? " (ACK of FIN)" : "";
}

std::string timeout_meaning(State from) {
  switch (from) {
    case State::time_wait:
      return "timeout 2MSL";
    case State::fin_wait_2:
      return "FIN-WAIT-2 timeout";
    case State::syn_sent:
    case State::syn_received:
      return "SYN retransmissions exhausted";
    default:
      return "retransmissions exhausted";
  }
}

}  // namespace

std::string describe(const Transition& t) {
  std::string why;
  switch (t.trigger) {
    case Trigger::open:
      why = "OPEN";
      break;
    case Trigger::accept:
      why = "handshake completed in the listener";
      break;
    case Trigger::segment:
      why = "rcv " + flag_names(t.flags) + segment_meaning(t.from, t.to);
      break;
    case Trigger::close:
      why = "CLOSE";
      break;
    case Trigger::abort:
      why = "ABORT";
      break;
    case Trigger::timeout:
      why = timeout_meaning(t.from);
      break;
  }
  if (t.error) {
    why += " (";
    why += to_string(*t.error);
    why += ')';
  }
  return why;
}

}  // namespace synack::tcp
