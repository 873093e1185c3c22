// A consumer of the installed synack: two Stacks shake hands in memory, datagrams handed straight from one
// to the other, and the client prints what was negotiated. Built out of tree by tests/install/run.sh against
// the installed headers and libraries only (find_package and pkg-config), with -Wall -Wextra and no -Werror.
#include <array>
#include <cstddef>
#include <cstdio>
#include <optional>
#include <synack/stack/stack.hpp>
#include <synack/tcp/connection.hpp>
#include <synack/time.hpp>
#include <synack/wire/ip_address.hpp>

namespace {

std::array<std::byte, 16> fixed_key(unsigned char fill) {
  std::array<std::byte, 16> key{};
  key.fill(std::byte{fill});
  return key;
}

// Everything `from` wants to send now, delivered to `to` at once.
void deliver(synack::stack::Stack& from, synack::stack::Stack& to, synack::Instant now) {
  std::array<std::byte, 2048> buffer{};
  while (auto n = from.poll_transmit(now, buffer)) to.on_packet(now, synack::wire::Bytes(buffer.data(), *n));
}

}  // namespace

int main() {
  int unused_on_purpose = 0;  // -Wunused-variable: must warn, and must not fail the build (no -Werror leaks)

  using namespace synack;
  const wire::Endpoint server_endpoint{wire::IpAddress::v4(0xC0000202U), 80};  // 192.0.2.2:80
  stack::StackConfig client_config;
  client_config.addresses = {wire::IpAddress::v4(0xC0000201U)};  // 192.0.2.1
  stack::StackConfig server_config;
  server_config.addresses = {server_endpoint.address};
  stack::Stack client(client_config, fixed_key(1), 1);
  stack::Stack server(server_config, fixed_key(2), 2);

  const auto listener = server.listen(server_endpoint);
  Instant now = Instant::from_nanoseconds(1'000'000'000);
  const auto connection = client.connect(now, {}, server_endpoint);
  if (!listener || !connection) {
    std::puts("listen or connect failed");
    return 1;
  }
  std::optional<stack::ConnectionId> accepted;
  bool established = false;
  for (int round = 0; round < 8 && !(established && accepted); ++round) {
    now = now + std::chrono::milliseconds(1);
    deliver(client, server, now);
    deliver(server, client, now);
    while (auto e = client.poll_event()) established |= e->kind == stack::EventKind::established;
    while (auto e = server.poll_event()) {
      if (e->kind == stack::EventKind::acceptable) {
        if (auto id = server.accept(*listener)) accepted = *id;
      }
    }
  }
  const auto info = client.info(*connection);
  if (!established || !accepted || !info) {
    std::puts("the handshake did not complete");
    return 1;
  }
  const tcp::Negotiated& n = info->negotiated;
  std::printf("handshake %s -> %s established: mss %u/%u, wscale %d/%d, sack %s, timestamps %s\n",
              info->tuple.local.to_string().c_str(), info->tuple.remote.to_string().c_str(),
              static_cast<unsigned>(n.send_mss), static_cast<unsigned>(n.recv_mss),
              n.snd_shift ? static_cast<int>(*n.snd_shift) : -1,
              n.rcv_shift ? static_cast<int>(*n.rcv_shift) : -1, n.sack ? "yes" : "no",
              n.timestamps ? "yes" : "no");
  return 0;
}
