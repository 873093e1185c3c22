// LISTEN and the passive SYN-RECEIVED of half-open entries (RFC 9293 §3.10.7.2, §3.10.7.4).
#include "synack/tcp/listener.hpp"

#include "fixture.hpp"

namespace synack::tcp::testing {
namespace {

IsnGenerator::Key key() {
  IsnGenerator::Key k{};
  k[3] = std::byte{42};
  return k;
}

class ListenTest : public EngineTest {
 protected:
  IsnGenerator isn_gen{key()};
  std::optional<Listener> listener;
  wire::FourTuple at_listener = test_tuple();  // local = listener side

  void listen(std::uint32_t backlog = 4) { listener.emplace(config, at_listener.local, backlog); }
  wire::TcpHeader peer_syn(SeqNum seq) {
    auto h = seg(S, seq, SeqNum{0});
    h.options = peer_syn_options(peer_tsval);
    return h;
  }
  std::uint32_t syn_into_queue() {
    const ListenerReply r = listener->on_segment(now, at_listener, peer_syn(peer_iss), {}, isn_gen);
    EXPECT_EQ(r.kind, ListenerReply::Kind::send_syn_ack);
    return r.slot;
  }
  SeqNum our_iss(std::uint32_t slot) const { return SeqNum(listener->entry(slot).iss); }
  /// The peer's final ACK for the entry in `slot`, 30 ms after its SYN, window 500, with timestamps.
  wire::TcpHeader final_ack_after_30ms(std::uint32_t slot) {
    now += 30ms;
    auto ack = seg(A, peer_iss + 1, our_iss(slot) + 1, 500);
    ack.options.timestamps = wire::Timestamps{peer_tsval + 1, 0};
    return ack;
  }
};

using Listen = ListenTest;
using SynReceivedPassive = ListenTest;

TEST_F(Listen, Syn_SendsSynAckAndQueuesHalfOpen) {
  listen();
  const std::uint32_t slot = syn_into_queue();
  EXPECT_EQ(listener->syn_queue_size(), 1U);
  // RFC 6528: ISS = M + F(tuple, key), from the injected key and time.
  EXPECT_EQ(our_iss(slot), isn_gen.isn(now, at_listener));
  const wire::TcpHeader sa = listener->syn_ack(now, slot);
  EXPECT_EQ(sa.flags, TcpFlags(S | A));
  EXPECT_EQ(sa.ack, peer_iss + 1);
  EXPECT_EQ(sa.options.mss, std::optional<std::uint16_t>(1460));
  EXPECT_EQ(sa.options.wscale, std::optional<std::uint8_t>(7));
  EXPECT_TRUE(sa.options.sack_permitted);
  ASSERT_TRUE(sa.options.timestamps);
  EXPECT_EQ(sa.options.timestamps->echo, peer_tsval);
  EXPECT_EQ(sa.window, 65535);  // not scaled (RFC 7323 §2.2)
}

TEST_F(Listen, SynWithoutOptions_SynAckCarriesOnlyMss) {
  listen();
  peer_timestamps = false;
  const ListenerReply r = listener->on_segment(now, at_listener, seg(S, peer_iss, SeqNum{0}), {}, isn_gen);
  const wire::TcpHeader sa = listener->syn_ack(now, r.slot);
  EXPECT_EQ(sa.options.mss, std::optional<std::uint16_t>(1460));
  EXPECT_FALSE(sa.options.wscale);
  EXPECT_FALSE(sa.options.sack_permitted);
  EXPECT_FALSE(sa.options.timestamps);
}

// RFC 9293 §3.10.7.2: an ACK to a listener -> <SEQ=SEG.ACK><CTL=RST>.
TEST_F(Listen, Ack_SendsRstWithSeqFromAck) {
  listen();
  const ListenerReply r =
      listener->on_segment(now, at_listener, seg(A, peer_iss, SeqNum{123456}), {}, isn_gen);
  EXPECT_EQ(r.kind, ListenerReply::Kind::send_rst);
  EXPECT_EQ(r.rst_seq, SeqNum{123456});
  EXPECT_FALSE(r.rst_ack);
  EXPECT_EQ(listener->syn_queue_size(), 0U);
}

TEST_F(Listen, SynAck_SendsRstWithSeqFromAck) {
  listen();
  const ListenerReply r =
      listener->on_segment(now, at_listener, seg(S | A, peer_iss, SeqNum{99}), {}, isn_gen);
  EXPECT_EQ(r.kind, ListenerReply::Kind::send_rst);
  EXPECT_EQ(r.rst_seq, SeqNum{99});
}

// RFC 9293 §3.10.7.2: "An incoming RST segment could not be valid ... should be ignored".
TEST_F(Listen, Rst_IsIgnored) {
  listen();
  EXPECT_EQ(listener->on_segment(now, at_listener, seg(R, peer_iss, SeqNum{0}), {}, isn_gen).kind,
            ListenerReply::Kind::none);
  EXPECT_EQ(listener->on_segment(now, at_listener, seg(R | A, peer_iss, SeqNum{5}), {}, isn_gen).kind,
            ListenerReply::Kind::none);
}

TEST_F(Listen, NoFlags_IsDropped) {
  listen();
  EXPECT_EQ(listener->on_segment(now, at_listener, seg(0, peer_iss, SeqNum{0}), {}, isn_gen).kind,
            ListenerReply::Kind::none);
}

// A SYN carrying data gets a SYN-ACK acknowledging only the SYN.
TEST_F(Listen, SynWithData_AcksOnlySyn) {
  listen();
  const auto data = bytes_of(100);
  const ListenerReply r = listener->on_segment(now, at_listener, peer_syn(peer_iss), data, isn_gen);
  ASSERT_EQ(r.kind, ListenerReply::Kind::send_syn_ack);
  EXPECT_EQ(listener->syn_ack(now, r.slot).ack, peer_iss + 1);
}

TEST_F(Listen, SynQueueFull_DropsAndCounts) {
  config.syn_queue_capacity = 2;
  listen(16);
  for (std::uint16_t p = 1; p <= 3; ++p) {
    wire::FourTuple t = at_listener;
    t.remote.port = p;
    (void)listener->on_segment(now, t, peer_syn(peer_iss), {}, isn_gen);
  }
  EXPECT_EQ(listener->syn_queue_size(), 2U);
  EXPECT_EQ(listener->stats().syn_queue_full_drops, 1U);
}

// A full queue makes room by dropping its oldest entry whose SYN-ACK was retransmitted (a spoofed SYN's
// entry, most likely); with only fresh entries the new SYN is dropped.
TEST_F(Listen, SynQueueFull_PrunesOldestRetransmittedEntry) {
  config.syn_queue_capacity = 2;
  config.syn_cookies = SynCookieMode::never;
  listen(16);
  const auto syn_from = [&](std::uint16_t port) {
    wire::FourTuple t = at_listener;
    t.remote.port = port;
    return listener->on_segment(now, t, peer_syn(peer_iss), {}, isn_gen);
  };
  const ListenerReply first = syn_from(1);
  now += 500ms;
  (void)syn_from(2);
  // Both fresh: the third SYN is dropped.
  EXPECT_EQ(syn_from(3).kind, ListenerReply::Kind::none);
  EXPECT_EQ(listener->stats().syn_queue_full_drops, 1U);
  // At 1 s the first entry's SYN-ACK is retransmitted; at 1.5 s the second's.
  now += 500ms;
  listener->on_timeout(now, [](std::uint32_t) {}, [](std::uint32_t) {});
  const ListenerReply r = syn_from(4);
  ASSERT_EQ(r.kind, ListenerReply::Kind::send_syn_ack);
  ASSERT_TRUE(r.pruned);
  EXPECT_EQ(r.pruned->remote.port, 1);
  EXPECT_EQ(r.pruned_slot, first.slot);
  EXPECT_EQ(listener->stats().syn_queue_pruned, 1U);
  EXPECT_EQ(listener->syn_queue_size(), 2U);
  EXPECT_EQ(listener->entry(r.slot).tuple().remote.port, 4);
  // The second entry is still fresh: the next SYN is dropped again.
  EXPECT_EQ(syn_from(5).kind, ListenerReply::Kind::none);
  EXPECT_EQ(listener->stats().syn_queue_full_drops, 2U);
}

// As Linux: a SYN is dropped while the accept queue is full.
TEST_F(Listen, AcceptQueueFull_DropsSyn) {
  listen(1);
  ASSERT_TRUE(listener->push_accept(7));
  EXPECT_EQ(listener->on_segment(now, at_listener, peer_syn(peer_iss), {}, isn_gen).kind,
            ListenerReply::Kind::none);
  EXPECT_EQ(listener->stats().accept_queue_full_drops, 1U);
  EXPECT_EQ(listener->pop_accept(), std::optional<std::uint64_t>(7));
}

// The Stack's path: the entry's tuple is the one its flow matched, so only the rest is unpacked. The
// result is the same as from the whole entry, field by field.
TEST_F(SynReceivedPassive, FinalAck_WithTheFlowsTuple_SameAsFromTheEntry) {
  listen();
  const std::uint32_t slot = syn_into_queue();
  const auto ack = final_ack_after_30ms(slot);
  ASSERT_EQ(listener->on_half_open_segment(now, slot, ack).kind, ListenerReply::Kind::complete);
  const PassiveOpen whole = listener->passive_open(slot, ack);
  const PassiveOpen given = listener->passive_open(slot, ack, at_listener);
  EXPECT_EQ(given.tuple, whole.tuple);
  EXPECT_EQ(given.tuple, at_listener);
  EXPECT_EQ(given.iss, whole.iss);
  EXPECT_EQ(given.irs, whole.irs);
  EXPECT_EQ(given.negotiated, whole.negotiated);
  EXPECT_TRUE(given.negotiated.timestamps);
  EXPECT_EQ(given.ts_offset, whole.ts_offset);
  EXPECT_EQ(given.ts_recent, peer_tsval + 1);
  EXPECT_EQ(given.ts_recent, whole.ts_recent);
  EXPECT_EQ(given.peer_window, 500U);
  EXPECT_EQ(given.syn_received_at, whole.syn_received_at);
  EXPECT_EQ(given.synack_retransmits, whole.synack_retransmits);
  EXPECT_EQ(given.rtt_sample, whole.rtt_sample);
  EXPECT_EQ(given.accecn_s_cep, whole.accecn_s_cep);
}

TEST_F(SynReceivedPassive, FinalAck_Completes) {
  listen();
  const std::uint32_t slot = syn_into_queue();
  const auto ack = final_ack_after_30ms(slot);
  const ListenerReply r = listener->on_half_open_segment(now, slot, ack);
  ASSERT_EQ(r.kind, ListenerReply::Kind::complete);
  const PassiveOpen p = listener->passive_open(slot, ack);
  listener->free_half_open(slot);
  conn = Connection::open_passive(config, p, now);
  EXPECT_EQ(conn->state(), State::established);
  EXPECT_EQ(conn->snd_wnd(), 500U << 7U);  // after the handshake windows are scaled
  const ConnectionInfo i = conn->info();
  EXPECT_TRUE(i.passive);
  EXPECT_EQ(i.negotiated.send_mss, 1460);
  EXPECT_TRUE(i.negotiated.timestamps);
  ASSERT_TRUE(i.srtt);
  EXPECT_EQ(*i.srtt, 30ms);
  EXPECT_EQ(listener->syn_queue_size(), 0U);
}

// gVisor once stranded such connections in SYN-RECEIVED: timestamps negotiated, final ACK without them.
TEST_F(SynReceivedPassive, FinalAckWithoutTimestamps_Establishes) {
  listen();
  const std::uint32_t slot = syn_into_queue();
  peer_timestamps = false;
  const auto ack = seg(A, peer_iss + 1, our_iss(slot) + 1);
  ASSERT_EQ(listener->on_half_open_segment(now, slot, ack).kind, ListenerReply::Kind::complete);
  conn = Connection::open_passive(config, listener->passive_open(slot, ack), now);
  EXPECT_EQ(conn->state(), State::established);
  EXPECT_TRUE(conn->info().negotiated.timestamps);
  // And later segments without timestamps are still accepted (Linux behaviour).
  const auto data = bytes_of(5);
  deliver(seg(A, peer_iss + 1, our_iss(slot) + 1), data);
  EXPECT_EQ(conn->readable(), 5U);
}

TEST_F(SynReceivedPassive, BadAck_SendsRstWithSeqFromAck) {
  listen();
  const std::uint32_t slot = syn_into_queue();
  const ListenerReply r = listener->on_half_open_segment(now, slot, seg(A, peer_iss + 1, SeqNum{4242}));
  EXPECT_EQ(r.kind, ListenerReply::Kind::send_rst);
  EXPECT_EQ(r.rst_seq, SeqNum{4242});
  EXPECT_EQ(listener->syn_queue_size(), 1U);  // the entry stays
}

TEST_F(SynReceivedPassive, DuplicateSyn_RetransmitsSynAck) {
  listen();
  const std::uint32_t slot = syn_into_queue();
  EXPECT_EQ(listener->on_half_open_segment(now, slot, peer_syn(peer_iss)).kind,
            ListenerReply::Kind::send_syn_ack);
  EXPECT_EQ(listener->on_half_open_segment(now, slot, peer_syn(peer_iss + 5)).kind,
            ListenerReply::Kind::none);
}

TEST_F(SynReceivedPassive, ExactRst_RemovesEntry_OtherRstIgnored) {
  listen();
  const std::uint32_t slot = syn_into_queue();
  (void)listener->on_half_open_segment(now, slot, seg(R, peer_iss + 50, SeqNum{0}));
  EXPECT_EQ(listener->syn_queue_size(), 1U);
  (void)listener->on_half_open_segment(now, slot, seg(R, peer_iss + 1, SeqNum{0}));
  EXPECT_EQ(listener->syn_queue_size(), 0U);
}

TEST_F(SynReceivedPassive, NoAckBit_IsDropped) {
  listen();
  const std::uint32_t slot = syn_into_queue();
  EXPECT_EQ(listener->on_half_open_segment(now, slot, seg(0, peer_iss + 1, SeqNum{0})).kind,
            ListenerReply::Kind::none);
}

TEST_F(SynReceivedPassive, AcceptQueueFull_FinalAckDroppedEntryKept) {
  listen(1);
  ASSERT_TRUE(listener->push_accept(1));
  // Fill after the SYN was queued (the SYN itself would be dropped while full).
  (void)listener->pop_accept();
  const std::uint32_t slot = syn_into_queue();
  ASSERT_TRUE(listener->push_accept(1));
  const ListenerReply r = listener->on_half_open_segment(now, slot, seg(A, peer_iss + 1, our_iss(slot) + 1));
  EXPECT_EQ(r.kind, ListenerReply::Kind::none);
  EXPECT_EQ(listener->syn_queue_size(), 1U);
}

// SYN-ACK retransmission: 1, 3, 7, 15, 31 s, entry dropped at 63 s after synack_retries = 5.
// A half-open entry keeps its SYN time in 32 bits of microseconds after the listener's epoch (so that its
// timestamp offset fits in 64 bytes). When `now` runs 65 minutes past the epoch the epoch moves forward:
// a live entry keeps its exact SYN time, so its RTT sample and its SYN-ACK deadline are unchanged.
TEST_F(SynReceivedPassive, ListenerEpochMoves_LiveEntryKeepsItsSynTime) {
  listen();
  (void)syn_into_queue();  // the first SYN sets the epoch, 30 minutes before it
  now += 35min - 1s;
  at_listener.remote.port = static_cast<std::uint16_t>(at_listener.remote.port + 1);
  const std::uint32_t slot = syn_into_queue();
  const Instant syn_at = now;
  EXPECT_EQ(listener->syn_received_at(listener->entry(slot)), syn_at);
  now += 2s;  // 65 min + 1 s after the epoch: the next SYN moves it
  at_listener.remote.port = static_cast<std::uint16_t>(at_listener.remote.port + 1);
  (void)syn_into_queue();
  EXPECT_EQ(listener->syn_received_at(listener->entry(slot)), syn_at);
  now += 30ms;
  at_listener.remote.port = static_cast<std::uint16_t>(at_listener.remote.port - 1);
  auto ack = seg(A, peer_iss + 1, our_iss(slot) + 1, 500);
  ack.options.timestamps = wire::Timestamps{peer_tsval + 1, 0};
  ASSERT_EQ(listener->on_half_open_segment(now, slot, ack).kind, ListenerReply::Kind::complete);
  const PassiveOpen p = listener->passive_open(slot, ack);
  EXPECT_EQ(p.syn_received_at, syn_at);
  // The timestamp offset kept with the entry is the one the ISN generator gives for the tuple.
  EXPECT_EQ(p.ts_offset, isn_gen.timestamp_offset(p.tuple));
  conn = Connection::open_passive(config, p, now);
  ASSERT_TRUE(conn->info().srtt);
  EXPECT_EQ(*conn->info().srtt, 2s + 30ms);
}

TEST_F(SynReceivedPassive, SynAckRetransmissionSchedule) {
  listen();
  const Instant t0 = now;
  (void)syn_into_queue();
  std::vector<Duration> retransmitted;
  int expired = 0;
  while (listener->next_deadline() != Instant::max()) {
    now = listener->next_deadline();
    listener->on_timeout(
        now, [&](std::uint32_t) { retransmitted.push_back(now - t0); }, [&](std::uint32_t) { ++expired; });
  }
  const std::vector<Duration> expected{1s, 3s, 7s, 15s, 31s};
  EXPECT_EQ(retransmitted, expected);
  EXPECT_EQ(now - t0, 63s);
  EXPECT_EQ(expired, 1);
  EXPECT_EQ(listener->syn_queue_size(), 0U);
}

TEST_F(SynReceivedPassive, SynAckRetriesConfigurable) {
  config.synack_retries = 2;
  listen();
  const Instant t0 = now;
  (void)syn_into_queue();
  int retransmitted = 0;
  while (listener->next_deadline() != Instant::max()) {
    now = listener->next_deadline();
    listener->on_timeout(now, [&](std::uint32_t) { ++retransmitted; }, [](std::uint32_t) {});
  }
  EXPECT_EQ(retransmitted, 2);
  EXPECT_EQ(now - t0, 7s);  // SYN-ACKs at 0, 1, 3; dropped at 7 s
  EXPECT_EQ(listener->stats().half_open_timeouts, 1U);
}

TEST_F(SynReceivedPassive, FreedSlotBumpsGeneration) {
  listen();
  const std::uint32_t slot = syn_into_queue();
  const std::uint8_t g = listener->entry(slot).generation;
  listener->free_half_open(slot);
  EXPECT_NE(listener->entry(slot).generation, g);
}

// RFC 9293 §3.10.7.4 (SYN-RECEIVED, the final ACK): the connection's options are negotiate() of the
// passive offer and the SYN's options, for every combination of what the SYN carried and what the
// listener offers (the listener reads them from the entry's fields; negotiate() is the reference).
TEST_F(SynReceivedPassive, FinalAck_NegotiatedEqualsNegotiateForEveryOptionMix) {
  for (int mask = 0; mask < 64; ++mask) {
    config = Config{};
    config.window_scaling = (mask & 16) == 0;
    config.sack_permitted = (mask & 32) == 0;
    config.ecn = (mask & 8) != 0 ? EcnMode::passive : EcnMode::off;
    listen();
    wire::TcpHeader syn = seg(S, peer_iss, SeqNum{0});
    syn.options = {};
    if ((mask & 1) != 0) syn.options.mss = static_cast<std::uint16_t>(500 + mask);
    if ((mask & 2) != 0) syn.options.wscale = static_cast<std::uint8_t>(mask % 15);
    syn.options.sack_permitted = (mask & 4) != 0;
    if ((mask & 8) != 0) syn.options.timestamps = wire::Timestamps{1234, 0};
    if ((mask & 1) != 0) syn.flags = TcpFlags(S | TcpFlags::kEce | TcpFlags::kCwr);  // ECN-setup SYN
    const ListenerReply r = listener->on_segment(now, at_listener, syn, {}, isn_gen);
    ASSERT_EQ(r.kind, ListenerReply::Kind::send_syn_ack) << mask;
    const HalfOpen e = listener->entry(r.slot);
    const Negotiated expected = negotiate(passive_offer(config, wire::IpVersion::v4), e.peer_options(),
                                          wire::IpVersion::v4, config.min_send_mss);
    const auto ack = seg(A, peer_iss + 1, SeqNum(e.iss) + 1);
    EXPECT_EQ(listener->passive_open(r.slot, ack).negotiated, expected) << mask;
  }
}

}  // namespace
}  // namespace synack::tcp::testing
