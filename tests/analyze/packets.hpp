// Test helpers: hand-built TCP/IP datagrams between a client and a server, and pcap files of them.
#pragma once

#include <unistd.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

#include <gtest/gtest.h>

#include "synack/analyze/analyzer.hpp"
#include "synack/capture/pcap.hpp"
#include "synack/wire/packet.hpp"

namespace synack::analyze::testing {

using ByteVector = std::vector<std::byte>;
using namespace std::chrono_literals;

inline constexpr std::uint16_t F = wire::TcpFlags::kFin;
inline constexpr std::uint16_t S = wire::TcpFlags::kSyn;
inline constexpr std::uint16_t R = wire::TcpFlags::kRst;
inline constexpr std::uint16_t P = wire::TcpFlags::kPsh;
inline constexpr std::uint16_t A = wire::TcpFlags::kAck;
inline constexpr std::uint16_t E = wire::TcpFlags::kEce;
inline constexpr std::uint16_t C = wire::TcpFlags::kCwr;

/// Linux's SYN options: mss, sackOK, TS, ws.
inline wire::TcpOptions linux_syn_options(std::uint16_t mss = 1460, std::uint8_t ws = 7,
                                          std::uint32_t tsval = 1000, std::uint32_t tsecr = 0) {
  wire::TcpOptions o;
  o.mss = mss;
  o.sack_permitted = true;
  o.timestamps = wire::Timestamps{tsval, tsecr};
  o.wscale = ws;
  return o;
}

struct Packet {
  Timestamp time;
  ByteVector bytes;
};

/// Builds the datagrams of one client ↔ server conversation.
class Conversation {
 public:
  Conversation(std::string client, std::uint16_t client_port, std::string server, std::uint16_t server_port)
      : client_{*wire::IpAddress::parse(client), client_port},
        server_{*wire::IpAddress::parse(server), server_port} {}

  /// A segment from the client (to_server) or the server.
  Packet segment(Timestamp time, bool from_client, std::uint16_t flags, std::uint32_t seq, std::uint32_t ack,
                 const wire::TcpOptions& options = {}, std::size_t payload = 0,
                 std::uint16_t window = 64240) const {
    const auto& src = from_client ? client_ : server_;
    const auto& dst = from_client ? server_ : client_;
    wire::TcpHeader h;
    h.src_port = src.port;
    h.dst_port = dst.port;
    h.seq = wire::SeqNum(seq);
    h.ack = wire::SeqNum(ack);
    h.flags = wire::TcpFlags(flags);
    h.window = window;
    h.options = options;
    ByteVector data(payload, std::byte{0x61});
    ByteVector out(wire::tcp_packet_size(src.address.version(), h, payload));
    auto n = wire::emit_tcp_packet(src.address, dst.address, h, data, out);
    EXPECT_TRUE(n.has_value());
    out.resize(n.value_or(0));
    return {time, std::move(out)};
  }
  Packet c(Timestamp t, std::uint16_t flags, std::uint32_t seq, std::uint32_t ack,
           const wire::TcpOptions& o = {}, std::size_t payload = 0) const {
    return segment(t, true, flags, seq, ack, o, payload);
  }
  Packet s(Timestamp t, std::uint16_t flags, std::uint32_t seq, std::uint32_t ack,
           const wire::TcpOptions& o = {}, std::size_t payload = 0) const {
    return segment(t, false, flags, seq, ack, o, payload);
  }
  [[nodiscard]] const wire::Endpoint& client() const noexcept { return client_; }
  [[nodiscard]] const wire::Endpoint& server() const noexcept { return server_; }

 private:
  wire::Endpoint client_;
  wire::Endpoint server_;
};

/// Base time for tests: 2026-01-01T00:00:00Z.
inline constexpr Timestamp kEpoch = std::chrono::seconds(1767225600);

inline AnalysisResult analyse(const std::vector<Packet>& packets, AnalyzerConfig config = {}) {
  config.record_all = true;
  Analyzer a(config);
  for (const auto& p : packets) a.add_datagram(p.time, p.bytes);
  return a.finish();
}

inline void write_pcap(const std::filesystem::path& path, const std::vector<Packet>& packets) {
  auto w = capture::PcapWriter::open(path);
  ASSERT_TRUE(w.has_value()) << w.error().message;
  for (const auto& p : packets) ASSERT_TRUE(w->write(p.time, p.bytes).has_value());
  ASSERT_TRUE(w->close().has_value());
}

/// This process's own directory for test files, removed when the process exits: two test runs on one
/// machine (two build trees) run the same test names at once, and a file one of them truncates under the
/// other's mapping is a SIGBUS, not a test result.
struct ProcessTempDir {
  std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("synack-analyze-tests-" + std::to_string(::getpid()));
  ProcessTempDir() { std::filesystem::create_directories(dir); }
  ~ProcessTempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
  }
  ProcessTempDir(const ProcessTempDir&) = delete;
  ProcessTempDir& operator=(const ProcessTempDir&) = delete;
};

inline std::filesystem::path temp_path(const std::string& name) {
  static const ProcessTempDir temp;
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  const auto& dir = temp.dir;
  std::string file = std::string(info->test_suite_name()) + "." + info->name() + "." + name;
  for (auto& ch : file) {
    if (ch == '/') ch = '_';
  }
  return dir / file;
}

}  // namespace synack::analyze::testing
