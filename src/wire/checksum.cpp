#include "synack/wire/checksum.hpp"

#include "checksum_sum.hpp"
#include "synack/wire/ip_address.hpp"

namespace synack::wire {

void ChecksumAccumulator::add(Bytes bytes) noexcept {
  if (bytes.empty()) return;
  std::size_t i = 0;
  if (odd_) {  // this byte completes the 16-bit word the previous piece began
    sum_ += static_cast<std::uint8_t>(bytes[0]);
    i = 1;
    odd_ = false;
  }
  // The rest starts at an even offset of the stream: sum it in one pass and add its folded value.
  const std::size_t n = bytes.size() - i;
  sum_ += detail::fold_to_wire16(detail::sum_native(bytes.data() + i, n, 0));
  odd_ = (n % 2) != 0;
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
  if (odd_) {  // not at a word boundary (unusual): add it as bytes, in the RFCs' layout
    add(src.bytes());
    add(dst.bytes());
    if (src.is_v4()) {
      add_u16(protocol);
      add_u16(static_cast<std::uint16_t>(upper_length));
    } else {
      add_u32(upper_length);
      add_u32(protocol);
    }
    return;
  }
  sum_ += detail::fold_to_wire16(detail::sum_pseudo_header(src.bytes().data(), dst.bytes().data(),
                                                           src.is_v4(), protocol, upper_length, 0));
}

std::uint16_t ChecksumAccumulator::folded() const noexcept {
  std::uint64_t s = sum_;
  while ((s >> 16U) != 0) s = (s & 0xFFFFU) + (s >> 16U);
  return static_cast<std::uint16_t>(s);
}

std::uint16_t internet_checksum(Bytes bytes) noexcept {
  return static_cast<std::uint16_t>(
      ~detail::fold_to_wire16(detail::sum_native(bytes.data(), bytes.size(), 0)));
}

std::uint16_t upper_layer_checksum(const IpAddress& src, const IpAddress& dst, std::uint8_t protocol,
                                   Bytes upper) noexcept {
  std::uint64_t acc = detail::sum_pseudo_header(src.bytes().data(), dst.bytes().data(), src.is_v4(), protocol,
                                                static_cast<std::uint32_t>(upper.size()), 0);
  acc = detail::sum_native(upper.data(), upper.size(), acc);
  return static_cast<std::uint16_t>(~detail::fold_to_wire16(acc));
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
