// Internal to wire/: the Internet checksum's inner loop as inline functions, shared by checksum.cpp,
// ipv4.cpp and packet.cpp so a whole packet is summed in one pass.
//
// RFC 1071 §2(B): the one's-complement sum is byte-order independent, so the bytes are summed in the
// machine's own order (plain loads, no per-byte shifts) and the folded 16-bit result is swapped once at
// the end. RFC 1071 §2(C): carries are deferred — 64-bit words go into a 64-bit accumulator with an
// end-around carry, and the fold to 16 bits happens once per packet.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace synack::wire::detail {

/// A 16-bit big-endian (wire order) value as it reads in native order at an even offset.
[[nodiscard]] constexpr std::uint64_t native16(std::uint16_t wire_value) noexcept {
  if constexpr (std::endian::native == std::endian::little) return std::byteswap(wire_value);
  return wire_value;
}
/// A 32-bit big-endian value as it reads in native order at an offset that is a multiple of 2.
[[nodiscard]] constexpr std::uint64_t native32(std::uint32_t wire_value) noexcept {
  if constexpr (std::endian::native == std::endian::little) return std::byteswap(wire_value);
  return wire_value;
}

/// acc + w with the carry out of bit 63 added back in (one's-complement addition on 64 bits). Written
/// with the overflow builtin it compiles to `add; adc $0` (two instructions; the `acc < w` compare made
/// three). GCC's x86 add-with-carry intrinsic would chain words at one instruction each, but GCC 12
/// stored its result to the stack after every step.
[[nodiscard, gnu::always_inline]] inline std::uint64_t add_carry(std::uint64_t acc,
                                                                 std::uint64_t w) noexcept {
  const bool carry = __builtin_add_overflow(acc, w, &acc);
  return acc + static_cast<std::uint64_t>(carry);
}

[[nodiscard]] inline std::uint64_t load_native64(const std::byte* p) noexcept {
  std::uint64_t v = 0;
  std::memcpy(&v, p, sizeof v);
  return v;
}
[[nodiscard]] inline std::uint32_t load_native32(const std::byte* p) noexcept {
  std::uint32_t v = 0;
  std::memcpy(&v, p, sizeof v);
  return v;
}

/// Adds `n` bytes at `p`, which start at an even offset of the summed stream, to the native-order
/// accumulator `acc`. An odd trailing byte is padded with a zero byte (RFC 1071 §4.1). Any alignment.
/// Always inlined: with a second caller in packet.cpp (the receive path) GCC made it a call from both
/// (≈46 instructions a packet, callgrind). After the 64-byte blocks, one test per remaining size bit and
/// no loop: a TCP header (20 to 60 bytes) is summed without a loop's set-up.
[[nodiscard, gnu::always_inline]] inline std::uint64_t sum_native(const std::byte* p, std::size_t n,
                                                                  std::uint64_t acc) noexcept {
  if (n >= 64) {
    // Two independent carry chains, so a long segment is not bound by one add-with-carry latency.
    std::uint64_t other = 0;
    do {
      // Written out: GCC -O2 kept a four-step loop as a loop.
      acc = add_carry(acc, load_native64(p));
      other = add_carry(other, load_native64(p + 8));
      acc = add_carry(acc, load_native64(p + 16));
      other = add_carry(other, load_native64(p + 24));
      acc = add_carry(acc, load_native64(p + 32));
      other = add_carry(other, load_native64(p + 40));
      acc = add_carry(acc, load_native64(p + 48));
      other = add_carry(other, load_native64(p + 56));
      p += 64;
      n -= 64;
    } while (n >= 64);
    acc = add_carry(acc, other);
  }
  if ((n & 32U) != 0) {
    acc = add_carry(add_carry(acc, load_native64(p)), load_native64(p + 8));
    acc = add_carry(add_carry(acc, load_native64(p + 16)), load_native64(p + 24));
    p += 32;
  }
  if ((n & 16U) != 0) {
    acc = add_carry(add_carry(acc, load_native64(p)), load_native64(p + 8));
    p += 16;
  }
  if ((n & 8U) != 0) {
    acc = add_carry(acc, load_native64(p));
    p += 8;
  }
  // At most 7 bytes left: their pieces add up to less than 2^33 and join the sum with one carry.
  std::uint64_t tail = 0;
  if ((n & 4U) != 0) {
    tail = load_native32(p);
    p += 4;
  }
  if ((n & 2U) != 0) {
    std::uint16_t v = 0;
    std::memcpy(&v, p, sizeof v);
    tail += v;
    p += 2;
  }
  if ((n & 1U) != 0) {
    // The last byte is the high-order byte of a zero-padded 16-bit word: in native order that is the
    // byte at the lower address of the word.
    const auto b = static_cast<std::uint64_t>(static_cast<std::uint8_t>(*p));
    tail += std::endian::native == std::endian::little ? b : b << 8U;
  }
  return add_carry(acc, tail);
}

/// The pseudo-header (RFC 9293 §3.1 for IPv4, RFC 8200 §8.1 for IPv6) added to `acc` as integers.
/// `src` and `dst` point at 4 (IPv4) or 16 (IPv6) address bytes.
[[nodiscard]] inline std::uint64_t sum_pseudo_header(const std::byte* src, const std::byte* dst, bool v4,
                                                     std::uint8_t protocol, std::uint32_t upper_length,
                                                     std::uint64_t acc) noexcept {
  if (v4) {
    // Source, destination, zero, PTCL, TCP length (16 bits): all below 2^35 together.
    return add_carry(acc, std::uint64_t{load_native32(src)} + load_native32(dst) + native16(protocol) +
                              native16(static_cast<std::uint16_t>(upper_length)));
  }
  // Source, destination, upper-layer length (32 bits), three zero bytes, next header.
  acc = add_carry(acc, load_native64(src));
  acc = add_carry(acc, load_native64(src + 8));
  acc = add_carry(acc, load_native64(dst));
  acc = add_carry(acc, load_native64(dst + 8));
  return add_carry(acc, native32(upper_length) + native32(protocol));
}

/// The 20 bytes of an option-less IPv4 header, unrolled: two 64-bit words and one 32-bit word.
[[nodiscard]] inline std::uint64_t sum_native20(const std::byte* p) noexcept {
  return add_carry(add_carry(load_native64(p), load_native64(p + 8)), load_native32(p + 16));
}

/// Folds a native-order accumulator to the 16-bit one's-complement sum in wire (big-endian) order.
/// Always inlined: left to LTO it was inlined into emit_tcp_packet or not depending on unrelated changes
/// elsewhere (68 instructions per RST handshake between two builds of one branch, callgrind).
/// Each halving adds the value to itself rotated by half its width: the upper half then holds the two
/// halves' sum with the end-around carry (the carry out of the lower half is the one the upper half
/// drops), four instructions a step instead of six.
[[nodiscard, gnu::always_inline]] inline std::uint16_t fold_to_wire16(std::uint64_t acc) noexcept {
  const auto s32 = static_cast<std::uint32_t>((acc + std::rotr(acc, 32)) >> 32U);
  auto folded = static_cast<std::uint16_t>((s32 + std::rotr(s32, 16)) >> 16U);
  if constexpr (std::endian::native == std::endian::little) folded = std::byteswap(folded);
  return folded;
}

}  // namespace synack::wire::detail
