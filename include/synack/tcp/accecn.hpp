/// @file
/// Accurate ECN (RFC 9768) on the TCP header's three ECN flags: the handshake codepoints and the ACE
/// counter field. Pure functions; the connection's use of them is in src/tcp/ecn.cpp.
#pragma once

#include <cstdint>

#include "synack/wire/tcp.hpp"

namespace synack::tcp::accecn {

/// The ACE field (RFC 9768 §3.2.2): AE, CWR and ECE read as one 3-bit number, AE the most significant.
[[nodiscard]] constexpr std::uint8_t ace(wire::TcpFlags flags) noexcept {
  return static_cast<std::uint8_t>((flags.bits() >> 6U) & 0x07U);
}

/// `flags` with the ACE field replaced by `value` (0-7).
[[nodiscard]] constexpr std::uint16_t with_ace(std::uint16_t flags, std::uint8_t value) noexcept {
  constexpr unsigned kKeep =
      wire::TcpFlags::kMask & ~unsigned{wire::TcpFlags::kAe | wire::TcpFlags::kCwr | wire::TcpFlags::kEce};
  return static_cast<std::uint16_t>((flags & kKeep) | ((value & 0x07U) << 6U));
}

/// The initial value of the CE packet counters r.cep and s.cep (RFC 9768 §3.2.1: 5, so that a
/// middlebox zeroing the flags shows as 0b000).
inline constexpr std::uint8_t kCepInit = 5;

/// RFC 9768 §3.1.1: a SYN requesting AccECN has AE, CWR and ECE set; §3.1.3: a server that does AccECN
/// treats every combination other than 000 (no ECN) and 011 (RFC 3168's ECN-setup SYN) as if it were 111.
[[nodiscard]] constexpr bool requested(wire::TcpFlags syn) noexcept {
  const std::uint8_t a = ace(syn);
  return a != 0b000 && a != 0b011;
}

/// RFC 9768 Table 2's top block (the SYN-ACK, §3.1.1) and Table 3 (the client's ACK of the SYN-ACK,
/// §3.2.2.1): the ACE value that feeds back the IP-ECN field of the SYN (resp. SYN-ACK) — Not-ECT 0b010,
/// ECT(1) 0b011, ECT(0) 0b100, CE 0b110.
[[nodiscard]] constexpr std::uint8_t handshake_ace(std::uint8_t ip_ecn) noexcept {
  switch (ip_ecn & 0x03U) {
    case 0b01:
      return 0b011;  // ECT(1)
    case 0b10:
      return 0b100;  // ECT(0)
    case 0b11:
      return 0b110;  // CE
    default:
      return 0b010;  // Not-ECT
  }
}

/// What a SYN-ACK agrees to.
enum class Feedback : std::uint8_t { none, classic, accecn };

/// RFC 9768 §3.1.2 (Table 2), a client that requested AccECN reading the SYN-ACK: 000 no ECN; 001
/// RFC 3168 ECN; 111 (a "Broken" server that reflected the flags) no ECN; 010, 011, 100 and 110 AccECN;
/// §3.1.3: 101 (reserved, once the ECN nonce's) AccECN "as if it fed back that the IP-ECN field on the
/// SYN had arrived unchanged". A client that asked for RFC 3168 only: ECE without CWR (RFC 3168 §6.1.1).
[[nodiscard]] constexpr Feedback syn_ack_feedback(wire::TcpFlags syn_ack, bool asked_accecn) noexcept {
  if (!asked_accecn) return (syn_ack.ece() && !syn_ack.cwr()) ? Feedback::classic : Feedback::none;
  switch (ace(syn_ack)) {
    case 0b000:
    case 0b111:
      return Feedback::none;
    case 0b001:
      return Feedback::classic;
    default:
      return Feedback::accecn;
  }
}

/// RFC 9768 §3.2.2.1 Table 4, the server reading the ACE field of the ACK of its SYN-ACK: the s.cep it
/// starts from (6 when the SYN-ACK arrived CE, else 5), or 0 for 0b000 — the flags were zeroed (Note 1):
/// the server then "MUST NOT set ECT on outgoing packets and MUST NOT respond to AccECN feedback".
[[nodiscard]] constexpr std::uint8_t handshake_s_cep(std::uint8_t ace_on_ack) noexcept {
  if (ace_on_ack == 0b000) return 0;  // 0: disabled
  return ace_on_ack == 0b110 ? kCepInit + 1 : kCepInit;
}

}  // namespace synack::tcp::accecn
