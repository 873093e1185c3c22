// libFuzzer target over the capture reader and the flow reconstruction.
//
// Input, by its first byte:
//   even: a pcap / pcapng byte image, read through libpcap (a memfd) by analyse_file();
//   odd:  a sequence of frames fed to Analyzer::add_frame(), each
//         [link type selector: 1][timestamp delta in µs: 2 BE][cut flag + length: 2 BE][frame bytes].
// Every result is rendered (text, JSON, ladder, SVG) so the renderers see whatever the analyzer built.
#include <sys/mman.h>
#include <unistd.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

#include "synack/analyze/report.hpp"
#include "synack/wire/link_layer.hpp"

namespace {

using namespace synack;

constexpr std::array<std::uint32_t, 6> kLinkTypes = {wire::dlt::kRaw,      wire::dlt::kEn10Mb,
                                                     wire::dlt::kLinuxSll, wire::dlt::kLinuxSll2,
                                                     wire::dlt::kNull,     wire::dlt::kLoop};

void render_all(const analyze::FileReport& report) {
  volatile std::size_t sink = 0;
  sink = sink + analyze::render_text(report).size();
  sink = sink + analyze::to_json(report).dump().size();
  std::size_t drawn = 0;
  for (const auto& c : report.result.connections) {
    if (++drawn > 4) break;
    sink = sink + analyze::render_ladder(c, true).size();
    sink = sink + analyze::render_svg(c).size();
  }
}

analyze::AnalyzerConfig fuzz_config() {
  analyze::AnalyzerConfig config;
  config.record_all = true;
  config.max_flows = 64;  // small, so eviction runs too
  config.idle_timeout = std::chrono::seconds(2);
  return config;
}

void fuzz_frames(const std::uint8_t* data, std::size_t size) {
  analyze::Analyzer analyzer(fuzz_config());
  analyze::Timestamp now = std::chrono::seconds(1700000000);
  std::size_t at = 0;
  while (at + 5 <= size) {
    const std::uint32_t linktype = kLinkTypes[data[at] % kLinkTypes.size()];
    const auto delta = static_cast<unsigned>((data[at + 1] << 8U) | data[at + 2]);
    const auto word = static_cast<unsigned>((data[at + 3] << 8U) | data[at + 4]);
    const bool cut = (word & 0x8000U) != 0;
    std::size_t length = word & 0x7FFFU;
    at += 5;
    if (length > size - at) length = size - at;
    now += std::chrono::microseconds(delta);
    const wire::Bytes frame(reinterpret_cast<const std::byte*>(data + at), length);
    analyzer.add_frame(linktype, now, frame, static_cast<std::uint32_t>(length + (cut ? 100U : 0U)));
    at += length;
  }
  analyze::FileReport report;
  report.file = "fuzz";
  report.result = analyzer.finish();
  render_all(report);
}

void fuzz_file(const std::uint8_t* data, std::size_t size) {
  const int fd = memfd_create("analyze_fuzz", 0);
  if (fd < 0) return;
  std::size_t written = 0;
  while (written < size) {
    const auto n = write(fd, data + written, size - written);
    if (n <= 0) break;
    written += static_cast<std::size_t>(n);
  }
  const std::string path = "/proc/self/fd/" + std::to_string(fd);
  const auto report = analyze::analyse_file(path, fuzz_config());
  close(fd);
  render_all(report);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  if ((data[0] & 1U) != 0) {
    fuzz_frames(data + 1, size - 1);
  } else {
    fuzz_file(data + 1, size - 1);
  }
  return 0;
}
