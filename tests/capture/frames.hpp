// Test helpers for capture tests: byte builders for IP datagrams and the link-layer headers that wrap
// them (Ethernet + VLAN tags, Linux SLL/SLL2, BSD loopback).
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <vector>

namespace synack::capture::testing {

using ByteVector = std::vector<std::byte>;

inline void append_u8(ByteVector& out, std::uint32_t value) {
  out.push_back(static_cast<std::byte>(value & 0xFFU));
}
inline void append_be16(ByteVector& out, std::uint32_t value) {
  append_u8(out, value >> 8U);
  append_u8(out, value);
}
inline void append_be32(ByteVector& out, std::uint32_t value) {
  append_be16(out, value >> 16U);
  append_be16(out, value);
}
inline void append_le16(ByteVector& out, std::uint32_t value) {
  append_u8(out, value);
  append_u8(out, value >> 8U);
}
inline void append_le32(ByteVector& out, std::uint32_t value) {
  append_le16(out, value);
  append_le16(out, value >> 16U);
}
inline void append(ByteVector& out, const ByteVector& bytes) {
  out.insert(out.end(), bytes.begin(), bytes.end());
}

/// An IPv4-looking datagram of `size` bytes (>= 20): version/IHL 0x45, total length = size, then a
/// recognisable pattern seeded by `seed`. Not a valid TCP packet; the link layer does not care.
inline ByteVector ipv4_datagram(std::size_t size = 40, std::uint8_t seed = 1) {
  ByteVector out;
  append_u8(out, 0x45);
  append_u8(out, 0);
  append_be16(out, static_cast<std::uint32_t>(size));
  while (out.size() < size) append_u8(out, static_cast<std::uint32_t>(seed + out.size()));
  return out;
}

/// An IPv6-looking datagram of `size` bytes (>= 40): version 6, payload length = size - 40.
inline ByteVector ipv6_datagram(std::size_t size = 60, std::uint8_t seed = 2) {
  ByteVector out;
  append_be32(out, 0x60000000U);
  append_be16(out, static_cast<std::uint32_t>(size - 40));
  while (out.size() < size) append_u8(out, static_cast<std::uint32_t>(seed + out.size()));
  return out;
}

/// Ethernet II: dst, src, then each (tpid, tci) tag, then `ethertype`, then `payload`.
struct VlanTag {
  std::uint16_t tpid;
  std::uint16_t tci;
};
inline ByteVector ethernet(std::uint16_t ethertype, const ByteVector& payload,
                           std::initializer_list<VlanTag> tags = {}) {
  ByteVector out;
  for (std::uint32_t i = 0; i < 6; ++i) append_u8(out, 0x02 + i);  // dst
  for (std::uint32_t i = 0; i < 6; ++i) append_u8(out, 0x12 + i);  // src
  for (const VlanTag& tag : tags) {
    append_be16(out, tag.tpid);
    append_be16(out, tag.tci);
  }
  append_be16(out, ethertype);
  append(out, payload);
  return out;
}

/// Linux cooked capture v1: packet type, ARPHRD_ETHER, address length 6, 8 address bytes, protocol.
inline ByteVector sll(std::uint16_t protocol, const ByteVector& payload) {
  ByteVector out;
  append_be16(out, 0);  // PACKET_HOST
  append_be16(out, 1);  // ARPHRD_ETHER
  append_be16(out, 6);
  for (std::uint32_t i = 0; i < 8; ++i) append_u8(out, i < 6 ? 0x20 + i : 0);
  append_be16(out, protocol);
  append(out, payload);
  return out;
}

/// Linux cooked capture v2: protocol, reserved, ifindex, ARPHRD_ETHER, packet type, address length,
/// 8 address bytes.
inline ByteVector sll2(std::uint16_t protocol, const ByteVector& payload) {
  ByteVector out;
  append_be16(out, protocol);
  append_be16(out, 0);
  append_be32(out, 3);  // interface index
  append_be16(out, 1);  // ARPHRD_ETHER
  append_u8(out, 0);    // PACKET_HOST
  append_u8(out, 6);
  for (std::uint32_t i = 0; i < 8; ++i) append_u8(out, i < 6 ? 0x30 + i : 0);
  append(out, payload);
  return out;
}

/// BSD loopback: a 4-byte address family, little- or big-endian, then the datagram.
inline ByteVector loopback(std::uint32_t af, bool little_endian, const ByteVector& payload) {
  ByteVector out;
  if (little_endian) {
    append_le32(out, af);
  } else {
    append_be32(out, af);
  }
  append(out, payload);
  return out;
}

}  // namespace synack::capture::testing
