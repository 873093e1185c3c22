// The training run of the engine's profile-guided optimisation (cmake/SynackPgo.cmake): the handshakes
// `synack bench` measures — closed with RST and with FIN, at 1, 32, 256 and 4,096 in flight — through
// the wire, tcp and stack libraries built with -fprofile-generate, so that the optimised build knows
// which branches and calls are hot. Built only in the training build; never installed. Everything runs
// in memory and in virtual time (no socket, no clock but the process's own), bounded by a handshake
// count per case and a limit on rounds.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <initializer_list>

#include "bench_pair.hpp"

namespace {

using synack::cli::bench::Pair;
using synack::cli::bench::PairConfig;
using synack::stack::Event;
using synack::stack::EventKind;

/// `count` handshakes with `inflight` at a time, each closed by the client with RST or FIN. Returns how
/// many completed.
std::uint64_t train(bool rst, std::uint32_t inflight, std::uint64_t count) {
  PairConfig config;
  config.queue = std::max<std::uint32_t>(inflight, synack::cli::bench::kFillBatch);
  config.syn_queue = config.queue;
  config.max_connections = count + inflight + synack::cli::bench::kFillBatch;
  config.client_addresses = synack::cli::bench::client_addresses_for(count + inflight);
  Pair p(config);
  std::uint64_t done = 0;
  std::uint64_t started = 0;
  std::uint32_t open = 0;
  const auto on_client = [&](const Event& e) {
    if (e.kind == EventKind::established) {
      ++done;
      --open;
      (void)(rst ? p.client().abort(p.now(), e.connection) : p.client().close(p.now(), e.connection));
    } else if (e.kind == EventKind::refused || e.kind == EventKind::timed_out) {
      ++done;
      --open;
      (void)p.client().close(p.now(), e.connection);
    }
  };
  for (std::uint64_t round = 0; done < count && round < 4 * count + 1000; ++round) {
    p.tick();
    const std::uint64_t want = std::min<std::uint64_t>(inflight - open, count - started);
    const std::uint32_t n = p.start(want);
    open += n;
    started += n;
    p.pump(on_client);
  }
  return done;
}

}  // namespace

int main() {
  for (const bool rst : {true, false}) {
    for (const std::uint32_t inflight : {1U, 32U, 256U, 4096U}) {
      const std::uint64_t count = 20'000;
      const std::uint64_t done = train(rst, inflight, count);
      std::printf("pgo training: %s close, %u in flight: %llu of %llu handshakes\n", rst ? "RST" : "FIN",
                  inflight, static_cast<unsigned long long>(done), static_cast<unsigned long long>(count));
      if (done != count) return 1;
    }
  }
  return 0;
}
