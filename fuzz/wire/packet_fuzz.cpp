// libFuzzer target over the packet parser. Properties, for any input bytes:
//  - parsing never reads out of bounds (ASan) nor hits undefined behaviour (UBSan);
//  - parse → emit → parse is stable: a datagram we accepted, emitted again from its parsed value, parses to
//    the same value (addresses, ports, sequence numbers, flags, window, urgent pointer, options, payload);
//  - the emitted datagram's checksums verify.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "synack/wire/packet.hpp"

using namespace synack::wire;

namespace {

[[noreturn]] void fail() {
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const Bytes input = std::as_bytes(std::span(data, size));
  // Also exercise the options parser alone on the same bytes.
  if (auto opts = parse_tcp_options(input.first(std::min<std::size_t>(size, kMaxOptionBytes)))) {
    std::byte buf[kMaxOptionBytes];
    auto n = emit_tcp_options(*opts, buf);
    if (!n) fail();
    auto again = parse_tcp_options(Bytes(buf, *n));
    if (!again || !(*again == *opts)) fail();
  }

  auto first = TcpPacketView::parse(input, ChecksumPolicy::ignore);
  if (!first) return 0;
  auto header = TcpHeader::parse(first->tcp());
  if (!header) return 0;
  const Bytes payload = first->tcp().payload();

  std::vector<std::byte> out(tcp_packet_size(first->version(), *header, payload.size()));
  auto n = emit_tcp_packet(first->ip().src, first->ip().dst, *header, payload, out,
                           {.ttl = first->ip().ttl, .ecn = first->ip().ecn});
  if (!n) {
    // Linux layout may add alignment NOPs: a datagram already at 65,535 bytes can then not grow.
    if (n.error() == Error::payload_too_long) return 0;
    fail();
  }
  auto second = TcpPacketView::parse(std::span(out).first(*n), ChecksumPolicy::verify);
  if (!second) fail();
  auto header2 = TcpHeader::parse(second->tcp());
  if (!header2) fail();
  header2->checksum = header->checksum;
  if (!(*header2 == *header)) fail();
  if (!(second->ip().src == first->ip().src) || !(second->ip().dst == first->ip().dst)) fail();
  const Bytes payload2 = second->tcp().payload();
  if (payload2.size() != payload.size() || !std::equal(payload.begin(), payload.end(), payload2.begin()))
    fail();
  return 0;
}
