// An echo server on a Linux TUN device: the kernel (or anything routed into the device) connects to
// 192.0.2.2 port 7 and gets back every byte it sends. synack's driver::Driver runs the loop (read datagrams,
// feed the Stack with the monotonic time, fire timers, write what it emits); this program only handles
// the events. Uses only the installed headers and synack::driver (docs/embedding.md).
//
//   tun_echo [--tun NAME] [--connections N] [--seconds S]
//
// It configures the kernel's side of the device (192.0.2.1/24), so it refuses to run outside a private
// network namespace; run it as, for example:  unshare -n sh -c 'ip link set lo up; tun_echo'
// and connect from that namespace (e.g. `nc 192.0.2.2 7`). It exits after N connections ended (default:
// never) or S seconds (default 60).
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <string_view>
#include <synack/driver/driver.hpp>
#include <synack/link/netns.hpp>
#include <synack/link/tun.hpp>
#include <synack/stack/entropy.hpp>
#include <synack/stack/stack.hpp>
#include <synack/wire/ip_address.hpp>
#include <vector>

namespace {

using synack::Instant;
using synack::stack::ConnectionId;
using synack::stack::EventKind;
using synack::stack::Stack;

// Echo with back-pressure: what send() does not take yet (the send buffer is full) waits here for the
// connection's `writable` event.
class Echo {
 public:
  explicit Echo(Stack& s) : s_(s) {}

  // recv() with nothing to read is would_block (wait for `readable`); 0 is the peer's FIN; any other
  // error ends the connection (its event says why).
  void pump(ConnectionId id) {
    std::vector<std::byte>& p = pending_[id.index];
    std::array<std::byte, 4096> buf{};
    for (int i = 0; i < 64; ++i) {
      if (!p.empty()) {
        const auto n = s_.send(id, p);
        if (!n || *n == 0) return;
        p.erase(p.begin(), p.begin() + static_cast<std::ptrdiff_t>(*n));
      }
      const auto n = s_.recv(id, buf);
      if (!n || *n == 0) return;
      p.insert(p.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(*n));
    }
  }
  void forget(ConnectionId id) { pending_.erase(id.index); }

 private:
  Stack& s_;
  std::map<std::uint32_t, std::vector<std::byte>> pending_;
};

}  // namespace

int main(int argc, char** argv) {
  using namespace synack;
  std::string tun_name = "synack-echo";
  long max_connections = -1;
  long seconds = 60;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string_view flag = argv[i];
    if (flag == "--tun") tun_name = argv[i + 1];
    if (flag == "--connections") max_connections = std::strtol(argv[i + 1], nullptr, 10);
    if (flag == "--seconds") seconds = std::strtol(argv[i + 1], nullptr, 10);
  }

  // Never add an address to a namespace that might be the host's own.
  if (auto ok = link::check_private_network_namespace(); !ok) {
    std::fprintf(stderr, "tun_echo: %s\n", ok.error().message().c_str());
    return 2;
  }
  auto device = link::TunDevice::open(tun_name);
  if (!device) {
    std::fprintf(stderr, "tun_echo: %s\n", device.error().message().c_str());
    return 2;
  }
  if (auto up = device->set_up(); !up) {
    std::fprintf(stderr, "tun_echo: %s\n", up.error().message().c_str());
    return 2;
  }
  if (auto added = device->add_address(*wire::IpAddress::parse("192.0.2.1"), 24); !added) {
    std::fprintf(stderr, "tun_echo: %s\n", added.error().message().c_str());
    return 2;
  }

  const wire::Endpoint local{*wire::IpAddress::parse("192.0.2.2"), 7};
  stack::StackConfig config;
  config.addresses = {local.address};
  if (auto mtu = device->mtu()) config.tcp.mtu = *mtu;
  Stack stack(config, stack::random_isn_key(), stack::random_seed());
  const auto listener = stack.listen(local);
  if (!listener) {
    std::fprintf(stderr, "tun_echo: listen: %s\n", listener.error().message().c_str());
    return 1;
  }
  driver::Driver driver(*device, stack);
  Echo echo(stack);
  std::printf("tun_echo: listening on %s via %s\n", local.to_string().c_str(), device->name().c_str());
  std::fflush(stdout);

  const Instant end = link::monotonic_now() + std::chrono::seconds(seconds);
  long ended = 0;
  while (max_connections < 0 || ended < max_connections) {
    const auto step = driver.step(end);  // sleeps until a datagram, a stack timer or `end`
    if (!step) {
      std::fprintf(stderr, "tun_echo: %s\n", step.error().c_str());
      return 1;
    }
    if (step->now >= end) break;
    while (auto e = stack.poll_event()) {
      switch (e->kind) {
        case EventKind::acceptable:
          while (auto id = stack.accept(e->listener)) {
            std::printf("tun_echo: connection from %s\n", stack.info(*id)->tuple.remote.to_string().c_str());
            echo.pump(*id);  // the final ACK may have carried data
          }
          break;
        case EventKind::readable:  // bytes to read
        case EventKind::writable:  // room again for what send() did not take
          echo.pump(e->connection);
          break;
        case EventKind::peer_closed:  // the client is done: echo the rest, then close our side
          echo.pump(e->connection);
          (void)stack.close(step->now, e->connection);
          echo.forget(e->connection);
          ++ended;
          std::printf("tun_echo: connection closed\n");
          break;
        case EventKind::reset:
        case EventKind::timed_out:
        case EventKind::aborted:  // ended by the stack: give the id back
          (void)stack.close(step->now, e->connection);
          echo.forget(e->connection);
          ++ended;
          std::printf("tun_echo: connection %s\n", std::string(stack::to_string(e->kind)).c_str());
          break;
        default:
          break;
      }
    }
    (void)driver.flush(step->now);  // what our send()/close() calls queued goes out now
  }
  std::fflush(stdout);
  return 0;
}
