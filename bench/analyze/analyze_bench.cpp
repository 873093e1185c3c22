// Google Benchmark: the analyzer over an in-memory packet stream (no file I/O), and segment decoding.
#include <vector>

#include <benchmark/benchmark.h>

#include "synack/analyze/analyzer.hpp"
#include "traffic.hpp"

namespace {

using synack::analyze::bench::materialise;
using synack::analyze::bench::plan;

struct Stream {
  std::vector<std::int64_t> times;
  std::vector<std::vector<std::byte>> packets;
};

const Stream& stream() {
  static const Stream s = [] {
    Stream out;
    std::vector<std::byte> buffer;
    for (const auto& p : plan(200000)) {
      const auto n = materialise(p, buffer);
      out.times.push_back(p.time_ns);
      out.packets.emplace_back(buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(n));
    }
    return out;
  }();
  return s;
}

void BM_AnalyzeStream(benchmark::State& state) {
  const auto& s = stream();
  for (auto _ : state) {
    synack::analyze::Analyzer analyzer;
    for (std::size_t i = 0; i < s.packets.size(); ++i) {
      analyzer.add_datagram(std::chrono::nanoseconds(s.times[i]), s.packets[i]);
    }
    auto result = analyzer.finish();
    benchmark::DoNotOptimize(result.connections.data());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(s.packets.size()));
  state.counters["packets"] = static_cast<double>(s.packets.size());
}
BENCHMARK(BM_AnalyzeStream)->Unit(benchmark::kMillisecond);

void BM_AnalyzeStreamRecordingAll(benchmark::State& state) {
  const auto& s = stream();
  for (auto _ : state) {
    synack::analyze::AnalyzerConfig config;
    config.record_all = true;
    synack::analyze::Analyzer analyzer(config);
    for (std::size_t i = 0; i < s.packets.size(); ++i) {
      analyzer.add_datagram(std::chrono::nanoseconds(s.times[i]), s.packets[i]);
    }
    auto result = analyzer.finish();
    benchmark::DoNotOptimize(result.connections.data());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(s.packets.size()));
}
BENCHMARK(BM_AnalyzeStreamRecordingAll)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
