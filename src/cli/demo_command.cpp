// `synack demo`: the README's first command. Until the engine and the TUN driver land it shows what the
// wire layer does: it builds the handshake of the seed capture (client MSS 1460, server MSS 1360), a
// little data and a close as real IPv4 and IPv6 datagrams, decodes each one back, and writes a pcap
// that Wireshark opens.
#include <array>
#include <filesystem>
#include <string>
#include <vector>

#include <fmt/color.h>
#include <fmt/core.h>

#include "commands.hpp"
#include "exit_codes.hpp"
#include "synack/capture/pcap.hpp"
#include "synack/wire/packet.hpp"
#include "terminal.hpp"

namespace synack::cli {
namespace {

using wire::IpAddress;
using wire::SeqNum;
using wire::TcpFlags;
using wire::TcpHeader;

struct Step {
  bool from_client;
  std::uint16_t flags;
  std::uint32_t seq_offset;  // relative to the sender's ISN
  std::uint32_t ack_offset;  // relative to the receiver's ISN (0 = no ACK)
  std::string_view payload;
  double t_ms;
};

std::string describe_options(const wire::TcpOptions& o) {
  std::string s;
  const auto add = [&s](const std::string& part) { s += (s.empty() ? "" : ",") + part; };
  if (o.mss) add(fmt::format("mss {}", *o.mss));
  if (o.sack_permitted) add("sackOK");
  if (o.timestamps) add(fmt::format("TS val {} ecr {}", o.timestamps->value, o.timestamps->echo));
  if (o.wscale) add(fmt::format("wscale {}", *o.wscale));
  return s.empty() ? "" : "<" + s + ">";
}

int run_demo(const std::string& pcap_path, bool colour) {
  const std::array<std::pair<IpAddress, IpAddress>, 2> pairs{{
      {*IpAddress::parse("192.0.2.1"), *IpAddress::parse("192.0.2.2")},
      {*IpAddress::parse("2001:db8::1"), *IpAddress::parse("2001:db8::2")},
  }};
  const std::array<Step, 7> steps{{
      {true, TcpFlags::kSyn, 0, 0, "", 0.0},
      {false, TcpFlags::kSyn | TcpFlags::kAck, 0, 1, "", 0.112},
      {true, TcpFlags::kAck, 1, 1, "", 0.140},
      {true, TcpFlags::kPsh | TcpFlags::kAck, 1, 1, "GET / HTTP/1.0\r\n\r\n", 0.201},
      {false, TcpFlags::kAck, 1, 19, "", 0.260},
      {true, TcpFlags::kFin | TcpFlags::kAck, 19, 1, "", 0.301},
      {false, TcpFlags::kRst | TcpFlags::kAck, 1, 20, "", 0.350},
  }};
  auto writer = capture::PcapWriter::open(pcap_path);
  if (!writer) {
    fmt::print(stderr, "synack: cannot write {}: {}\n", pcap_path, writer.error());
    return kExitFailure;
  }
  const std::uint32_t client_isn = 0x1a2b3c4d;
  const std::uint32_t server_isn = 0x9e8d7c6b;
  std::array<std::byte, 1600> buffer{};
  std::int64_t base_ns = 1'700'000'000'000'000'000;
  fmt::print("synack demo — the wire layer builds a handshake the way the kernel lays it out\n");
  fmt::print("(the live demo against the Linux kernel over TUN arrives with the engine and TUN driver)\n");
  for (const auto& [client, server] : pairs) {
    fmt::print("\n{} → {}\n", wire::Endpoint{client, 40000}.to_string(),
               wire::Endpoint{server, 80}.to_string());
    for (const Step& step : steps) {
      TcpHeader h;
      h.src_port = step.from_client ? 40000 : 80;
      h.dst_port = step.from_client ? 80 : 40000;
      h.seq = SeqNum((step.from_client ? client_isn : server_isn) + step.seq_offset);
      h.ack =
          SeqNum(step.ack_offset == 0 ? 0 : (step.from_client ? server_isn : client_isn) + step.ack_offset);
      h.flags = TcpFlags(step.flags);
      h.window = 64240;
      if (h.flags.syn()) {
        h.options.mss =
            static_cast<std::uint16_t>((step.from_client ? 1460 : 1360) - (client.is_v6() ? 20 : 0));
        h.options.sack_permitted = true;
        h.options.wscale = 7;
      }
      if (!h.flags.rst())
        h.options.timestamps = wire::Timestamps{1000U + static_cast<std::uint32_t>(step.t_ms * 1000),
                                                h.flags.syn() && !h.flags.ack() ? 0U : 999U};
      const auto& src = step.from_client ? client : server;
      const auto& dst = step.from_client ? server : client;
      const auto payload = std::as_bytes(std::span(step.payload.data(), step.payload.size()));
      auto size = wire::emit_tcp_packet(src, dst, h, payload, buffer);
      if (!size) {
        fmt::print(stderr, "synack: emit failed: {}\n", wire::to_string(size.error()));
        return kExitFailure;
      }
      const auto datagram = wire::Bytes(buffer).first(*size);
      const auto ns = base_ns + static_cast<std::int64_t>(step.t_ms * 1e6);
      if (auto w = writer->write(std::chrono::nanoseconds(ns), datagram); !w) {
        fmt::print(stderr, "synack: cannot write {}: {}\n", pcap_path, w.error());
        return kExitFailure;
      }
      // Decode what we emitted: the same parser the stack and the analyzer use.
      auto view = wire::TcpPacketView::parse(datagram);
      if (!view) {
        fmt::print(stderr, "synack: our own packet did not parse: {}\n", wire::to_string(view.error()));
        return kExitFailure;
      }
      const auto& tcp = view->tcp();
      const auto options = tcp.options();
      const std::string arrow = step.from_client ? "  ────────────────▶" : "  ◀────────────────";
      const std::string flags = tcp.flags().to_string();
      const std::string line = fmt::format(
          "{:8.3f} ms {} {:<3} seq={:<3} ack={:<3} win={} len={} {}", step.t_ms, arrow, flags,
          tcp.seq().raw() - (step.from_client ? client_isn : server_isn),
          tcp.flags().ack() ? tcp.ack().raw() - (step.from_client ? server_isn : client_isn) : 0U,
          tcp.window(), tcp.payload().size(), options ? describe_options(*options) : "<bad options>");
      if (colour && tcp.flags().syn()) {
        fmt::print(fmt::fg(fmt::terminal_color::green), "{}\n", line);
      } else if (colour && tcp.flags().rst()) {
        fmt::print(fmt::fg(fmt::terminal_color::red), "{}\n", line);
      } else {
        fmt::print("{}\n", line);
      }
    }
    base_ns += 1'000'000'000;
  }
  if (auto c = writer->close(); !c) {
    fmt::print(stderr, "synack: cannot write {}: {}\n", pcap_path, c.error());
    return kExitFailure;
  }
  fmt::print("\nEvery datagram above was emitted, checksummed and parsed back by synack's wire layer.\n");
  fmt::print("Capture: {} (open it in Wireshark, or: tshark -r {})\n", pcap_path, pcap_path);
  return kExitOk;
}

}  // namespace

void register_demo_command(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("demo", "A guided tour: build a handshake and see it on the wire");
  auto pcap =
      std::make_shared<std::string>((std::filesystem::temp_directory_path() / "synack-demo.pcap").string());
  cmd->add_option("--pcap", *pcap, "Where to write the capture")->capture_default_str();
  cmd->callback([pcap, &exit_code] { exit_code = run_demo(*pcap, use_colour(stdout)); });
}

}  // namespace synack::cli
