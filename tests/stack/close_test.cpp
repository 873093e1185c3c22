// Every close variant between two Stacks; TIME-WAIT and a new SYN for its 4-tuple.
#include "pair.hpp"

namespace synack::stack::testing {
namespace {

class Close : public ::testing::Test {
 protected:
  Stack a{config_for(addr_a()), key(1), 1};
  Stack b{config_for(addr_b()), key(2), 2};
  Pair pair{a, b};
  ConnectionId c;  // client, on a
  ConnectionId s;  // server, on b
  std::vector<Event> ea;
  std::vector<Event> eb;

  void SetUp() override {
    const auto l = b.listen({addr_b(), 80});
    c = *a.connect(pair.now(), {addr_a(), 40000}, {addr_b(), 80});
    pair.run_until([&] { return a.info(c)->state == tcp::State::established; });
    pair.run_for(50ms);
    s = *b.accept(*l);
    collect();
    ea.clear();
    eb.clear();
  }
  void collect() {
    for (auto& e : events_of(a)) ea.push_back(e);
    for (auto& e : events_of(b)) eb.push_back(e);
  }
  tcp::State sa() { return a.info(c) ? a.info(c)->state : tcp::State::closed; }
  tcp::State sb() { return b.info(s) ? b.info(s)->state : tcp::State::closed; }
  std::size_t read_all(Stack& st, ConnectionId id) {
    std::array<std::byte, 4096> buf{};
    std::size_t total = 0;
    while (auto n = st.recv(id, buf)) {
      if (*n == 0) break;
      total += *n;
    }
    return total;
  }
};

TEST_F(Close, ClientFirst_ClientInTimeWaitServerClosed) {
  ASSERT_FALSE(a.shutdown_write(pair.now(), c));
  pair.run_until([&] {
    collect();
    return has_event(eb, EventKind::peer_closed);
  });
  pair.run_for(50ms);
  EXPECT_EQ(sb(), tcp::State::close_wait);
  EXPECT_EQ(sa(), tcp::State::fin_wait_2);
  ASSERT_FALSE(b.close(pair.now(), s));
  pair.run_for(100ms);
  collect();
  EXPECT_EQ(sa(), tcp::State::time_wait);
  EXPECT_EQ(b.connection_count(), 0U);  // LAST-ACK -> CLOSED and released
  // TIME-WAIT lasts 2 MSL = 60 s.
  ASSERT_FALSE(a.close(pair.now(), c));
  pair.run_for(59s);
  EXPECT_EQ(a.connection_count(), 1U);
  pair.run_for(2s);
  EXPECT_EQ(a.connection_count(), 0U);
  EXPECT_FALSE(a.info(c));
  const std::uint64_t sent = pair.sent();
  pair.run_for(300s);
  EXPECT_EQ(pair.sent(), sent);  // nothing left ticking
  EXPECT_EQ(a.next_deadline(), Instant::max());
  EXPECT_EQ(b.next_deadline(), Instant::max());
}

TEST_F(Close, ServerFirst_ServerInTimeWait) {
  ASSERT_FALSE(b.close(pair.now(), s));
  pair.run_until([&] {
    collect();
    return has_event(ea, EventKind::peer_closed);
  });
  EXPECT_EQ(read_all(a, c), 0U);
  ASSERT_FALSE(a.close(pair.now(), c));
  pair.run_for(100ms);
  EXPECT_EQ(a.connection_count(), 0U);
  EXPECT_EQ(b.connection_count(), 1U);  // TIME-WAIT
  pair.run_for(61s);
  EXPECT_EQ(b.connection_count(), 0U);
}

TEST_F(Close, Simultaneous_BothThroughClosingToTimeWait) {
  ASSERT_FALSE(a.shutdown_write(pair.now(), c));
  ASSERT_FALSE(b.shutdown_write(pair.now(), s));
  pair.flush();
  pair.run_for(15ms);  // both FINs in flight and arrived
  EXPECT_EQ(sa(), tcp::State::closing);
  EXPECT_EQ(sb(), tcp::State::closing);
  pair.run_for(20ms);
  EXPECT_EQ(sa(), tcp::State::time_wait);
  EXPECT_EQ(sb(), tcp::State::time_wait);
}

TEST_F(Close, HalfClose_ServerKeepsSendingAfterClientFin) {
  ASSERT_FALSE(a.shutdown_write(pair.now(), c));
  pair.run_for(50ms);
  const std::vector<std::byte> data(100000, std::byte{3});
  std::size_t sent = 0;
  std::size_t got = 0;
  pair.run_until([&] {
    if (sent < data.size()) sent += b.send(s, wire::Bytes(data).subspan(sent)).value_or(0);
    got += read_all(a, c);
    return got == data.size();
  });
  EXPECT_EQ(got, data.size());
  EXPECT_EQ(sa(), tcp::State::fin_wait_2);
  ASSERT_FALSE(b.close(pair.now(), s));
  pair.run_until([&] {
    collect();
    return has_event(ea, EventKind::peer_closed);
  });
  pair.run_for(50ms);
  EXPECT_EQ(sa(), tcp::State::time_wait);
}

TEST_F(Close, Abort_PeerSeesReset) {
  ASSERT_FALSE(a.abort(pair.now(), c));
  pair.run_until([&] {
    collect();
    return has_event(eb, EventKind::reset);
  });
  const auto it =
      std::find_if(eb.begin(), eb.end(), [](const Event& e) { return e.kind == EventKind::reset; });
  ASSERT_NE(it, eb.end());
  EXPECT_EQ(it->error, tcp::make_error_code(tcp::Error::reset));
  EXPECT_EQ(a.connection_count(), 0U);
  EXPECT_FALSE(a.info(c));  // the id is stale now
  EXPECT_EQ(a.send(c, {}).error(), tcp::make_error_code(tcp::Error::unknown_connection));
}

// close_listener(now, id): connections nobody accepted are reset, as Linux does when a listening socket
// closes; an accepted one lives on, and the port then refuses new SYNs.
TEST_F(Close, CloseListener_UnacceptedConnectionReset_AcceptedOneLivesOn) {
  const ConnectionId c2 = *a.connect(pair.now(), {addr_a(), 40001}, {addr_b(), 80});
  pair.run_until([&] { return a.info(c2)->state == tcp::State::established; });
  pair.run_for(50ms);
  ASSERT_EQ(b.listener_info(ListenerId{0})->accept_queue, 1U);
  ASSERT_FALSE(b.close_listener(pair.now(), ListenerId{0}));
  EXPECT_FALSE(b.listener_info(ListenerId{0}));
  pair.run_until([&] {
    collect();
    return has_event(ea, EventKind::reset);
  });
  EXPECT_EQ(a.info(c2)->error, tcp::make_error_code(tcp::Error::reset));
  EXPECT_EQ(sa(), tcp::State::established);  // the accepted connection is untouched
  EXPECT_EQ(sb(), tcp::State::established);
  EXPECT_EQ(b.close_listener(pair.now(), ListenerId{0}), tcp::make_error_code(tcp::Error::invalid_argument));
  const ConnectionId c3 = *a.connect(pair.now(), {addr_a(), 40002}, {addr_b(), 80});
  pair.run_until([&] { return a.info(c3)->state == tcp::State::closed; });
  EXPECT_EQ(a.info(c3)->error, tcp::make_error_code(tcp::Error::refused));
}

TEST_F(Close, CloseWithUnreadData_SendsReset) {
  const std::vector<std::byte> data(10, std::byte{1});
  ASSERT_EQ(a.send(c, data).value(), 10U);
  pair.run_for(50ms);
  ASSERT_FALSE(b.close(pair.now(), s));  // 10 unread bytes
  pair.run_until([&] {
    collect();
    return has_event(ea, EventKind::reset);
  });
  EXPECT_TRUE(has_event(ea, EventKind::reset));
}

// A new SYN for a 4-tuple in TIME-WAIT (server closed first): the reconnecting client's ISN and
// timestamp are newer, so the TIME-WAIT connection is replaced (RFC 6191, Linux).
TEST_F(Close, NewSynForTimeWaitTuple_ReusesIt) {
  ASSERT_FALSE(b.close(pair.now(), s));
  pair.run_until([&] {
    collect();
    return has_event(ea, EventKind::peer_closed);
  });
  ASSERT_FALSE(a.close(pair.now(), c));
  pair.run_for(100ms);
  ASSERT_EQ(b.connection_count(), 1U);  // TIME-WAIT on the server
  pair.run_for(5s);
  const auto c2 = a.connect(pair.now(), {addr_a(), 40000}, {addr_b(), 80});
  ASSERT_TRUE(c2);
  pair.run_until([&] { return a.info(*c2)->state == tcp::State::established; }, 5s);
  EXPECT_EQ(a.info(*c2)->state, tcp::State::established);
  EXPECT_EQ(b.stats().time_wait_reuses, 1U);
  // The SYN counted once by the listener, though taken, withdrawn for its TIME-WAIT flow and taken again.
  EXPECT_EQ(b.stats().listen_syns, 2U);
  EXPECT_EQ(a.info(*c2)->syn_retransmits, 0U);
}

}  // namespace
}  // namespace synack::stack::testing

namespace synack::stack::testing {
namespace {

// The receiver's window closes; its window updates are lost; the sender's persist probes recover.
TEST(ZeroWindow, LostWindowUpdate_RecoveredByPersistProbe) {
  StackConfig cb = config_for(addr_b());
  cb.tcp.recv_buffer = 8192;
  cb.tcp.window_shift = 0;
  Stack a{config_for(addr_a()), key(1), 1};
  Stack b{cb, key(2), 2};
  Pair pair{a, b};
  const auto l = b.listen({addr_b(), 80});
  const auto c = *a.connect(pair.now(), {addr_a(), 0}, {addr_b(), 80});
  std::optional<ConnectionId> s;
  pair.run_until(
      [&] {
        if (!s) {
          if (auto x = b.accept(*l)) s = *x;
        }
        return s.has_value();
      },
      1s);
  ASSERT_TRUE(s);
  const std::vector<std::byte> data(20000, std::byte{5});
  ASSERT_EQ(a.send(c, data).value(), data.size());
  pair.run_for(1s);  // 8192 bytes fill the receiver: window 0
  bool drop_updates = true;
  pair.filter = [&](bool to_b, const wire::TcpPacketView& v) {
    return drop_updates && !to_b && v.tcp().window() > 0;  // every window update from b is lost
  };
  std::array<std::byte, 4096> buf{};
  std::size_t got = 0;
  const auto read = [&] {
    while (auto n = b.recv(*s, buf)) {
      if (*n == 0) break;
      got += *n;
    }
  };
  read();
  EXPECT_EQ(got, 8192U);
  pair.run_for(2s);
  drop_updates = false;
  pair.run_until(
      [&] {
        read();
        return got == data.size();
      },
      120s);
  EXPECT_EQ(got, data.size());
}

}  // namespace
}  // namespace synack::stack::testing
