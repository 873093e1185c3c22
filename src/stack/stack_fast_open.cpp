// Stack: TCP Fast Open (RFC 7413) — the client's cookie cache at connect(), the server's connection made
// from a SYN with data, and the cookie in a listener's SYN-ACK. docs/engine.md "TCP Fast Open".
#include <algorithm>

#include "stack_core.hpp"

namespace synack::stack {

void StackCore::fast_open_connect(Instant now, tcp::Connection& c, const ConnectOptions& options) {
  const std::size_t queued = options.data.empty() ? 0U : c.send(options.data).value_or(0);
  if (!options.fast_open) return;
  const wire::IpAddress& server = c.tuple().remote.address;
  // RFC 7413 §7.1: a destination whose SYN with data went unanswered gets plain SYNs for a while.
  if (fast_open_cache_.hostile(now, server)) return;
  const tcp::FastOpenEntry* e = fast_open_cache_.find(server);
  if (e == nullptr || !e->cookie) {
    // §4.1.1: no cookie yet — ask for one (an empty option); the data follows the handshake.
    c.use_fast_open(*wire::FastOpenCookie::make({}), 0);
    return;
  }
  // §4.2.1: the data in the SYN must fit the server's MSS (and ours); options take their room from it
  // (MSS, window scale, SACK-permitted, timestamps and the cookie: at most 40 bytes).
  const wire::IpVersion v = server.version();
  const std::uint16_t server_mss = e->mss != 0 ? e->mss : tcp::default_peer_mss(v);
  const std::size_t mss = std::min<std::size_t>(server_mss, config_.tcp.our_mss(v));
  const std::size_t room = mss > wire::kMaxOptionBytes ? mss - wire::kMaxOptionBytes : 0U;
  c.use_fast_open(*e->cookie, static_cast<std::uint32_t>(std::min(queued, room)));
}

void StackCore::fast_open_accept(Instant now, const wire::FourTuple& tuple, std::uint32_t hash,
                                 std::uint32_t owner, const tcp::ListenerReply& r, const wire::TcpHeader& h,
                                 wire::Bytes payload) {
  tcp::Listener& l = *listeners_[owner];
  const auto index = alloc_slot();
  if (!index) {
    ++stats_.pool_full_drops;  // the client retransmits its SYN
    return;
  }
  Slot& s = slots_[*index];
  s.listener = ListenerId{owner};
  s.conn.emplace(BuiltBy{[&] {
    return tcp::Connection::open_fast_open(config_.tcp, l.passive_open(r.cookie, h), payload, now);
  }});
  flow_insert(hash, FlowRef{FlowRef::Kind::connection, *index, 0});
  s.flow_hash = hash;
  s.in_flow = true;
  l.fast_open()->pending.push_back((static_cast<std::uint64_t>(s.generation) << 32U) | *index);
  (void)tuple;
  // RFC 7413 §4.2.2: acceptable (and readable) now, before the final ACK; the SYN's data is already in.
  wire::TcpHeader syn = h;
  syn.flags = wire::TcpFlags(wire::TcpFlags::kSyn);
  accept_passive(now, *index, owner, syn, {});
}

void StackCore::fast_open_learn(const tcp::Connection& c) {
  const tcp::FastOpenState& st = *c.fast_open();
  if (st.server) return;
  const wire::IpAddress& server = c.tuple().remote.address;
  // RFC 7413 §7.1: the SYN with data (or the option) went unanswered and its plain retry did not.
  if (st.syn_timed_out) fast_open_cache_.mark_hostile(st.syn_timed_out_at, server);
  // §4.1.3: the cookie the SYN-ACK carried, with the server's MSS (as far as the handshake tells it).
  if (st.cookie_received && c.state() != tcp::State::closed) {
    fast_open_cache_.store(server, *st.cookie_received, c.info().negotiated.send_mss);
  }
}

void StackCore::add_fast_open_cookie(const Control& c, wire::SendHeader& h,
                                     wire::FastOpenCookie& cookie) const noexcept {
  // RFC 7413 §4.1.2: the cookie for the client's address, in the option form its SYN used.
  cookie =
      fast_open_keys_.make(c.tuple.remote.address, c.fast_open == tcp::ListenerReply::kFastOpenExperimental);
  h.fast_open = &cookie;
}

}  // namespace synack::stack
