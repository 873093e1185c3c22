// A forwarder: the Stack answers no SYN by itself; each one becomes an offer (Event syn_offer) that this
// program decides before any connection state exists. The rule is a port list: --allow ports are accepted
// (SYN-ACK), --refuse ports are refused (RST: the client sees "connection refused"), every other SYN is
// dropped (no answer: the client retransmits and times out). Accepted connections are echoed; a real one
// would relay to an upstream connection named by Event::user. Installed API only (docs/embedding.md).
//
//   forwarder --self-test        in memory: a client Stack dials ports 7, 22 and 9
//   forwarder --allow 7 --allow 80 --refuse 22 [--tun NAME] [--seconds S]
//                                on a TUN device, in a private network namespace (the kernel's side is
//                                192.0.2.1/24: connect to any other 192.0.2.x)
#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <synack/driver/driver.hpp>
#include <synack/link/netns.hpp>
#include <synack/link/tun.hpp>
#include <synack/stack/entropy.hpp>
#include <synack/stack/stack.hpp>
#include <synack/tcp/state.hpp>
#include <utility>
#include <vector>

namespace {

using namespace synack;
using stack::EventKind;
using stack::Stack;
using stack::Verdict;
constexpr std::array<const char*, 3> kVerdicts{"accept", "refuse", "drop"};  // by Verdict's value

class Forwarder {
 public:
  Forwarder(Stack& s, std::vector<std::uint16_t> allow, std::vector<std::uint16_t> refuse)
      : s_(s), allow_(std::move(allow)), refuse_(std::move(refuse)) {}

  void on_event(Instant now, const stack::Event& e) {
    switch (e.kind) {
      case EventKind::syn_offer: {
        const std::optional<stack::SynOffer> o = s_.offer(e.offer);
        const Verdict v = verdict(o->tuple.local.port);
        (void)s_.set_user_data(e.offer, ++offers_);  // carried by the events of what comes of it
        std::printf("offer %llu: %s -> %s: %s\n", static_cast<unsigned long long>(offers_),
                    o->tuple.remote.to_string().c_str(), o->tuple.local.to_string().c_str(),
                    kVerdicts[static_cast<std::size_t>(v)]);
        (void)s_.decide(now, e.offer, v);
        break;
      }
      case EventKind::established:  // an accepted offer completed its handshake; e.user is the offer's
        std::printf("offer %llu: established\n", static_cast<unsigned long long>(e.user));
        break;
      case EventKind::readable:
      case EventKind::writable:
        echo(e.connection);
        break;
      case EventKind::peer_closed:  // the client is done: echo what is left, then close our side
        echo(e.connection);
        [[fallthrough]];
      case EventKind::reset:
      case EventKind::timed_out:
      case EventKind::aborted:  // ended by the stack: close() gives the id back
        (void)s_.close(now, e.connection);
        pending_.erase(e.connection.index);
        break;
      case EventKind::offer_expired:      // undecided for pending_timeout (we always decide at once)
      case EventKind::half_open_expired:  // accepted, but the client never completed the handshake
        std::printf("offer %llu: %s\n", static_cast<unsigned long long>(e.user),
                    std::string(stack::to_string(e.kind)).c_str());
        break;
      default:
        break;
    }
  }

 private:
  [[nodiscard]] Verdict verdict(std::uint16_t port) const {
    if (std::ranges::find(allow_, port) != allow_.end()) return Verdict::accept;
    if (std::ranges::find(refuse_, port) != refuse_.end()) return Verdict::refuse;
    return Verdict::drop;
  }
  // Echo with back-pressure: what send() does not take yet waits here for `writable`.
  void echo(stack::ConnectionId id) {
    std::vector<std::byte>& p = pending_[id.index];
    std::array<std::byte, 4096> buf{};
    for (int i = 0; i < 64; ++i) {
      if (!p.empty()) {
        const auto n = s_.send(id, p);
        if (!n || *n == 0) return;
        p.erase(p.begin(), p.begin() + static_cast<std::ptrdiff_t>(*n));
      }
      const auto n = s_.recv(id, buf);  // would_block: nothing to read yet; 0: the peer's FIN
      if (!n || *n == 0) return;
      p.insert(p.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(*n));
    }
  }

  Stack& s_;
  std::vector<std::uint16_t> allow_;
  std::vector<std::uint16_t> refuse_;
  std::map<std::uint32_t, std::vector<std::byte>> pending_;
  std::uint64_t offers_ = 0;
};

// In memory: a client Stack dials 198.51.100.7 on ports 7 (allowed), 22 (refused) and 9 (dropped).
int self_test() {
  stack::StackConfig client_config;
  client_config.addresses = {*wire::IpAddress::parse("192.0.2.1")};
  const std::array<std::byte, 16> key{};  // fixed ISN keys: a reproducible run (random_isn_key() otherwise)
  Stack client(client_config, key, 1);
  Stack fwd(stack::StackConfig{}, key, 2);  // owns no address: it answers for any
  fwd.set_forwarder(stack::ForwarderConfig{});
  Forwarder forwarder(fwd, {7}, {22});
  Instant now = Instant::from_nanoseconds(1'000'000'000);
  const auto dial = [&](std::uint16_t port) {
    return *client.connect(now, {}, {*wire::IpAddress::parse("198.51.100.7"), port});
  };
  const stack::ConnectionId c7 = dial(7), c22 = dial(22), c9 = dial(9);
  std::string echoed;
  bool refused = false;
  std::array<std::byte, 1500> datagram{};
  for (int ms = 0; ms < 3000; ++ms) {  // 3 s of virtual time, 1 ms per round
    now += std::chrono::milliseconds(1);
    for (Stack* s : {&client, &fwd}) {
      if (s->next_deadline() <= now) s->on_timeout(now);
    }
    while (auto n = client.poll_transmit(now, datagram)) fwd.on_packet(now, wire::Bytes(datagram.data(), *n));
    while (auto n = fwd.poll_transmit(now, datagram)) client.on_packet(now, wire::Bytes(datagram.data(), *n));
    while (auto e = fwd.poll_event()) forwarder.on_event(now, *e);
    while (auto e = client.poll_event()) {
      if (e->kind == EventKind::established && e->connection == c7) {
        const std::string_view ping = "ping";
        (void)client.send(c7, wire::Bytes(reinterpret_cast<const std::byte*>(ping.data()), ping.size()));
      }
      std::array<std::byte, 64> buf{};
      if (e->kind == EventKind::readable && e->connection == c7) {
        if (auto n = client.recv(c7, buf)) echoed.append(reinterpret_cast<const char*>(buf.data()), *n);
      }
      refused |= e->kind == EventKind::refused && e->connection == c22;
    }
  }
  const bool dropped = client.info(c9) && client.info(c9)->state == tcp::State::syn_sent;
  std::printf("port 7: %s\nport 22: %s\nport 9: %s\n", echoed == "ping" ? "accepted, echoed ping" : "FAILED",
              refused ? "refused" : "FAILED",
              dropped ? "dropped (the client still waits in SYN-SENT)" : "FAILED");
  return echoed == "ping" && refused && dropped ? 0 : 1;
}

// On a TUN device; the kernel's side is 192.0.2.1/24, so the kernel reaches any other 192.0.2.x here.
int run_tun(const std::string& name, Forwarder& forwarder, Stack& fwd, long seconds) {
  if (auto ok = link::check_private_network_namespace(); !ok) {
    std::fprintf(stderr, "forwarder: %s\n", ok.error().message().c_str());
    return 2;
  }
  auto device = link::TunDevice::open(name);
  if (!device || !device->set_up() || !device->add_address(*wire::IpAddress::parse("192.0.2.1"), 24)) {
    std::fprintf(stderr, "forwarder: cannot set up the TUN device %s\n", name.c_str());
    return 2;
  }
  driver::Driver driver(*device, fwd);
  std::printf("forwarder: answering for 192.0.2.0/24 via %s\n", device->name().c_str());
  std::fflush(stdout);
  const Instant end = link::monotonic_now() + std::chrono::seconds(seconds);
  for (;;) {
    const auto step = driver.step(end);
    if (!step || step->now >= end) return step ? 0 : 1;
    while (auto e = fwd.poll_event()) forwarder.on_event(step->now, *e);
    (void)driver.flush(step->now);
    std::fflush(stdout);
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::uint16_t> allow;
  std::vector<std::uint16_t> refuse;
  std::string tun = "synack-fwd";
  long seconds = 60;
  for (int i = 1; i < argc; ++i) {
    const std::string_view flag = argv[i];
    if (flag == "--self-test") return self_test();
    if (i + 1 == argc) break;
    const char* value = argv[++i];
    const auto port = static_cast<std::uint16_t>(std::strtoul(value, nullptr, 10));
    if (flag == "--allow") allow.push_back(port);
    if (flag == "--refuse") refuse.push_back(port);
    if (flag == "--tun") tun = value;
    if (flag == "--seconds") seconds = std::strtol(value, nullptr, 10);
  }
  Stack fwd(stack::StackConfig{}, stack::random_isn_key(), stack::random_seed());
  fwd.set_forwarder(stack::ForwarderConfig{});
  Forwarder forwarder(fwd, allow, refuse);
  return run_tun(tun, forwarder, fwd, seconds);
}
