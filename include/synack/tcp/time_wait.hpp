/// @file
/// TIME-WAIT as a compact record (RFC 9293 §3.10.7.4, "TIME-WAIT STATE"): once the user has given a
/// connection up and it has nothing left to send, all TIME-WAIT needs is the 4-tuple, the two sequence
/// numbers, the timestamps state and when it ends — 64 bytes instead of a full connection, as Linux keeps
/// a `tcp_timewait_sock` instead of the socket.
///
/// The rules stay where they are tested, in tcp::Connection: a segment that reaches a record rebuilds a
/// connection in TIME-WAIT from it (Connection::from_time_wait), which processes the segment exactly as
/// before (retransmitted FIN acknowledged and the 2 MSL timer restarted, RFC 5961 challenge ACKs, RST),
/// and is compacted again once it has answered. Segments for TIME-WAIT tuples are rare; records are many.
/// The one rule decided on the record itself is whether a new SYN may reopen the tuple (RFC 6191).
#pragma once

#include <cstdint>
#include <optional>

#include "synack/tcp/packed_tuple.hpp"
#include "synack/time.hpp"
#include "synack/wire/ip_address.hpp"
#include "synack/wire/seq.hpp"
#include "synack/wire/tcp.hpp"

namespace synack::tcp {

/// One connection in TIME-WAIT, in at most 64 bytes (see the file comment). A plain record owned by a table
/// (stack::TimeWaitTable); the fields marked "owner's use" are the table's.
struct TimeWaitRecord {
  PackedTuple addr;            ///< the 4-tuple, family in kV6
  std::uint8_t flags = 0;      ///< kV6 | kTimestamps | kSack | kInUse
  std::uint8_t shifts = 0xFF;  ///< window scales: ours (low nibble), the peer's (high); 0xF = none
  std::uint8_t challenge = 0;  ///< RFC 5961 §7 limiter: count (low nibble), interval number mod 16 (high)
  std::uint8_t owner = 0;      ///< owner's use

  std::int64_t expiry_ns = 0;        ///< when TIME-WAIT ends (2 MSL after it began or after the last FIN)
  std::uint32_t snd_nxt = 0;         ///< SND.NXT (our FIN acknowledged: SND.UNA = SND.NXT)
  std::uint32_t rcv_nxt = 0;         ///< RCV.NXT, past the peer's FIN
  std::uint32_t ts_recent = 0;       ///< TS.Recent: the peer's last TSval (valid when timestamps() is true)
  std::uint32_t link = 0xFFFFFFFFU;  ///< owner's use: the next record in its expiry FIFO or free list
  static constexpr std::uint8_t kV6 = 0x01;          ///< flags: an IPv6 tuple
  static constexpr std::uint8_t kTimestamps = 0x02;  ///< flags: timestamps were negotiated
  static constexpr std::uint8_t kSack = 0x04;        ///< flags: SACK was negotiated
  static constexpr std::uint8_t kInUse = 0x08;       ///< flags: the record is live (not on a free list)

  /// The 4-tuple (local = our side).
  [[nodiscard]] wire::FourTuple tuple() const noexcept { return addr.unpack((flags & kV6) != 0); }
  /// Stores `tuple` and its family.
  void set_tuple(const wire::FourTuple& tuple) noexcept {
    addr = PackedTuple::pack(tuple);
    flags = static_cast<std::uint8_t>(tuple.local.address.is_v6() ? (flags | kV6) : (flags & ~kV6));
  }
  /// Whether `tuple` is this record's (compares bytes without building a FourTuple).
  [[nodiscard]] bool matches(const wire::FourTuple& tuple) const noexcept {
    return addr.matches(tuple, (flags & kV6) != 0);
  }
  /// When TIME-WAIT ends.
  [[nodiscard]] Instant expiry() const noexcept { return Instant::from_nanoseconds(expiry_ns); }
  /// Whether timestamps were negotiated (ts_recent is meaningful).
  [[nodiscard]] bool timestamps() const noexcept { return (flags & kTimestamps) != 0; }
  /// Our window-scale shift; nullopt when scaling was off.
  [[nodiscard]] std::optional<std::uint8_t> rcv_shift() const noexcept { return nibble(shifts & 0x0FU); }
  /// The peer's window-scale shift; nullopt when scaling was off.
  [[nodiscard]] std::optional<std::uint8_t> snd_shift() const noexcept { return nibble(shifts >> 4U); }
  /// Stores both shifts (nullopt: scaling off).
  void set_shifts(std::optional<std::uint8_t> rcv, std::optional<std::uint8_t> snd) noexcept {
    shifts = static_cast<std::uint8_t>((rcv.value_or(0xF) & 0x0FU) | ((snd.value_or(0xF) & 0x0FU) << 4U));
  }

  /// May a new SYN with `header` reuse this 4-tuple? RFC 6191 §2 / Linux tcp_timewait_state_process:
  /// with timestamps on both sides a newer TSval suffices; otherwise the SYN's sequence number must be
  /// past RCV.NXT (RFC 1122 §4.2.2.13).
  [[nodiscard]] bool accepts_syn(const wire::TcpHeader& header) const noexcept;

 private:
  [[nodiscard]] static std::optional<std::uint8_t> nibble(unsigned v) noexcept {
    if (v == 0xFU) return std::nullopt;
    return static_cast<std::uint8_t>(v);
  }
};
static_assert(sizeof(TimeWaitRecord) <= 64, "a TIME-WAIT record must stay within 64 bytes");

}  // namespace synack::tcp
