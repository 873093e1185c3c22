#include "synack/wire/checksum.hpp"

#include <bit>
#include <cstring>

#include "synack/wire/ip_address.hpp"

namespace synack::wire {

void ChecksumAccumulator::add(Bytes bytes) noexcept {
  std::size_t i = 0;
  const std::size_t n = bytes.size();
  if (n == 0) return;
  if (odd_) {  // this byte completes the 16-bit word the previous piece began
    sum_ += static_cast<std::uint8_t>(bytes[0]);
    i = 1;
    odd_ = false;
  }
  // The bulk in native byte order, 32 bits at a time into a 64-bit sum (carries folded once at the end,
  // RFC 1071 §2(C)); the one's-complement sum is byte-order independent (§2(B)), so the folded native
  // sum only needs a byte swap on a little-endian machine to join the big-endian total.
  if (n - i >= 8) {
    std::uint64_t native = 0;
    const std::byte* p = bytes.data();
    for (; i + 8 <= n; i += 8) {
      std::uint32_t a = 0;
      std::uint32_t b = 0;
      std::memcpy(&a, p + i, 4);
      std::memcpy(&b, p + i + 4, 4);
      native += a;
      native += b;
    }
    while ((native >> 16U) != 0) native = (native & 0xFFFFU) + (native >> 16U);
    auto folded16 = static_cast<std::uint16_t>(native);
    if constexpr (std::endian::native == std::endian::little) folded16 = std::byteswap(folded16);
    sum_ += folded16;
  }
  for (; i + 2 <= n; i += 2) sum_ += load_be16(bytes, i);
  if (i < n) {
    sum_ += static_cast<std::uint64_t>(static_cast<std::uint8_t>(bytes[i])) << 8U;
    odd_ = true;
  }
}

void ChecksumAccumulator::add_u16(std::uint16_t value) noexcept {
  std::byte b[2];
  store_be16(b, 0, value);
  add(b);
}

void ChecksumAccumulator::add_u32(std::uint32_t value) noexcept {
  std::byte b[4];
  store_be32(b, 0, value);
  add(b);
}

void ChecksumAccumulator::add_pseudo_header(const IpAddress& src, const IpAddress& dst, std::uint8_t protocol,
                                            std::uint32_t upper_length) noexcept {
  add(src.bytes());
  add(dst.bytes());
  if (src.is_v4()) {
    // RFC 9293 §3.1: source, destination, zero, PTCL, TCP length (16 bits).
    add_u16(protocol);
    add_u16(static_cast<std::uint16_t>(upper_length));
  } else {
    // RFC 8200 §8.1: source, destination, upper-layer packet length (32 bits), zero, next header.
    add_u32(upper_length);
    add_u32(protocol);
  }
}

std::uint16_t ChecksumAccumulator::folded() const noexcept {
  std::uint64_t s = sum_;
  while ((s >> 16U) != 0) s = (s & 0xFFFFU) + (s >> 16U);
  return static_cast<std::uint16_t>(s);
}

std::uint16_t internet_checksum(Bytes bytes) noexcept {
  ChecksumAccumulator acc;
  acc.add(bytes);
  return acc.checksum();
}

std::uint16_t checksum_update(std::uint16_t checksum, std::uint16_t old_value,
                              std::uint16_t new_value) noexcept {
  // RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m').
  std::uint32_t sum = static_cast<std::uint16_t>(~checksum);
  sum += static_cast<std::uint16_t>(~old_value);
  sum += new_value;
  while ((sum >> 16U) != 0) sum = (sum & 0xFFFFU) + (sum >> 16U);
  return static_cast<std::uint16_t>(~sum);
}

std::uint16_t checksum_update(std::uint16_t checksum, std::uint32_t old_value,
                              std::uint32_t new_value) noexcept {
  checksum = checksum_update(checksum, static_cast<std::uint16_t>(old_value >> 16U),
                             static_cast<std::uint16_t>(new_value >> 16U));
  return checksum_update(checksum, static_cast<std::uint16_t>(old_value & 0xFFFFU),
                         static_cast<std::uint16_t>(new_value & 0xFFFFU));
}

}  // namespace synack::wire
