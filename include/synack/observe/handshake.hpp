// The observation vocabulary every presenter shares (sim, analyze, demo, listen, connect): what each side
// offered in its SYN, what both agreed, and how the handshake ended. Plain values computed by one rule from
// what crossed the wire, so the simulator, the capture analyzer and the live commands report the same
// connection with the same values. JSON form: synack/observe/json.hpp (docs/json.md).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "synack/observe/segment.hpp"
#include "synack/tcp/options.hpp"
#include "synack/wire/ip_address.hpp"
#include "synack/wire/tcp.hpp"

namespace synack::observe {

/// How a handshake ended (the JSON names in quotes).
enum class Outcome : std::uint8_t {
  established,        ///< "established": SYN, SYN-ACK and the client's ACK of the server's ISN + 1
  refused,            ///< "refused": an RST answered the client's SYN
  timed_out,          ///< "timed_out": the SYN (retransmissions included) got no answer
  reset,              ///< "reset": reset during the handshake after the SYN-ACK, or once established
  simultaneous_open,  ///< "simultaneous_open": both sides sent a SYN without ACK (RFC 9293 §3.5)
  incomplete,         ///< "incomplete": a capture began mid-connection (the first packet was not the SYN)
  pending,            ///< "pending": none of the above when the observation stopped
};
inline constexpr std::array<Outcome, 7> kAllOutcomes{
    Outcome::established,       Outcome::refused,    Outcome::timed_out, Outcome::reset,
    Outcome::simultaneous_open, Outcome::incomplete, Outcome::pending};
/// The JSON name: "established", "refused", "timed_out", "reset", "simultaneous_open", "incomplete",
/// "pending".
[[nodiscard]] std::string_view to_string(Outcome outcome) noexcept;
/// The inverse of to_string(); nullopt for any other text.
[[nodiscard]] std::optional<Outcome> outcome_from_string(std::string_view name) noexcept;
/// Refused, timed out and reset count as failures.
[[nodiscard]] constexpr bool is_failure(Outcome o) noexcept {
  return o == Outcome::refused || o == Outcome::timed_out || o == Outcome::reset;
}

/// Which end of a connection: the one that sent the first SYN (client) or the one that answered it.
enum class Role : std::uint8_t { client, server };

/// Which way a segment travelled, relative to the connection's client (the side that sent the first SYN).
/// The one direction type of every presenter (sim traces, analyzer records, the demo's observer).
enum class Direction : std::uint8_t { to_server, to_client };
/// "c>s" or "s>c" (the JSON form, docs/json.md).
[[nodiscard]] std::string_view to_string(Direction direction) noexcept;
/// to_server for the client, to_client for the server: the way a segment that `role` sent travels.
[[nodiscard]] constexpr Direction sent_by(Role role) noexcept {
  return role == Role::client ? Direction::to_server : Direction::to_client;
}

/// The one retransmission rule, applied to each segment of one connection in the order they were sent
/// (sim), seen (analyze) or recorded by the Stack's observer (demo): a segment that occupies sequence
/// space (SYN, FIN or payload, RFC 9293 §3.4) is a retransmission when it starts before the highest
/// sequence end its side already sent. Two exceptions: a SYN with a new ISN starts a new attempt (a
/// client retrying after an RST, or a reopened TIME-WAIT), and the first SYN-ACK of a side that sent a
/// SYN re-sends that SYN's sequence number by design (simultaneous open, RFC 9293 §3.5 figure 8).
class RetransmissionRule {
 public:
  /// Classifies the next segment sent in `direction`; true when it is a retransmission.
  bool observe(Direction direction, wire::SeqNum seq, wire::TcpFlags flags,
               std::uint32_t payload_length) noexcept;

 private:
  struct Side {
    std::optional<wire::SeqNum> isn;  ///< the ISN of this side's latest SYN
    std::optional<wire::SeqNum> end;  ///< the highest sequence end sent
    bool sent_syn_ack = false;        ///< a SYN-ACK went this way
  };
  std::array<Side, 2> sides_{};
};

/// What one side put in its SYN (client) or SYN-ACK (server).
struct Offer {
  std::optional<std::uint16_t> mss;    ///< as sent (0 included)
  std::optional<std::uint8_t> wscale;  ///< as sent (may exceed 14)
  bool sack_permitted = false;         ///< SACK-permitted (RFC 2018)
  bool timestamps = false;             ///< Timestamps (RFC 7323)
  bool fast_open = false;              ///< a Fast Open option (cookie or cookie request)
  bool ecn = false;                    ///< ECN setup: ECE+CWR on a SYN, ECE on a SYN-ACK (RFC 3168 §6.1.1)
  /// AccECN (RFC 9768 §3.1.1): AE+CWR+ECE on a SYN; on a SYN-ACK one of the four AccECN codepoints
  bool accecn = false;

  /// The offer of a SYN or SYN-ACK header.
  [[nodiscard]] static Offer from(const wire::TcpHeader& syn) noexcept;
  /// The same for a segment whose options are decoded on demand (no options when they are unknown).
  [[nodiscard]] static Offer from(const Segment& syn) noexcept;
  /// The engine's reduced form (no Fast Open: synack's engine does not offer it).
  [[nodiscard]] static Offer from(const tcp::SynOptions& syn) noexcept;
  /// Field by field.
  friend constexpr bool operator==(const Offer&, const Offer&) noexcept = default;
};

/// What is in effect once both offers are known.
struct Agreed {
  std::uint16_t mss_client_to_server = 536;   ///< largest payload the client sends
  std::uint16_t mss_server_to_client = 536;   ///< largest payload the server sends
  std::optional<std::uint8_t> wscale_client;  ///< the client's shift; both set or neither (no scaling)
  std::optional<std::uint8_t> wscale_server;  ///< the server's shift
  bool sack = false;                          ///< both offered SACK-permitted
  bool timestamps = false;                    ///< both offered Timestamps
  bool ecn = false;     ///< ECN negotiated: ECE+CWR on the SYN and ECE on the SYN-ACK (RFC 3168 §6.1.1)
  bool accecn = false;  ///< AccECN negotiated (RFC 9768 §3.1.1; then `ecn` too)

  /// Whether window scaling is in effect (both offered it).
  [[nodiscard]] bool window_scaling() const noexcept { return wscale_client.has_value(); }
  /// From one side's point of view: the largest payload `side` sends.
  [[nodiscard]] std::uint16_t send_mss(Role side) const noexcept {
    return side == Role::client ? mss_client_to_server : mss_server_to_client;
  }
  /// The shift `side` applies to the windows it advertises (nullopt: no scaling).
  [[nodiscard]] std::optional<std::uint8_t> wscale(Role side) const noexcept {
    return side == Role::client ? wscale_client : wscale_server;
  }
  /// Field by field.
  friend constexpr bool operator==(const Agreed&, const Agreed&) noexcept = default;
};

/// The one rule from the wire (RFC 9293 §3.7.1, RFC 6691, RFC 7323, RFC 2018, RFC 3168): each option only
/// when both offered it; a sender's MSS is min(the peer's MSS option, or 536 / 1220 when absent, the MSS
/// it announced itself); window shifts clamped to 14.
[[nodiscard]] Agreed agree(const Offer& client, const Offer& server, wire::IpVersion version) noexcept;

/// What was negotiated: each side's offer (nullopt when not seen, or not readable in a capture) and what
/// both agreed (nullopt unless both offers are known).
struct Negotiated {
  std::optional<Offer> client;   ///< the client's SYN (nullopt: not seen, or not readable in a capture)
  std::optional<Offer> server;   ///< the server's SYN-ACK (nullopt: not seen, or not readable in a capture)
  std::optional<Agreed> agreed;  ///< agree() over both offers; nullopt unless both are known

  /// Both offers, and agree() over them.
  [[nodiscard]] static Negotiated from_offers(const Offer& client, const Offer& server,
                                              wire::IpVersion version) noexcept;
  /// From one engine's point of view: `role` is the engine's side, `ours` its SYN's options, `peer` the
  /// peer's. tcp::Negotiated (the engine's own value) then equals agreed's view for `role`, except that the
  /// engine floors its send MSS at Config::min_send_mss.
  [[nodiscard]] static Negotiated from_engine(Role role, const tcp::SynOptions& ours,
                                              const tcp::SynOptions& peer, wire::IpVersion version) noexcept;
  /// Field by field.
  friend constexpr bool operator==(const Negotiated&, const Negotiated&) noexcept = default;
};

/// "mss 1460, wscale 7, sackOK, TS" (tcpdump's words); "no options" when empty.
[[nodiscard]] std::string to_string(const Offer& offer);
/// "MSS 1360 c>s / 1460 s>c, window scale client 7 / server 7, SACK on, timestamps on" (", ECN on" when on).
[[nodiscard]] std::string to_string(const Agreed& agreed);
/// The same for a table column: "mss 1360/1460 ws 7/7 sack ts" (c>s/s>c; " ecn" when on).
[[nodiscard]] std::string to_short_string(const Agreed& agreed);

}  // namespace synack::observe
