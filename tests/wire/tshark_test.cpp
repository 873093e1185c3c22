// tshark judges what wire/ puts on the wire: a conversation of SYN, SYN-ACK, ACK, data, FIN and RST over
// IPv4 and IPv6, carrying every option synack emits, is written to a pcap; tshark decodes it with checksum
// validation on, and every field must read back as emitted. No expert info of severity note or above may
// appear except those the conversation is built to show (the FIN that starts closing, the RST).
#include <array>
#include <cstdio>
#include <filesystem>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "synack/capture/pcap.hpp"
#include "synack/wire/packet.hpp"

namespace synack::wire {
namespace {

struct Emitted {
  IpAddress src;
  IpAddress dst;
  TcpHeader header;
  std::size_t payload_size;
  std::string allowed_expert;  // the note/warning this packet is built to show, if any
};

std::string run(const std::string& command) {
  std::string out;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return out;
  std::array<char, 4096> buf{};
  while (std::fgets(buf.data(), static_cast<int>(buf.size()), pipe) != nullptr) out += buf.data();
  pclose(pipe);
  return out;
}

std::vector<std::string> split(const std::string& line, char sep) {
  std::vector<std::string> parts;
  std::string part;
  std::istringstream in(line);
  while (std::getline(in, part, sep)) parts.push_back(part);
  if (!line.empty() && line.back() == sep) parts.emplace_back();
  return parts;
}

std::vector<Emitted> conversation(const IpAddress& client, const IpAddress& server, std::uint16_t cport) {
  const SeqNum ciss(0xFFFFFF00);  // the client's sequence space wraps during the conversation
  const SeqNum siss(0x12345678);
  const std::uint32_t data = 300;
  std::vector<Emitted> out;
  const auto make = [&](bool from_client, std::uint16_t flags, SeqNum seq, SeqNum ack, std::uint32_t ts,
                        std::uint32_t ecr) {
    TcpHeader h;
    h.src_port = from_client ? cport : 443;
    h.dst_port = from_client ? 443 : cport;
    h.seq = seq;
    h.ack = ack;
    h.flags = TcpFlags(flags);
    h.window = from_client ? 502 : 510;
    h.options.timestamps = Timestamps{ts, ecr};
    return h;
  };
  TcpHeader syn = make(true, TcpFlags::kSyn, ciss, SeqNum(0), 100, 0);
  syn.window = 64240;
  syn.options.mss = client.is_v4() ? 1460 : 1440;
  syn.options.sack_permitted = true;
  syn.options.wscale = 7;
  syn.options.fast_open = FastOpenCookie::make({});  // a Fast Open cookie request (RFC 7413)
  out.push_back({client, server, syn, 0, ""});
  TcpHeader synack = make(false, TcpFlags::kSyn | TcpFlags::kAck, siss, ciss + 1, 5000, 100);
  synack.window = 65160;
  synack.options.mss = client.is_v4() ? 1360 : 1340;
  synack.options.sack_permitted = true;
  synack.options.wscale = 9;
  out.push_back({server, client, synack, 0, ""});
  out.push_back({client, server, make(true, TcpFlags::kAck, ciss + 1, siss + 1, 101, 5000), 0, ""});
  out.push_back(
      {client, server, make(true, TcpFlags::kPsh | TcpFlags::kAck, ciss + 1, siss + 1, 102, 5000), data, ""});
  TcpHeader ack = make(false, TcpFlags::kAck, siss + 1, ciss + 1 + data, 5001, 102);
  ack.options.sack.push_back({ciss + 1, ciss + 101});  // a D-SACK (RFC 2883): below the cumulative ACK
  out.push_back({server, client, ack, 0, "D-SACK Sequence"});
  out.push_back({server, client,
                 make(false, TcpFlags::kPsh | TcpFlags::kAck, siss + 1, ciss + 1 + data, 5002, 102), 40, ""});
  out.push_back({client, server,
                 make(true, TcpFlags::kFin | TcpFlags::kAck, ciss + 1 + data, siss + 41, 103, 5002), 0,
                 "This frame initiates the connection closing"});
  TcpHeader rst;
  rst.src_port = 443;
  rst.dst_port = cport;
  rst.seq = siss + 41;
  rst.flags = TcpFlags(TcpFlags::kRst);
  out.push_back({server, client, rst, 0, "Connection reset (RST)"});
  return out;
}

std::string opt_or_empty(const std::optional<std::uint32_t>& v) {
  return v ? std::to_string(*v) : "";
}

TEST(Tshark, DecodesEverythingWeEmitAsEmitted) {
  if (run("command -v tshark").empty()) GTEST_SKIP() << "tshark is not installed";
  const auto dir = std::filesystem::temp_directory_path() / ("synack-tshark-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto pcap = dir / "conversation.pcap";

  std::vector<Emitted> packets =
      conversation(*IpAddress::parse("192.0.2.1"), *IpAddress::parse("192.0.2.2"), 40001);
  for (auto& p : conversation(*IpAddress::parse("2001:db8::1"), *IpAddress::parse("2001:db8::2"), 40002)) {
    packets.push_back(p);
  }
  {
    auto writer = capture::PcapWriter::open(pcap);
    ASSERT_TRUE(writer);
    std::int64_t t = 1'700'000'000'000'000'000;
    for (const auto& p : packets) {
      std::array<std::byte, 2048> buf{};
      std::vector<std::byte> payload(p.payload_size, std::byte{'x'});
      auto n = emit_tcp_packet(p.src, p.dst, p.header, payload, buf);
      ASSERT_TRUE(n);
      ASSERT_TRUE(writer->write(std::chrono::nanoseconds(t), Bytes(buf).first(*n)));
      t += 1'000'000;
    }
    ASSERT_TRUE(writer->close());
  }

  const std::string fields[] = {"frame.number",
                                "tcp.srcport",
                                "tcp.dstport",
                                "tcp.seq_raw",
                                "tcp.ack_raw",
                                "tcp.flags",
                                "tcp.window_size_value",
                                "tcp.len",
                                "tcp.checksum.status",
                                "ip.checksum.status",
                                "tcp.options.mss_val",
                                "tcp.options.wscale.shift",
                                "tcp.options.sack_perm",
                                "tcp.options.timestamp.tsval",
                                "tcp.options.timestamp.tsecr",
                                "tcp.options.sack_le",
                                "tcp.options.sack_re",
                                "tcp.options.tfo.request",
                                "ip.src",
                                "ipv6.src",
                                "_ws.expert.severity",
                                "_ws.expert.message"};
  std::string cmd =
      "tshark -r " + pcap.string() +
      " -o tcp.check_checksum:TRUE -o ip.check_checksum:TRUE -o tcp.relative_sequence_numbers:FALSE"
      " -T fields -E separator='|' -E occurrence=a -E aggregator=';'";
  for (const auto& f : fields) cmd += " -e " + f;
  cmd += " 2>/dev/null";
  const std::string output = run(cmd);
  std::vector<std::string> lines = split(output, '\n');
  while (!lines.empty() && lines.back().empty()) lines.pop_back();
  ASSERT_EQ(lines.size(), packets.size()) << output;

  for (std::size_t i = 0; i < packets.size(); ++i) {
    const auto& p = packets[i];
    const auto& h = p.header;
    auto col = split(lines[i], '|');
    col.resize(std::size(fields));
    std::map<std::string, std::string> f;
    for (std::size_t c = 0; c < std::size(fields); ++c) f[fields[c]] = col[c];
    SCOPED_TRACE("frame " + f["frame.number"] + ": " + lines[i]);
    EXPECT_EQ(f["tcp.srcport"], std::to_string(h.src_port));
    EXPECT_EQ(f["tcp.dstport"], std::to_string(h.dst_port));
    EXPECT_EQ(f["tcp.seq_raw"], std::to_string(h.seq.raw()));
    EXPECT_EQ(f["tcp.ack_raw"], std::to_string(h.ack.raw()));
    EXPECT_EQ(std::stoul(f["tcp.flags"], nullptr, 16), h.flags.bits());
    EXPECT_EQ(f["tcp.window_size_value"], std::to_string(h.window));
    EXPECT_EQ(f["tcp.len"], std::to_string(p.payload_size));
    EXPECT_EQ(f["tcp.checksum.status"], "1");  // 1 = good
    if (p.src.is_v4()) {
      EXPECT_EQ(f["ip.checksum.status"], "1");
      EXPECT_EQ(f["ip.src"], p.src.to_string());
    } else {
      EXPECT_EQ(f["ipv6.src"], p.src.to_string());
    }
    EXPECT_EQ(f["tcp.options.mss_val"], h.options.mss ? std::to_string(*h.options.mss) : "");
    EXPECT_EQ(f["tcp.options.wscale.shift"], h.options.wscale ? std::to_string(*h.options.wscale) : "");
    EXPECT_EQ(!f["tcp.options.sack_perm"].empty(), h.options.sack_permitted);
    EXPECT_EQ(f["tcp.options.timestamp.tsval"],
              opt_or_empty(h.options.timestamps ? std::optional(h.options.timestamps->value) : std::nullopt));
    EXPECT_EQ(f["tcp.options.timestamp.tsecr"],
              opt_or_empty(h.options.timestamps ? std::optional(h.options.timestamps->echo) : std::nullopt));
    std::string le;
    std::string re;
    for (const auto& b : h.options.sack.blocks()) {
      le += (le.empty() ? "" : ";") + std::to_string(b.left.raw());
      re += (re.empty() ? "" : ";") + std::to_string(b.right.raw());
    }
    EXPECT_EQ(f["tcp.options.sack_le"], le);
    EXPECT_EQ(f["tcp.options.sack_re"], re);
    EXPECT_EQ(!f["tcp.options.tfo.request"].empty(), h.options.fast_open.has_value());
    // Expert info: chat (0x200000) is fine; note (0x400000) and above only where the packet is built to.
    const auto severities = split(f["_ws.expert.severity"], ';');
    const auto messages = split(f["_ws.expert.message"], ';');
    for (std::size_t e = 0; e < severities.size(); ++e) {
      if (severities[e].empty() || std::stoul(severities[e]) < 0x400000) continue;
      const std::string message = e < messages.size() ? messages[e] : "";
      EXPECT_EQ(message, p.allowed_expert) << "unexpected expert info of severity " << severities[e];
    }
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace synack::wire
