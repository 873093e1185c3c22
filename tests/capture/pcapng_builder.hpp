// Hand-built pcapng files for the reader's tests: sections in either byte order, interfaces with
// if_tsresol / if_tsoffset, Enhanced, Simple and obsolete Packet Blocks, and raw blocks for damage.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "frames.hpp"

namespace synack::capture::testing {

class PcapngBuilder {
 public:
  /// A Section Header Block; the blocks after it use its byte order.
  PcapngBuilder& section(bool big_endian = false, std::uint16_t major = 1) {
    big_ = big_endian;
    ByteVector body;
    u32(body, 0x1A2B3C4D);
    u16(body, major);
    u16(body, 0);
    u32(body, 0xFFFFFFFF);  // section length: unknown
    u32(body, 0xFFFFFFFF);
    return block(0x0A0D0D0A, body);
  }

  /// An Interface Description Block; options in the order given, then opt_endofopt.
  PcapngBuilder& interface(std::uint16_t linktype, std::uint32_t snaplen = 262144,
                           std::optional<std::uint8_t> tsresol = std::nullopt,
                           std::optional<std::int64_t> tsoffset = std::nullopt) {
    ByteVector body;
    u16(body, linktype);
    u16(body, 0);
    u32(body, snaplen);
    u16(body, 2);  // if_name, skipped
    u16(body, 3);
    append(body, ByteVector{std::byte{'e'}, std::byte{'t'}, std::byte{'h'}, std::byte{0}});
    if (tsresol) {
      u16(body, 9);
      u16(body, 1);
      append(body, ByteVector{std::byte{*tsresol}, std::byte{0}, std::byte{0}, std::byte{0}});
    }
    if (tsoffset) {
      u16(body, 14);
      u16(body, 8);
      u64(body, static_cast<std::uint64_t>(*tsoffset));
    }
    u32(body, 0);
    return block(1, body);
  }

  /// An Enhanced Packet Block (origlen defaults to the data's size); a comment option follows the data.
  PcapngBuilder& packet(std::uint32_t interface, std::uint64_t units, const ByteVector& data,
                        std::optional<std::uint32_t> origlen = std::nullopt) {
    ByteVector body;
    u32(body, interface);
    u32(body, static_cast<std::uint32_t>(units >> 32U));
    u32(body, static_cast<std::uint32_t>(units));
    u32(body, static_cast<std::uint32_t>(data.size()));
    u32(body, origlen.value_or(static_cast<std::uint32_t>(data.size())));
    append(body, data);
    pad(body);
    u16(body, 1);  // opt_comment
    u16(body, 2);
    append(body, ByteVector{std::byte{'h'}, std::byte{'i'}, std::byte{0}, std::byte{0}});
    u32(body, 0);
    return block(6, body);
  }

  /// A Simple Packet Block holding `data` (origlen may be larger: the snaplen cut it).
  PcapngBuilder& simple(const ByteVector& data, std::uint32_t origlen) {
    ByteVector body;
    u32(body, origlen);
    append(body, data);
    pad(body);
    return block(3, body);
  }

  /// An obsolete Packet Block (type 2): 16-bit interface id and drop count.
  PcapngBuilder& obsolete(std::uint16_t interface, std::uint64_t units, const ByteVector& data) {
    ByteVector body;
    u16(body, interface);
    u16(body, 0);
    u32(body, static_cast<std::uint32_t>(units >> 32U));
    u32(body, static_cast<std::uint32_t>(units));
    u32(body, static_cast<std::uint32_t>(data.size()));
    u32(body, static_cast<std::uint32_t>(data.size()));
    append(body, data);
    pad(body);
    return block(2, body);
  }

  /// Any block: type, body, both lengths computed.
  PcapngBuilder& block(std::uint32_t type, const ByteVector& body) {
    const auto total = static_cast<std::uint32_t>(12 + body.size());
    u32(out_, type);
    u32(out_, total);
    append(out_, body);
    u32(out_, total);
    return *this;
  }

  /// Raw bytes (for damage).
  PcapngBuilder& raw(const ByteVector& bytes) {
    append(out_, bytes);
    return *this;
  }
  /// A 32-bit value in the current byte order (for damage).
  PcapngBuilder& word(std::uint32_t value) {
    u32(out_, value);
    return *this;
  }

  [[nodiscard]] const ByteVector& bytes() const { return out_; }

 private:
  void u16(ByteVector& out, std::uint32_t v) const {
    if (big_) {
      append_be16(out, v);
    } else {
      append_le16(out, v);
    }
  }
  void u32(ByteVector& out, std::uint32_t v) const {
    if (big_) {
      append_be32(out, v);
    } else {
      append_le32(out, v);
    }
  }
  void u64(ByteVector& out, std::uint64_t v) const {
    const auto high = static_cast<std::uint32_t>(v >> 32U);
    const auto low = static_cast<std::uint32_t>(v);
    u32(out, big_ ? high : low);
    u32(out, big_ ? low : high);
  }
  static void pad(ByteVector& out) {
    while (out.size() % 4 != 0) out.push_back(std::byte{0});
  }

  ByteVector out_;
  bool big_ = false;
};

}  // namespace synack::capture::testing
