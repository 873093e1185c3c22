// libFuzzer target over CaptureReader, synack's own pcap / pcapng parser: the input is the file's bytes.
// Every record is checked to lie inside the input and decapsulated for its interface's link type; the
// reader must end (end or error) without reading outside the input, however the lengths lie.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "synack/capture/reader.hpp"
#include "synack/wire/link_layer.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace synack;
  const wire::Bytes input(reinterpret_cast<const std::byte*>(data), size);
  auto reader = capture::CaptureReader::from_bytes(input, "fuzz");
  if (!reader) return 0;
  capture::Record record;
  volatile std::size_t sink = 0;
  std::uint64_t count = 0;
  while (reader->next(record) == capture::CaptureReader::Next::record) {
    const bool inside =
        record.data.empty() || (record.data.data() >= input.data() &&
                                record.data.data() + record.data.size() <= input.data() + size);
    if (!inside || record.caplen != record.data.size() || record.index != count++) std::abort();
    if (auto payload = wire::decapsulate(record.linktype, record.data))
      sink = sink + payload->datagram.size();
  }
  sink = sink + reader->interfaces().size() + reader->counters().dropped();
  return 0;
}
