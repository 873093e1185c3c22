// TIME-WAIT records: tuple packing and the SYN-reuse rule (RFC 6191).
#include "synack/tcp/time_wait.hpp"

namespace synack::tcp {

bool TimeWaitRecord::accepts_syn(const wire::TcpHeader& header) const noexcept {
  if (timestamps() && header.options.timestamps) {
    return static_cast<std::int32_t>(header.options.timestamps->value - ts_recent) > 0;
  }
  return header.seq > wire::SeqNum(rcv_nxt);
}

}  // namespace synack::tcp
