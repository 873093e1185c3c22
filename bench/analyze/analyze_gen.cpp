// Writes a synthetic capture for benchmarking `synack analyze`: analyze_gen FILE [PACKETS].
#include <cstdlib>
#include <string>

#include <fmt/core.h>

#include "synack/capture/pcap.hpp"
#include "traffic.hpp"

int main(int argc, char** argv) {
  if (argc < 2) {
    fmt::print(stderr, "usage: analyze_gen FILE [PACKETS]\n");
    return 2;
  }
  const std::size_t packets = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 1000000;
  auto writer = synack::capture::PcapWriter::open(argv[1]);
  if (!writer) {
    fmt::print(stderr, "analyze_gen: {}\n", writer.error().message);
    return 1;
  }
  const auto plan = synack::analyze::bench::plan(packets);
  std::vector<std::byte> buffer;
  for (const auto& p : plan) {
    const auto n = synack::analyze::bench::materialise(p, buffer);
    if (!writer->write(std::chrono::nanoseconds(p.time_ns), synack::wire::Bytes(buffer).first(n))) {
      fmt::print(stderr, "analyze_gen: write failed\n");
      return 1;
    }
  }
  if (!writer->close()) return 1;
  fmt::print("{} packets, {} connections\n", plan.size(), plan.empty() ? 0 : plan.back().connection + 1);
  return 0;
}
