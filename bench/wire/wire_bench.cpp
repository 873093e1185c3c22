// Hot functions of the wire layer: parse and emit of a SYN with all options, and the Internet checksum
// over 40 and 1,460 bytes. The baseline in the same run is a plain byte-at-a-time RFC 1071 loop, so a
// reader can tell the machine's speed from ours. Results: BENCHMARKS.md.
#include <array>
#include <cstddef>
#include <vector>

#include <benchmark/benchmark.h>

#include "synack/wire/checksum.hpp"
#include "synack/wire/packet.hpp"

namespace {

using namespace synack::wire;

TcpHeader syn_with_all_options() {
  TcpHeader h;
  h.src_port = 40000;
  h.dst_port = 80;
  h.seq = SeqNum(0x1a2b3c4d);
  h.flags = TcpFlags(TcpFlags::kSyn);
  h.window = 64240;
  h.options.mss = 1460;
  h.options.sack_permitted = true;
  h.options.timestamps = Timestamps{123456, 0};
  h.options.wscale = 7;
  return h;
}

const IpAddress kSrc = *IpAddress::parse("192.0.2.1");
const IpAddress kDst = *IpAddress::parse("192.0.2.2");

void BM_EmitSynAllOptions(benchmark::State& state) {
  const TcpHeader h = syn_with_all_options();
  std::array<std::byte, 128> out{};
  for (auto _ : state) {
    auto n = emit_tcp_packet(kSrc, kDst, h, {}, out);
    benchmark::DoNotOptimize(n);
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(BM_EmitSynAllOptions);

void BM_ParseSynAllOptions(benchmark::State& state) {
  std::array<std::byte, 128> buf{};
  const auto n = *emit_tcp_packet(kSrc, kDst, syn_with_all_options(), {}, buf);
  const Bytes packet = Bytes(buf).first(n);
  for (auto _ : state) {
    auto p = TcpPacketView::parse(packet);  // includes both checksum verifications
    auto h = TcpHeader::parse(p->tcp());
    benchmark::DoNotOptimize(h);
  }
}
BENCHMARK(BM_ParseSynAllOptions);

void BM_ParseSynOptionsOnly(benchmark::State& state) {
  std::array<std::byte, kMaxOptionBytes> buf{};
  const auto n = *emit_tcp_options(syn_with_all_options().options, buf);
  for (auto _ : state) {
    auto o = parse_tcp_options(Bytes(buf).first(n));
    benchmark::DoNotOptimize(o);
  }
}
BENCHMARK(BM_ParseSynOptionsOnly);

std::vector<std::byte> data_of(std::size_t n) {
  std::vector<std::byte> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<std::byte>(i * 31 + 7);
  return v;
}

void BM_Checksum(benchmark::State& state) {
  const auto data = data_of(static_cast<std::size_t>(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(internet_checksum(data));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(BM_Checksum)->Arg(40)->Arg(1460);

// Baseline: the textbook loop of RFC 1071 §4.1, 16 bits at a time, in a 32-bit accumulator.
std::uint16_t textbook_checksum(const std::vector<std::byte>& data) {
  std::uint32_t sum = 0;
  std::size_t i = 0;
  for (; i + 1 < data.size(); i += 2) {
    sum += (static_cast<std::uint32_t>(data[i]) << 8U) | static_cast<std::uint32_t>(data[i + 1]);
  }
  if (i < data.size()) sum += static_cast<std::uint32_t>(data[i]) << 8U;
  while ((sum >> 16U) != 0) sum = (sum & 0xFFFFU) + (sum >> 16U);
  return static_cast<std::uint16_t>(~sum);
}

void BM_ChecksumBaselineTextbook(benchmark::State& state) {
  const auto data = data_of(static_cast<std::size_t>(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(textbook_checksum(data));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(BM_ChecksumBaselineTextbook)->Arg(40)->Arg(1460);

}  // namespace
