/// @file
/// A 4-tuple packed into 36 bytes for the compact per-flow records (half-open entries, TIME-WAIT
/// records): both addresses in 16-byte arrays (IPv4 in the first 4) and the two ports. The address family
/// is kept by the record that holds it (one flag bit), so the record stays within its byte budget.
#pragma once

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>

#include "synack/wire/ip_address.hpp"

namespace synack::tcp {

/// A FourTuple without its address family: 36 bytes, as the compact records store it (see the file comment).
struct PackedTuple {
  std::array<std::byte, 16> local_addr{};   ///< our address; IPv4 in the first 4 bytes, the rest zero
  std::array<std::byte, 16> remote_addr{};  ///< the peer's address, laid out the same way
  std::uint16_t local_port = 0;             ///< our port
  std::uint16_t remote_port = 0;            ///< the peer's port

  /// Packs `tuple` (the family is dropped: the caller records it).
  [[nodiscard]] static PackedTuple pack(const wire::FourTuple& tuple) noexcept {
    PackedTuple p;
    // IpAddress keeps an IPv4 address in the first 4 of its 16 bytes and zeroes the rest.
    p.local_addr = std::bit_cast<std::array<std::byte, 16>>(tuple.local.address.words());
    p.remote_addr = std::bit_cast<std::array<std::byte, 16>>(tuple.remote.address.words());
    p.local_port = tuple.local.port;
    p.remote_port = tuple.remote.port;
    return p;
  }
  /// The tuple again, for a record of family `v6` (true: IPv6).
  [[nodiscard]] wire::FourTuple unpack(bool v6) const noexcept {
    const auto addr = [v6](const std::array<std::byte, 16>& b) {
      return v6 ? wire::IpAddress::v6(b)
                : wire::IpAddress::v4(std::array<std::byte, 4>{b[0], b[1], b[2], b[3]});
    };
    return {{addr(local_addr), local_port}, {addr(remote_addr), remote_port}};
  }
  /// Whether `tuple` is the packed one (for a record of family `v6`), without unpacking.
  [[nodiscard]] bool matches(const wire::FourTuple& tuple, bool v6) const noexcept {
    if (tuple.local.port != local_port || tuple.remote.port != remote_port ||
        tuple.local.address.is_v6() != v6) {
      return false;
    }
    // Four 64-bit compares, not a byte loop: every packet of a half-open or TIME-WAIT flow comes here.
    const auto r = tuple.remote.address.words();
    const auto l = tuple.local.address.words();
    const auto pr = std::bit_cast<std::array<std::uint64_t, 2>>(remote_addr);
    const auto pl = std::bit_cast<std::array<std::uint64_t, 2>>(local_addr);
    return ((r[0] ^ pr[0]) | (r[1] ^ pr[1]) | (l[0] ^ pl[0]) | (l[1] ^ pl[1])) == 0;
  }
};
static_assert(sizeof(PackedTuple) == 36);

}  // namespace synack::tcp
