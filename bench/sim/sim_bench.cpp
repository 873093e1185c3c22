// End-to-end simulator throughput: N handshakes between two full stacks through the simulated link, in
// virtual time, with no segment recording. Arguments: connections, loss in percent, buffer KiB per
// direction and host (256 = the engine's default). Counters: connections per second of CPU time, and the
// virtual seconds simulated.
#include <chrono>

#include <benchmark/benchmark.h>

#include "synack/sim/scenario.hpp"
#include "synack/sim/simulation.hpp"

namespace {

void BM_SimHandshakes(benchmark::State& state) {
  const auto connections = static_cast<std::uint32_t>(state.range(0));
  const double loss = static_cast<double>(state.range(1)) / 100.0;
  const auto buffer = static_cast<std::uint32_t>(state.range(2)) * 1024U;
  auto config = *synack::sim::scenario_config("normal", 1);
  config.connections = connections;
  config.to_server.loss = config.to_client.loss = loss;
  config.client.send_buffer = config.client.recv_buffer = buffer;
  config.server.send_buffer = config.server.recv_buffer = buffer;
  config.record_segments = false;
  config.keep_connections = false;
  double virtual_s = 0;
  std::uint64_t established = 0, segments = 0;
  for (auto _ : state) {
    const auto result = synack::sim::run(config);
    virtual_s = result.summary.virtual_seconds;
    established = result.summary.count(synack::observe::Outcome::established);
    segments = result.summary.segments;
    benchmark::DoNotOptimize(result.summary.segments);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * connections);
  state.counters["connections"] = connections;
  state.counters["established"] = static_cast<double>(established);
  state.counters["segments"] = static_cast<double>(segments);
  state.counters["virtual_s"] = virtual_s;
}

// The acceptance run: 100,000 connections at 10 % loss, with the same 100,000 at 0 % as the baseline,
// at the engine's default 256 KiB buffers and at 16 KiB (the buffers are allocated eagerly).
BENCHMARK(BM_SimHandshakes)
    ->ArgNames({"conns", "loss_pct", "buf_kib"})
    ->Args({100000, 0, 256})
    ->Args({100000, 10, 256})
    ->Args({100000, 0, 16})
    ->Args({100000, 10, 16})
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);

// A quick variant for a smoke run.
BENCHMARK(BM_SimHandshakes)
    ->ArgNames({"conns", "loss_pct", "buf_kib"})
    ->Args({2000, 10, 256})
    ->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
