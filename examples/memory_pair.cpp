// The smallest complete synack program: two Stacks in one process, a client and a server, with the
// datagrams each one emits handed straight to the other in virtual time. The server listens, the client
// connects, each side sends one message, both close; the program prints the negotiated options and the
// messages. Uses only the installed headers and the synack::stack library (docs/embedding.md).
//
//   memory_pair            prints the exchange; exit status 0 when it completed
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>
#include <synack/stack/stack.hpp>
#include <synack/tcp/connection_info.hpp>
#include <synack/tcp/options.hpp>
#include <synack/time.hpp>
#include <synack/wire/ip_address.hpp>

namespace {

using synack::Instant;
using synack::stack::ConnectionId;
using synack::stack::EventKind;
using synack::stack::Stack;

// A fixed ISN key keeps the run reproducible; a real program uses synack::stack::random_isn_key().
std::array<std::byte, 16> key(unsigned char fill) {
  std::array<std::byte, 16> k{};
  k.fill(std::byte{fill});
  return k;
}

// The "link": everything `from` has to send at `now` arrives at `to` at once.
void deliver(Stack& from, Stack& to, Instant now) {
  std::array<std::byte, 1500> datagram{};  // one MTU
  while (auto n = from.poll_transmit(now, datagram))
    to.on_packet(now, synack::wire::Bytes(datagram.data(), *n));
}

synack::wire::Bytes bytes(std::string_view text) {
  return {reinterpret_cast<const std::byte*>(text.data()), text.size()};
}

// Reads what has arrived; false when nothing is there yet (would_block), which is not an error.
bool read_into(Stack& s, ConnectionId id, std::string& out) {
  std::array<std::byte, 512> buf{};
  const auto n = s.recv(id, buf);
  if (!n || *n == 0) return false;
  out.append(reinterpret_cast<const char*>(buf.data()), *n);
  return true;
}

}  // namespace

int main() {
  using namespace synack;
  const wire::Endpoint server_at{*wire::IpAddress::parse("192.0.2.2"), 7};
  stack::StackConfig client_config;
  client_config.addresses = {*wire::IpAddress::parse("192.0.2.1")};
  stack::StackConfig server_config;
  server_config.addresses = {server_at.address};
  Stack client(client_config, key(1), 1);
  Stack server(server_config, key(2), 2);

  const auto listener = server.listen(server_at);
  Instant now = Instant::from_nanoseconds(1'000'000'000);
  const auto connection = client.connect(now, {}, server_at);  // any local address and port
  if (!listener || !connection) {
    std::puts("listen or connect failed");
    return 1;
  }

  std::optional<ConnectionId> accepted;
  std::optional<tcp::Negotiated> negotiated;
  std::string at_server;
  std::string at_client;
  bool replied = false;
  bool client_closed = false;
  // 1 ms per round, a bounded number of rounds: timers, datagrams both ways, then the events.
  for (int round = 0; round < 200 && !client_closed; ++round) {
    now += std::chrono::milliseconds(1);
    if (client.next_deadline() <= now) client.on_timeout(now);
    if (server.next_deadline() <= now) server.on_timeout(now);
    deliver(client, server, now);
    deliver(server, client, now);
    while (auto e = client.poll_event()) {
      switch (e->kind) {
        case EventKind::established:  // the handshake is done: what did the two sides agree on?
          negotiated = client.info(*connection)->negotiated;
          (void)client.send(*connection, bytes("hello from the client"));
          break;
        case EventKind::readable:
          while (read_into(client, *connection, at_client)) {
          }
          break;
        case EventKind::peer_closed:  // the server's FIN: the reply is complete, close our side too
          while (read_into(client, *connection, at_client)) {
          }
          (void)client.close(now, *connection);
          break;
        case EventKind::closed:  // our FIN was acknowledged (LAST-ACK -> CLOSED); the id is now invalid
          client_closed = true;
          break;
        default:
          break;
      }
    }
    while (auto e = server.poll_event()) {
      if (e->kind == EventKind::acceptable) {
        if (auto id = server.accept(*listener)) accepted = *id;
      }
      if (accepted && e->kind == EventKind::readable) {
        while (read_into(server, *accepted, at_server)) {
        }
        if (!replied && !at_server.empty()) {
          (void)server.send(*accepted, bytes("hello from the server"));
          (void)server.close(now, *accepted);  // the FIN follows the reply; the stack finishes the close
          replied = true;
        }
      }
    }
  }

  if (!negotiated || at_server.empty() || at_client.empty() || !client_closed) {
    std::puts("the exchange did not complete");
    return 1;
  }
  const tcp::Negotiated& n = *negotiated;
  std::printf("negotiated: mss %u out / %u in, window scale %d / %d, sack %s, timestamps %s\n",
              static_cast<unsigned>(n.send_mss), static_cast<unsigned>(n.recv_mss),
              n.snd_shift ? static_cast<int>(*n.snd_shift) : -1,
              n.rcv_shift ? static_cast<int>(*n.rcv_shift) : -1, n.sack ? "yes" : "no",
              n.timestamps ? "yes" : "no");
  std::printf("server received: %s\n", at_server.c_str());
  std::printf("client received: %s\n", at_client.c_str());
  // The server closed first, so it holds TIME-WAIT (a compact record; its id is already released).
  std::printf("client closed; server connections in TIME-WAIT: %zu\n", server.time_wait_count());
  return 0;
}
