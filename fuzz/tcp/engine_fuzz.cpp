// Stateful fuzzer for the connection engine. The input chooses a starting state (LISTEN, SYN-SENT,
// SYN-RECEIVED, ESTABLISHED, FIN-WAIT-1/2, CLOSE-WAIT, CLOSING, LAST-ACK, TIME-WAIT), reached through a
// scripted peer, then a sequence of operations: segments built from fuzzed fields (sequence and
// acknowledgment numbers relative to the engine's real values or absolute, flags, window, options,
// payload length), monotone time steps that fire timers, user calls, and raw datagrams into a Stack.
//
// Invariants (abort on violation):
//  - no crash, no sanitizer report, poll_transmit terminates;
//  - a segment that fails the RFC 9293 acceptability test in a synchronized state never changes the
//    state or RCV.NXT (RST and SYN included: RFC 5961 allows only challenge ACKs there), nor does an
//    in-window RST that is not exactly at RCV.NXT, nor any SYN;
//  - SND.UNA =< SND.NXT;
//  - a listener's SYN queue and accept queue never exceed their bounds, whatever SYNs arrive (memory
//    per SYN is bounded: a SYN costs at most one 64-byte slot that was allocated at listen()).
#include <fuzzer/FuzzedDataProvider.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <span>
#include <vector>

#include "synack/sim/pair.hpp"
#include "synack/stack/stack.hpp"
#include "synack/tcp/connection.hpp"
#include "synack/tcp/fast_open.hpp"
#include "synack/tcp/listener.hpp"
#include "synack/wire/packet.hpp"

namespace {

using namespace std::chrono_literals;
using synack::Duration;
using synack::Instant;
using synack::sim::Side;
using synack::tcp::Config;
using synack::tcp::Connection;
using synack::tcp::State;
using synack::wire::SeqNum;
using synack::wire::TcpFlags;
using synack::wire::TcpHeader;

constexpr std::uint16_t kS = TcpFlags::kSyn;
constexpr std::uint16_t kA = TcpFlags::kAck;
constexpr std::uint16_t kF = TcpFlags::kFin;

#define FUZZ_CHECK(cond)                                                                 \
  do {                                                                                   \
    if (!(cond)) {                                                                       \
      std::fprintf(stderr, "invariant failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__); \
      std::abort();                                                                      \
    }                                                                                    \
  } while (0)

const std::array<std::byte, 4096>& payload_bytes() {
  static const std::array<std::byte, 4096> bytes = [] {
    std::array<std::byte, 4096> b{};
    for (std::size_t i = 0; i < b.size(); ++i) b[i] = static_cast<std::byte>(i * 7U);
    return b;
  }();
  return bytes;
}

synack::wire::FourTuple tuple() {
  return {{synack::wire::IpAddress::v4(0x0A000001U), 40000}, {synack::wire::IpAddress::v4(0x0A000002U), 80}};
}

class Harness {
 public:
  explicit Harness(FuzzedDataProvider& in) : in_(in) {
    config_.send_buffer = 16 * 1024;
    config_.recv_buffer = 16 * 1024;
    config_.syn_queue_capacity = 8;
    config_.max_out_of_order_ranges = 8;
    config_.window_shift = in_.ConsumeIntegralInRange<std::uint8_t>(0, 14);
    config_.timestamps = in_.ConsumeBool();
    config_.ecn = static_cast<synack::tcp::EcnMode>(in_.ConsumeIntegralInRange<int>(0, 3));  // RFC 3168, 9768
  }

  void run() {
    const auto start = in_.ConsumeIntegralInRange<int>(0, 11);
    if (start == 0) {
      run_listener();
      return;
    }
    if (start == 11) {
      run_pair();
      return;
    }
    reach(start);
    if (!conn_) return;
    while (in_.remaining_bytes() > 0) {
      switch (in_.ConsumeIntegralInRange<int>(0, 7)) {
        case 0:
        case 1:
        case 2:
          deliver_fuzzed();
          break;
        case 3:
          advance(Duration(in_.ConsumeIntegralInRange<std::int64_t>(0, 200'000'000'000)));
          break;
        case 4:
          user_call();
          break;
        case 5:
          drain();
          break;
        case 6:
          stack_datagram();
          break;
        default:
          deliver_peer_like();
          break;
      }
      FUZZ_CHECK(conn_->snd_una() <= conn_->snd_nxt());
    }
    drain();
  }

 private:
  // --- reaching a state with a well-behaved peer --------------------------------------------------
  TcpHeader peer(std::uint16_t flags, SeqNum seq, SeqNum ack, std::uint16_t window = 4096) {
    TcpHeader h;
    h.src_port = 80;
    h.dst_port = 40000;
    h.seq = seq;
    h.ack = (flags & kA) != 0 ? ack : SeqNum{0};
    h.flags = TcpFlags(flags);
    h.window = window;
    if (peer_ts_) h.options.timestamps = synack::wire::Timestamps{peer_tsval_ += 10, 0};
    return h;
  }
  void reach(int target) {
    conn_.emplace(Connection::open_active(config_, tuple(),
                                          synack::tcp::make_offer(config_, synack::wire::IpVersion::v4),
                                          SeqNum{in_.ConsumeIntegral<std::uint32_t>()}, 0, now_));
    drain();
    if (target == 1) return;  // SYN-SENT
    const SeqNum peer_iss{in_.ConsumeIntegral<std::uint32_t>()};
    peer_ts_ = in_.ConsumeBool();
    if (target == 2) {  // SYN-RECEIVED by simultaneous open
      TcpHeader syn = peer(kS, peer_iss, SeqNum{0});
      syn.options.mss = 1000;
      deliver(syn, 0);
      drain();
      return;
    }
    TcpHeader synack = peer(kS | kA, peer_iss, conn_->snd_nxt());
    synack.options.mss = in_.ConsumeIntegralInRange<std::uint16_t>(0, 2000);
    if (in_.ConsumeBool()) synack.options.wscale = in_.ConsumeIntegralInRange<std::uint8_t>(0, 20);
    synack.options.sack_permitted = in_.ConsumeBool();
    now_ += 10ms;
    deliver(synack, 0);
    drain();
    if (conn_->state() != State::established) return;
    switch (target) {
      case 3:
        return;
      case 4:  // FIN-WAIT-1
        (void)conn_->shutdown_write();
        drain();
        return;
      case 5:  // FIN-WAIT-2
        (void)conn_->shutdown_write();
        drain();
        deliver(peer(kA, conn_->rcv_nxt(), conn_->snd_nxt()), 0);
        return;
      case 6:  // CLOSE-WAIT
        deliver(peer(kF | kA, conn_->rcv_nxt(), conn_->snd_nxt()), 0);
        drain();
        return;
      case 7:  // LAST-ACK
        deliver(peer(kF | kA, conn_->rcv_nxt(), conn_->snd_nxt()), 0);
        (void)conn_->shutdown_write();
        drain();
        return;
      case 8:  // CLOSING
        (void)conn_->shutdown_write();
        drain();
        deliver(peer(kF | kA, conn_->rcv_nxt(), conn_->snd_una()), 0);
        drain();
        return;
      default:  // TIME-WAIT
        (void)conn_->shutdown_write();
        drain();
        deliver(peer(kF | kA, conn_->rcv_nxt(), conn_->snd_nxt()), 0);
        drain();
        return;
    }
  }

  // --- operations ---------------------------------------------------------------------------------
  void deliver(const TcpHeader& h, std::size_t payload_len) {
    const synack::wire::Bytes payload(payload_bytes().data(), std::min(payload_len, payload_bytes().size()));
    const State before = conn_->state();
    const SeqNum rcv_before = conn_->rcv_nxt();
    const std::uint32_t wnd = conn_->rcv_wnd();
    const bool synchronized = synack::tcp::is_synchronized(before);
    const std::uint32_t seg_len =
        static_cast<std::uint32_t>(payload.size()) + (h.flags.syn() ? 1U : 0U) + (h.flags.fin() ? 1U : 0U);
    bool acceptable = false;
    if (wnd == 0) {
      acceptable = h.seq == rcv_before;
    } else if (seg_len == 0) {
      acceptable = synack::wire::seq_in_range(h.seq, rcv_before, rcv_before + wnd);
    } else {
      acceptable = synack::wire::seq_in_range(h.seq, rcv_before, rcv_before + wnd) ||
                   synack::wire::seq_in_range(h.seq + (seg_len - 1), rcv_before, rcv_before + wnd);
    }
    conn_->on_segment(now_, h, payload, in_.ConsumeIntegralInRange<std::uint8_t>(0, 3));  // IP ECN field
    if (synchronized) {
      const bool off_window = !acceptable;
      const bool inexact_rst = h.flags.rst() && h.seq != rcv_before;
      const bool syn = h.flags.syn() && !h.flags.rst();
      if (off_window || inexact_rst || syn) {
        FUZZ_CHECK(conn_->state() == before);
        FUZZ_CHECK(conn_->rcv_nxt() == rcv_before);
      }
    }
  }

  SeqNum pick(SeqNum base, SeqNum other) {
    switch (in_.ConsumeIntegralInRange<int>(0, 3)) {
      case 0:
        return base + static_cast<std::uint32_t>(in_.ConsumeIntegralInRange<std::int32_t>(-70000, 70000));
      case 1:
        return other + static_cast<std::uint32_t>(in_.ConsumeIntegralInRange<std::int32_t>(-70000, 70000));
      case 2:
        return base;
      default:
        return SeqNum{in_.ConsumeIntegral<std::uint32_t>()};
    }
  }

  void deliver_fuzzed() {
    TcpHeader h;
    h.src_port = 80;
    h.dst_port = 40000;
    h.flags = TcpFlags(in_.ConsumeIntegral<std::uint16_t>() & TcpFlags::kMask);
    h.seq = pick(conn_->rcv_nxt(), conn_->rcv_nxt() + conn_->rcv_wnd());
    h.ack = pick(conn_->snd_una(), conn_->snd_nxt());
    h.window = in_.ConsumeIntegral<std::uint16_t>();
    if (in_.ConsumeBool()) {
      h.options.timestamps = synack::wire::Timestamps{in_.ConsumeIntegral<std::uint32_t>(),
                                                      in_.ConsumeIntegral<std::uint32_t>()};
    }
    if (in_.ConsumeBool()) h.options.mss = in_.ConsumeIntegral<std::uint16_t>();
    if (in_.ConsumeBool()) h.options.wscale = in_.ConsumeIntegral<std::uint8_t>();
    deliver(h, in_.ConsumeIntegralInRange<std::size_t>(0, 3000));
  }

  void deliver_peer_like() {
    // A plausible peer segment: in order, acknowledging what we sent.
    std::uint16_t flags = kA;
    if (in_.ConsumeBool()) flags |= kF;
    TcpHeader h = peer(flags, conn_->rcv_nxt(), conn_->snd_nxt(), in_.ConsumeIntegral<std::uint16_t>());
    deliver(h, in_.ConsumeIntegralInRange<std::size_t>(0, 1500));
  }

  void advance(Duration d) {
    const Instant target = now_ + d;  // monotone: d >= 0
    int guard = 0;
    while (conn_->next_deadline() <= target && guard++ < 10000) {
      now_ = std::max(now_, conn_->next_deadline());
      conn_->on_timeout(now_);
      drain();
    }
    FUZZ_CHECK(guard < 10000);
    now_ = target;
  }

  void user_call() {
    std::array<std::byte, 2048> buf{};
    switch (in_.ConsumeIntegralInRange<int>(0, 4)) {
      case 0:
        (void)conn_->send(
            synack::wire::Bytes(payload_bytes().data(), in_.ConsumeIntegralInRange<std::size_t>(0, 4096)));
        break;
      case 1:
        (void)conn_->recv(buf);
        break;
      case 2:
        (void)conn_->shutdown_write();
        break;
      case 3:
        conn_->close(now_);
        break;
      default:
        conn_->abort();
        break;
    }
  }

  void drain() {
    int n = 0;
    while (conn_->poll_transmit(now_)) FUZZ_CHECK(++n < 100000);
    // wants_transmit() and poll_transmit() agree: the stack relies on it to schedule output.
    FUZZ_CHECK(!conn_->wants_transmit());
  }

  void stack_datagram() {
    // Raw bytes into a Stack: parse failures are counted, never a crash.
    if (!stack_) {
      synack::stack::StackConfig sc;
      sc.addresses = {synack::wire::IpAddress::v4(0x0A000001U)};
      sc.tcp = config_;
      stack_.emplace(sc, std::array<std::byte, 16>{}, 1);
      (void)stack_->listen({synack::wire::IpAddress::v4(0x0A000001U), 80},
                           synack::stack::ListenOptions{4, std::nullopt, 2});  // with Fast Open
    }
    if (in_.ConsumeBool()) {
      const auto bytes = in_.ConsumeBytes<std::byte>(in_.ConsumeIntegralInRange<std::size_t>(0, 200));
      stack_->on_packet(now_, bytes);
    } else {
      // A well-formed datagram (valid checksums) from a few colliding tuples: exercises the flow table,
      // half-open entries, RSTs for closed ports and the control queue.
      TcpHeader h;
      h.src_port = in_.ConsumeIntegralInRange<std::uint16_t>(1, 6);
      h.dst_port = in_.ConsumeBool() ? 80 : 81;
      h.flags = TcpFlags(in_.ConsumeIntegral<std::uint16_t>() & TcpFlags::kMask);
      h.seq = SeqNum{in_.ConsumeIntegralInRange<std::uint32_t>(0, 3)};
      h.ack = SeqNum{in_.ConsumeIntegral<std::uint32_t>()};
      h.window = in_.ConsumeIntegral<std::uint16_t>();
      if (in_.ConsumeBool())
        h.options.timestamps = synack::wire::Timestamps{in_.ConsumeIntegral<std::uint32_t>(), 0};
      if (in_.ConsumeBool()) {  // a Fast Open request or a (most likely invalid) cookie
        const auto cookie = in_.ConsumeBytes<std::byte>(in_.ConsumeBool() ? 0 : 8);
        h.options.fast_open = synack::wire::FastOpenCookie::make(cookie, in_.ConsumeBool());
      }
      std::array<std::byte, 256> dgram{};
      const auto n = synack::wire::emit_tcp_packet(
          synack::wire::IpAddress::v4(0x0A000002U), synack::wire::IpAddress::v4(0x0A000001U), h,
          synack::wire::Bytes(payload_bytes().data(), in_.ConsumeIntegralInRange<std::size_t>(0, 64)), dgram);
      if (n) stack_->on_packet(now_, synack::wire::Bytes(dgram.data(), *n));
      now_ += Duration(in_.ConsumeIntegralInRange<std::int64_t>(0, 5'000'000'000));
      if (stack_->next_deadline() <= now_) stack_->on_timeout(now_);
      FUZZ_CHECK(stack_->listener(synack::stack::ListenerId{0})->syn_queue_size() <=
                 config_.syn_queue_capacity);
      FUZZ_CHECK(stack_->listener(synack::stack::ListenerId{0})->accept_queue_size() <= 4U);
    }
    std::array<std::byte, 2048> out{};
    int n = 0;
    while (stack_->poll_transmit(now_, out)) FUZZ_CHECK(++n < 100000);
    while (stack_->poll_event()) {
    }
  }

  // --- LISTEN: SYN floods and half-open handling -----------------------------------------------------
  void run_listener() {
    const synack::tcp::IsnGenerator isn(std::array<std::byte, 16>{});
    const std::uint32_t backlog = in_.ConsumeIntegralInRange<std::uint32_t>(1, 8);
    synack::tcp::Listener l(config_, tuple().local, backlog);
    // SYN cookies: the fuzzer picks the mode; a cookie SYN-ACK it got can be answered with the right ACK.
    synack::tcp::SynCookies cookies(std::array<std::byte, 16>{std::byte{3}});
    l.set_syn_cookies(&cookies);
    const auto mode = static_cast<synack::tcp::SynCookieMode>(in_.ConsumeIntegralInRange<int>(0, 2));
    l.set_syn_cookie_mode(mode);
    std::optional<synack::tcp::ListenerReply> last_cookie;
    while (in_.remaining_bytes() > 0) {
      synack::wire::FourTuple t = tuple();
      t.remote.port = in_.ConsumeIntegralInRange<std::uint16_t>(1, 40);
      TcpHeader h;
      h.src_port = t.remote.port;
      h.dst_port = t.local.port;
      h.flags = TcpFlags(in_.ConsumeIntegral<std::uint16_t>() & TcpFlags::kMask);
      h.seq = SeqNum{in_.ConsumeIntegral<std::uint32_t>()};
      h.ack = SeqNum{in_.ConsumeIntegral<std::uint32_t>()};
      if (in_.ConsumeBool())
        h.options.timestamps = synack::wire::Timestamps{in_.ConsumeIntegral<std::uint32_t>(), 0};
      const int op = in_.ConsumeIntegralInRange<int>(0, 3);
      if (op == 0) {
        if (last_cookie && in_.ConsumeBool()) {
          // The final ACK for the last cookie SYN-ACK (maybe from another port, maybe late).
          const synack::wire::TcpHeader sa = l.syn_ack(last_cookie->cookie, last_cookie->cookie_ts_val);
          h.flags = TcpFlags(TcpFlags::kAck);
          h.seq = SeqNum{last_cookie->cookie.irs} + 1;
          h.ack = sa.seq + 1;
          if (sa.options.timestamps) {
            h.options.timestamps = synack::wire::Timestamps{1, sa.options.timestamps->value};
          }
          if (in_.ConsumeBool()) t = last_cookie->cookie.tuple();
        }
        const auto r = l.on_segment(now_, t, h, {}, isn, in_.ConsumeIntegralInRange<std::uint8_t>(0, 3));
        if (r.kind == synack::tcp::ListenerReply::Kind::send_cookie_syn_ack) last_cookie = r;
        if (r.kind == synack::tcp::ListenerReply::Kind::complete_cookie) {
          FUZZ_CHECK(mode != synack::tcp::SynCookieMode::never);
          (void)Connection::open_passive(config_, l.passive_open(r.cookie, h), now_);
          (void)l.push_accept(0);
        }
      } else if (op == 1 && l.syn_queue_size() > 0) {
        const std::uint32_t slot = in_.ConsumeIntegralInRange<std::uint32_t>(
            0, static_cast<std::uint32_t>(l.syn_queue_slots() - 1));  // storage grows with use
        if (l.entry(slot).in_use()) {
          if (in_.ConsumeBool()) h.ack = SeqNum{l.entry(slot).iss} + 1;
          const auto r = l.on_half_open_segment(now_, slot, h);
          if (r.kind == synack::tcp::ListenerReply::Kind::complete) {
            (void)Connection::open_passive(config_, l.passive_open(slot, h), now_);
            l.free_half_open(slot);
            (void)l.push_accept(slot);
          }
        }
      } else if (op == 2) {
        now_ += Duration(in_.ConsumeIntegralInRange<std::int64_t>(0, 100'000'000'000));
        l.on_timeout(now_, [](std::uint32_t) {}, [](std::uint32_t) {});
      } else {
        (void)l.pop_accept();
      }
      FUZZ_CHECK(l.syn_queue_size() <= l.syn_queue_capacity());
      FUZZ_CHECK(l.syn_queue_capacity() == config_.syn_queue_capacity);
      FUZZ_CHECK(l.accept_queue_size() <= backlog);
      // `always` keeps no half-open state (the fuzzer's SYNs carry no MSS: always encodable).
      if (mode == synack::tcp::SynCookieMode::always) FUZZ_CHECK(l.syn_queue_size() == 0);
    }
  }

  // --- two Stacks through a network the fuzzer controls: drop, duplicate, reorder, delay ---------------
  // Invariant: each side receives a prefix of what the other sent, byte for byte (reassembly never
  // corrupts or reorders), and a quiet network eventually goes quiet (no ACK wars).
  void run_pair() {
    synack::stack::StackConfig ca;
    ca.addresses = {synack::wire::IpAddress::v4(0x0A000001U)};
    ca.tcp = config_;
    synack::stack::StackConfig cb = ca;
    cb.addresses = {synack::wire::IpAddress::v4(0x0A000002U)};
    synack::stack::Stack a(ca, std::array<std::byte, 16>{std::byte{1}}, 1);
    synack::stack::Stack b(cb, std::array<std::byte, 16>{std::byte{2}}, 2);
    const bool simultaneous = in_.ConsumeBool();
    // TCP Fast Open (RFC 7413): b's listener takes data in SYNs; a's cache holds b's cookie (derived as b
    // derives it), a wrong one or none; a's first bytes ride in its SYN.
    const bool fast_open = !simultaneous && in_.ConsumeBool();
    std::optional<synack::stack::ConnectionId> s;
    if (simultaneous) {
      s = *b.connect(now_, {cb.addresses[0], 80}, {ca.addresses[0], 5555});
    } else {
      (void)b.listen({cb.addresses[0], 80},
                     synack::stack::ListenOptions{4, std::nullopt, fast_open ? 2U : 0U});
    }
    std::uint64_t sent_ab = 0, recv_ab = 0, sent_ba = 0, recv_ba = 0;
    const auto pattern = [](std::uint64_t i, unsigned salt) {
      return static_cast<std::byte>((i * 131U + salt) & 0xFFU);
    };
    synack::stack::ConnectOptions co;
    std::array<std::byte, 2000> first{};
    if (fast_open) {
      const int cookie = in_.ConsumeIntegralInRange<int>(0, 2);
      const synack::tcp::FastOpenKeys keys(
          synack::tcp::FastOpenKeys::derive_key(std::array<std::byte, 16>{std::byte{2}}));
      auto foc = keys.make(ca.addresses[0], in_.ConsumeBool());
      if (cookie == 1) foc = keys.make(cb.addresses[0]);  // another address's: invalid here
      if (cookie < 2) a.fast_open_cache().store(cb.addresses[0], foc, in_.ConsumeIntegral<std::uint16_t>());
      const std::size_t n = in_.ConsumeIntegralInRange<std::size_t>(0, first.size());
      for (std::size_t i = 0; i < n; ++i) first[i] = pattern(i, 1);
      co.data = synack::wire::Bytes(first.data(), n);
      co.fast_open = true;
      sent_ab = n;  // the send buffer (16 KiB) takes it all
    }
    const auto c = a.connect(now_, {ca.addresses[0], 5555}, {cb.addresses[0], 80}, co);
    FUZZ_CHECK(c.has_value());
    // The one two-stack harness (sim::StackPair). While the fuzzer plays the network, before_send keeps
    // every datagram off the links and in `net`, which the input delivers in any order, duplicates or
    // drops; at the end the links (1 ms, no impairment) carry everything cleanly.
    struct Packet {
      Side to;
      std::vector<std::byte> bytes;
    };
    std::vector<Packet> net;
    synack::sim::Impairments clean;
    clean.delay = 1ms;
    synack::sim::Link ab(clean, 1, 1);
    synack::sim::Link ba(clean, 1, 2);
    synack::sim::StackPair pair(&a, &b, ab, ba, now_);
    bool fuzzed_network = true;
    std::uint64_t emitted = 0;
    pair.hooks.before_send = [&](Side from, std::span<std::byte> d) {
      FUZZ_CHECK(++emitted < 100000);  // poll_transmit terminates
      if (!fuzzed_network) return true;
      net.push_back(Packet{synack::sim::peer_of(from), std::vector<std::byte>(d.begin(), d.end())});
      return false;
    };
    std::array<std::byte, 4096> buf{};
    const auto pump = [&] {
      emitted = 0;
      pair.transmit();
      for (synack::stack::Stack* st : {&a, &b}) {
        while (st->poll_event()) {
        }
      }
      if (!s && !simultaneous) {
        if (auto x = b.accept(synack::stack::ListenerId{0})) s = *x;
      }
      while (auto r = a.recv(*c, buf)) {
        if (*r == 0) break;
        for (std::size_t i = 0; i < *r; ++i) FUZZ_CHECK(buf[i] == pattern(recv_ba + i, 2));
        recv_ba += *r;
      }
      if (s) {
        while (auto r = b.recv(*s, buf)) {
          if (*r == 0) break;
          for (std::size_t i = 0; i < *r; ++i) FUZZ_CHECK(buf[i] == pattern(recv_ab + i, 1));
          recv_ab += *r;
        }
      }
      FUZZ_CHECK(recv_ab <= sent_ab && recv_ba <= sent_ba);
    };
    const auto send_pattern = [&](synack::stack::Stack& st, synack::stack::ConnectionId id,
                                  std::uint64_t& sent, unsigned salt) {
      std::array<std::byte, 3000> data{};
      const std::size_t n = in_.ConsumeIntegralInRange<std::size_t>(0, data.size());
      for (std::size_t i = 0; i < n; ++i) data[i] = pattern(sent + i, salt);
      if (auto r = st.send(id, synack::wire::Bytes(data.data(), n))) sent += *r;
    };
    while (in_.remaining_bytes() > 0) {
      pump();
      switch (in_.ConsumeIntegralInRange<int>(0, 6)) {
        case 0:
        case 1: {  // deliver one in-flight datagram (any of them: reordering)
          if (net.empty()) break;
          const std::size_t i = in_.ConsumeIntegralInRange<std::size_t>(0, net.size() - 1);
          Packet p = std::move(net[i]);
          net.erase(net.begin() + static_cast<std::ptrdiff_t>(i));
          pair.deliver(p.to, p.bytes);
          if (in_.ConsumeIntegralInRange<int>(0, 7) == 0) pair.deliver(p.to, p.bytes);  // duplicate
          break;
        }
        case 2:  // drop one
          if (!net.empty())
            net.erase(net.begin() + static_cast<std::ptrdiff_t>(
                                        in_.ConsumeIntegralInRange<std::size_t>(0, net.size() - 1)));
          break;
        case 3:  // time passes
          pair.advance(Duration(in_.ConsumeIntegralInRange<std::int64_t>(0, 3'000'000'000)));
          pair.fire_timers();
          break;
        case 4:  // a sends
          send_pattern(a, *c, sent_ab, 1);
          break;
        case 5:  // b sends
          if (s) send_pattern(b, *s, sent_ba, 2);
          break;
        default:  // a shutdown
          if (in_.ConsumeBool())
            (void)a.shutdown_write(pair.now(), *c);
          else if (s)
            (void)b.shutdown_write(pair.now(), *s);
          break;
      }
      FUZZ_CHECK(net.size() < 100000);
    }
    // Let the network run cleanly: what is in flight goes on the links in order, timers fire. The
    // exchange must go quiet: a bounded number of busy steps (no endless ping-pong).
    for (Packet& p : net) pair.link_from(synack::sim::peer_of(p.to)).send(pair.now(), p.bytes);
    net.clear();
    fuzzed_network = false;
    int busy_rounds = 0;
    for (int round = 0; round < 2000; ++round) {
      pump();
      if (ab.in_flight() + ba.in_flight() > 0) FUZZ_CHECK(++busy_rounds < 1000);
      if (!pair.step()) break;
    }
  }

  FuzzedDataProvider& in_;
  Config config_;
  Instant now_ = Instant::from_nanoseconds(1'000'000'000);
  std::optional<Connection> conn_;
  std::optional<synack::stack::Stack> stack_;
  bool peer_ts_ = true;
  std::uint32_t peer_tsval_ = 100;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider in(data, size);
  Harness h(in);
  h.run();
  return 0;
}
