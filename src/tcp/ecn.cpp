// Connection: ECN feedback — RFC 3168's ECE/CWR and Accurate ECN's ACE counter (RFC 9768).
#include "synack/tcp/accecn.hpp"
#include "synack/tcp/connection.hpp"

namespace synack::tcp {

void Connection::read_syn_ack_ecn(wire::TcpFlags f, SynOptions& peer) const noexcept {
  if (!f.ack()) {
    // A crossing SYN (simultaneous open): RFC 3168's ECN-setup SYN agrees to ECN; AccECN is not
    // negotiated this way (RFC 9768 defines it for a SYN answered by a SYN-ACK only).
    peer.ecn = ecn_setup(f);
    return;
  }
  // RFC 3168 §6.1.1: ECE without CWR on the SYN-ACK agrees to our ECN-setup SYN. RFC 9768 §3.1.2: a
  // client that asked for AccECN reads the three flags as one codepoint (accecn::syn_ack_feedback).
  const accecn::Feedback fb = accecn::syn_ack_feedback(f, neg_.accecn);
  peer.ecn = fb != accecn::Feedback::none;
  peer.accecn = fb == accecn::Feedback::accecn;
}

void Connection::start_accecn() noexcept {
  // RFC 9768 §3.2.1: "it initializes its counters to r.cep = 5" as Data Receiver, "s.cep = 5" as Data
  // Sender. §3.2.2.2: a server does not count a CE-marked SYN (the SYN-ACK fed it back).
  buffers_->r_cep = accecn::kCepInit;
  buffers_->s_cep = accecn::kCepInit;
  buffers_->r_cep_acked = accecn::kCepInit;
  if (passive_) return;
  // §3.2.2.1: the client's ACK of the SYN-ACK feeds back the SYN-ACK's IP-ECN field (Table 3); §3.2.2.2:
  // a CE-marked SYN-ACK "MUST increment r.cep" (5 to 6).
  buffers_->ace_first = accecn::handshake_ace(rx_ecn_);
  if (rx_ecn_ == ecn::kCe) buffers_->r_cep = accecn::kCepInit + 1;
}

std::uint16_t Connection::accecn_flags(std::uint16_t flags) noexcept {
  if ((flags & wire::TcpFlags::kAck) == 0) return flags;
  std::uint8_t value = buffers_->r_cep;
  if (buffers_->ace_first != 0) {
    value = buffers_->ace_first;
    buffers_->ace_first = 0;
  }
  buffers_->r_cep_acked = buffers_->r_cep;
  // RFC 9768 §3.2.2.2: "Whenever the Data Receiver sends an ACK with SYN=0 ... unless the handshake
  // encoding in Section 3.2.2.1 applies, the Data Receiver MUST encode the least significant 3 bits of
  // its r.cep counter into the ACE field".
  return accecn::with_ace(flags, value);
}

void Connection::on_ecn_input(const wire::TcpHeader& h, std::size_t payload_len) noexcept {
  if (neg_.accecn) {
    on_accecn_input(h, payload_len);
    return;
  }
  // RFC 3168 §6.1.3, receiver: a CE mark is echoed with ECE on every ACK until a segment with CWR
  // arrives; CWR on a segment that is itself marked CE does not stop the echo (the CE is newer).
  if (h.flags.cwr()) ece_pending_ = false;
  if (rx_ecn_ == ecn::kCe) {
    ++buffers_->ce_received;
    ece_pending_ = true;
    if (payload_len > 0) pending_.ack = true;  // tell the sender now, not after a delayed ACK
  }
  ecn_reduced_ = false;
  if (h.flags.ece() && !h.flags.syn()) ecn_congestion_response();
}

void Connection::ecn_congestion_response() noexcept {
  // RFC 3168 §6.1.2, sender: ECE halves the congestion window at most once per window of data (until
  // SND.UNA passes what was outstanding at the last reduction), and not during loss recovery, which has
  // already reduced it; the next new data segment carries CWR (RFC 3168 feedback only).
  if (!in_recovery_ && buffers_->ecn_recover <= snd_una_ && snd_una_ < snd_max_) {
    cc_.on_ecn_echo(in_flight(), smss());
    buffers_->ecn_recover = snd_max_;
    ++buffers_->ecn_reductions;
    cwr_pending_ = !neg_.accecn;
    ecn_reduced_ = true;  // "SHOULD NOT increase its congestion window in response to" this ACK
  }
}

void Connection::on_accecn_input(const wire::TcpHeader& h, std::size_t payload_len) noexcept {
  // RFC 9768 §3.2: "The Data Receiver MUST increment the CE packet counter (r.cep), for every
  // Acceptable packet that it receives with the CE code point", control packets included. §3.2.2.5.1:
  // an ACK at once for CE on data (which covers "Change-Triggered ACKs"), and "Increment-Triggered
  // ACKs": one once 3 marks arrived on packets without data since the last ACK.
  if (rx_ecn_ == ecn::kCe) {
    ++buffers_->ce_received;
    buffers_->r_cep = static_cast<std::uint8_t>((buffers_->r_cep + 1U) & 0x07U);
    if (payload_len > 0 || ((buffers_->r_cep - buffers_->r_cep_acked) & 0x07U) >= 3) pending_.ack = true;
  }
  ecn_reduced_ = false;
  // Table 4 Note 1: a server whose handshake ACK had ACE 0 "MUST NOT respond to AccECN feedback".
  if (!neg_.ecn) return;
  // The ACK of the SYN-ACK carries the handshake encoding (§3.2.2.1), read by the listener; the Stack
  // hands a final ACK with data to the connection again. While SEG.ACK = ISS + 1 nothing of ours was
  // acknowledged and ACE is not read (a later ACK carries any change: the counter is cumulative). An
  // ACK older than SND.UNA is superseded (§3.2.2.2): its ACE is stale.
  if (h.ack <= iss_ + 1 || h.ack < snd_una_) return;
  // RFC 9768 §3.2.2.5: "d.cep = (ACE + DIVACE - (s.cep mod DIVACE)) mod DIVACE"; s.cep += d.cep.
  const auto delta = static_cast<std::uint8_t>((accecn::ace(h.flags) - buffers_->s_cep) & 0x07U);
  if (delta == 0) return;
  buffers_->s_cep = static_cast<std::uint8_t>((buffers_->s_cep + delta) & 0x07U);
  buffers_->ce_delivered += delta;
  // RFC 9768 §3.2.2.5 / RFC 3168 §6.1.2: an increase of the counter is congestion feedback, answered
  // as ECE would be (at most once per window).
  ecn_congestion_response();
}

}  // namespace synack::tcp
