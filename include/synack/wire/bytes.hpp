/// @file
/// Byte spans and explicit big-endian loads and stores. Wire bytes are never reinterpreted as structs:
/// every field is read and written through these helpers at an explicit offset.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

namespace synack::wire {

/// A read-only view of wire bytes; never owns them.
using Bytes = std::span<const std::byte>;
/// A writable view of an output buffer; never owns it.
using MutableBytes = std::span<std::byte>;

/// @{
/// The byte at `offset` / the big-endian (network order) 16- or 32-bit value starting there.
/// Preconditions (checked by the view that calls these): offset + width <= bytes.size().
[[nodiscard]] constexpr std::uint8_t load_u8(Bytes bytes, std::size_t offset) noexcept {
  return static_cast<std::uint8_t>(bytes[offset]);
}
[[nodiscard]] constexpr std::uint16_t load_be16(Bytes bytes, std::size_t offset) noexcept {
  if !consteval {
    // One load and a byte swap: the shift-and-or form was left as a call by LTO in places (issue 10).
    std::uint16_t v = 0;
    std::memcpy(&v, bytes.data() + offset, sizeof v);
    if constexpr (std::endian::native == std::endian::little) v = std::byteswap(v);
    return v;
  }
  return static_cast<std::uint16_t>((static_cast<unsigned>(bytes[offset]) << 8U) |
                                    static_cast<unsigned>(bytes[offset + 1]));
}
[[nodiscard]] constexpr std::uint32_t load_be32(Bytes bytes, std::size_t offset) noexcept {
  if !consteval {
    std::uint32_t v = 0;
    std::memcpy(&v, bytes.data() + offset, sizeof v);
    if constexpr (std::endian::native == std::endian::little) v = std::byteswap(v);
    return v;
  }
  return (static_cast<std::uint32_t>(bytes[offset]) << 24U) |
         (static_cast<std::uint32_t>(bytes[offset + 1]) << 16U) |
         (static_cast<std::uint32_t>(bytes[offset + 2]) << 8U) |
         static_cast<std::uint32_t>(bytes[offset + 3]);
}
/// @}
/// @{
/// Writes `value` at `offset`, big-endian (network order) for the 16- and 32-bit forms.
constexpr void store_u8(MutableBytes bytes, std::size_t offset, std::uint8_t value) noexcept {
  bytes[offset] = static_cast<std::byte>(value);
}
constexpr void store_be16(MutableBytes bytes, std::size_t offset, std::uint16_t value) noexcept {
  if !consteval {
    if constexpr (std::endian::native == std::endian::little) value = std::byteswap(value);
    std::memcpy(bytes.data() + offset, &value, sizeof value);
    return;
  }
  bytes[offset] = static_cast<std::byte>(value >> 8U);
  bytes[offset + 1] = static_cast<std::byte>(value & 0xFFU);
}
constexpr void store_be32(MutableBytes bytes, std::size_t offset, std::uint32_t value) noexcept {
  if !consteval {
    if constexpr (std::endian::native == std::endian::little) value = std::byteswap(value);
    std::memcpy(bytes.data() + offset, &value, sizeof value);
    return;
  }
  bytes[offset] = static_cast<std::byte>(value >> 24U);
  bytes[offset + 1] = static_cast<std::byte>((value >> 16U) & 0xFFU);
  bytes[offset + 2] = static_cast<std::byte>((value >> 8U) & 0xFFU);
  bytes[offset + 3] = static_cast<std::byte>(value & 0xFFU);
}

/// @}
}  // namespace synack::wire
