// `synack forward --icmp-unreachable`: the ICMP (or ICMPv6) destination-unreachable a router would send for
// a SYN whose destination cannot be reached, built from the offer (docs/forward.md).
#pragma once

#include <cstddef>
#include <vector>

#include "synack/wire/ip_address.hpp"
#include "synack/wire/seq.hpp"

namespace synack::cli::forward {

/// The datagram answering the client's SYN of `tuple` (local = the destination, remote = the client; the
/// SYN's sequence number `seq`) from the destination's address: ICMP type 3 (RFC 792) or ICMPv6 type 1
/// (RFC 4443 §3.1), the code chosen from the upstream connect's errno (ENETUNREACH: net/no route;
/// EACCES, EPERM: administratively prohibited; otherwise host/address unreachable), quoting the SYN's IP
/// header and the first 8 bytes of its TCP header (ports and sequence number: what the client's kernel
/// matches its connection by).
[[nodiscard]] std::vector<std::byte> icmp_unreachable(const wire::FourTuple& tuple, wire::SeqNum seq,
                                                      int error);

}  // namespace synack::cli::forward
