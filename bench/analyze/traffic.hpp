// Synthetic capture traffic for benchmarks: many interleaved handshakes (mostly established, some
// refused, timed out or with retransmitted SYN-ACKs), each followed by a few data packets and a close.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "synack/wire/packet.hpp"

namespace synack::analyze::bench {

/// One packet to be materialised: which connection, which step, when.
struct Planned {
  std::int64_t time_ns;
  std::uint32_t connection;
  std::uint16_t step;
};

inline constexpr int kDataPackets = 10;  // per established connection, each way alternately

/// Kind of connection i: 0 established, 1 refused, 2 timeout, 3 established after a SYN-ACK retransmit.
inline int kind_of(std::uint32_t i) {
  const auto r = (i * 2654435761U) % 100U;
  return r < 85 ? 0 : (r < 93 ? 1 : (r < 97 ? 2 : 3));
}

/// Steps of connection i with their offsets from its start (ns).
inline void plan_connection(std::uint32_t i, std::int64_t start, std::vector<Planned>& out) {
  const std::int64_t rtt = 40000 + static_cast<std::int64_t>((i * 7919U) % 200000U);
  auto add = [&](std::int64_t offset, int step) {
    out.push_back({start + offset, i, static_cast<std::uint16_t>(step)});
  };
  switch (kind_of(i)) {
    case 1:
      add(0, 0);
      add(rtt, 100);
      return;
    case 2:
      add(0, 0);
      add(1000000000, 0);
      add(3000000000, 0);
      return;
    default: {
      add(0, 0);
      std::int64_t t = rtt;
      if (kind_of(i) == 3) {
        add(t, 1);
        t += 1000000000;
      }
      add(t, 1);
      t += rtt / 4;
      add(t, 2);
      for (int d = 0; d < kDataPackets; ++d) {
        t += 20000;
        add(t, 3 + d);
      }
      add(t + 10000, 50);
      add(t + 20000, 51);
      return;
    }
  }
}

/// A time-ordered plan with at least `packets` packets; a new connection starts every `spacing_ns`.
inline std::vector<Planned> plan(std::size_t packets, std::int64_t spacing_ns = 50000) {
  std::vector<Planned> out;
  out.reserve(packets + 32);
  const std::int64_t base = 1767225600LL * 1000000000LL;
  for (std::uint32_t i = 0; out.size() < packets; ++i) plan_connection(i, base + i * spacing_ns, out);
  std::sort(out.begin(), out.end(), [](const Planned& a, const Planned& b) {
    return a.time_ns != b.time_ns ? a.time_ns < b.time_ns : a.connection < b.connection;
  });
  return out;
}

/// Writes the datagram for one planned packet into `buffer`; returns its size.
inline std::size_t materialise(const Planned& p, std::vector<std::byte>& buffer) {
  const std::uint32_t i = p.connection;
  const auto client = wire::IpAddress::v4(0x0A000000U | ((i / 50000U) & 0xFFFFU) << 8U | (1U + i % 250U));
  const auto server = wire::IpAddress::v4(0xC0000200U | (1U + (i % 7U)));
  const auto client_port = static_cast<std::uint16_t>(1024U + (i % 60000U));
  const std::uint16_t server_port = 443;
  const std::uint32_t cisn = i * 2654435761U;
  const std::uint32_t sisn = i * 40503U + 17U;
  wire::TcpHeader h;
  bool from_client = true;
  std::size_t payload = 0;
  wire::TcpOptions syn_options;
  syn_options.mss = 1460;
  syn_options.sack_permitted = true;
  syn_options.timestamps = wire::Timestamps{i, 0};
  syn_options.wscale = 7;
  wire::TcpOptions ts;
  ts.timestamps = wire::Timestamps{i + 1, i};
  if (p.step == 0) {
    h.flags = wire::TcpFlags(wire::TcpFlags::kSyn);
    h.seq = wire::SeqNum(cisn);
    h.options = syn_options;
  } else if (p.step == 1) {
    from_client = false;
    h.flags = wire::TcpFlags(wire::TcpFlags::kSyn | wire::TcpFlags::kAck);
    h.seq = wire::SeqNum(sisn);
    h.ack = wire::SeqNum(cisn + 1);
    h.options = syn_options;
  } else if (p.step == 100) {
    from_client = false;
    h.flags = wire::TcpFlags(wire::TcpFlags::kRst | wire::TcpFlags::kAck);
    h.ack = wire::SeqNum(cisn + 1);
  } else {
    const bool data = p.step >= 3 && p.step < 3 + kDataPackets;
    const int n = data ? p.step - 3 : 0;
    from_client = p.step == 2 || p.step == 50 || (data && n % 2 == 0);
    payload = data ? 16 : 0;
    const std::uint32_t client_sent = 1U + static_cast<std::uint32_t>((n + 1) / 2) * 16U;
    const std::uint32_t server_sent = 1U + static_cast<std::uint32_t>(n / 2) * 16U;
    h.flags =
        wire::TcpFlags(static_cast<std::uint16_t>(wire::TcpFlags::kAck | (data ? wire::TcpFlags::kPsh : 0) |
                                                  (p.step >= 50 ? wire::TcpFlags::kFin : 0)));
    h.seq = wire::SeqNum((from_client ? cisn : sisn) + (from_client ? client_sent : server_sent));
    h.ack = wire::SeqNum((from_client ? sisn : cisn) + (from_client ? server_sent : client_sent));
    h.options = ts;
  }
  h.src_port = from_client ? client_port : server_port;
  h.dst_port = from_client ? server_port : client_port;
  h.window = 502;
  const std::vector<std::byte> data(payload, std::byte{0x42});
  buffer.resize(wire::tcp_packet_size(wire::IpVersion::v4, h, payload));
  auto n =
      wire::emit_tcp_packet(from_client ? client : server, from_client ? server : client, h, data, buffer);
  return n.value_or(0);
}

}  // namespace synack::analyze::bench
